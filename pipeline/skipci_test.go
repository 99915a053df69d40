package pipeline_test

import (
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/pipeline"
)

// TestSkipCI: a push whose head commit says [ci skip] or [skip ci] (any
// case) gets a skipped pipeline without jobs, as in GitLab; a pipeline
// created through the API for the same commit runs.
func TestSkipCI(t *testing.T) {
	for _, msg := range []string{"docs [ci skip]", "wip [Skip CI] later", "plain"} {
		t.Run(msg, func(t *testing.T) {
			h := newHarness(t)
			wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "build:\n  script: [x]\n"})
			gittest.Commit(t, wt, msg, map[string]string{"README.md": "x\n"})
			gittest.Run(t, wt, "push", "-q", "--force", h.repo, "main")
			skip := msg != "plain"
			p, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "main", Source: "push", User: h.user})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Status == gantry.StatusSkipped; got != skip {
				t.Errorf("push pipeline of %q is %s", msg, p.Status)
			}
			if n := len(h.jobs(p.ID)); (n == 0) != skip {
				t.Errorf("push pipeline of %q has %d jobs", msg, n)
			}
			api, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "main", Source: "api", User: h.user})
			if err != nil {
				t.Fatal(err)
			}
			if api.Status == gantry.StatusSkipped || len(h.jobs(api.ID)) != 1 {
				t.Errorf("API pipeline of %q is %s with %d jobs", msg, api.Status, len(h.jobs(api.ID)))
			}
		})
	}
}
