package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/script"
)

// execute runs the stages of a job in GitLab Runner's order and returns
// how it ended. jobCtx is canceled on a hard abort or runner shutdown.
func (j *job) execute(jobCtx, scriptBase context.Context) outcome {
	p := j.p
	j.log.Println(fmt.Sprintf("Running with gantry-runner %s (%s)", gantry.Version, Revision))
	j.log.Println(fmt.Sprintf("  on %s %s, system ID: %s", j.entry.Name, j.entry.ShortToken(), j.rn.systemID))
	j.secrets = append(script.Variables(p.Variables).Masked(), p.Token)
	j.prefixes = p.Features.TokenMaskPrefixes

	scriptCtx, stopTimer := context.WithTimeoutCause(scriptBase, j.timeout(), errTimeout)
	defer stopTimer()

	var err error
	defer func() {
		if j.exec != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(jobCtx), afterScriptTimeout)
			if cerr := j.exec.Cleanup(cctx); cerr != nil {
				j.logger.Warn("executor cleanup", "err", cerr)
			}
			cancel()
		}
	}()
	err = j.stage("prepare_executor", fmt.Sprintf("Preparing the %q executor", j.entry.Executor), func() error {
		return j.prepare(scriptCtx)
	})
	if err == nil {
		err = j.stage("prepare_script", "Preparing environment", func() error {
			return j.runScript(scriptCtx, "prepare_script", script.Prepare(j.scriptJob(false)))
		})
	}
	if err == nil {
		err = j.stage("get_sources", "Getting source from Git repository", func() error {
			return j.hostScript(scriptCtx, "get_sources", script.GetSources(j.scriptJob(true)))
		})
	}
	if err == nil && j.hasCachePull() {
		err = j.stage("restore_cache", "Restoring cache", func() error { return j.restoreCache(scriptCtx) })
	}
	if err == nil && j.hasDependencies() {
		err = j.stage("download_artifacts", "Downloading artifacts", func() error { return j.downloadArtifacts(scriptCtx) })
	}
	if err == nil {
		err = j.userSteps(scriptCtx)
	}
	err = j.stopCause(scriptCtx, err)
	j.afterScript(jobCtx, err)
	if jobCtx.Err() == nil {
		if cerr := j.archive(jobCtx, err == nil); cerr != nil && err == nil {
			err = cerr
		}
	}
	if j.dirs.HostTmpDir != "" {
		_ = j.stage("cleanup_file_variables", "Cleaning up project directory and file based variables", func() error {
			return os.RemoveAll(j.dirs.HostTmpDir)
		})
	}
	if err == nil && jobCtx.Err() != nil {
		err = j.stopCause(jobCtx, jobCtx.Err())
	}
	return j.result(err)
}

// stopCause replaces a canceled-script error with why it was canceled.
func (j *job) stopCause(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errTimeout), errors.Is(cause, errCanceled), errors.Is(cause, errAbort):
		return cause
	case errors.Is(cause, context.Canceled):
		return errShutdown
	default:
		return cause
	}
}

func (j *job) result(err error) outcome {
	if err == nil {
		j.log.Final(true, "Job succeeded")
		return outcome{state: gitlab.JobStateSuccess}
	}
	reason, exit, msg := failureMessage(err)
	if reason == gitlab.FailureJobExecutionTimeout {
		msg = fmt.Sprintf("execution took longer than %s seconds", j.timeout())
	}
	if strings.HasPrefix(msg, "(system failure)") {
		j.log.Final(false, "Job failed "+msg)
	} else {
		j.log.Final(false, "Job failed: "+msg)
	}
	return outcome{state: gitlab.JobStateFailed, reason: reason, exit: exit, msg: msg}
}

