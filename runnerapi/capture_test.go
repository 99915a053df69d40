package runnerapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/internal/corpus"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server"
	"github.com/gantry-ci/gantry/server/servertest"
)

// exchange is one line of a capture in shared/gitlab/captures: a request
// the real gitlab-runner (or python-gitlab) sent to a logging stand-in,
// and what the stand-in answered.
type exchange struct {
	Seq         int             `json:"seq"`
	Method      string          `json:"method"`
	URI         string          `json:"uri"`
	ReqHeaders  http.Header     `json:"req_headers"`
	ReqJSON     json.RawMessage `json:"req_json"`
	ReqText     *string         `json:"req_text"`
	ReqParts    []capturedPart  `json:"req_parts"`
	Status      int             `json:"status"`
	RespHeaders http.Header     `json:"resp_headers"`
	RespBody    string          `json:"resp_body"`
}

// capturedPart describes one multipart part; its content was not kept.
type capturedPart struct {
	FileName string      `json:"file_name"`
	FormName string      `json:"form_name"`
	Headers  http.Header `json:"headers"`
	Size     int         `json:"size"`
}

// respJSON is the stand-in's reply body; some captures stored it as a
// JSON string holding the JSON.
func (x exchange) respJSON(t testing.TB) []byte {
	t.Helper()
	body := x.RespBody
	if strings.HasPrefix(body, `"`) {
		if err := json.Unmarshal([]byte(body), &body); err != nil {
			t.Fatalf("capture seq %d: response body: %v", x.Seq, err)
		}
	}
	return []byte(body)
}

// reqText is a trace PATCH body. The capture rewrote the runner's build
// path to /srv/capture/..., which made the text 4 bytes longer than the
// Content-Range it was sent with; a 4-byte shorter prefix restores the
// length (the original path was not kept), so offsets stay the runner's.
func (x exchange) reqText(t testing.TB) []byte {
	t.Helper()
	body := []byte(strings.ReplaceAll(*x.ReqText, "/srv/capture/", "/srv/cap/"))
	if cr := x.ReqHeaders.Get("Content-Range"); cr != "" {
		a, b, _ := strings.Cut(cr, "-")
		start, _ := strconv.Atoi(a)
		end, _ := strconv.Atoi(b)
		if end-start+1 != len(body) {
			t.Fatalf("capture seq %d: %d bytes for Content-Range %s", x.Seq, len(body), cr)
		}
	}
	return body
}

// loadCapture reads one capture file.
func loadCapture(t *testing.T, name string) []exchange {
	t.Helper()
	f, err := os.Open(filepath.Join(corpus.SharedDir(t), "gitlab", "captures", name))
	if err != nil {
		t.Fatalf("open capture: %v", err)
	}
	defer f.Close()
	var out []exchange
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var x exchange
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatalf("%s line %d: %v", name, len(out)+1, err)
		}
		out = append(out, x)
	}
	if err := sc.Err(); err != nil || len(out) == 0 {
		t.Fatalf("%s: %d exchanges, %v", name, len(out), err)
	}
	return out
}

