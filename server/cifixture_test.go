package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
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

// ciFixture is a server with one private project, team/app, members of
// every role, tokens of every kind and CI objects in every state the
// authorization tests need.
type ciFixture struct {
	*fixture
	project *gl.Project
	// cred holds each actor's credentials: header name and value.
	cred map[string][2]string
	// ids are the placeholders of endpoint paths ({pipeline}, {job}…).
	ids    map[string]string
	runner *fakerunner.Runner
	// Job tokens: of the running job of team/app, of a running job of
	// another project (whose user is no member of team/app), of a
	// finished job of team/app.
	jobToken, otherJobToken, deadJobToken string
	runnerToken, triggerToken             string
	artifact                              []byte
	n                                     int // makes fresh names unique
}

const ciConfig = `
build:
  script: [echo build]
  artifacts:
    paths: [out.txt]
held:
  tags: [nobody]
  script: [echo never taken]
run:
  script: [echo running]
deploy:
  when: manual
  script: [echo deploy]
`

func newCIFixture(t *testing.T) *ciFixture {
	t.Helper()
	f := &ciFixture{fixture: newFixture(t, func(c *server.Config) { c.CI.LongPoll = time.Second }), cred: map[string][2]string{},
		ids: map[string]string{}}
	root := f.root
	g, _, err := root.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("team"), Path: gl.Ptr("team")})
	if err != nil {
		t.Fatal(err)
	}
	if f.project, _, err = root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app"), NamespaceID: gl.Ptr(g.ID)}); err != nil {
		t.Fatal(err)
	}
	// Role rules only: protected-branch rules for pipelines are not what
	// this fixture is about.
	if _, err := root.ProtectedBranches.UnprotectRepositoryBranches(f.project.ID, "main"); err != nil {
		t.Fatal(err)
	}
	pid := f.project.ID
	f.ids["project"] = fmt.Sprint(pid)
	for _, m := range []struct {
		name string
		role gl.AccessLevelValue
	}{{"nonmember", 0}, {"guest", gl.GuestPermissions}, {"reporter", gl.ReporterPermissions}, {"developer", gl.DeveloperPermissions},
		{"maintainer", gl.MaintainerPermissions}, {"owner", gl.OwnerPermissions}} {
		f.cred[m.name] = [2]string{"PRIVATE-TOKEN", f.user(t, m.name, pid, m.role)}
	}
	f.cred["admin"] = [2]string{"PRIVATE-TOKEN", servertest.RootToken}
	for _, scope := range []string{"read_api", "read_user", "read_repository"} {
		f.cred[scope] = [2]string{"PRIVATE-TOKEN", f.scopedToken(t, "maintainer", scope)}
	}
	f.startJobs(t)
	f.cred["job"] = [2]string{"JOB-TOKEN", f.jobToken}
	f.cred["job-other"] = [2]string{"JOB-TOKEN", f.otherJobToken}
	f.cred["job-dead"] = [2]string{"JOB-TOKEN", f.deadJobToken}
	f.cred["runner-token"] = [2]string{"PRIVATE-TOKEN", f.runnerToken}
	return f
}

