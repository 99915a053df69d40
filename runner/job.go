package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/script"
	"github.com/gantry-ci/gantry/runner/trace"
)

// Why a job's scripts were stopped; used as context causes.
var (
	errTimeout  = errors.New("job execution timeout")
	errCanceled = errors.New("canceled")
	errAbort    = errors.New("aborted by the server")
	errShutdown = errors.New("runner is shutting down")
)

// afterScriptTimeout bounds after_script, which also runs after a timeout
// or cancel, as in GitLab Runner.
const afterScriptTimeout = 5 * time.Minute

// job is one job being run: its payload, log, executor and state.
type job struct {
	rn       *Runner
	entry    *config.Runner
	api      *entryClient
	p        *gitlab.JobPayload
	cid      int
	log      *trace.Log
	send     *sender
	exec     executor.Executor
	execName string
	dirs     executor.Dirs
	vars     script.Variables
	secrets  []string
	prefixes []string
	logger   *slog.Logger

	// abortCause is set when the server hard-aborted the job.
	graceful context.CancelCauseFunc
	hard     context.CancelCauseFunc
}

// outcome is how a job ended.
type outcome struct {
	state  string // success or failed
	reason string
	exit   int
	msg    string
}

// run executes one job end to end and reports its final state. It never
// returns an error: everything that goes wrong ends up in the job log and
// the final update.
func (rn *Runner) runJob(ctx context.Context, e *entryClient, entry *config.Runner, p *gitlab.JobPayload, cid int) {
	logger := rn.logger.With("job", p.ID, "runner", entry.ShortToken())
	log, err := trace.New("", entry.OutputLimitBytes())
	if err != nil {
		logger.Error("create job log", "err", err)
		return
	}
	defer log.Close()
	j := &job{rn: rn, entry: entry, api: e, p: p, cid: cid, log: log, logger: logger}
	j.send = newSender(e.client, p.ID, p.Token, e.requestInfo(), log, logger)
	if rn.opts.RetryBackoff > 0 {
		j.send.backoff = rn.opts.RetryBackoff
	}
	if rn.opts.KeepAlive > 0 {
		j.send.silence = rn.opts.KeepAlive
	}
	if !j.commit(ctx) {
		return
	}
	start := time.Now()
	jobCtx, hard := context.WithCancelCause(ctx)
	defer hard(nil)
	scriptBase, graceful := context.WithCancelCause(jobCtx)
	defer graceful(nil)
	j.hard, j.graceful = hard, graceful
	loopCtx, stopLoop := context.WithCancel(context.Background())
	go j.send.loop(loopCtx)
	go j.watch(loopCtx)

	out := j.execute(jobCtx, scriptBase)
	stopLoop()
	if errors.Is(context.Cause(jobCtx), errAbort) {
		logger.Info("job aborted by the server")
		return
	}
	// The final update must get out even when the runner is stopping, but
	// a stopping runner only waits shutdown_timeout for it.
	final := rn.opts.finalTimeout()
	if ctx.Err() != nil {
		st := time.Duration(rn.config().ShutdownTimeout) * time.Second
		if st <= 0 {
			st = config.DefaultShutdownTimeout * time.Second
		}
		final = min(final, st)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), final)
	defer cancel()
	if err := j.send.finish(fctx, out.state, j.failureReason(out.reason), out.exit); err != nil {
		logger.Error("final job update", "err", err)
		return
	}
	if out.state == gitlab.JobStateSuccess {
		rn.metrics.succeeded.Add(1)
	} else {
		rn.metrics.failed.Add(1)
	}
	logger.Info("job finished", "state", out.state, "reason", out.reason, "duration", time.Since(start))
}

// commit is the two-phase commit: PUT state=running right after the
// request. It reports whether to run the job.
func (j *job) commit(ctx context.Context) bool {
	a, err := j.api.client.UpdateJob(ctx, j.p.ID, gitlab.UpdateJobRequest{Info: j.send.info, Token: j.p.Token, State: gitlab.JobStateRunning})
	if err != nil {
		j.logger.Warn("accept job", "err", err) // run it anyway, as GitLab Runner does
		return true
	}
	switch {
	case a.Code == http.StatusForbidden || a.Code == http.StatusNotFound,
		a.JobStatus == gitlab.JobStateCanceled, a.JobStatus == gitlab.JobStateFailed:
		j.logger.Info("job withdrawn by the server", "status", a.Code, "job_status", a.JobStatus)
		return false
	case a.JobStatus == gitlab.JobStateCanceling:
		j.log.Final(false, "Job failed: canceled")
		_ = j.send.finish(ctx, gitlab.JobStateFailed, j.failureReason(gitlab.FailureJobCanceled), 0)
		return false
	}
	j.send.note(a)
	return true
}

