// Package executor defines how a job's scripts are run: the contract every
// executor (shell, docker, kubernetes) implements, and that executortest
// checks for each of them.
//
// Lifecycle, per job: Prepare once; then Run any number of times, one at a
// time; then Cleanup. Cleanup is safe to call twice and after a failed or
// canceled Prepare, and must release everything Prepare made (containers,
// networks, processes) even when ctx is already done — callers pass a fresh
// context for it. Different jobs use different Executor values and may run
// concurrently.
//
// Exit codes surface as *ExitError from Run; a canceled ctx stops the
// running script (SIGTERM, then SIGKILL after a grace period) and Run
// returns an error wrapping context.Canceled or context.DeadlineExceeded.
// Any other error is a system failure of the executor.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrImagePull marks an image that could not be pulled or is not allowed;
// the runner reports it as image_pull_failure.
var ErrImagePull = errors.New("image pull failure")

// Executor runs one job's scripts in one environment.
type Executor interface {
	// Prepare creates the job environment and reports where things are.
	Prepare(ctx context.Context, opts Options) (Dirs, error)
	// Run feeds cmd.Script to a shell in the job environment.
	Run(ctx context.Context, cmd Command) error
	// Cleanup removes the job environment.
	Cleanup(ctx context.Context) error
}

// Options describe the job to an executor.
type Options struct {
	// JobID and ProjectPath (group/project) name directories and labels.
	JobID       int64
	ProjectPath string
	// RunnerToken is the short runner token; ConcurrentID the job's slot
	// (0…concurrent-1) used in build directories.
	RunnerToken  string
	ConcurrentID int
	// Image and Services come from the payload (docker, kubernetes).
	Image    Image
	Services []Image
	// Env is exported to services (public variables).
	Env []string
	// Credentials authenticate image pulls (payload credentials of type
	// registry).
	Credentials []Credential
	// Stdout receives executor messages (image pulls…) for the job log.
	Log io.Writer
}

// Image is a container image reference with its options.
type Image struct {
	Name       string
	Alias      string
	Entrypoint []string
	Command    []string
	PullPolicy []string
	Env        []string
}

// Credential is a registry login.
type Credential struct {
	Registry, Username, Password string
}

// Dirs tells the runner where the build lives. Project/Tmp are as the job
// scripts see them; Host* are the same directories as the runner process
// sees them (it clones sources and handles artifacts and cache there).
type Dirs struct {
	BuildsDir, ProjectDir, TmpDir             string
	HostBuildsDir, HostProjectDir, HostTmpDir string
	// Shared is true when builds dirs persist between jobs on this host
	// (CI_SHARED_ENVIRONMENT), false for throw-away containers.
	Shared bool
}

// Command is one script run.
type Command struct {
	// Stage is the GitLab stage name (step_script, after_script…).
	Stage  string
	Script string
	Stdout io.Writer
	Stderr io.Writer
}

// ExitError is a script that ended with a non-zero exit code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }
