package runner_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// config.toml hooks, payload hooks and CI_DEBUG_TRACE, in GitLab's order.
func TestHooksAndDebugTrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) {
		r := c.Runners[0]
		r.PreGetSourcesScript = "echo cfg-pre-sources"
		r.PostGetSourcesScript = "echo cfg-post-sources"
		r.PreBuildScript = "echo cfg-pre-build"
		r.PostBuildScript = "echo cfg-post-build"
		r.Environment = []string{"FROM_CONFIG=cfg-env"}
	})
	p := h.srv.Payload(runnertest.Spec{ID: 1, Sha: h.sha, Script: []string{`echo "script $FROM_CONFIG"`},
		Variables: []gitlab.JobVariable{{Key: "CI_DEBUG_TRACE", Value: "true", Public: true}}})
	p.Hooks = []gitlab.JobHook{{Name: "pre_get_sources_script", Script: []string{"echo job-pre-sources"}}, {Name: "post_get_sources_script", Script: []string{"echo job-post-sources"}}}
	h.srv.Enqueue(p)
	j := h.srv.Wait(1, waitJob)
	if j.State != "success" {
		t.Fatalf("state %s\n%s", j.State, j.Trace)
	}
	order := []string{"01O cfg-pre-sources", "01O job-pre-sources", "Fetching changes", "01O cfg-post-sources", "01O job-post-sources", "01O cfg-pre-build", "01O script cfg-env", "01O cfg-post-build"}
	last := -1
	for _, s := range order {
		i := bytes.Index(j.Trace, []byte(s))
		if i < 0 || i < last {
			t.Errorf("%q missing or out of order", s)
		}
		last = i
	}
	if !bytes.Contains(j.Trace, []byte("01E ++ echo 'script cfg-env'")) {
		t.Errorf("no xtrace output:\n%s", j.Trace)
	}
	debug := false
	for _, e := range h.srv.Exchanges() {
		debug = debug || e.Method == "PATCH" && strings.Contains(e.Query, "debug_trace=true")
	}
	if !debug {
		t.Error("trace not sent with debug_trace=true")
	}
}