// scopedToken gives user a personal access token with one scope.
func (f *ciFixture) scopedToken(t *testing.T, user, scope string) string {
	t.Helper()
	users, _, err := f.root.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(user)})
	if err != nil || len(users) != 1 {
		t.Fatalf("find %s: %v", user, err)
	}
	tok, _, err := f.root.Users.CreatePersonalAccessToken(users[0].ID, &gl.CreatePersonalAccessTokenOptions{Name: gl.Ptr(scope),
		Scopes: &[]string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// startJobs pushes the CI configuration, lets a runner finish "build"
// (with an artifact and a log) and start "run", runs a job of another
// project, creates a second pipeline on branch side, a project runner and
// a trigger.
func (f *ciFixture) startJobs(t *testing.T) {
	t.Helper()
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": ciConfig})
	url := gittest.URLWithAuth(f.project.HTTPURLToRepo, "root", servertest.RootToken)
	gittest.Run(t, wt, "push", "-q", url, "main")
	f.ids["sha"] = strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	id, token := f.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	f.ids["instanceRunner"], f.runnerToken = fmt.Sprint(id), token
	f.runner = fakerunner.New(t, f.srv.URL, token)

	build := f.runner.WaitJob(t, 20*time.Second)
	if build.JobInfo.Name != "build" {
		t.Fatalf("first job is %s", build.JobInfo.Name)
	}
	f.ids["pipeline"], f.ids["job"] = fmt.Sprint(build.JobInfo.PipelineID), fmt.Sprint(build.ID)
	f.runner.Update(t, build, gitlab.UpdateJobRequest{State: "running"})
	f.artifact = zipOf(t, "out.txt", "built\n")
	if r := f.runner.Upload(t, build, build.Artifacts[0], "artifacts.zip", f.artifact); r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	f.runner.Patch(t, build, 0, []byte("built\n"))
	if r := f.runner.Final(t, build, "success", "", 0, []byte("built\n")); r.Status != 200 {
		t.Fatalf("finish build: %d", r.Status)
	}
	f.deadJobToken = build.Token
	running := f.runner.WaitJob(t, 20*time.Second)
	if running.JobInfo.Name != "run" {
		t.Fatalf("second job is %s", running.JobInfo.Name)
	}
	f.runner.Update(t, running, gitlab.UpdateJobRequest{State: "running"})
	f.jobToken, f.ids["running"] = running.Token, fmt.Sprint(running.ID)
	for name, want := range map[string]string{"held": "held", "manual": "deploy"} {
		f.ids[name] = f.jobID(t, f.ids["pipeline"], want)
	}
	f.otherJobToken = f.otherProjectJob(t)
	gittest.Run(t, wt, "push", "-q", url, "main:side") // only now: its jobs stay pending

	f.ids["pipeline2"] = fmt.Sprint(f.newPipeline(t))
	id, _ = f.createRunner(t, servertest.RootToken, fmt.Sprintf(`{"runner_type":"project_type","project_id":%d}`, f.project.ID))
	f.ids["runner"] = fmt.Sprint(id)
	tr, _, err := f.root.PipelineTriggers.AddPipelineTrigger(f.project.ID, &gl.AddPipelineTriggerOptions{Description: gl.Ptr("t")})
	if err != nil {
		t.Fatal(err)
	}
	f.triggerToken = tr.Token
}

// otherProjectJob starts a job of nonmember's own project and returns its
// token: a job token of another project, whose user can't see team/app.
func (f *ciFixture) otherProjectJob(t *testing.T) string {
	t.Helper()
	tok := f.cred["nonmember"][1]
	c, err := gl.NewClient(tok, gl.WithBaseURL(f.srv.URL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := c.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("other")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProtectedBranches.UnprotectRepositoryBranches(p.ID, "main"); err != nil {
		t.Fatal(err)
	}
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "other:\n  script: [echo other]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "nonmember", tok), "main")
	job := f.runner.WaitJob(t, 20*time.Second)
	if job.JobInfo.ProjectID != p.ID {
		t.Fatalf("got job %s of project %d", job.JobInfo.Name, job.JobInfo.ProjectID)
	}
	f.runner.Update(t, job, gitlab.UpdateJobRequest{State: "running"})
	return job.Token
}

// newPipeline creates a pipeline on branch side, as root.
func (f *ciFixture) newPipeline(t *testing.T) int64 {
	t.Helper()
	p, _, err := f.root.Pipelines.CreatePipeline(f.project.ID, &gl.CreatePipelineOptions{Ref: gl.Ptr("side")})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (f *ciFixture) jobID(t *testing.T, pipeline, name string) string {
	t.Helper()
	var pid int64
	fmt.Sscan(pipeline, &pid)
	jobs, _, err := f.root.Jobs.ListPipelineJobs(f.project.ID, pid, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Name == name {
			return fmt.Sprint(j.ID)
		}
	}
	t.Fatalf("no job %s in pipeline %s", name, pipeline)
	return ""
}

// createRunner creates a runner through POST /user/runners.
func (f *ciFixture) createRunner(t *testing.T, token, body string) (int64, string) {
	t.Helper()
	code, out := f.call(t, "POST", "/api/v4/user/runners", [2]string{"PRIVATE-TOKEN", token}, body)
	var r struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &r); code != 201 || err != nil {
		t.Fatalf("create runner: %d %s", code, out)
	}
	return r.ID, r.Token
}

// call sends a JSON request with one credential header (none if empty).
func (f *ciFixture) call(t *testing.T, method, path string, cred [2]string, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred[0] != "" {
		req.Header.Set(cred[0], cred[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
