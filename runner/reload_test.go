package runner_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// A reloaded config starts new runners and stops removed ones, without
// restarting the process.
func TestReload(t *testing.T) {
	t.Parallel()
	a, b := runnertest.New(t), runnertest.New(t)
	b.RunnerToken = "glrt-second"
	shaA := a.Repo("group/project", 7, map[string]string{"x": "x"})
	shaB := b.Repo("group/project", 7, map[string]string{"y": "y"})
	entryA := &config.Runner{Name: "a", URL: a.URL, Token: a.RunnerToken, Executor: "shell"}
	entryB := &config.Runner{Name: "b", URL: b.URL, Token: b.RunnerToken, Executor: "shell"}
	r, err := runner.New(&config.Config{Concurrent: 1, CheckInterval: 1, Runners: []*config.Runner{entryA}}, runner.Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if err := r.Update(&config.Config{Concurrent: 2, CheckInterval: 1, Runners: []*config.Runner{entryA, entryB}}); err != nil {
		t.Fatal(err)
	}
	b.Enqueue(b.Payload(runnertest.Spec{ID: 1, Sha: shaB, Script: []string{"cat y"}}))
	if j := b.Wait(1, time.Minute); j.State != "success" {
		t.Fatalf("job of the added runner: %s", j.State)
	}
	// Remove a while it runs a job: the job finishes, new ones are not taken.
	a.Enqueue(a.Payload(runnertest.Spec{ID: 9, Sha: shaA, Script: []string{"sleep 2", "echo done"}}))
	waitFor(t, func() bool { return bytes.Contains(a.Job(9).Trace, []byte("step_script")) })
	if err := r.Update(&config.Config{Concurrent: 2, CheckInterval: 1, Runners: []*config.Runner{entryB}}); err != nil {
		t.Fatal(err)
	}
	if j := a.Wait(9, time.Minute); j.State != "success" {
		t.Errorf("running job of a removed runner: %s\n%s", j.State, j.Trace)
	}
	time.Sleep(3 * time.Second) // a's loops notice within one request
	a.Enqueue(a.Payload(runnertest.Spec{ID: 2, Sha: shaA, Script: []string{"true"}}))
	b.Enqueue(b.Payload(runnertest.Spec{ID: 3, Sha: shaB, Script: []string{"true"}}))
	if j := b.Wait(3, time.Minute); j.State != "success" {
		t.Fatalf("b after reload: %s", j.State)
	}
	time.Sleep(2 * time.Second)
	if st := a.Job(2).State; st != "pending" {
		t.Errorf("removed runner still took a job: %s", st)
	}
	if err := r.Update(&config.Config{Runners: []*config.Runner{{Name: "bad", URL: "ftp://x", Token: "t", Executor: "shell"}}}); err == nil {
		t.Error("invalid config accepted")
	}
}
