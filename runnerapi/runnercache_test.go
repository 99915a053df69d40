package runnerapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestRunnerChangesApplyAtOnce: the server keeps authenticated runners
// for a few seconds, but a runner paused, given a new token or deleted
// through the API is treated so at its very next call.
func TestRunnerChangesApplyAtOnce(t *testing.T) {
	e := newEnv(t)
	e.push(map[string]string{".gitlab-ci.yml": "a:\n  script: [echo]\nb:\n  script: [echo]\n"})
	e.pipeline()
	creds, _ := e.runner.Verify(t) // authenticated, so cached
	if _, resp := e.runner.Request(t, ""); resp.Status != http.StatusCreated {
		t.Fatalf("job request: %d", resp.Status)
	}
	runnerPath := fmt.Sprintf("/api/v4/runners/%d", creds.ID)
	e.adminCall(t, "PUT", runnerPath, `{"paused":true}`, http.StatusOK)
	if _, resp := e.runner.Request(t, ""); resp.Status != http.StatusNoContent {
		t.Errorf("paused runner's request: %d, want 204 (job b is pending)", resp.Status)
	}
	e.adminCall(t, "PUT", runnerPath, `{"paused":false}`, http.StatusOK)
	e.adminCall(t, "POST", runnerPath+"/reset_authentication_token", "", http.StatusCreated)
	if _, resp := e.runner.Request(t, ""); resp.Status != http.StatusForbidden {
		t.Errorf("request with the replaced token: %d, want 403", resp.Status)
	}

	other := fakerunner.New(t, e.srv.URL, e.createRunner(`{"runner_type":"instance_type"}`))
	oc, _ := other.Verify(t)
	e.adminCall(t, "DELETE", fmt.Sprintf("/api/v4/runners/%d", oc.ID), "", http.StatusNoContent)
	if _, resp := other.Verify(t); resp.Status != http.StatusForbidden {
		t.Errorf("deleted runner's verify: %d, want 403", resp.Status)
	}
}

func (e *env) adminCall(t *testing.T, method, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", servertest.RootToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
	}
}
