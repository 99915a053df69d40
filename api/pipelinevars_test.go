package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestPipelineVariableKeys: pipeline variables given to the create and
// trigger endpoints must have GitLab's keys (letters, digits and '_', at
// most 255); anything else is a 400 in GitLab's words and no pipeline.
func TestPipelineVariableKeys(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	p, _, err := root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app")})
	if err != nil {
		t.Fatal(err)
	}
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "job:\n  script: [x]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")
	tr, _, err := root.PipelineTriggers.AddPipelineTrigger(p.ID, &gl.AddPipelineTriggerOptions{Description: gl.Ptr("t")})
	if err != nil {
		t.Fatal(err)
	}
	create := fmt.Sprintf("%s/api/v4/projects/%d/pipeline", srv.URL, p.ID)
	trigger := fmt.Sprintf("%s/api/v4/projects/%d/trigger/pipeline", srv.URL, p.ID)
	blank, chars := "can't be blank", "can contain only letters, digits and '_'."
	long := "is too long (maximum is 255 characters)"
	for _, c := range []struct {
		name, url, ctype, body string
		want                   []string // the messages about keys; nil: created
	}{
		{"empty key", create, "application/json", `{"ref":"main","variables":[{"key":"","value":"x"}]}`, []string{blank, chars}},
		{"missing key", create, "application/json", `{"ref":"main","variables":[{"value":"x"}]}`, []string{blank, chars}},
		{"dash", create, "application/json", `{"ref":"main","variables":[{"key":"A-B","value":"x"}]}`, []string{chars}},
		{"newline", create, "application/json", `{"ref":"main","variables":[{"key":"A\nB","value":"x"}]}`, []string{chars}},
		{"too long", create, "application/json", `{"ref":"main","variables":[{"key":"` + strings.Repeat("K", 256) + `","value":"x"}]}`, []string{long}},
		{"each message once", create, "application/json", `{"ref":"main","variables":[{"key":"a.b"},{"key":"c d"}]}`, []string{chars}},
		{"longest key", create, "application/json", `{"ref":"main","variables":[{"key":"` + strings.Repeat("K", 255) + `","value":"x"}]}`, nil},
		{"good key", create, "application/json", `{"ref":"main","variables":[{"key":"GOOD_key_1","value":"x"}]}`, nil},
		{"trigger, empty key", trigger, "application/json", fmt.Sprintf(`{"ref":"main","token":%q,"variables":{"":"x"}}`, tr.Token), []string{blank, chars}},
		{"trigger, variables[]", trigger, "application/json", fmt.Sprintf(`{"ref":"main","token":%q,"variables[]":"x"}`, tr.Token), []string{blank, chars}},
		{"trigger form, bracket key", trigger, "application/x-www-form-urlencoded",
			url.Values{"ref": {"main"}, "token": {tr.Token}, "variables[]]": {"x"}}.Encode(), []string{chars}},
		{"trigger form, bad key", trigger, "application/x-www-form-urlencoded",
			url.Values{"ref": {"main"}, "token": {tr.Token}, "variables[$(id)]": {"x"}}.Encode(), []string{chars}},
		{"trigger form, good key", trigger, "application/x-www-form-urlencoded",
			url.Values{"ref": {"main"}, "token": {tr.Token}, "variables[DEPLOY]": {"x"}}.Encode(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", c.url, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ctype)
			req.Header.Set("PRIVATE-TOKEN", servertest.RootToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if c.want == nil {
				if resp.StatusCode != 201 {
					t.Errorf("%d %s, want 201", resp.StatusCode, raw)
				}
				return
			}
			var got struct {
				Message struct {
					Keys []string `json:"variables.key"`
					Base []string `json:"base"`
				} `json:"message"`
			}
			if err := json.Unmarshal(raw, &got); err != nil || resp.StatusCode != 400 {
				t.Fatalf("%d %s, want 400 (%v)", resp.StatusCode, raw, err)
			}
			if diff := cmp.Diff(c.want, got.Message.Keys); diff != "" {
				t.Errorf("variables.key messages (-want +got):\n%s", diff)
			}
			base := "Failed to persist the pipeline: Validation failed: Variables key " + strings.Join(c.want, ", Variables key ")
			if len(got.Message.Base) != 1 || got.Message.Base[0] != base {
				t.Errorf("base = %q, want %q", got.Message.Base, base)
			}
		})
	}
	if ps, _, err := root.Pipelines.ListProjectPipelines(p.ID, nil); err != nil || len(ps) != 4 {
		t.Errorf("%d pipelines (%v), want 4: one per push and accepted request", len(ps), err)
	}
}
