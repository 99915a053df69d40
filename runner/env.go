package runner

import (
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/script"
)

// What a job's scripts see: build paths, variables and the git checkout.

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
