package runnerapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/server"
)

// TestLogIsContact: a runner that only sends log (no keep-alive PUT) is
// not silent; one that sends nothing is failed with runner_system_failure.
func TestLogIsContact(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.CI.SilentTimeout = 2 * time.Second })
	e.push(map[string]string{".gitlab-ci.yml": "talks:\n  script: [a]\nquiet:\n  script: [b]\n"})
	e.pipeline()
	talks, quiet := e.runner.WaitJob(t, 10*time.Second), e.runner.WaitJob(t, 10*time.Second)
	for _, j := range []*gitlab.JobPayload{talks, quiet} {
		e.runner.Update(t, j, gitlab.UpdateJobRequest{State: "running"})
	}
	line := []byte("still working\n")
	for i := range 50 { // 5 s, well past the silent timeout
		if r := e.runner.Patch(t, talks, i*len(line), line); r.Status != http.StatusAccepted || r.Header.Get("Job-Status") != "running" {
			t.Fatalf("patch %d of a job that keeps logging: %d %v", i, r.Status, r.Header)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := e.runner.Update(t, quiet, gitlab.UpdateJobRequest{State: "running"})
	if r.Status != http.StatusForbidden || r.Header.Get("Job-Status") != "failed" {
		t.Errorf("the quiet job after 5 s: %d %v", r.Status, r.Header)
	}
}
