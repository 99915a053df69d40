package runnerapi_test

import (
	"archive/zip"
	"bytes"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
)

const threeStages = `
stages: [build, test, deploy]
variables:
  GREETING: hello
build:
  stage: build
  script: [echo build]
  artifacts:
    paths: [out.txt]
    reports:
      dotenv: build.env
lint:
  stage: build
  script: [exit 3]
  allow_failure: true
test:
  stage: test
  needs: [build]
  script: [echo test]
deploy:
  stage: deploy
  script: [echo deploy]
  when: manual
`

// TestPipelineThroughRunnerProtocol drives a pushed three-stage pipeline
// through the runner protocol as gitlab-runner speaks it: needs, an
// allowed failure, a manual job, artifacts and dotenv passed on, graceful
// and hard cancellation, retry, and the job token's life for git.
func TestPipelineThroughRunnerProtocol(t *testing.T) {
	e := newEnv(t)
	secret := "supersecret-value-123"
	if _, _, err := e.api.ProjectVariables.CreateVariable(e.project.ID, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("SECRET_TOKEN"), Value: gl.Ptr(secret), Masked: gl.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	sha := e.push(map[string]string{".gitlab-ci.yml": threeStages, "README.md": "hi\n"})
	p := e.waitStatus(e.pipeline().ID, "pending") // "created" until processed, as in GitLab
	if p.Source != "push" || p.SHA != sha || p.Ref != "main" || p.Status != "pending" {
		t.Fatalf("pipeline after push = %+v", p)
	}
	creds, resp := e.runner.Verify(t)
	if resp.Status != 200 || creds.ID == 0 || creds.Token != e.runner.Token {
		t.Fatalf("verify: %d %+v", resp.Status, creds)
	}

	build := e.runner.WaitJob(t, 10e9)
	lint := e.runner.WaitJob(t, 10e9)
	if build.JobInfo.Name != "build" || lint.JobInfo.Name != "lint" {
		t.Fatalf("first jobs: %s, %s", build.JobInfo.Name, lint.JobInfo.Name)
	}
	checkPayload(t, e, build, p.ID, sha)
	checkJobTokenGit(t, e, build, true)

	zipped := zipOf(t, map[string]string{"out.txt": "artifact content\n"})
	for _, a := range build.Artifacts {
		content, name := zipped, "artifacts.zip"
		if a.ArtifactType == "dotenv" {
			content, name = gzipOf("BUILD_VERSION=1.2.3\n# comment\nEMPTY=\n"), "dotenv.gz"
		}
		if r := e.runner.Upload(t, build, a, name, content); r.Status != 201 {
			t.Fatalf("upload %s: %d %s", a.ArtifactType, r.Status, r.Body)
		}
	}
	e.run(build, "building with "+secret+"\n", "success", 0)
	checkJobTokenGit(t, e, build, false) // the job ended: its token is dead

	// test needs only build: it starts while lint, of build's stage, still
	// runs.
	test := e.runner.WaitJob(t, 10e9)
	if test.JobInfo.Name != "test" {
		t.Fatalf("third job: %s", test.JobInfo.Name)
	}
	if j := e.jobs(p.ID)["lint"]; j.Status != "pending" && j.Status != "running" {
		t.Errorf("lint is %s when test starts", j.Status)
	}
	e.run(lint, "lint failed\n", "failed", 3)
	if v, ok := variable(test, "BUILD_VERSION"); !ok || v.Value != "1.2.3" {
		t.Errorf("dotenv variable in the dependent job: %+v %v", v, ok)
	}
	if len(test.Dependencies) != 1 || test.Dependencies[0].Name != "build" || test.Dependencies[0].ArtifactsFile.Filename == "" {
		t.Fatalf("dependencies = %+v", test.Dependencies)
	}
	dl := e.runner.Download(t, test.Dependencies[0].ID, test.Dependencies[0].Token)
	zr, err := zip.NewReader(bytes.NewReader(dl.Body), int64(len(dl.Body)))
	if dl.Status != 200 || err != nil || len(zr.File) != 1 || zr.File[0].Name != "out.txt" {
		t.Fatalf("download dependency artifacts: %d %v", dl.Status, err)
	}
	if bad := e.runner.Download(t, test.Dependencies[0].ID, "glcbt-not-a-token"); bad.Status != 401 {
		t.Errorf("download with a bad token: %d", bad.Status)
	}
	e.run(test, "testing\n", "success", 0)

	p = e.waitStatus(p.ID, "success") // lint may fail; deploy is manual, so not blocking
	jobs := e.jobs(p.ID)
	for name, want := range map[string]string{"build": "success", "lint": "failed", "test": "success", "deploy": "manual"} {
		if jobs[name].Status != want {
			t.Errorf("job %s is %s, want %s", name, jobs[name].Status, want)
		}
	}
	if !jobs["lint"].AllowFailure {
		t.Error("lint's failure is not allowed")
	}
	trace, _, err := e.api.Jobs.GetTraceFile(e.project.ID, jobs["build"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if log := readAll(t, trace); strings.Contains(log, secret) || !strings.HasPrefix(log, "building with ") {
		t.Errorf("stored build log %q shows the masked secret or lost text", log)
	}

	cancelGracefully(t, e, jobs["deploy"].ID)
	retryAndCancelHard(t, e, jobs["deploy"].ID)
}

func checkPayload(t *testing.T, e *env, job *gitlab.JobPayload, pipelineID int64, sha string) {
	t.Helper()
	g := job.GitInfo
	if g.Sha != sha || g.Ref != "main" || g.RefType != "branch" || !strings.Contains(g.RepoURL, "gitlab-ci-token:"+job.Token+"@") {
		t.Errorf("git_info = %+v", g)
	}
	if len(g.Refspecs) == 0 || g.Refspecs[0] != "+refs/pipelines/"+itoa(pipelineID)+":refs/pipelines/"+itoa(pipelineID) {
		t.Errorf("refspecs = %v", g.Refspecs)
	}
	if v, ok := variable(job, "GREETING"); !ok || v.Value != "hello" || !v.Public {
		t.Errorf("YAML variable: %+v", v)
	}
	if v, ok := variable(job, "CI_JOB_TOKEN"); !ok || v.Value != job.Token || !v.Masked || v.Public {
		t.Errorf("CI_JOB_TOKEN: %+v", v)
	}
	if v, ok := variable(job, "SECRET_TOKEN"); !ok || !v.Masked || v.Public {
		t.Errorf("masked project variable: %+v", v)
	}
	if v, _ := variable(job, "CI_PIPELINE_ID"); v.Value != itoa(pipelineID) {
		t.Errorf("CI_PIPELINE_ID = %q", v.Value)
	}
	if len(job.Steps) != 1 || job.Steps[0].Name != "script" || strings.Join(job.Steps[0].Script, ";") != "echo build" {
		t.Errorf("steps = %+v", job.Steps)
	}
	types := []string{}
	for _, a := range job.Artifacts {
		types = append(types, a.ArtifactType+"/"+a.ArtifactFormat)
	}
	if strings.Join(types, ",") != "archive/zip,dotenv/gzip" {
		t.Errorf("artifacts = %v", types)
	}
	if len(job.Features.FailureReasons) == 0 || job.RunnerInfo.Timeout != 3600 {
		t.Errorf("features %+v, timeout %d", job.Features, job.RunnerInfo.Timeout)
	}
}

// checkJobTokenGit clones with the job token as gitlab-runner does (401
// challenge first, then Basic gitlab-ci-token), and fetches the pipeline
// ref; ok says whether that must work.
func checkJobTokenGit(t *testing.T, e *env, job *gitlab.JobPayload, ok bool) {
	t.Helper()
	resp, err := http.Get(e.project.HTTPURLToRepo + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous info/refs: %d", resp.StatusCode)
	}
	dir := filepath.Join(t.TempDir(), "clone")
	_, err = gittest.Try(t, "", "clone", "-q", job.GitInfo.RepoURL, dir)
	if ok != (err == nil) {
		t.Fatalf("clone with the job token: err %v, want success %v", err, ok)
	}
	if ok {
		gittest.Run(t, dir, "fetch", "-q", "origin", job.GitInfo.Refspecs[0])
	}
}

// cancelGracefully plays the manual job, cancels it while it runs: the
// runner hears "canceling", finishes, and the job ends canceled.
func cancelGracefully(t *testing.T, e *env, deployID int64) {
	t.Helper()
	if _, _, err := e.api.Jobs.PlayJob(e.project.ID, deployID, nil); err != nil {
		t.Fatal(err)
	}
	deploy := e.runner.WaitJob(t, 10e9)
	if deploy.ID != int64(deployID) {
		t.Fatalf("got job %d, want the played %d", deploy.ID, deployID)
	}
	e.runner.Update(t, deploy, gitlab.UpdateJobRequest{State: "running"})
	log := []byte("deploying\n")
	e.runner.Patch(t, deploy, 0, log)
	j, _, err := e.api.Jobs.CancelJob(e.project.ID, deployID)
	if err != nil || j.Status != "canceling" {
		t.Fatalf("cancel running job: %+v %v", j, err)
	}
	more := []byte("after_script runs\n")
	r := e.runner.Patch(t, deploy, len(log), more)
	if r.Status != 202 || r.Header.Get("Job-Status") != "canceling" {
		t.Fatalf("trace while canceling: %d %v", r.Status, r.Header)
	}
	if r := e.runner.Final(t, deploy, "failed", "unknown_failure", 0, append(log, more...)); r.Status != 200 {
		t.Fatalf("final update while canceling: %d", r.Status)
	}
	if j, _, _ := e.api.Jobs.GetJob(e.project.ID, deployID); j.Status != "canceled" {
		t.Errorf("gracefully canceled job is %s", j.Status)
	}
}

// retryAndCancelHard retries the job, then force-cancels the retry: the
// runner's next calls are refused with Job-Status canceled.
func retryAndCancelHard(t *testing.T, e *env, deployID int64) {
	t.Helper()
	again, _, err := e.api.Jobs.RetryJob(e.project.ID, deployID)
	if err != nil || again.ID == deployID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	job := e.runner.WaitJob(t, 10e9)
	if job.ID != int64(again.ID) {
		t.Fatalf("got job %d, want the retry %d", job.ID, again.ID)
	}
	e.runner.Update(t, job, gitlab.UpdateJobRequest{State: "running"})
	if _, _, err := e.api.Jobs.CancelJob(e.project.ID, again.ID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v4/projects/"+itoa(e.project.ID)+"/jobs/"+itoa(again.ID)+"/cancel?force=true", nil)
	req.Header.Set("PRIVATE-TOKEN", "glpat-servertest-root-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("force cancel: %v %v", resp, err)
	}
	resp.Body.Close()
	r := e.runner.Patch(t, job, 0, []byte("x"))
	if r.Status != 403 || r.Header.Get("Job-Status") != "canceled" {
		t.Errorf("trace after a hard cancel: %d %v", r.Status, r.Header)
	}
	if r := e.runner.Final(t, job, "success", "", 0, nil); r.Status != 403 {
		t.Errorf("final update after a hard cancel: %d", r.Status)
	}
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
