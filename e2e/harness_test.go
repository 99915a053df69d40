package e2e

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/runner/config"
)

// ciServer is a `gantry server` process with CI settings for tests, and
// the API client that drives it as root.
type ciServer struct {
	*proc
	dir  string   // data folder
	args []string // server flags, reused on restart
	api  *gl.Client
}

// startCIServer runs `gantry server` on a fresh data folder with a short
// long poll, so that idle runners come back quickly, and extra flags.
func startCIServer(tb testing.TB, extra ...string) *ciServer {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "data")
	args := append([]string{"server", "--data-dir", dir, "--ci-long-poll", "5s", "--log-level", "warn"}, extra...)
	s := &ciServer{dir: dir, args: args}
	s.proc = startGantry(tb, []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}, append(args, "--listen", "127.0.0.1:0")...)
	s.api = client(tb, s.URL)
	return s
}

// restart starts the server again on the same data folder and address,
// after it was stopped or killed.
func (s *ciServer) restart(tb testing.TB) {
	tb.Helper()
	addr := strings.TrimPrefix(s.URL, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := spawn(tb, nil, append(s.args, "--listen", addr)...)
		select {
		case u := <-p.urls:
			if u != s.URL {
				tb.Fatalf("restarted at %s, was %s", u, s.URL)
			}
			s.proc = p
			return
		case <-p.done:
			if time.Now().After(deadline) {
				tb.Fatalf("server did not restart:\n%s", p.Output())
			}
			time.Sleep(100 * time.Millisecond) // the port may still be held
		case <-time.After(30 * time.Second):
			tb.Fatalf("server did not restart:\n%s", p.Output())
		}
	}
}

// runnerOpts says how to register and configure a runner.
type runnerOpts struct {
	executor   string // shell (default) or docker
	concurrent int    // default 4
	tune       func(*config.Config)
}

// ciRunner is a `gantry runner run` process with its config.toml.
type ciRunner struct {
	*proc
	cfgPath string
	workDir string
}

// startRunner creates an instance runner through the API, registers it
// with `gantry runner register`, adjusts config.toml and runs `gantry
// runner run` until the test ends.
func (s *ciServer) startRunner(tb testing.TB, o runnerOpts) *ciRunner {
	tb.Helper()
	r, _, err := s.api.Users.CreateUserRunner(&gl.CreateUserRunnerOptions{
		RunnerType: gl.Ptr("instance_type"), Description: gl.Ptr("e2e " + tb.Name()), RunUntagged: gl.Ptr(true)})
	if err != nil {
		tb.Fatalf("create runner: %v", err)
	}
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	if o.executor == "" {
		o.executor = "shell"
	}
	args := []string{"runner", "register", "--non-interactive", "--url", s.URL, "--token", r.Token,
		"--executor", o.executor, "--name", "e2e", "--config", cfgPath}
	if o.executor == "docker" {
		args = append(args, "--docker-image", busybox)
	}
	if out, err := execGantry(args...); err != nil {
		tb.Fatalf("gantry runner register: %v\n%s", err, out)
	}
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Concurrent = o.concurrent
	if cfg.Concurrent == 0 {
		cfg.Concurrent = 4
	}
	if o.executor == "docker" {
		cfg.Runners[0].Docker.PullPolicy = config.StringList{"if-not-present"}
	}
	if o.tune != nil {
		o.tune(cfg)
	}
	if err := config.Save(cfgPath, cfg); err != nil {
		tb.Fatal(err)
	}
	rn := &ciRunner{cfgPath: cfgPath, workDir: filepath.Join(dir, "work")}
	rn.start(tb)
	return rn
}

// start runs `gantry runner run` (again) on the runner's config.
func (r *ciRunner) start(tb testing.TB) {
	tb.Helper()
	r.proc = spawn(tb, nil, "runner", "run", "--config", r.cfgPath, "--working-directory", r.workDir)
	r.waitOutput(tb, "runner started")
}

const busybox = "localhost/busybox:latest"

// execGantry runs the gantry binary to completion.
func execGantry(args ...string) ([]byte, error) {
	return exec.Command(gantryBin, args...).CombinedOutput()
}