// ciConfigFor writes a .gitlab-ci.yml (as JSON, which is YAML) whose job
// GitLab would have sent as the captured payload: same name, stage,
// script, after_script and artifacts; each dependency is a job of an
// earlier stage that keeps dist/ as artifacts.
func ciConfigFor(t testing.TB, p gitlab.JobPayload) string {
	t.Helper()
	job := map[string]any{"stage": p.JobInfo.Stage}
	for _, s := range p.Steps {
		job[s.Name] = s.Script
	}
	if len(p.Artifacts) > 1 {
		t.Fatalf("capture has %d artifact entries; ciConfigFor writes one", len(p.Artifacts))
	}
	for _, a := range p.Artifacts {
		job["artifacts"] = map[string]any{"name": a.Name, "paths": a.Paths, "when": a.When, "expire_in": a.ExpireIn}
	}
	cfg := map[string]any{"stages": []string{"build", p.JobInfo.Stage}, p.JobInfo.Name: job}
	for _, d := range p.Dependencies {
		cfg[d.Name] = map[string]any{"stage": "build", "script": []string{"mkdir -p dist"},
			"artifacts": map[string]any{"paths": []string{"dist/"}}}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// captureEnv is a server prepared for the captures: the project
// group/project with the captured CI/CD variables, the runner standing in
// for glrt-test, and a second runner that runs dependency jobs.
type captureEnv struct {
	*env
	prep *fakerunner.Runner
	wt   string // the work tree pushes are made from
}

func newCaptureEnv(t *testing.T) *captureEnv {
	t.Helper()
	e := newEnv(t, func(c *server.Config) { c.CI.LongPoll = 300 * time.Millisecond })
	g, _, err := e.api.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("group"), Path: gl.Ptr("group")})
	if err != nil {
		t.Fatal(err)
	}
	if e.project, _, err = e.api.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("project"), NamespaceID: gl.Ptr(g.ID)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []gl.CreateProjectVariableOptions{
		{Key: gl.Ptr("MY_VAR"), Value: gl.Ptr("my value")},
		{Key: gl.Ptr("SECRET_VAR"), Value: gl.Ptr("s3cr3t-value-123"), Masked: gl.Ptr(true)},
	} {
		if _, _, err := e.api.ProjectVariables.CreateVariable(e.project.ID, &v); err != nil {
			t.Fatal(err)
		}
	}
	return &captureEnv{env: e, prep: fakerunner.New(t, e.srv.URL, e.createRunner(`{"runner_type":"instance_type","description":"prep"}`))}
}

