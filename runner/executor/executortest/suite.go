// Package executortest is the behaviour every executor must show, run
// against each implementation (shell, docker): output streams, exit codes,
// a shared build directory between scripts, cancellation, and Cleanup that
// is safe twice and after a failed Prepare.
package executortest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/script"
)

// Factory makes a fresh executor for one job.
type Factory func(t *testing.T) executor.Executor

// Options describe what an implementation supports.
type Options struct {
	// Image for container executors.
	Image string
	// Services, when set, is a service reachable as ServiceAlias:ServicePort
	// serving ServiceBody over HTTP; the suite fetches it with wget.
	Service     *executor.Image
	ServiceURL  string
	ServiceBody string
	// BadPrepare returns options that make Prepare fail.
	BadPrepare func() executor.Options
}

func opts(o Options, id int64) executor.Options {
	return executor.Options{JobID: id, ProjectPath: "group/project", RunnerToken: "suite", ConcurrentID: 0,
		Image: executor.Image{Name: o.Image, PullPolicy: []string{"if-not-present"}}}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(ctx context.Context, e executor.Executor, text string) (string, string, error) {
	var out, errb syncBuffer
	err := e.Run(ctx, executor.Command{Stage: "step_script", Script: text, Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

func prepare(t *testing.T, f Factory, o Options, id int64) (executor.Executor, executor.Dirs) {
	t.Helper()
	e := f(t)
	t.Cleanup(func() { _ = e.Cleanup(context.Background()) })
	d, err := e.Prepare(t.Context(), opts(o, id))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := os.MkdirAll(d.HostProjectDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return e, d
}

// Run runs the suite.
func Run(t *testing.T, f Factory, o Options) {
	t.Run("streams", func(t *testing.T) { testStreams(t, f, o) })
	t.Run("exit code", func(t *testing.T) { testExitCode(t, f, o) })
	t.Run("build dir shared with the host", func(t *testing.T) { testSharedDir(t, f, o) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, f, o) })
	t.Run("cleanup twice and after failed prepare", func(t *testing.T) { testCleanup(t, f, o) })
	if o.Service != nil {
		t.Run("service by alias", func(t *testing.T) { testService(t, f, o) })
	}
}

func testStreams(t *testing.T, f Factory, o Options) {
	e, d := prepare(t, f, o, 1)
	j := &script.Job{ProjectDir: d.ProjectDir, TmpDir: d.TmpDir, Variables: script.Variables{{Key: "GREETING", Value: "hi there"}}}
	out, errs, err := run(t.Context(), e, script.Step(j, []string{`echo "$GREETING"`, "echo oops >&2", "pwd"}))
	if err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, errs)
	}
	if !strings.Contains(out, "hi there\n") || !strings.Contains(out, d.ProjectDir+"\n") || !strings.Contains(errs, "oops\n") || strings.Contains(out, "\noops\n") {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
}

func testExitCode(t *testing.T, f Factory, o Options) {
	e, d := prepare(t, f, o, 2)
	j := &script.Job{ProjectDir: d.ProjectDir, TmpDir: d.TmpDir}
	_, _, err := run(t.Context(), e, script.Step(j, []string{"echo before", "exit 7", "echo after"}))
	var ee *executor.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("Run = %v, want exit 7", err)
	}
}

func testSharedDir(t *testing.T, f Factory, o Options) {
	e, d := prepare(t, f, o, 3)
	if err := os.WriteFile(filepath.Join(d.HostProjectDir, "from-host"), []byte("h"), 0o644); err != nil {
		t.Fatal(err)
	}
	j := &script.Job{ProjectDir: d.ProjectDir, TmpDir: d.TmpDir}
	if _, errs, err := run(t.Context(), e, script.Step(j, []string{"cat from-host", "echo c > from-script"})); err != nil {
		t.Fatalf("Run: %v %s", err, errs)
	}
	if b, err := os.ReadFile(filepath.Join(d.HostProjectDir, "from-script")); err != nil || string(b) != "c\n" {
		t.Errorf("script output on host: %q %v", b, err)
	}
	// A second script sees the first one's files.
	if out, _, err := run(t.Context(), e, script.Step(j, []string{"cat from-script"})); err != nil || out == "" {
		t.Errorf("second script: %q %v", out, err)
	}
}

func testCancel(t *testing.T, f Factory, o Options) {
	e, d := prepare(t, f, o, 4)
	j := &script.Job{ProjectDir: d.ProjectDir, TmpDir: d.TmpDir}
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(1500 * time.Millisecond); cancel() }()
	start := time.Now()
	_, _, err := run(ctx, e, script.Step(j, []string{"echo started", "sleep 60", "echo never"}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
}

func testCleanup(t *testing.T, f Factory, o Options) {
	e, _ := prepare(t, f, o, 5)
	if err := e.Cleanup(t.Context()); err != nil {
		t.Errorf("Cleanup: %v", err)
	}
	if err := e.Cleanup(t.Context()); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
	if o.BadPrepare != nil {
		bad := f(t)
		if _, err := bad.Prepare(t.Context(), o.BadPrepare()); err == nil {
			t.Error("bad Prepare succeeded")
		}
		if err := bad.Cleanup(t.Context()); err != nil {
			t.Errorf("Cleanup after failed Prepare: %v", err)
		}
	}
	if err := f(t).Cleanup(t.Context()); err != nil {
		t.Errorf("Cleanup without Prepare: %v", err)
	}
}

func testService(t *testing.T, f Factory, o Options) {
	e := f(t)
	t.Cleanup(func() { _ = e.Cleanup(context.Background()) })
	op := opts(o, 6)
	op.Services = []executor.Image{*o.Service}
	d, err := e.Prepare(t.Context(), op)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	os.MkdirAll(d.HostProjectDir, 0o755)
	j := &script.Job{ProjectDir: d.ProjectDir, TmpDir: d.TmpDir}
	out, errs, err := run(t.Context(), e, script.Step(j, []string{
		"for i in $(seq 1 50); do wget -qO- " + o.ServiceURL + " && break; sleep 0.2; done",
	}))
	if err != nil || !strings.Contains(out, o.ServiceBody) {
		t.Errorf("service: %v\nstdout %q\nstderr %q", err, out, errs)
	}
}
