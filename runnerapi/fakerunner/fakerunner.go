// Package fakerunner speaks the runner side of GitLab's runner protocol
// in tests: its requests have exactly the shapes the real gitlab-runner
// 19.4 sends (shared/gitlab/captures), without running anything.
package fakerunner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/internal/corpus"
)

// Runner is one runner process (one system id) using a token.
type Runner struct {
	URL      string // the server's base URL
	Token    string // glrt-…
	SystemID string
	// Info is sent as `info` with every request; New fills it from the
	// real runner's capture.
	Info   gitlab.RunnerInfo
	Client *http.Client
}

// New returns a runner whose info is the captured gitlab-runner's.
func New(tb testing.TB, url, token string) *Runner {
	tb.Helper()
	var sample gitlab.JobRequest
	raw := corpus.ReadShared(tb, "gitlab/captures/sample-jobs-request-body.json")
	if err := json.Unmarshal(raw, &sample); err != nil {
		tb.Fatal(err)
	}
	return &Runner{URL: url, Token: token, SystemID: sample.SystemID, Info: sample.Info, Client: &http.Client{Timeout: 2 * time.Minute}}
}

// Response is a reply: status, headers, body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request like the runner: User-Agent, request id, JSON. A
// transport error fails the test.
func (r *Runner) Do(tb testing.TB, method, path string, header map[string]string, body io.Reader) Response {
	tb.Helper()
	resp, err := r.Send(method, path, header, body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// Send is Do returning transport errors (a server that is down, a
// connection cut), for tests where the runner must retry as
// gitlab-runner does.
func (r *Runner) Send(method, path string, header map[string]string, body io.Reader) (Response, error) {
	req, err := http.NewRequest(method, r.URL+path, body)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("User-Agent", "gitlab-runner "+r.Info.Version+" (main; go1.26.8; linux/amd64)")
	req.Header.Set("X-Request-Id", fmt.Sprintf("%032x", time.Now().UnixNano()))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read reply: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (r *Runner) doJSON(tb testing.TB, method, path string, header map[string]string, v any) Response {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	for k, val := range header {
		h[k] = val
	}
	return r.Do(tb, method, path, h, bytes.NewReader(b))
}

// Verify is `gitlab-runner register` with a glrt- token.
func (r *Runner) Verify(tb testing.TB) (gitlab.RunnerCredentials, Response) {
	tb.Helper()
	resp := r.doJSON(tb, "POST", "/api/v4/runners/verify", nil, gitlab.VerifyRunnerRequest{Token: r.Token, SystemID: r.SystemID, Info: r.Info})
	var creds gitlab.RunnerCredentials
	if resp.Status == http.StatusOK {
		if err := json.Unmarshal(resp.Body, &creds); err != nil {
			tb.Fatalf("verify reply: %v", err)
		}
	}
	return creds, resp
}

// Request asks for a job (POST /jobs/request) and returns the payload if
// the reply was 201.
func (r *Runner) Request(tb testing.TB, lastUpdate string) (*gitlab.JobPayload, Response) {
	tb.Helper()
	resp := r.doJSON(tb, "POST", "/api/v4/jobs/request", nil, gitlab.JobRequest{Info: r.Info, Token: r.Token, SystemID: r.SystemID, LastUpdate: lastUpdate})
	if resp.Status != http.StatusCreated {
		return nil, resp
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("job reply Content-Type %q", ct)
	}
	var p gitlab.JobPayload
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		tb.Fatalf("job payload: %v", err)
	}
	return &p, resp
}

// WaitJob polls (with long polling) until a job arrives or the deadline.
func (r *Runner) WaitJob(tb testing.TB, within time.Duration) *gitlab.JobPayload {
	tb.Helper()
	deadline, last := time.Now().Add(within), ""
	for time.Now().Before(deadline) {
		p, resp := r.Request(tb, last)
		if p != nil {
			return p
		}
		if resp.Status != http.StatusNoContent {
			tb.Fatalf("job request: %d %s", resp.Status, resp.Body)
		}
		last = resp.Header.Get(gitlab.HeaderLastUpdate)
	}
	tb.Fatalf("no job within %s", within)
	return nil
}

// Update sends PUT /jobs/:id.
func (r *Runner) Update(tb testing.TB, job *gitlab.JobPayload, u gitlab.UpdateJobRequest) Response {
	tb.Helper()
	u.Info, u.Token = r.Info, job.Token
	return r.doJSON(tb, "PUT", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10), map[string]string{gitlab.HeaderJobToken: job.Token}, u)
}

// Final sends the final PUT for a log as the runner does, with its CRC32.
func (r *Runner) Final(tb testing.TB, job *gitlab.JobPayload, state, reason string, exitCode int, log []byte) Response {
	tb.Helper()
	sum := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(log))
	return r.Update(tb, job, gitlab.UpdateJobRequest{State: state, FailureReason: reason, ExitCode: exitCode,
		Output: gitlab.JobOutput{Checksum: sum, Bytesize: int64(len(log))}, Checksum: sum})
}

// Patch sends PATCH /jobs/:id/trace with data at offset.
func (r *Runner) Patch(tb testing.TB, job *gitlab.JobPayload, offset int, data []byte) Response {
	tb.Helper()
	h := map[string]string{gitlab.HeaderJobToken: job.Token, "Content-Type": "text/plain",
		"Content-Range": fmt.Sprintf("%d-%d", offset, offset+len(data)-1)}
	return r.Do(tb, "PATCH", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10)+"/trace?debug_trace=false", h, bytes.NewReader(data))
}

// Upload streams an artifact as multipart without Content-Length, as the
// runner's helper does.
func (r *Runner) Upload(tb testing.TB, job *gitlab.JobPayload, a gitlab.JobArtifact, filename string, content []byte) Response {
	tb.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = part.Write(content)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	q := "artifact_format=" + a.ArtifactFormat + "&artifact_type=" + a.ArtifactType
	if a.ExpireIn != "" {
		q += "&expire_in=" + a.ExpireIn
	}
	h := map[string]string{gitlab.HeaderJobToken: job.Token, "Content-Type": mw.FormDataContentType()}
	return r.Do(tb, "POST", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10)+"/artifacts?"+q, h, pr)
}

// Download fetches a dependency's artifacts with a job token.
func (r *Runner) Download(tb testing.TB, depID int64, token string) Response {
	tb.Helper()
	return r.Do(tb, "GET", "/api/v4/jobs/"+strconv.FormatInt(depID, 10)+"/artifacts?direct_download=true",
		map[string]string{gitlab.HeaderJobToken: token}, nil)
}
