package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
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
	dirs, err := ex.Prepare(ctx, opts)
	if err != nil {
		return err
	}
	j.dirs = dirs
	j.vars = j.variables()
	if err := j.customBuildDir(); err != nil {
		return err
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

// customBuildDir applies GIT_CLONE_PATH when [runners.custom_build_dir]
// allows it (default: on for docker and kubernetes, off for shell). The
// path must lie inside CI_BUILDS_DIR.
func (j *job) customBuildDir() error {
	want, ok := j.vars.Lookup("GIT_CLONE_PATH")
	if !ok || want == "" {
		return nil
	}
	enabled := j.entry.Executor != "shell"
	if c := j.entry.CustomBuildDir; c != nil && c.Enabled != nil {
		enabled = *c.Enabled
	}
	if !enabled {
		return fmt.Errorf("%w: GIT_CLONE_PATH is set but [runners.custom_build_dir] is not enabled", gantry.ErrInvalid)
	}
	clean := path.Clean(want)
	rel, found := strings.CutPrefix(clean, strings.TrimRight(j.dirs.BuildsDir, "/")+"/")
	if !found || !safePath(rel) {
		return fmt.Errorf("%w: GIT_CLONE_PATH %q must be inside %s", gantry.ErrInvalid, want, j.dirs.BuildsDir)
	}
	j.dirs.ProjectDir = clean
	j.dirs.TmpDir = clean + ".tmp"
	j.dirs.HostProjectDir = filepath.Join(j.dirs.HostBuildsDir, filepath.FromSlash(rel))
	j.dirs.HostTmpDir = j.dirs.HostProjectDir + ".tmp"
	j.vars.Set("CI_PROJECT_DIR", clean)
	j.vars.Set("RUNNER_TEMP_PROJECT_DIR", j.dirs.TmpDir)
	j.vars = j.vars.Dedup()
	return nil
}

// debug reports CI_DEBUG_TRACE, unless the runner disables it.
func (j *job) debug() bool {
	return j.vars.Get("CI_DEBUG_TRACE") == "true" && !j.entry.DebugTraceDisabled
}

// projectPath is the checkout path under the builds dir: the repo URL's
// path without .git, else project-<id>.
func projectPath(p *gitlab.JobPayload) string {
	if fp := strings.Trim(p.JobInfo.ProjectFullPath, "/"); fp != "" && safePath(fp) {
		return fp
	}
	if i := strings.Index(p.GitInfo.RepoURL, "://"); i >= 0 {
		rest := p.GitInfo.RepoURL[i+3:]
		if k := strings.Index(rest, "/"); k >= 0 {
			fp := strings.Trim(strings.TrimSuffix(rest[k+1:], ".git"), "/")
			if fp != "" && safePath(fp) {
				return fp
			}
		}
	}
	return fmt.Sprintf("project-%d", p.JobInfo.ProjectID)
}

func safePath(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\\x00") {
			return false
		}
	}
	return true
}

// variables: config environment, then the job's, then what the runner
// defines, expanded.
func (j *job) variables() script.Variables {
	var v script.Variables
	for _, e := range j.entry.Environment {
		k, val, _ := strings.Cut(e, "=")
		v.Set(k, val)
	}
	v = append(v, j.p.Variables...)
	v.Set("CI_BUILDS_DIR", j.dirs.BuildsDir)
	v.Set("CI_PROJECT_DIR", j.dirs.ProjectDir)
	v.Set("CI_CONCURRENT_ID", itoa(int64(j.cid)))
	v.Set("CI_CONCURRENT_PROJECT_ID", itoa(int64(j.cid)))
	v.Set("CI_SERVER", "yes")
	v.Set("CI_JOB_STATUS", "running") // after_script overrides it
	v.Set("CI_JOB_TIMEOUT", itoa(int64(j.timeout().Seconds())))
	v.Set("CI_RUNNER_SHORT_TOKEN", j.entry.ShortToken())
	v.Set("CI_RUNNER_VERSION", gantry.Version)
	v.Set("CI_RUNNER_REVISION", Revision)
	v.Set("CI_RUNNER_EXECUTABLE_ARCH", runtime.GOOS+"/"+runtime.GOARCH)
	v.Set("RUNNER_TEMP_PROJECT_DIR", j.dirs.TmpDir)
	if j.dirs.Shared {
		v.Set("CI_SHARED_ENVIRONMENT", "true")
	} else {
		v.Set("CI_DISPOSABLE_ENVIRONMENT", "true")
		v.Set("CI_JOB_IMAGE", j.p.Image.Name)
	}
	return v.Expand()
}

