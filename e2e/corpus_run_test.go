package e2e

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
)

// corpusEnv is the server and runner all corpus tests share. Its methods
// return errors instead of failing a test: they run in worker goroutines.
type corpusEnv struct {
	srv    *ciServer
	runner *ciRunner
	tmp    string // parent of each test's work folders

	mu       sync.Mutex
	groups   map[string]int64 // group path → id
	projects sync.Map         // mock project path → *sync.Once
}

// The corpus's mocked git context: a push to master of a project whose
// default branch is main (README.md, "Mocked git context").
const (
	corpusBranch  = "master"
	corpusMessage = "Commit Title\n\nMore commit text"
	corpusTimeout = 3 * time.Minute
)

// corpusRun is one test being run.
type corpusRun struct {
	env     *corpusEnv
	c       *corpusCase
	t       *corpusTest
	n       int
	work    string // scratch folder
	project *gl.Project
	jobs    map[string]*gl.Job // GitLab name → latest attempt
	logs    map[string]jobLog
}

// run executes one corpus test and returns "" if every expectation that
// maps to GitLab holds, else what failed.
func (e *corpusEnv) run(n int, en corpusEntry) string {
	work, err := os.MkdirTemp(e.tmp, "case-")
	if err != nil {
		return err.Error()
	}
	r := &corpusRun{env: e, c: en.c, t: en.t, n: n, work: work}
	err = r.do()
	if err != nil && os.Getenv("GANTRY_E2E_CORPUS_DUMP") != "" { // job logs of failures, while debugging
		for name, l := range r.logs {
			fmt.Fprintf(os.Stderr, "=== %s | %s | %s (%s)\n%s\n", en.c.Case, en.t.Name, name, r.jobState(name), l.text)
		}
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func (r *corpusRun) do() error {
	if err := r.createProject(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	sha, err := r.pushCase()
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	steps := append([]*corpusExpect{&r.t.corpusExpect}, r.t.Steps...)
	if len(r.t.Steps) > 0 {
		steps = r.t.Steps
	}
	var problems []string
	for i, exp := range steps {
		pl, err := r.pipeline(sha, i > 0)
		switch {
		case errors.Is(err, errNoPipeline) && r.t.GitlabOutcome == "no_pipeline":
			return nil
		case errors.Is(err, errNoPipeline) && !r.viaAPI():
			r.jobs, r.logs = map[string]*gl.Job{}, map[string]jobLog{} // rules left no job: nothing ran
		case err != nil:
			return err
		case r.t.GitlabOutcome == "no_pipeline":
			return fmt.Errorf("GitLab creates no pipeline here, Gantry made pipeline %d (%s)", pl.ID, pl.Status)
		default:
			if err := r.drive(pl); err != nil {
				return err
			}
			if err := r.collect(pl); err != nil {
				return err
			}
		}
		checked, failed := r.check(exp)
		if checked == 0 {
			return errors.New("no expectation of this test maps to a GitLab job log, status, artifact or cache")
		}
		for _, f := range failed {
			if len(steps) > 1 {
				f = fmt.Sprintf("step %d: %s", i+1, f)
			}
			problems = append(problems, f)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// remotePath turns a git remote (git@host:group/project.git) into a
// project path.
func remotePath(remote string) string {
	if remote == "" {
		return ""
	}
	p := remote
	if i := strings.Index(p, ":"); i >= 0 && !strings.Contains(p, "://") {
		p = p[i+1:]
	} else if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		p = p[strings.Index(p, "/")+1:]
	}
	return strings.TrimSuffix(p, ".git")
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// createProject creates the test's project: at the mocked remote's path
// when the test includes files from its own project, else a unique name;
// in a group when the test has group-level variables. It then creates the
// variables and the other mocked projects.
func (r *corpusRun) createProject() error {
	remote := remotePath(firstOf(ctxRemote(r.t.Context), ctxRemote(r.c.Context), mocksRemote(r.c.Mocks)))
	group, name := "", fmt.Sprintf("c%03d-%s", r.n, strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(r.c.Case), "-"), "-"))
	vars := append(append([]corpusVar{}, r.c.ProjectVariables...), r.t.ProjectVariables...)
	for _, v := range vars {
		if v.Level == "group_or_instance" {
			group = name + "-group"
		}
	}
	if r.c.Mocks != nil {
		for _, m := range r.c.Mocks.Projects {
			if m.Project == remote {
				group, name = filepath.Dir(remote), filepath.Base(remote)
			}
		}
	}
	p, err := r.env.newProject(group, name)
	if err != nil {
		return err
	}
	r.project = p
	for _, v := range vars {
		if err := r.env.createVariable(p, v); err != nil {
			return err
		}
	}
	if r.c.Mocks != nil {
		for _, m := range r.c.Mocks.Projects {
			if m.Project != remote {
				if err := r.mockProject(m.Project, m.Ref, m.Files); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func ctxRemote(c *corpusCtx) string {
	if c == nil {
		return ""
	}
	return c.Remote
}

func mocksRemote(m *corpusMocks) string {
	if m == nil {
		return ""
	}
	return m.GitRemoteOrigin
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// newProject creates a project in the root user's namespace or in group
// (created once).
func (e *corpusEnv) newProject(group, name string) (*gl.Project, error) {
	opts := &gl.CreateProjectOptions{Name: gl.Ptr(name), Path: gl.Ptr(name), DefaultBranch: gl.Ptr("main")}
	if group != "" {
		id, err := e.group(group)
		if err != nil {
			return nil, err
		}
		opts.NamespaceID = gl.Ptr(id)
	}
	p, _, err := e.srv.api.Projects.CreateProject(opts)
	if err != nil {
		return nil, fmt.Errorf("create project %s/%s: %w", group, name, err)
	}
	return p, nil
}

func (e *corpusEnv) group(path string) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.groups[path]; ok {
		return id, nil
	}
	var parent *int64
	if dir := filepath.Dir(path); dir != "." {
		id, ok := e.groups[dir]
		if !ok {
			return 0, fmt.Errorf("nested group %s: create %s first", path, dir)
		}
		parent = &id
	}
	base := filepath.Base(path)
	g, _, err := e.srv.api.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr(base), Path: gl.Ptr(base), ParentID: parent})
	if err != nil {
		return 0, fmt.Errorf("create group %s: %w", path, err)
	}
	e.groups[path] = g.ID
	return g.ID, nil
}

// createVariable makes a corpus variable a project variable, or a group
// variable for level group_or_instance.
func (e *corpusEnv) createVariable(p *gl.Project, v corpusVar) error {
	typ := gl.EnvVariableType
	if v.VariableType == "file" {
		typ = gl.FileVariableType
	}
	scope := firstOf(v.EnvironmentScope, "*")
	value := fmt.Sprint(v.Value)
	var err error
	if v.Level == "group_or_instance" {
		_, _, err = e.srv.api.GroupVariables.CreateVariable(p.Namespace.ID, &gl.CreateGroupVariableOptions{
			Key: gl.Ptr(v.Key), Value: gl.Ptr(value), EnvironmentScope: gl.Ptr(scope), VariableType: gl.Ptr(typ)})
	} else {
		_, _, err = e.srv.api.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{
			Key: gl.Ptr(v.Key), Value: gl.Ptr(value), EnvironmentScope: gl.Ptr(scope), VariableType: gl.Ptr(typ)})
	}
	if err != nil {
		return fmt.Errorf("variable %s: %w", v.Key, err)
	}
	return nil
}

// mockProject creates another project the test includes files from, with
// those files on ref (HEAD: the default branch), once per path.
func (r *corpusRun) mockProject(path, ref string, files map[string]string) error {
	once, _ := r.env.projects.LoadOrStore(path, &sync.Once{})
	var err error
	once.(*sync.Once).Do(func() {
		var p *gl.Project
		if p, err = r.env.newProject(filepath.Dir(path), filepath.Base(path)); err != nil {
			return
		}
		tree := map[string]string{}
		for dst, src := range files {
			b, rerr := os.ReadFile(filepath.Join(r.c.dir, src))
			if rerr != nil {
				err = rerr
				return
			}
			tree[dst] = string(b)
		}
		branch := ref
		if ref == "" || ref == "HEAD" {
			branch = "main"
		}
		wt := filepath.Join(r.work, "mock")
		if err = r.git("", "init", "-q", "-b", branch, wt); err == nil {
			_, err = r.commit(wt, tree, "mock files")
		}
		if err == nil {
			err = r.git(wt, "push", "-q", r.env.pushURL(p), branch)
		}
	})
	return err
}

func (e *corpusEnv) pushURL(p *gl.Project) string {
	return gittest.URLWithAuth(e.srv.URL+"/"+p.PathWithNamespace+".git", "root", rootToken)
}

// caseFiles reads the test's project folder (<case>/<cwd>) without the
// corpus's expect.json, applies file: (the chosen config becomes
// .gitlab-ci.yml: Gantry has no per-project CI config path yet) and
// setup.write_files, and adds the files the project includes from itself.
func (r *corpusRun) caseFiles() (map[string]string, error) {
	root := filepath.Join(r.c.dir, r.t.Cwd)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "expect.json" && r.t.Cwd == "" {
			return nil
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if f := r.t.File; f != "" && f != ".gitlab-ci.yml" {
		content, ok := files[f]
		if !ok {
			return nil, fmt.Errorf("config file %s is not in the case", f)
		}
		files[".gitlab-ci.yml"] = content
	}
	if r.t.Setup != nil {
		for p, c := range r.t.Setup.WriteFiles {
			files[p] = c
		}
	}
	for p, c := range r.ownMockFiles(files) {
		files[p] = c
	}
	return files, nil
}

// ownMockFiles are the files the test includes from its own project
// (mocks.projects naming it), taken from the case's files.
func (r *corpusRun) ownMockFiles(caseFiles map[string]string) map[string]string {
	out := map[string]string{}
	if r.c.Mocks == nil {
		return out
	}
	for _, m := range r.c.Mocks.Projects {
		if m.Project != r.project.PathWithNamespace {
			continue
		}
		for dst, src := range m.Files {
			out[dst] = caseFiles[src]
		}
	}
	return out
}

// pushCase pushes the case to master with git. With context.changed_files,
// a first push ([skip ci]) holds the case without those files and the
// second adds them, so that rules:changes sees exactly them. When the
// pipeline is to be created through the API (pipeline variables, or no
// pipeline expected), the push itself skips CI.
func (r *corpusRun) pushCase() (string, error) {
	files, err := r.caseFiles()
	if err != nil {
		return "", err
	}
	url := r.env.pushURL(r.project)
	if own := r.ownMockFiles(files); len(own) > 0 {
		// include:project without ref reads this project's default branch.
		main := filepath.Join(r.work, "main")
		if err := r.git("", "init", "-q", "-b", "main", main); err != nil {
			return "", err
		}
		if _, err := r.commit(main, own, "included files [skip ci]"); err != nil {
			return "", err
		}
		if err := r.git(main, "push", "-q", url, "main"); err != nil {
			return "", err
		}
	}
	wt := filepath.Join(r.work, "repo")
	if err := r.git("", "init", "-q", "-b", corpusBranch, wt); err != nil {
		return "", err
	}
	if changed := r.changedFiles(); changed != nil {
		base := map[string]string{}
		for p, c := range files {
			if !contains(changed, p) {
				base[p] = c
			}
		}
		if _, err := r.commit(wt, base, "base [skip ci]"); err != nil {
			return "", err
		}
		if err := r.git(wt, "push", "-q", url, corpusBranch); err != nil {
			return "", err
		}
		for _, p := range changed {
			files[p] = files[p] + "changed\n"
		}
	}
	msg := corpusMessage
	if r.viaAPI() {
		msg += " [skip ci]"
	}
	sha, err := r.commit(wt, files, msg)
	if err != nil {
		return "", err
	}
	return sha, r.git(wt, "push", "-q", url, corpusBranch)
}

func (r *corpusRun) changedFiles() []string {
	for _, c := range []*corpusCtx{r.t.Context, r.c.Context} {
		if c != nil && c.ChangedFiles != nil && r.t.Options["evaluate_rule_changes"] != false {
			return *c.ChangedFiles
		}
	}
	return nil
}

// viaAPI: the pipeline is created with POST /projects/:id/pipeline, which
// carries pipeline variables and reports workflow:rules filtering.
func (r *corpusRun) viaAPI() bool {
	return len(r.t.Variables) > 0 || r.t.GitlabOutcome == "no_pipeline"
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// commit replaces the work tree's files with files and commits them.
func (r *corpusRun) commit(wt string, files map[string]string, msg string) (string, error) {
	if err := r.git(wt, "rm", "-rq", "--ignore-unmatch", "."); err != nil {
		return "", err
	}
	for p, c := range files {
		full := filepath.Join(wt, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return "", err
		}
	}
	if err := r.git(wt, "add", "-A", "-f"); err != nil {
		return "", err
	}
	if err := r.git(wt, "commit", "-q", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	out, err := exec.Command("git", "-C", wt, "rev-parse", "HEAD").Output()
	return strings.TrimSpace(string(out)), err
}

func (r *corpusRun) git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gittest.Env(r.work)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, out)
	}
	return nil
}

var errNoPipeline = errors.New("no pipeline")

// pipeline returns the push pipeline of sha, or creates one through the
// API (pipeline variables, a repeated step).
func (r *corpusRun) pipeline(sha string, again bool) (*gl.Pipeline, error) {
	api := r.env.srv.api
	if r.viaAPI() || again {
		opts := &gl.CreatePipelineOptions{Ref: gl.Ptr(corpusBranch)}
		var vars []*gl.PipelineVariableOptions
		keys := make([]string, 0, len(r.t.Variables))
		for k := range r.t.Variables {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vars = append(vars, &gl.PipelineVariableOptions{Key: gl.Ptr(k), Value: gl.Ptr(fmt.Sprint(r.t.Variables[k]))})
		}
		if len(vars) > 0 {
			opts.Variables = &vars
		}
		p, _, err := api.Pipelines.CreatePipeline(r.project.ID, opts)
		if err != nil && strings.Contains(err.Error(), "filtered") {
			return nil, fmt.Errorf("%w: %v", errNoPipeline, err)
		}
		if err != nil {
			return nil, fmt.Errorf("create pipeline: %w", err)
		}
		return p, nil
	}
	p, err := r.waitPipeline(sha, 3*time.Second)
	if !errors.Is(err, errNoPipeline) {
		return p, err
	}
	// Push events are handled in order: once a later push's (skipped)
	// pipeline exists, the absence of this one is GitLab's "no pipeline"
	// (rules left no job), not slowness.
	wt := filepath.Join(r.work, "repo")
	if err := r.git(wt, "commit", "-q", "--allow-empty", "-m", "sentinel [skip ci]"); err != nil {
		return nil, err
	}
	if err := r.git(wt, "push", "-q", r.env.pushURL(r.project), "HEAD:refs/heads/sentinel"); err != nil {
		return nil, err
	}
	out, err := exec.Command("git", "-C", wt, "rev-parse", "HEAD").Output()
	if err != nil {
		return nil, err
	}
	if _, err := r.waitPipeline(strings.TrimSpace(string(out)), 30*time.Second); err != nil {
		return nil, fmt.Errorf("sentinel push: %w", err)
	}
	if p, err = r.waitPipeline(sha, 0); errors.Is(err, errNoPipeline) {
		return nil, fmt.Errorf("%w for the push of %s", errNoPipeline, sha)
	}
	return p, err
}

// waitPipeline waits up to d for the pipeline of sha.
func (r *corpusRun) waitPipeline(sha string, d time.Duration) (*gl.Pipeline, error) {
	api := r.env.srv.api
	deadline := time.Now().Add(d)
	for {
		ps, _, err := api.Pipelines.ListProjectPipelines(r.project.ID, &gl.ListProjectPipelinesOptions{SHA: gl.Ptr(sha)})
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			p, _, err := api.Pipelines.GetPipeline(r.project.ID, ps[0].ID)
			return p, err
		}
		if time.Now().After(deadline) {
			return nil, errNoPipeline
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drive plays the test's manual jobs (options.manual, and selected jobs
// that are manual) as they become playable and waits until the pipeline
// has nothing left to run.
func (r *corpusRun) drive(pl *gl.Pipeline) error {
	api := r.env.srv.api
	played := map[string]bool{}
	deadline := time.Now().Add(corpusTimeout)
	for time.Now().Before(deadline) {
		p, _, err := api.Pipelines.GetPipeline(r.project.ID, pl.ID)
		if err != nil {
			return err
		}
		jobs, err := r.env.pipelineJobs(r.project.ID, pl.ID)
		if err != nil {
			return err
		}
		playing := false
		// Selecting a manual job runs it, as playing it would.
		for _, m := range append(r.t.manual(), r.t.Jobs...) {
			name := r.glName(m)
			if j := jobs[name]; j != nil && j.Status == "manual" && !played[name] {
				if _, _, err := api.Jobs.PlayJob(r.project.ID, j.ID, nil); err != nil {
					return fmt.Errorf("play %s: %w", name, err)
				}
				played[name], playing = true, true
			}
		}
		if !playing && settled(p.Status) {
			if p.YamlErrors != "" {
				return fmt.Errorf("pipeline %s: %s", p.Status, p.YamlErrors)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pipeline %d still running after %v", pl.ID, corpusTimeout)
}

// settled: nothing in the pipeline will run without a user.
func settled(status string) bool {
	switch status {
	case "success", "failed", "canceled", "skipped", "manual", "blocked":
		return true
	}
	return false
}

// pipelineJobs lists a pipeline's jobs by name, latest attempt.
func (e *corpusEnv) pipelineJobs(pid, pipeline int64) (map[string]*gl.Job, error) {
	out := map[string]*gl.Job{}
	for page := int64(1); ; page++ {
		js, resp, err := e.srv.api.Jobs.ListPipelineJobs(pid, pipeline, &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: page}})
		if err != nil {
			return nil, err
		}
		for _, j := range js {
			if o := out[j.Name]; o == nil || o.ID < j.ID {
				out[j.Name] = j
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
	}
}

// collect reads every job of the pipeline and its log.
func (r *corpusRun) collect(pl *gl.Pipeline) error {
	jobs, err := r.env.pipelineJobs(r.project.ID, pl.ID)
	if err != nil {
		return err
	}
	r.jobs, r.logs = jobs, map[string]jobLog{}
	for name, j := range jobs {
		if j.StartedAt == nil {
			continue
		}
		rd, _, err := r.env.srv.api.Jobs.GetTraceFile(r.project.ID, j.ID)
		if err != nil {
			return fmt.Errorf("log of %s: %w", name, err)
		}
		raw, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		r.logs[name] = parseJobLog(raw)
	}
	return nil
}

// glName is GitLab's name for a job the corpus names (gitlab_job_names).
// Commas inside one matrix value are not rewritten (DEVIATIONS.md §1):
// a pipeline job with the corpus's own name is that job.
func (r *corpusRun) glName(name string) string {
	g, ok := r.t.GitlabJobNames[name]
	if !ok {
		return name
	}
	if _, mapped := r.jobs[g]; !mapped {
		if _, own := r.jobs[name]; own {
			return name
		}
	}
	return g
}

// cacheKeyWithPrefix reports whether a job's log shows it used a cache
// key starting with prefix (the runner says "Checking cache for <key>").
func (r *corpusRun) cacheKeyWithPrefix(prefix string) bool {
	for _, l := range r.logs {
		if strings.Contains(l.text, "Checking cache for "+prefix) || strings.Contains(l.text, "Creating cache "+prefix) {
			return true
		}
	}
	return false
}

// cacheFile is where the shell runner keeps a project's cache key.
func (e *corpusEnv) cacheFile(p *gl.Project, key string) string {
	return filepath.Join(e.runner.workDir, "cache", filepath.FromSlash(p.PathWithNamespace), key, "cache.zip")
}
