package runnerapi_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestReplayPythonGitlab replays python-gitlab 3.12's captured calls
// (task4-python-gitlab.jsonl): PRIVATE-TOKEN, Authorization: Bearer and
// JOB-TOKEN credentials, lists with pagination headers, project creation,
// pipelines and a job log. Each answer must have the stand-in's status,
// every header it sent (python-gitlab reads the pagination ones) and, for
// JSON, at least the keys it sent.
func TestReplayPythonGitlab(t *testing.T) {
	r := newReplayer(t)
	// Project 1 is group/project with one pipeline whose job 101 is
	// running, has a log, and lends its job token to glcbt-jobtok.
	r.push(map[string]string{".gitlab-ci.yml": "hello:\n  script: [echo hello]\n"})
	r.pipeline()
	job := r.runner.WaitJob(t, 10*time.Second)
	r.runner.Update(t, job, gitlab.UpdateJobRequest{State: "running"})
	if resp := r.runner.Patch(t, job, 0, []byte("fake job trace line 1\n")); resp.Status != http.StatusAccepted {
		t.Fatalf("trace: %d", resp.Status)
	}
	project := fmt.Sprint(r.project.ID)
	r.secrets = map[string]string{"glpat-testtoken": servertest.RootToken, "Bearer oauth-abc": "Bearer " + servertest.RootToken,
		"glcbt-jobtok": job.Token, "/projects/1": "/projects/" + project, "/jobs/101/": fmt.Sprintf("/jobs/%d/", job.ID)}
	for _, x := range loadCapture(t, "task4-python-gitlab.jsonl") {
		body := ""
		if len(x.ReqJSON) > 0 {
			var req map[string]any
			if err := json.Unmarshal(x.ReqJSON, &req); err != nil {
				t.Fatal(err)
			}
			if _, ok := req["namespace_id"]; ok { // python-gitlab sends ids as strings
				req["namespace_id"] = fmt.Sprint(r.project.Namespace.ID)
			}
			b, _ := json.Marshal(req)
			body = string(b)
		}
		resp := r.send(x, r.rewrite(x.URI), strings.NewReader(body))
		r.expect(x, resp, x.Status)
		for k := range x.RespHeaders {
			if k != "X-Fake-Gitlab" && resp.Header.Get(k) == "" {
				t.Errorf("seq %d %s %s: no %s header", x.Seq, x.Method, x.URI, k)
			}
		}
		wantType, _, _ := mime.ParseMediaType(x.RespHeaders.Get("Content-Type"))
		if gotType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); gotType != wantType {
			t.Errorf("seq %d %s %s: Content-Type %q, want %s", x.Seq, x.Method, x.URI, gotType, wantType)
		}
		if wantType == "text/plain" && string(resp.Body) != string(x.respJSON(t)) {
			t.Errorf("seq %d: log %q, want %q", x.Seq, resp.Body, x.respJSON(t))
		}
		if wantType == "application/json" {
			if missing := missingKeys(t, x.respJSON(t), resp.Body); len(missing) > 0 {
				t.Errorf("seq %d %s %s: the reply lacks %v", x.Seq, x.Method, x.URI, missing)
			}
		}
	}
}

// missingKeys lists the keys of want's JSON object (or of its first list
// element) that got lacks.
func missingKeys(t *testing.T, want, got []byte) []string {
	t.Helper()
	first := func(b []byte) map[string]any {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("reply %q is not JSON: %v", b, err)
		}
		if list, ok := v.([]any); ok && len(list) > 0 {
			v = list[0]
		}
		m, _ := v.(map[string]any)
		return m
	}
	w, g := first(want), first(got)
	var missing []string
	for k := range w {
		if _, ok := g[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	return missing
}
