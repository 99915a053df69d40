package e2e

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/internal/corpus"
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
	c       *corpus.Case
	t       *corpus.Test
	n       int
	work    string // scratch folder
	project *gl.Project
	jobs    map[string]*gl.Job // GitLab name → latest attempt
	logs    map[string]scriptLog
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
			fmt.Fprintf(os.Stderr, "=== %s | %s | %s (%s)\n%s\n", en.c.Name, en.t.Name, name, r.jobState(name), l.text)
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
	steps := append([]*corpus.Expect{&r.t.Expect}, r.t.Steps...)
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
			r.jobs, r.logs = map[string]*gl.Job{}, map[string]scriptLog{} // rules left no job: nothing ran
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

var errNoPipeline = errors.New("no pipeline")

// pipeline returns the push pipeline of sha, or creates one through the
// API (pipeline variables, a repeated step).
func (r *corpusRun) pipeline(sha string, again bool) (*gl.Pipeline, error) {
	api := r.env.srv.api
	if r.viaAPI() || again {
		opts := &gl.CreatePipelineOptions{Ref: gl.Ptr(corpusBranch)}
		var vars []*gl.PipelineVariableOptions
		for _, v := range r.t.PipelineVariables() {
			vars = append(vars, &gl.PipelineVariableOptions{Key: gl.Ptr(v.Key), Value: gl.Ptr(v.Value)})
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
		for _, m := range append(r.t.Manual(), r.t.Jobs...) {
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
	r.jobs, r.logs = jobs, map[string]scriptLog{}
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
		r.logs[name] = parseScriptLog(raw)
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