// project creates a project whose default branch is main.
func (s *ciServer) project(tb testing.TB, name string) *gl.Project {
	tb.Helper()
	p, _, err := s.api.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr(name), DefaultBranch: gl.Ptr("main")})
	if err != nil {
		tb.Fatalf("create project %s: %v", name, err)
	}
	return p
}

// push commits files into a new work tree and pushes it to project's branch.
func (s *ciServer) push(tb testing.TB, p *gl.Project, branch string, files map[string]string) string {
	tb.Helper()
	wt := gittest.NewWorkTree(tb, branch, files)
	url := gittest.URLWithAuth(s.URL+"/"+p.PathWithNamespace+".git", "root", rootToken)
	gittest.Run(tb, wt, "push", "-q", url, branch)
	return strings.TrimSpace(gittest.Run(tb, wt, "rev-parse", "HEAD"))
}

// pipelineFor waits for the pipeline of sha to exist.
func (s *ciServer) pipelineFor(tb testing.TB, pid int64, sha string) *gl.PipelineInfo {
	tb.Helper()
	var found *gl.PipelineInfo
	s.eventually(tb, 30*time.Second, "pipeline for "+sha, func() bool {
		ps, _, err := s.api.Pipelines.ListProjectPipelines(pid, &gl.ListProjectPipelinesOptions{SHA: gl.Ptr(sha)})
		if err != nil {
			tb.Fatalf("list pipelines: %v", err)
		}
		if len(ps) > 0 {
			found = ps[0]
		}
		return found != nil
	})
	return found
}

// waitPipeline waits until the pipeline is in one of the statuses.
func (s *ciServer) waitPipeline(tb testing.TB, pid, id int64, d time.Duration, statuses ...string) *gl.Pipeline {
	tb.Helper()
	var p *gl.Pipeline
	s.eventually(tb, d, fmt.Sprintf("pipeline %d %v", id, statuses), func() bool {
		var err error
		p, _, err = s.api.Pipelines.GetPipeline(pid, id)
		if err != nil {
			tb.Fatalf("get pipeline: %v", err)
		}
		for _, st := range statuses {
			if p.Status == st {
				return true
			}
		}
		return false
	})
	return p
}

// waitJob waits until the named job of a pipeline (its latest attempt) is
// in one of the statuses and returns it.
func (s *ciServer) waitJob(tb testing.TB, pid, pipeline int64, name string, d time.Duration, statuses ...string) *gl.Job {
	tb.Helper()
	var job *gl.Job
	s.eventually(tb, d, fmt.Sprintf("job %s %v", name, statuses), func() bool {
		job = s.jobs(tb, pid, pipeline)[name]
		if job == nil {
			return false
		}
		for _, st := range statuses {
			if job.Status == st {
				return true
			}
		}
		return false
	})
	return job
}

// jobs lists a pipeline's jobs by name, latest attempt only.
func (s *ciServer) jobs(tb testing.TB, pid, pipeline int64) map[string]*gl.Job {
	tb.Helper()
	out := map[string]*gl.Job{}
	for page := int64(1); ; page++ {
		js, resp, err := s.api.Jobs.ListPipelineJobs(pid, pipeline, &gl.ListJobsOptions{
			ListOptions: gl.ListOptions{PerPage: 100, Page: page}})
		if err != nil {
			tb.Fatalf("list jobs: %v", err)
		}
		for _, j := range js {
			if o := out[j.Name]; o == nil || o.ID < j.ID {
				out[j.Name] = j
			}
		}
		if resp.NextPage == 0 {
			return out
		}
	}
}

// eventually polls cond until it holds or d passes.
func (s *ciServer) eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; server log:\n%s", what, tail(s.Output(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// trace reads a job's log through the API.
func (s *ciServer) trace(tb testing.TB, pid, job int64) []byte {
	tb.Helper()
	r, _, err := s.api.Jobs.GetTraceFile(pid, job)
	if err != nil {
		tb.Fatalf("trace of job %d: %v", job, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// artifacts downloads a job's artifacts archive through
// GET /projects/:id/jobs/:id/artifacts and returns its files.
func (s *ciServer) artifacts(tb testing.TB, pid, job int64) map[string]string {
	tb.Helper()
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts", s.URL, pid, job), nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("artifacts of job %d: %s %s", job, resp.Status, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		tb.Fatalf("artifacts of job %d: %v", job, err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	return files
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
