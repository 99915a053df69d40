package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/gitlab"
)

const crashCI = `
stages: [build, test]
stream:
  stage: build
  script: [echo streams a long log]
second:
  stage: build
  script: [echo pending while the server dies]
after:
  stage: test
  script: [echo runs once both passed]
`

// TestKillMidPipeline kills the server with SIGKILL twice while a runner
// streams a job's log into it, restarting it each time on the same data
// folder and address. The runner keeps retrying as gitlab-runner does
// (416 → resend from the server's length); the job ends, the job that was
// pending before the crashes is handed out after them, the pipeline
// succeeds, and the stored log is every byte the runner sent.
func TestKillMidPipeline(t *testing.T) {
	dir, addr := filepath.Join(t.TempDir(), "data"), freeAddr(t)
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	args := []string{"server", "--data-dir", dir, "--listen", addr, "--external-url", "http://" + addr, "--ci-long-poll", "2s"}
	srv := startGantry(t, env, args...)
	project, token := ciProject(t, srv.URL, crashCI)
	r := newSteadyRunner(t, srv.URL, token)
	job, err := r.waitJob(30 * time.Second)
	if err != nil || job.JobInfo.Name != "stream" {
		t.Fatalf("first job: %v %v", job, err)
	}
	if resp, err := r.update(job, gitlab.UpdateJobRequest{State: "running"}); err != nil || resp.Status != 200 {
		t.Fatalf("confirm: %v %v", resp.Status, err)
	}

	const total = 6 << 20
	l := &jobLog{job: job}
	streamed := make(chan error, 1)
	go func() { streamed <- stream(r, l, total) }()
	for round := 1; round <= 2; round++ {
		for l.acked.Load() < int64(round*total/3) {
			select {
			case err := <-streamed:
				t.Fatalf("the log ended before crash %d: %v", round, err)
			case <-time.After(time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // most likely during a patch
		srv.kill()
		t.Logf("crash %d with %d bytes acknowledged", round, l.acked.Load())
		time.Sleep(200 * time.Millisecond) // the runner's calls fail meanwhile
		srv = startGantry(t, env, args...)
		// As if the reply to the last patch before the crash was lost:
		// the runner sends those bytes again (the server answers 416).
		l.lost.Store(64 << 10)
	}
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls retried, %d patches answered 416", r.retries.Load(), r.resends.Load())
	if r.resends.Load() < 2 {
		t.Errorf("%d patches were answered 416; the resent bytes after each crash should have been", r.resends.Load())
	}
	if err := r.finish(l, "success", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"second", "after"} {
		next, err := r.waitJob(30 * time.Second)
		if err != nil || next.JobInfo.Name != want {
			t.Fatalf("want job %s: %v %v", want, next, err)
		}
		if err := r.run(next, want+" ran\n"); err != nil {
			t.Fatal(err)
		}
	}
	c := client(t, srv.URL)
	waitPipeline(t, c, project.ID, "success")
	rd, _, err := c.Jobs.GetTraceFile(project.ID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rd)
	if !bytes.Equal(stored, l.data) {
		t.Fatalf("stored log: %d bytes, the runner sent %d; first difference at %d", len(stored), len(l.data), firstDiff(stored, l.data))
	}
	srv.stop(t)
}

// stream writes n bytes of log lines, flushing every 64 KiB as the
// runner's trace loop does.
func stream(r *steadyRunner, l *jobLog, n int) error {
	for i := 0; len(l.data) < n; i++ {
		l.data = fmt.Appendf(l.data, "%08d \x1b[32;1mstep\x1b[0;m the quick brown fox jumps over the lazy dog\n", i)
		if i%1000 == 999 || len(l.data) >= n {
			if err := r.flush(l); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSilentRunner: with --ci-runner-silent-timeout 2s, a running job
// whose runner goes quiet fails with runner_system_failure, and since it
// may be retried for that reason a new attempt is queued and runs.
func TestSilentRunner(t *testing.T) {
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	srv := startGantry(t, env, "server", "--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0",
		"--ci-runner-silent-timeout", "2s", "--ci-long-poll", "2s")
	project, token := ciProject(t, srv.URL,
		"flaky:\n  script: [echo]\n  retry:\n    max: 1\n    when: runner_system_failure\n")
	r := newSteadyRunner(t, srv.URL, token)
	first, err := r.waitJob(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.update(first, gitlab.UpdateJobRequest{State: "running"}); err != nil {
		t.Fatal(err)
	}
	if err := r.flush(&jobLog{job: first, data: []byte("started, then silence\n")}); err != nil {
		t.Fatal(err)
	}
	// Silence. The next job request gets the new attempt.
	second, err := r.waitJob(30 * time.Second)
	if err != nil || second.ID == first.ID || second.JobInfo.Name != "flaky" {
		t.Fatalf("new attempt: %+v %v", second, err)
	}
	resp, err := r.update(first, gitlab.UpdateJobRequest{State: "running"})
	if err != nil || resp.Status != 403 || resp.Header.Get(gitlab.HeaderJobStatus) != "failed" {
		t.Errorf("the silent runner comes back: %d %v (%v)", resp.Status, resp.Header, err)
	}
	if err := r.run(second, "second attempt\n"); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.URL)
	p := waitPipeline(t, c, project.ID, "success")
	jobs, _, err := c.Jobs.ListPipelineJobs(project.ID, p.ID, &gl.ListJobsOptions{IncludeRetried: gl.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, j := range jobs {
		got[j.ID] = j.Status + "/" + j.FailureReason
	}
	if got[first.ID] != "failed/runner_system_failure" || got[second.ID] != "success/" {
		t.Errorf("attempts: %v", got)
	}
}