// prepare makes the captured job pending: it pushes a commit whose
// configuration has that job, and runs the job's dependencies, each
// uploading depZip as its archive. It returns the pushed sha.
func (c *captureEnv) prepare(captured gitlab.JobPayload, depZip []byte) string {
	c.t.Helper()
	files := map[string]string{".gitlab-ci.yml": ciConfigFor(c.t, captured), "README.md": "replay\n"}
	if c.wt == "" {
		c.wt = gittest.NewWorkTree(c.t, "main", files)
	} else {
		gittest.Commit(c.t, c.wt, "next job", files)
	}
	gittest.Run(c.t, c.wt, "push", "-q", gittest.URLWithAuth(c.project.HTTPURLToRepo, "root", servertest.RootToken), "main")
	sha := strings.TrimSpace(gittest.Run(c.t, c.wt, "rev-parse", "HEAD"))
	pid := c.pipelineAt(sha)
	for range captured.Dependencies {
		dep := c.prep.WaitJob(c.t, 10*time.Second)
		c.prep.Update(c.t, dep, gitlab.UpdateJobRequest{State: "running"})
		if r := c.prep.Upload(c.t, dep, dep.Artifacts[0], "artifacts.zip", depZip); r.Status != 201 {
			c.t.Fatalf("upload the dependency's artifacts: %d %s", r.Status, r.Body)
		}
		c.prep.Patch(c.t, dep, 0, []byte("dependency\n"))
		c.prep.Final(c.t, dep, "success", "", 0, []byte("dependency\n"))
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.jobs(pid)[captured.JobInfo.Name].Status != "pending" {
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s never became pending", captured.JobInfo.Name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sha
}

// pipelineAt waits for the pipeline of a pushed commit.
func (c *captureEnv) pipelineAt(sha string) int64 {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ps, _, err := c.api.Pipelines.ListProjectPipelines(c.project.ID, &gl.ListProjectPipelinesOptions{SHA: gl.Ptr(sha)})
		if err != nil {
			c.t.Fatal(err)
		}
		if len(ps) > 0 {
			return ps[0].ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no pipeline for %s", sha)
	return 0
}

// depZip is the archive dependency jobs upload: what the captured
// download returned (dist/dep.txt).
func depZip(t testing.TB) []byte {
	return zipOf(t, map[string]string{"dist/dep.txt": "from dependency job 100\n"})
}

func toMIMEHeader(h http.Header) textproto.MIMEHeader { return textproto.MIMEHeader(h) }

// comparePayload checks that the server's payload for the replayed job
// says what GitLab's said for the captured one, up to ids, tokens, URLs
// and the commit.
func comparePayload(t testing.TB, captured, ours *gitlab.JobPayload, sha string, depZip []byte) {
	t.Helper()
	if ours.ID == 0 || !strings.HasPrefix(ours.Token, "glcbt-") {
		t.Errorf("payload id %d, token %q", ours.ID, ours.Token)
	}
	ji := ours.JobInfo
	if ji.Name != captured.JobInfo.Name || ji.Stage != captured.JobInfo.Stage || ji.ProjectFullPath != "group/project" ||
		ji.ProjectName != "project" || ji.ProjectID == 0 || ji.PipelineID == 0 {
		t.Errorf("job_info = %+v", ji)
	}
	g := ours.GitInfo
	if g.Sha != sha || g.Ref != "main" || g.RefType != "branch" || g.Depth != captured.GitInfo.Depth ||
		!strings.Contains(g.RepoURL, "//gitlab-ci-token:"+ours.Token+"@") || !strings.HasSuffix(g.RepoURL, "/group/project.git") {
		t.Errorf("git_info = %+v", g)
	}
	if !slicesContain(g.Refspecs, captured.GitInfo.Refspecs...) {
		t.Errorf("refspecs %v lack the captured %v", g.Refspecs, captured.GitInfo.Refspecs)
	}
	if d := cmp.Diff(captured.Steps, ours.Steps); d != "" {
		t.Errorf("steps (-captured +ours):\n%s", d)
	}
	if d := cmp.Diff(captured.Artifacts, ours.Artifacts, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("artifacts (-captured +ours):\n%s", d)
	}
	if ours.RunnerInfo.Timeout != captured.RunnerInfo.Timeout || ours.Image.Name != captured.Image.Name || !ours.Features.TraceSections {
		t.Errorf("runner_info %+v, image %+v, features %+v", ours.RunnerInfo, ours.Image, ours.Features)
	}
	if !slicesContain(ours.Features.FailureReasons, "script_failure", "runner_system_failure", "job_execution_timeout", "unknown_failure") {
		t.Errorf("failure_reasons = %v", ours.Features.FailureReasons)
	}
	if len(ours.Dependencies) != len(captured.Dependencies) {
		t.Fatalf("dependencies = %+v, captured %+v", ours.Dependencies, captured.Dependencies)
	}
	for i, d := range ours.Dependencies {
		c := captured.Dependencies[i]
		if d.Name != c.Name || d.ArtifactsFile.Filename != c.ArtifactsFile.Filename || d.ArtifactsFile.Size != int64(len(depZip)) || d.Token != ours.Token {
			t.Errorf("dependency %+v, captured %+v", d, c)
		}
	}
	compareVariables(t, captured, ours)
}

// compareVariables: every variable GitLab sent is there with the same
// flags, and the same value where the value is not an id, URL or token.
func compareVariables(t testing.TB, captured, ours *gitlab.JobPayload) {
	t.Helper()
	byKey := map[string]gitlab.JobVariable{}
	for _, v := range ours.Variables {
		byKey[v.Key] = v
	}
	sameValue := map[string]bool{"CI": true, "GITLAB_CI": true, "CI_JOB_NAME": true, "CI_JOB_STAGE": true, "CI_PROJECT_NAME": true,
		"CI_PROJECT_PATH": true, "CI_COMMIT_REF_NAME": true, "MY_VAR": true, "SECRET_VAR": true, "CI_SERVER_HOST": true}
	for _, c := range captured.Variables {
		o, ok := byKey[c.Key]
		switch {
		case !ok:
			t.Errorf("variable %s is missing", c.Key)
		case o.Public != c.Public || o.Masked != c.Masked || o.File != c.File || o.Raw != c.Raw:
			t.Errorf("variable %s = %+v, GitLab sent %+v", c.Key, o, c)
		case sameValue[c.Key] && o.Value != c.Value:
			t.Errorf("variable %s = %q, GitLab sent %q", c.Key, o.Value, c.Value)
		}
	}
	if byKey["CI_JOB_TOKEN"].Value != ours.Token || byKey["CI_JOB_ID"].Value != strconv.FormatInt(ours.ID, 10) ||
		byKey["CI_REPOSITORY_URL"].Value != ours.GitInfo.RepoURL {
		t.Errorf("job variables do not match the payload: %+v %+v %+v", byKey["CI_JOB_TOKEN"], byKey["CI_JOB_ID"], byKey["CI_REPOSITORY_URL"])
	}
}

func slicesContain(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
