// Package shell runs job scripts with bash on the runner's host, in
// builds_dir/<runner token>/<concurrent id>/<project path>.
package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-ci/gantry/runner/executor"
)

// Executor is the shell executor. Its zero value is not usable: set
// BuildsDir.
type Executor struct {
	// BuildsDir is the root of build directories (absolute).
	BuildsDir string
	// Shell is the program (default bash).
	Shell string
	// Grace is how long a canceled script gets after SIGTERM (default 10 s).
	Grace time.Duration
	// Env is the environment of scripts; nil means the runner's own.
	Env []string

	dirs executor.Dirs
}

var _ executor.Executor = (*Executor)(nil)

// Prepare creates the build directory.
func (e *Executor) Prepare(ctx context.Context, o executor.Options) (executor.Dirs, error) {
	if !filepath.IsAbs(e.BuildsDir) {
		return executor.Dirs{}, fmt.Errorf("shell executor: builds dir %q is not absolute", e.BuildsDir)
	}
	if err := checkProjectPath(o.ProjectPath); err != nil {
		return executor.Dirs{}, err
	}
	builds := filepath.Join(e.BuildsDir, o.RunnerToken, fmt.Sprint(o.ConcurrentID))
	project := filepath.Join(builds, filepath.FromSlash(o.ProjectPath))
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return executor.Dirs{}, fmt.Errorf("shell executor: %w", err)
	}
	e.dirs = executor.Dirs{
		BuildsDir: builds, ProjectDir: project, TmpDir: project + ".tmp",
		HostBuildsDir: builds, HostProjectDir: project, HostTmpDir: project + ".tmp",
		Shared: true,
	}
	return e.dirs, nil
}

// checkProjectPath refuses paths that would leave the builds directory.
func checkProjectPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
		return fmt.Errorf("shell executor: bad project path %q", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("shell executor: bad project path %q", p)
		}
	}
	return nil
}

// Run runs cmd.Script with the shell in its own process group, so that a
// cancel reaches every process the script started.
func (e *Executor) Run(ctx context.Context, cmd executor.Command) error {
	return Run(ctx, RunOptions{Shell: e.Shell, Dir: e.dirs.HostBuildsDir, Env: e.Env, Grace: e.Grace}, cmd)
}

// Cleanup removes nothing: shell builds directories are kept for the next
// job's fetch, as in GitLab Runner.
func (e *Executor) Cleanup(context.Context) error { return nil }

// RunOptions configure Run.
type RunOptions struct {
	Shell string
	Dir   string
	Env   []string
	Grace time.Duration
}

// Run feeds a script to a local shell. On ctx done the process group gets
// SIGTERM, then SIGKILL after Grace. It returns *executor.ExitError for a
// non-zero exit, or the context's error after a cancel.
func Run(ctx context.Context, o RunOptions, cmd executor.Command) error {
	sh := o.Shell
	if sh == "" || sh == "bash" {
		sh = "bash"
	}
	grace := o.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	c := exec.Command(sh, "--noprofile", "--norc")
	if sh == "sh" {
		c = exec.Command("sh")
	}
	c.Dir = o.Dir
	c.Env = o.Env
	c.Stdin = strings.NewReader(cmd.Script)
	c.Stdout, c.Stderr = cmd.Stdout, cmd.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.WaitDelay = 2 * time.Second // background children holding the pipes
	if err := c.Start(); err != nil {
		return fmt.Errorf("start %s: %w", sh, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		pgid := c.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-done
		}
		// Stragglers that ignored SIGTERM after the leader exited.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return fmt.Errorf("script stopped: %w", context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &executor.ExitError{Code: 128 + int(ws.Signal())}
		}
		return &executor.ExitError{Code: ee.ExitCode()}
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("run %s: %w", sh, err)
	}
	return nil
}
