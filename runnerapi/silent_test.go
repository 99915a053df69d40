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

// TestUnconfirmedJobGoesBack: a runner that got a job with two-phase
// commit but only ever sends pending keep-alives and log never confirms
// it; ConfirmTimeout after the claim the job is queued again and the
// runner's token for it is dead.
func TestUnconfirmedJobGoesBack(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.CI.ConfirmTimeout = time.Second })
	e.push(map[string]string{".gitlab-ci.yml": "j:\n  script: [a]\n"})
	e.pipeline()
	job := e.runner.WaitJob(t, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		r := e.runner.Update(t, job, gitlab.UpdateJobRequest{State: "pending"})
		if r.Status == http.StatusForbidden {
			break
		}
		if r.Status != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("keep-alive %d: %d %v; want 403 within seconds of the confirm timeout", i, r.Status, r.Header)
		}
		e.runner.Patch(t, job, i, []byte("x"))
		time.Sleep(100 * time.Millisecond)
	}
	again := e.runner.WaitJob(t, 10*time.Second)
	if again.ID != job.ID || again.Token == job.Token {
		t.Errorf("after the confirm timeout the runner got job %d (token reused %v); want job %d with a new token",
			again.ID, again.Token == job.Token, job.ID)
	}
}
