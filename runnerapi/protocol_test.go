package runnerapi_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server"
	"github.com/gantry-ci/gantry/server/servertest"
)

// env is a running server with a project, an instance runner and a
// protocol-level fake of gitlab-runner.
type env struct {
	t       testing.TB
	srv     *servertest.Instance
	api     *gl.Client
	project *gl.Project
	runner  *fakerunner.Runner
}

func fastCI(c *server.Config) {
	c.CI = server.CIConfig{LongPoll: 2 * time.Second, TickInterval: 50 * time.Millisecond}
}

func newEnv(t testing.TB, options ...func(*server.Config)) *env {
	t.Helper()
	srv := servertest.Start(t, append([]func(*server.Config){fastCI}, options...)...)
	api, err := gl.NewClient(servertest.RootToken, gl.WithBaseURL(srv.URL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := api.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, api: api, project: p}
	e.runner = fakerunner.New(t, srv.URL, e.createRunner(`{"runner_type":"instance_type","description":"fake"}`))
	return e
}

// createRunner creates a runner through POST /user/runners and returns
// its glrt- token.
func (e *env) createRunner(body string) string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v4/user/runners", strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", servertest.RootToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 201 || !strings.HasPrefix(out.Token, "glrt-") {
		e.t.Fatalf("create runner: %d %+v", resp.StatusCode, out)
	}
	return out.Token
}

// push pushes files as a commit to main and returns the sha.
func (e *env) push(files map[string]string) string {
	e.t.Helper()
	wt := gittest.NewWorkTree(e.t, "main", files)
	gittest.Run(e.t, wt, "push", "-q", "--force", gittest.URLWithAuth(e.project.HTTPURLToRepo, "root", servertest.RootToken), "main")
	return strings.TrimSpace(gittest.Run(e.t, wt, "rev-parse", "HEAD"))
}

// pipeline waits for the project's newest pipeline to exist and be
// processed (a new pipeline is "created" until its jobs are decided).
func (e *env) pipeline() *gl.Pipeline {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ps, _, err := e.api.Pipelines.ListProjectPipelines(e.project.ID, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(ps) > 0 && ps[0].Status != "created" {
			p, _, err := e.api.Pipelines.GetPipeline(e.project.ID, ps[0].ID)
			if err != nil {
				e.t.Fatal(err)
			}
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("no pipeline was created")
	return nil
}

// waitStatus polls until the pipeline has a status.
func (e *env) waitStatus(pid int64, want string) *gl.Pipeline {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var p *gl.Pipeline
	for time.Now().Before(deadline) {
		var err error
		if p, _, err = e.api.Pipelines.GetPipeline(e.project.ID, pid); err != nil {
			e.t.Fatal(err)
		}
		if p.Status == want {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("pipeline %d is %s, want %s", pid, p.Status, want)
	return nil
}

func (e *env) jobs(pid int64) map[string]*gl.Job {
	e.t.Helper()
	list, _, err := e.api.Jobs.ListPipelineJobs(e.project.ID, pid, &gl.ListJobsOptions{IncludeRetried: gl.Ptr(true)})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*gl.Job{}
	for _, j := range list {
		if cur, ok := out[j.Name]; !ok || j.ID > cur.ID {
			out[j.Name] = j
		}
	}
	return out
}

func variable(p *gitlab.JobPayload, key string) (gitlab.JobVariable, bool) {
	var found gitlab.JobVariable
	ok := false
	for _, v := range p.Variables {
		if v.Key == key {
			found, ok = v, true
		}
	}
	return found, ok
}

func zipOf(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

// run plays one job: confirm, log, optional uploads, final state.
func (e *env) run(job *gitlab.JobPayload, log string, state string, exitCode int) {
	e.t.Helper()
	if resp := e.runner.Update(e.t, job, gitlab.UpdateJobRequest{State: "running"}); resp.Status != 200 || resp.Header.Get("Job-Status") != "running" {
		e.t.Fatalf("confirm job %s: %d %v", job.JobInfo.Name, resp.Status, resp.Header)
	}
	if resp := e.runner.Patch(e.t, job, 0, []byte(log)); resp.Status != 202 {
		e.t.Fatalf("trace of %s: %d %s", job.JobInfo.Name, resp.Status, resp.Body)
	}
	reason := ""
	if state == "failed" {
		reason = "script_failure"
	}
	if resp := e.runner.Final(e.t, job, state, reason, exitCode, []byte(log)); resp.Status != 200 {
		e.t.Fatalf("final update of %s: %d %s", job.JobInfo.Name, resp.Status, resp.Body)
	}
}

func readAll(t testing.TB, r io.Reader) string {
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