// prepare builds the executor and the job's variables.
func (j *job) prepare(ctx context.Context) error {
	if j.p.Run != "" {
		return fmt.Errorf("%w: the run keyword (CI steps) is not supported by this runner", gantry.ErrNotImplemented)
	}
	if len(j.p.Secrets) > 0 {
		return fmt.Errorf("%w: external secrets (vault, cloud secret managers) are not supported by this runner", gantry.ErrNotImplemented)
	}
	ex, name, err := j.rn.newExecutor(j.entry, j.p)
	if err != nil {
		return err
	}
	j.exec, j.execName = ex, name
	j.log.Println(fmt.Sprintf("Using %s executor...", name))
	opts := executor.Options{
		JobID: j.p.ID, ProjectPath: projectPath(j.p), RunnerToken: j.entry.ShortToken(), ConcurrentID: j.cid,
		Image: executor.Image{Name: j.p.Image.Name, Entrypoint: j.p.Image.Entrypoint, Command: j.p.Image.Command, PullPolicy: j.p.Image.PullPolicy},
		Log:   runnerLine{j.log},
	}
	for _, s := range j.p.Services {
		opts.Services = append(opts.Services, executor.Image{Name: s.Name, Alias: s.Alias, Entrypoint: s.Entrypoint, Command: s.Command, PullPolicy: s.PullPolicy, Env: publicEnv(s.Variables)})
	}
	opts.Env = publicEnv(j.p.Variables)
	for _, c := range j.p.Credentials {
		if c.Type == "registry" {
			opts.Credentials = append(opts.Credentials, executor.Credential{Registry: c.URL, Username: c.Username, Password: c.Password})
		}
	}
	dirs, err := ex.Prepare(ctx, opts)
	if err != nil {
		return err
	}
	j.dirs = dirs
	j.vars = j.variables()
	if err := j.customBuildDir(); err != nil {
		return err
	}
	// A job that died with its runner left its temporary folder behind:
	// file variables and git credentials holding its (now invalid) token.
	// Start clean, or the stale credentials win over this job's.
	if j.dirs.HostTmpDir != "" {
		if err := os.RemoveAll(j.dirs.HostTmpDir); err != nil {
			return fmt.Errorf("clean %s: %w", j.dirs.HostTmpDir, err)
		}
	}
	j.send.setDebug(j.debug())
	return nil
}

func publicEnv(vs []gitlab.JobVariable) []string {
	var out []string
	for _, v := range script.Variables(vs).Expand() {
		if v.Public && !v.File {
			out = append(out, v.Key+"="+v.Value)
		}
	}
	return out
}

// userSteps runs the payload's steps except after_script, in order.
func (j *job) userSteps(ctx context.Context) error {
	var failed error
	for _, s := range j.p.Steps {
		if s.Name == gitlab.StepAfterScript {
			continue
		}
		switch s.When {
		case gitlab.WhenOnFailure:
			if failed == nil {
				continue
			}
		case gitlab.WhenAlways:
		default:
			if failed != nil {
				continue
			}
		}
		name := "step_" + s.Name
		err := j.stage(name, fmt.Sprintf("Executing %q stage of the job script", name), func() error {
			return j.runScript(ctx, name, script.Step(j.scriptJob(false), s.Script))
		})
		if err != nil && ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errCanceled) {
				j.log.Warningln("script canceled externally (UI, API)")
			}
			return err
		}
		if err != nil && !s.AllowFailure && failed == nil {
			failed = err
		}
	}
	return failed
}

// afterScript runs after_script with CI_JOB_STATUS, even after a failure,
// timeout or graceful cancel; not after a hard abort.
func (j *job) afterScript(jobCtx context.Context, err error) {
	if jobCtx.Err() != nil || j.exec == nil || j.dirs.ProjectDir == "" {
		return
	}
	var lines []string
	for _, s := range j.p.Steps {
		if s.Name == gitlab.StepAfterScript {
			lines = append(lines, s.Script...)
		}
	}
	if len(lines) == 0 {
		return
	}
	status := "success"
	switch {
	case errors.Is(err, errCanceled):
		status = "canceled"
	case err != nil:
		status = "failed"
	}
	ctx, cancel := context.WithTimeout(jobCtx, afterScriptTimeout)
	defer cancel()
	_ = j.stage("after_script", "Running after_script", func() error {
		aerr := j.runScript(ctx, "after_script", script.AfterScript(j.scriptJob(false), lines, status))
		if aerr != nil {
			j.log.Warningln(fmt.Sprintf("after_script failed, but job will continue unaffected: %v", aerr))
		}
		return nil
	})
}

// archive saves caches and uploads artifacts for the job's outcome.
func (j *job) archive(ctx context.Context, success bool) error {
	if j.exec == nil || j.dirs.HostProjectDir == "" {
		return nil
	}
	if j.hasCachePush(success) {
		name, header := "archive_cache", "Saving cache for successful job"
		if !success {
			name, header = "archive_cache_on_failure", "Saving cache for failed job"
		}
		_ = j.stage(name, header, func() error { return j.saveCache(ctx, success) })
	}
	if !j.hasArtifacts(success) {
		return nil
	}
	name, header := "upload_artifacts_on_success", "Uploading artifacts for successful job"
	if !success {
		name, header = "upload_artifacts_on_failure", "Uploading artifacts for failed job"
	}
	return j.stage(name, header, func() error { return j.uploadArtifacts(ctx, success) })
}

func whenMatches(when string, success bool) bool {
	switch when {
	case gitlab.WhenAlways:
		return true
	case gitlab.WhenOnFailure:
		return !success
	default:
		return success
	}
}