// scriptJob is the script generator's view; host selects the runner-side
// paths (for get_sources run on the host).
func (j *job) scriptJob(host bool) *script.Job {
	sj := &script.Job{ProjectDir: j.dirs.ProjectDir, TmpDir: j.dirs.TmpDir, Variables: j.vars, Debug: j.debug()}
	if host {
		sj.ProjectDir, sj.TmpDir = j.dirs.HostProjectDir, j.dirs.HostTmpDir
		vars := append(script.Variables{}, j.vars...)
		vars.Set("CI_PROJECT_DIR", j.dirs.HostProjectDir)
		vars.Set("CI_BUILDS_DIR", j.dirs.HostBuildsDir)
		sj.Variables = vars
	}
	sj.Git = j.git()
	if s := j.entry.PreGetSourcesScript; s != "" {
		sj.PreGetSources = append(sj.PreGetSources, s)
	}
	if s := j.entry.PostGetSourcesScript; s != "" {
		sj.PostGetSources = append(sj.PostGetSources, s)
	}
	for _, h := range j.p.Hooks {
		switch h.Name {
		case "pre_get_sources_script":
			sj.PreGetSources = append(sj.PreGetSources, h.Script...)
		case "post_get_sources_script":
			sj.PostGetSources = append(sj.PostGetSources, h.Script...)
		}
	}
	if s := j.entry.PreBuildScript; s != "" {
		sj.PreBuild = []string{s}
	}
	if s := j.entry.PostBuildScript; s != "" {
		sj.PostBuild = []string{s}
	}
	return sj
}

func (j *job) git() script.Git {
	v, gi := j.vars, j.p.GitInfo
	g := script.Git{
		RepoURL: gi.RepoURL, Sha: gi.Sha, Ref: gi.Ref, Refspecs: gi.Refspecs, Depth: gi.Depth,
		Strategy: v.Get("GIT_STRATEGY"), Checkout: v.Get("GIT_CHECKOUT") != "false",
		CleanFlags: v.Get("GIT_CLEAN_FLAGS"), SubmoduleStrategy: v.Get("GIT_SUBMODULE_STRATEGY"),
		UserAgent: fmt.Sprintf("gantry-runner %s %s/%s", gantry.Version, runtime.GOOS, runtime.GOARCH),
	}
	if j.entry.CloneURL != "" {
		g.RepoURL = cloneURL(j.entry.CloneURL, gi.RepoURL, v.Get("CI_PROJECT_PATH"))
	}
	if d, ok := v.Lookup("GIT_DEPTH"); ok {
		if n, err := parseInt(d); err == nil {
			g.Depth = n
		}
	}
	if d, err := parseInt(v.Get("GIT_SUBMODULE_DEPTH")); err == nil {
		g.SubmoduleDepth = d
	}
	if f := strings.Fields(v.Get("GIT_FETCH_EXTRA_FLAGS")); len(f) > 0 {
		g.FetchExtraFlags = f
	}
	switch g.Strategy {
	case "none", "empty", "fetch", "clone":
	default:
		g.Strategy = "clone"
		if j.p.AllowGitFetch {
			g.Strategy = "fetch"
		}
	}
	return g
}

// cloneURL applies config clone_url: <clone_url>/<project path>.git with the
// job credentials of the original URL.
func cloneURL(base, orig, projectPath string) string {
	creds := ""
	if i := strings.Index(orig, "://"); i >= 0 {
		if at := strings.Index(orig[i+3:], "@"); at >= 0 && !strings.Contains(orig[i+3:i+3+at], "/") {
			creds = orig[i+3:i+3+at] + "@"
		}
	}
	if projectPath == "" {
		return orig
	}
	u := strings.TrimRight(base, "/") + "/" + projectPath + ".git"
	if i := strings.Index(u, "://"); i >= 0 && creds != "" {
		u = u[:i+3] + creds + u[i+3:]
	}
	return u
}

func parseInt(s string) (int, error) {
	var n int
	_, err := fmt.Sscan(strings.TrimSpace(s), &n)
	return n, err
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

func tmpPath(dir, name string) string { return path.Join(dir, name) }
