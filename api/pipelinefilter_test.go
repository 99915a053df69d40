package api_test

import (
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestCreatePipelineFiltered: POST /projects/:id/pipeline for a commit
// whose workflow:rules match nothing says so in GitLab's words, and one
// whose job rules leave no job says that instead.
func TestCreatePipelineFiltered(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	for _, tc := range []struct{ name, yaml, want string }{
		{"workflow", "workflow:\n  rules:\n    - if: $NOPE == \"x\"\njob:\n  script: [x]\n", "Pipeline filtered out by workflow rules."},
		{"jobs", "job:\n  rules:\n    - if: $NOPE == \"x\"\n  script: [x]\n",
			"Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr(tc.name)})
			if err != nil {
				t.Fatal(err)
			}
			wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": tc.yaml})
			gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")
			_, resp, err := root.Pipelines.CreatePipeline(p.ID, &gl.CreatePipelineOptions{Ref: gl.Ptr("main")})
			if err == nil || resp.StatusCode != 400 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create pipeline = %v, want 400 %q", err, tc.want)
			}
		})
	}
}
