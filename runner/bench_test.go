package runner_test

import (
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// BenchmarkJobOverhead measures one trivial `echo hi` job with the shell
// executor, from the job request to the final success the server receives.
func BenchmarkJobOverhead(b *testing.B) {
	for _, strategy := range []string{"fetch", "none"} {
		b.Run("git_"+strategy, func(b *testing.B) {
			h := newBenchHarness(b, 1)
			id := int64(1)
			// Warm up: first clone, first long poll.
			h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: id, Sha: h.sha, Script: []string{"echo hi"}}))
			h.srv.Wait(id, time.Minute)
			b.ResetTimer()
			for range b.N {
				id++
				h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: id, Sha: h.sha, Script: []string{"echo hi"},
					Variables: []gitlab.JobVariable{{Key: "GIT_STRATEGY", Value: strategy, Public: true}}}))
				if j := h.srv.Wait(id, time.Minute); j.State != "success" {
					b.Fatalf("job %d: %s\n%s", id, j.State, j.Trace)
				}
			}
		})
	}
}

// BenchmarkConcurrent200 runs 200 trivial jobs with concurrent = 20; one
// op is all 200 jobs.
func BenchmarkConcurrent200(b *testing.B) {
	h := newBenchHarness(b, 20)
	id := int64(0)
	for range b.N {
		first := id + 1
		for range 200 {
			id++
			h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: id, Sha: h.sha, Script: []string{"echo hi"}}))
		}
		for j := first; j <= id; j++ {
			if st := h.srv.Wait(j, 5*time.Minute); st.State != "success" {
				b.Fatalf("job %d: %s", j, st.State)
			}
		}
	}
}

func newBenchHarness(b *testing.B, concurrent int) *benchHarness {
	b.Helper()
	srv := runnertest.New(b)
	srv.UpdateInterval = 3
	srv.LongPoll = 30 * time.Second
	sha := srv.Repo("group/project", 7, map[string]string{"README.md": "hello\n"})
	cfg := &config.Config{Concurrent: concurrent, CheckInterval: 1, Runners: []*config.Runner{{
		Name: "bench", URL: srv.URL, Token: srv.RunnerToken, Executor: "shell", RequestConcurrency: 4,
	}}}
	startRunner(b, cfg, b.TempDir())
	return &benchHarness{srv: srv, sha: sha}
}

type benchHarness struct {
	srv *runnertest.Server
	sha string
}
