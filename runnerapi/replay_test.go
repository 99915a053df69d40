package runnerapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// TestReplayCaptures sends every request the real gitlab-runner 19.4 sent
// in shared/gitlab/captures, in order, to a fresh server prepared so that
// they make sense, and checks each answer against RUNNER_PROTOCOL.md for
// the server's actual state. Captured ids and tokens are mapped to the
// server's; the git fetches, whose bodies were not captured, are done by
// the real git client as the runner runs it.
//
// Where the stand-in answered something only a stand-in would (a 416 at
// the right offset, a 202 to a final update with the whole log stored,
// no X-GitLab-Last-Update on a 204), the expectation is the spec's rule
// for the server's state, and the replay then does what the runner does
// with that answer (after a 416 it resends from the server's offset).
func TestReplayCaptures(t *testing.T) {
	for _, name := range []string{"task2-register.jsonl", "task2-register-legacy.jsonl", "task2-run.jsonl",
		"task2-optional-fields.jsonl", "task3-job.jsonl", "task3-job-edgecases.jsonl", "task3-fail-cancel.jsonl",
		"task3-silent-job.jsonl"} {
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			r := newReplayer(t)
			for _, x := range loadCapture(t, name) {
				r.step(x)
			}
			r.checkJobs()
		})
	}
}

// replayer sends a capture's requests and models what the server must
// answer.
type replayer struct {
	*captureEnv
	secrets  map[string]string // captured token or last_update → the server's
	jobIDs   map[string]string // captured job id → the server's
	jobs     map[string]*replayJob
	current  *replayJob // the job whose source fetch comes next
	runnerID int64
	zip      []byte // the dependency archive
}

// replayJob is a job as the runner sees it.
type replayJob struct {
	captured, ours *gitlab.JobPayload
	log            []byte // every byte the runner wrote, at its offsets
	stored         int    // what the server acknowledged (Range)
	status         string // what the server's Job-Status must say
	fetched        bool   // the real git fetch ran
}

func newReplayer(t *testing.T) *replayer {
	c := newCaptureEnv(t)
	return &replayer{captureEnv: c, secrets: map[string]string{"glrt-test": c.runner.Token}, jobIDs: map[string]string{},
		jobs: map[string]*replayJob{}, zip: depZip(t)}
}

var jobURI = regexp.MustCompile(`^/api/v4/jobs/(\d+)(/.*)?$`)

func (r *replayer) step(x exchange) {
	r.t.Helper()
	m := jobURI.FindStringSubmatch(strings.Split(x.URI, "?")[0])
	switch {
	case x.URI == "/api/v4/jobs/request":
		r.jobRequest(x)
	case m != nil && x.Method == "PUT" && m[2] == "":
		r.update(x, r.job(m[1]))
	case m != nil && x.Method == "PATCH" && m[2] == "/trace":
		r.patch(x, r.job(m[1]))
	case m != nil && x.Method == "POST" && m[2] == "/artifacts":
		r.upload(x, r.job(m[1]))
	case m != nil && x.Method == "GET" && m[2] == "/artifacts":
		r.download(x)
	case strings.HasPrefix(x.URI, "/group/project.git/"):
		r.git(x)
	case strings.HasPrefix(x.URI, "/api/v4/runners"):
		r.registration(x)
	default:
		r.t.Fatalf("seq %d: no replay for %s %s", x.Seq, x.Method, x.URI)
	}
}

func (r *replayer) job(capturedID string) *replayJob {
	r.t.Helper()
	j, ok := r.jobs[capturedID]
	if !ok {
		r.t.Fatalf("captured job %s was never handed out", capturedID)
	}
	return j
}