// watch turns server answers into cancels.
func (j *job) watch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-j.send.status:
			switch st {
			case gitlab.JobStateCanceling:
				j.graceful(errCanceled)
			default:
				j.hard(errAbort)
			}
		}
	}
}

// failureReason maps a reason to one the server understands (§3.3).
func (j *job) failureReason(r string) string {
	if r == "" {
		return ""
	}
	for _, s := range j.p.Features.FailureReasons {
		if s == r {
			return r
		}
	}
	switch r {
	case gitlab.FailureScript, gitlab.FailureRunnerSystem, gitlab.FailureJobExecutionTimeout:
		return r
	case gitlab.FailureImagePull, gitlab.FailureRunnerExternalDependency:
		return gitlab.FailureRunnerSystem
	case gitlab.FailureRunnerConfiguration:
		return gitlab.FailureScript
	}
	return gitlab.FailureUnknown
}

func (j *job) timeout() time.Duration {
	t := j.p.RunnerInfo.Timeout
	if t <= 0 {
		t = 7200
	}
	return time.Duration(t) * time.Second
}

// stage runs fn inside a section of the log.
func (j *job) stage(name, header string, fn func() error) error {
	j.log.SectionStart(name, header)
	err := fn()
	j.log.SectionEnd(name)
	return err
}

// runScript runs a script with the executor, output into the log.
func (j *job) runScript(ctx context.Context, stage, text string) error {
	out := j.log.Writer(trace.BuildStdout, j.secrets, j.prefixes)
	errw := j.log.Writer(trace.BuildStderr, j.secrets, j.prefixes)
	err := j.exec.Run(ctx, executor.Command{Stage: stage, Script: text, Stdout: out, Stderr: errw})
	out.Flush()
	errw.Flush()
	return err
}

// hostScript runs a script on the runner's host (sources, for executors
// whose images need not have git).
func (j *job) hostScript(ctx context.Context, stage, text string) error {
	if _, ok := j.exec.(hostRunner); ok {
		return j.runScript(ctx, stage, text)
	}
	out := j.log.Writer(trace.BuildStdout, j.secrets, j.prefixes)
	errw := j.log.Writer(trace.BuildStderr, j.secrets, j.prefixes)
	err := j.rn.hostShell(ctx, j.dirs.HostBuildsDir, executor.Command{Stage: stage, Script: text, Stdout: out, Stderr: errw})
	out.Flush()
	errw.Flush()
	return err
}

// hostRunner marks executors whose scripts already run on the host.
type hostRunner interface{ RunsOnHost() }

// failureMessage maps why a job ended to its failure reason, exit code and log line.
func failureMessage(err error) (reason string, exit int, msg string) {
	var ee *executor.ExitError
	switch {
	case errors.As(err, &ee):
		return gitlab.FailureScript, ee.Code, fmt.Sprintf("exit status %d", ee.Code)
	case errors.Is(err, errTimeout):
		return gitlab.FailureJobExecutionTimeout, 0, "execution took longer than the job timeout"
	case errors.Is(err, errCanceled):
		return gitlab.FailureJobCanceled, 0, "canceled"
	case errors.Is(err, executor.ErrImagePull):
		return gitlab.FailureImagePull, 0, "(system failure): " + err.Error()
	case errors.Is(err, errShutdown):
		return gitlab.FailureRunnerSystem, 0, "(system failure): aborted: runner is shutting down"
	case errors.Is(err, gantry.ErrInvalid):
		return gitlab.FailureRunnerConfiguration, 0, "(system failure): " + err.Error()
	}
	return gitlab.FailureRunnerSystem, 0, "(system failure): " + err.Error()
}

// writers for executor messages in the log.
type runnerLine struct{ log *trace.Log }

func (w runnerLine) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			w.log.Println(l)
		}
	}
	return len(p), nil
}

var _ io.Writer = runnerLine{}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
