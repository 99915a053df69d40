package runnerapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
)

// TestCIMetrics: /metrics reports the queue depth, jobs by status, the
// time jobs waited before a runner took them, each runner's last contact
// and the polls held.
func TestCIMetrics(t *testing.T) {
	e := newEnv(t)
	e.push(map[string]string{".gitlab-ci.yml": "a:\n  script: [a]\nb:\n  script: [b]\nc:\n  when: manual\n  script: [c]\n"})
	e.waitStatus(e.pipeline().ID, "pending")
	creds, _ := e.runner.Verify(t)
	e.expectMetrics(`gantry_ci_queue_depth 2`, `gantry_ci_jobs{status="pending"} 2`, `gantry_ci_jobs{status="manual"} 1`,
		`gantry_ci_job_pending_seconds_count 0`, fmt.Sprintf(`gantry_ci_runner_last_contact_seconds{runner="%d"}`, creds.ID),
		`gantry_ci_long_poll_waiters 0`)
	job := e.runner.WaitJob(t, 10*time.Second)
	e.runner.Update(t, job, gitlab.UpdateJobRequest{State: "running"})
	e.expectMetrics(`gantry_ci_queue_depth 1`, `gantry_ci_jobs{status="pending"} 1`, `gantry_ci_jobs{status="running"} 1`,
		`gantry_ci_job_pending_seconds_count 1`)
	e.runner.WaitJob(t, 10*time.Second) // b
	e.holdPoll(e.runner)
	e.expectMetrics(`gantry_ci_queue_depth 0`, `gantry_ci_job_pending_seconds_count 2`, `gantry_ci_long_poll_waiters 1`)
}

// expectMetrics checks that /metrics has a line starting with each of
// want.
func (e *env) expectMetrics(want ...string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, w := range want {
		if !strings.Contains("\n"+string(b), "\n"+w) {
			e.t.Errorf("metrics lack %q", w)
		}
	}
}
