package runnerapi_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server"
)

// TestHeldPollGetsEveryNewlyPendingJob: a runner holding a long poll (its
// last_update is the queue's version) receives a job as soon as it becomes
// pending, whatever made it pending: a played manual job, a delayed job
// whose time came, a claim its runner never confirmed. The long poll is
// 30 s here, so a job the queue was not told about comes back as a 204.
func TestHeldPollGetsEveryNewlyPendingJob(t *testing.T) {
	cases := []struct {
		name   string
		yaml   string
		before func(e *env) // runs before the poll is held
		start  func(e *env) // makes the job pending while the poll is held
	}{
		{name: "played manual job", yaml: "deploy:\n  when: manual\n  script: [echo deploy]\n",
			start: func(e *env) {
				if _, _, err := e.api.Jobs.PlayJob(e.project.ID, e.jobs(e.pipeline().ID)["deploy"].ID, nil); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "delayed job", yaml: "later:\n  when: delayed\n  start_in: 5 seconds\n  script: [echo later]\n",
			start: func(e *env) {}},
		{name: "unconfirmed claim", yaml: "build:\n  script: [echo build]\n",
			before: func(e *env) {
				// Another runner takes the job and never confirms it.
				other := fakerunner.New(e.t, e.srv.URL, e.createRunner(`{"runner_type":"instance_type"}`))
				if job := other.WaitJob(e.t, 10*time.Second); job.JobInfo.Name != "build" {
					e.t.Fatalf("the other runner got %s", job.JobInfo.Name)
				}
			},
			start: func(e *env) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) {
				c.CI.LongPoll, c.CI.ConfirmTimeout = 30*time.Second, 2*time.Second
			})
			e.push(map[string]string{".gitlab-ci.yml": tc.yaml})
			e.pipeline()
			if tc.before != nil {
				tc.before(e)
			}
			got := e.holdPoll(e.runner)
			tc.start(e)
			select {
			case r := <-got:
				if r.Status != http.StatusCreated {
					t.Fatalf("held poll answered %d, want 201 with the job", r.Status)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("held poll did not answer")
			}
		})
	}
}

// holdPoll sends a job request with the queue's current version, so that
// the server holds it, and waits until the server counts it as held.
func (e *env) holdPoll(r *fakerunner.Runner) <-chan fakerunner.Response {
	e.t.Helper()
	before := e.metric("gantry_ci_long_poll_waiters")
	p, resp := r.Request(e.t, "")
	if p != nil {
		e.t.Fatalf("got job %s before holding the poll", p.JobInfo.Name)
	}
	got := make(chan fakerunner.Response, 1)
	go func() {
		_, resp := r.Request(e.t, resp.Header.Get(gitlab.HeaderLastUpdate))
		got <- resp
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.metric("gantry_ci_long_poll_waiters") != before+1 {
		if time.Now().After(deadline) {
			e.t.Fatal("the job request was never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return got
}

// metric reads one unlabelled gauge from /metrics.
func (e *env) metric(name string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	e.t.Fatalf("no metric %s", name)
	return 0
}