// rewrite maps captured tokens and versions to the server's.
func (r *replayer) rewrite(s string) string {
	for from, to := range r.secrets {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// send replays x's request with its headers, tokens rewritten.
func (r *replayer) send(x exchange, uri string, body io.Reader) fakerunner.Response {
	r.t.Helper()
	if m := jobURI.FindStringSubmatch(uri); m != nil {
		if id, ok := r.jobIDs[m[1]]; ok {
			uri = strings.Replace(uri, "/jobs/"+m[1], "/jobs/"+id, 1)
		}
	}
	req, err := http.NewRequest(x.Method, r.srv.URL+uri, body)
	if err != nil {
		r.t.Fatal(err)
	}
	for k, vs := range x.ReqHeaders {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Host", "Accept-Encoding":
			continue
		case "Authorization":
			vs = []string{r.rewriteAuthorization(vs[0])}
		}
		for _, v := range vs {
			req.Header.Add(k, r.rewrite(v))
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("seq %d %s %s: %v", x.Seq, x.Method, uri, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fakerunner.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (r *replayer) rewriteAuthorization(v string) string {
	if enc, ok := strings.CutPrefix(v, "Basic "); ok {
		if raw, err := base64.StdEncoding.DecodeString(enc); err == nil {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(r.rewrite(string(raw))))
		}
	}
	return v
}

func (r *replayer) sendJSON(x exchange) fakerunner.Response {
	return r.send(x, x.URI, strings.NewReader(r.rewrite(string(x.ReqJSON))))
}

// expect checks a reply's status and headers (a value "*" means present).
func (r *replayer) expect(x exchange, resp fakerunner.Response, status int, headers ...string) {
	r.t.Helper()
	if resp.Status != status {
		r.t.Fatalf("seq %d %s %s: status %d, want %d (stand-in answered %d); body %s", x.Seq, x.Method, x.URI,
			resp.Status, status, x.Status, resp.Body)
	}
	if resp.Status != x.Status {
		r.t.Logf("seq %d %s %s: %d where the stand-in answered %d", x.Seq, x.Method, x.URI, resp.Status, x.Status)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		got := resp.Header.Get(headers[i])
		if got == "" || (headers[i+1] != "*" && got != headers[i+1]) {
			r.t.Errorf("seq %d %s %s: %s = %q, want %q", x.Seq, x.Method, x.URI, headers[i], got, headers[i+1])
		}
	}
}

// jobRequest: a captured 201 means a job was pending, so the replay makes
// the same job pending first; a captured 204 must be a 204 with the queue
// version (never 403, which would mark the runner unhealthy).
func (r *replayer) jobRequest(x exchange) {
	r.t.Helper()
	var captured gitlab.JobPayload
	var sha string
	if x.Status == http.StatusCreated {
		if err := json.Unmarshal(x.respJSON(r.t), &captured); err != nil {
			r.t.Fatalf("seq %d: captured payload: %v", x.Seq, err)
		}
		sha = r.prepare(captured, r.zip)
	}
	resp := r.sendJSON(x)
	if lu := x.RespHeaders.Get(gitlab.HeaderLastUpdate); lu != "" {
		r.secrets[lu] = resp.Header.Get(gitlab.HeaderLastUpdate)
	}
	if x.Status != http.StatusCreated {
		r.expect(x, resp, http.StatusNoContent, gitlab.HeaderLastUpdate, "*")
		if len(resp.Body) != 0 {
			r.t.Errorf("seq %d: 204 with a body %q", x.Seq, resp.Body)
		}
		return
	}
	r.expect(x, resp, http.StatusCreated, "Content-Type", "application/json")
	var ours gitlab.JobPayload
	if err := json.Unmarshal(resp.Body, &ours); err != nil {
		r.t.Fatalf("seq %d: payload: %v", x.Seq, err)
	}
	comparePayload(r.t, &captured, &ours, sha, r.zip)
	capID := strconv.FormatInt(captured.ID, 10)
	r.secrets[captured.Token] = ours.Token
	r.jobIDs[capID] = strconv.FormatInt(ours.ID, 10)
	for i, d := range captured.Dependencies {
		r.jobIDs[strconv.FormatInt(d.ID, 10)] = strconv.FormatInt(ours.Dependencies[i].ID, 10)
	}
	r.current = &replayJob{captured: &captured, ours: &ours, status: "running"}
	r.jobs[capID] = r.current
}

var finished = map[string]bool{"success": true, "failed": true, "canceled": true}

// update is PUT /jobs/:id: the two-phase confirmation, keep-alives and
// the final state (§3).
func (r *replayer) update(x exchange, j *replayJob) {
	r.t.Helper()
	var req gitlab.UpdateJobRequest
	if err := json.Unmarshal(x.ReqJSON, &req); err != nil {
		r.t.Fatal(err)
	}
	resp := r.sendJSON(x)
	switch {
	case finished[j.status]:
		// The job is over: 403 with its status, and the runner stops.
		// (Only after a stand-in's forced 202 does the runner PUT again.)
		r.expect(x, resp, http.StatusForbidden, gitlab.HeaderJobStatus, j.status)
	case req.State == "running":
		r.expect(x, resp, http.StatusOK, gitlab.HeaderJobStatus, j.status)
	case int(req.Output.Bytesize) > j.stored:
		r.expect(x, resp, http.StatusAccepted, gitlab.HeaderJobStatus, j.status)
	default:
		// The whole log is stored, so the final state is taken (200), a
		// canceling job ending canceled (§3.4) where the stand-in said
		// what the runner reported.
		j.status = req.State
		if r.jobStatus(j) == "canceled" {
			j.status = "canceled"
		}
		r.expect(x, resp, http.StatusOK, gitlab.HeaderJobStatus, j.status)
	}
}

// patch is PATCH /jobs/:id/trace (§4): 202 with the new length when the
// offset is the stored length, else 416 with the stored length, after
// which the runner resends from there.
func (r *replayer) patch(x exchange, j *replayJob) {
	r.t.Helper()
	if x.RespHeaders.Get(gitlab.HeaderJobStatus) == "canceling" && j.status == "running" {
		// The stand-in's job was canceled here; cancel ours the same way.
		if _, _, err := r.api.Jobs.CancelJob(r.project.ID, j.ours.ID); err != nil {
			r.t.Fatal(err)
		}
		j.status = "canceling"
	}
	body := x.reqText(r.t)
	start, _ := strconv.Atoi(strings.Split(x.ReqHeaders.Get("Content-Range"), "-")[0])
	if start > len(j.log) {
		r.t.Fatalf("seq %d: the runner's log has %d bytes, the patch starts at %d", x.Seq, len(j.log), start)
	}
	j.log = append(j.log[:start], body...)
	resp := r.send(x, x.URI, bytes.NewReader(body))
	switch {
	case finished[j.status]:
		r.expect(x, resp, http.StatusForbidden, gitlab.HeaderJobStatus, j.status)
	case start == j.stored:
		j.stored += len(body)
		r.expect(x, resp, http.StatusAccepted, "Range", fmt.Sprintf("0-%d", j.stored), gitlab.HeaderJobStatus, j.status,
			gitlab.HeaderTraceUpdateInterval, "*")
	default:
		r.expect(x, resp, http.StatusRequestedRangeNotSatisfiable, "Range", fmt.Sprintf("0-%d", j.stored))
		r.resend(x, j)
	}
}

// resend is the runner's reaction to a 416: the rest of its log from the
// server's offset.
func (r *replayer) resend(x exchange, j *replayJob) {
	r.t.Helper()
	rest := j.log[j.stored:]
	x.ReqHeaders = x.ReqHeaders.Clone()
	x.ReqHeaders.Set("Content-Range", fmt.Sprintf("%d-%d", j.stored, j.stored+len(rest)-1))
	resp := r.send(x, x.URI, bytes.NewReader(rest))
	j.stored += len(rest)
	r.expect(x, resp, http.StatusAccepted, "Range", fmt.Sprintf("0-%d", j.stored))
}

// upload streams the artifact as the runner's helper does: multipart,
// chunked, the captured boundary and part headers, a real zip inside.
func (r *replayer) upload(x exchange, j *replayJob) {
	r.t.Helper()
	_, params, _ := strings.Cut(x.ReqHeaders.Get("Content-Type"), "boundary=")
	pr, pw := io.Pipe()
	go func() {
		mw := multipart.NewWriter(pw)
		err := mw.SetBoundary(params)
		for _, p := range x.ReqParts {
			if err != nil {
				break
			}
			var w io.Writer
			if w, err = mw.CreatePart(toMIMEHeader(p.Headers)); err == nil {
				_, err = w.Write(zipOf(r.t, map[string]string{"out.txt": "out\n"}))
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp := r.send(x, x.URI, pr)
	r.expect(x, resp, http.StatusCreated, "Content-Type", "application/json")
}

// download is the dependency's archive, with the running job's token.
func (r *replayer) download(x exchange) {
	r.t.Helper()
	resp := r.send(x, x.URI, nil)
	r.expect(x, resp, http.StatusOK, "Content-Type", "application/octet-stream")
	if !bytes.Equal(resp.Body, r.zip) {
		r.t.Errorf("seq %d: downloaded %d bytes, not the dependency's %d-byte archive", x.Seq, len(resp.Body), len(r.zip))
	}
}

// git replays info/refs (401 with a Basic challenge without credentials,
// the advertisement with the job token) and stands in for the
// upload-pack exchanges with the fetch gitlab-runner runs.
func (r *replayer) git(x exchange) {
	r.t.Helper()
	if strings.HasSuffix(x.URI, "/git-upload-pack") {
		if !r.current.fetched {
			r.fetch(r.current.ours)
			r.current.fetched = true
		}
		return
	}
	resp := r.send(x, x.URI, nil)
	if x.ReqHeaders.Get("Authorization") == "" {
		// The project is private: credentials are asked for (§9), where
		// the stand-in of task3-job answered 200.
		r.expect(x, resp, http.StatusUnauthorized, "Www-Authenticate", `Basic realm="Gantry"`)
		return
	}
	r.expect(x, resp, http.StatusOK, "Content-Type", "application/x-git-upload-pack-advertisement")
}

// fetch runs the runner's fetch: init, remote with the job token, fetch
// of the payload's refspecs at its depth, checkout of the sha.
func (r *replayer) fetch(p *gitlab.JobPayload) {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "build")
	gittest.Run(r.t, "", "init", "-q", dir)
	gittest.Run(r.t, dir, "remote", "add", "origin", p.GitInfo.RepoURL)
	gittest.Run(r.t, dir, append(append([]string{"fetch", "origin", "--no-recurse-submodules"}, p.GitInfo.Refspecs...),
		"--depth", strconv.Itoa(p.GitInfo.Depth), "--prune", "--quiet")...)
	gittest.Run(r.t, dir, "checkout", "-f", "-q", p.GitInfo.Sha)
	if head := strings.TrimSpace(gittest.Run(r.t, dir, "rev-parse", "HEAD")); head != p.GitInfo.Sha {
		r.t.Errorf("checked out %s, want %s", head, p.GitInfo.Sha)
	}
}

// jobStatus reads a job's status through the API.
func (r *replayer) jobStatus(j *replayJob) string {
	r.t.Helper()
	got, _, err := r.api.Jobs.GetJob(r.project.ID, j.ours.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return got.Status
}

// checkJobs: every job ended as the runner said, and its stored log is
// every byte the runner wrote.
func (r *replayer) checkJobs() {
	r.t.Helper()
	for capID, j := range r.jobs {
		if got := r.jobStatus(j); got != j.status {
			r.t.Errorf("job %s (captured %s) is %s, want %s", j.ours.JobInfo.Name, capID, got, j.status)
		}
		log, _, err := r.api.Jobs.GetTraceFile(r.project.ID, j.ours.ID)
		if err != nil {
			r.t.Fatal(err)
		}
		if got := readAll(r.t, log); got != string(j.log) {
			r.t.Errorf("job %s: stored log has %d bytes, the runner wrote %d", capID, len(got), len(j.log))
		}
	}
}
