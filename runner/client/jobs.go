package client

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
)

// JobAnswer is what the server said about a job on PUT or PATCH.
type JobAnswer struct {
	Code int
	// JobStatus is the Job-Status header (running, canceling, canceled…).
	JobStatus string
	// UpdateInterval is X-GitLab-Trace-Update-Interval, 0 if absent.
	UpdateInterval time.Duration
	// RemoteLength is the log length from a PATCH reply's Range, -1 if absent.
	RemoteLength int64
}

func jobHeader(token string) http.Header {
	return http.Header{"Job-Token": {token}}
}

func answer(resp *http.Response) JobAnswer {
	a := JobAnswer{Code: resp.StatusCode, JobStatus: resp.Header.Get(gitlab.HeaderJobStatus), RemoteLength: -1}
	if s, err := strconv.Atoi(resp.Header.Get(gitlab.HeaderTraceUpdateInterval)); err == nil && s > 0 {
		a.UpdateInterval = min(time.Duration(s)*time.Second, 15*time.Minute)
	}
	if r := resp.Header.Get("Range"); r != "" {
		if _, end, ok := strings.Cut(r, "-"); ok {
			if n, err := strconv.ParseInt(end, 10, 64); err == nil && n >= 0 {
				a.RemoteLength = n
			}
		}
	}
	return a
}

// UpdateJob sends PUT /jobs/:id. Any HTTP answer comes back as a JobAnswer
// with a nil error (the caller decides: 200 ok, 202 retry, 403 abort…);
// only transport failures are errors. Transient statuses are retried
// before returning.
func (c *Client) UpdateJob(ctx context.Context, id int64, req gitlab.UpdateJobRequest) (JobAnswer, error) {
	resp, err := c.do(ctx, request{method: http.MethodPut, path: fmt.Sprintf("jobs/%d", id), header: jobHeader(req.Token), json: req})
	if err != nil {
		return JobAnswer{}, err
	}
	defer drain(resp)
	return answer(resp), nil
}

// PatchTrace appends data at offset (PATCH /jobs/:id/trace). Like
// UpdateJob, HTTP answers are not errors. It is not retried here: the trace
// loop resends on its next tick.
func (c *Client) PatchTrace(ctx context.Context, id int64, token string, offset int64, data []byte, debug bool) (JobAnswer, error) {
	h := jobHeader(token)
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+int64(len(data))-1))
	resp, err := c.do(ctx, request{method: http.MethodPatch, path: fmt.Sprintf("jobs/%d/trace?debug_trace=%t", id, debug), header: h, raw: data, noRetry: true})
	if err != nil {
		return JobAnswer{}, err
	}
	defer drain(resp)
	return answer(resp), nil
}

// ArtifactUpload names one artifacts entry being uploaded.
type ArtifactUpload struct {
	Name     string // file name in the multipart part, e.g. "artifacts.zip"
	Type     string // artifact_type
	Format   string // artifact_format
	ExpireIn string
}

// UploadArtifact streams body as POST /jobs/:id/artifacts, multipart with
// one "file" part and no Content-Length. It is not retried (the body is a
// stream); the caller rebuilds and retries.
func (c *Client) UploadArtifact(ctx context.Context, id int64, token string, a ArtifactUpload, body io.Reader) error {
	q := url.Values{}
	for k, v := range map[string]string{"artifact_format": a.Format, "artifact_type": a.Type, "expire_in": a.ExpireIn} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u, err := c.base.Parse(fmt.Sprintf("jobs/%d/artifacts", id))
	if err != nil {
		return err
	}
	u.RawQuery = q.Encode()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", a.Name)
		if err == nil {
			_, err = io.Copy(part, body)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), pr)
	if err != nil {
		pr.Close()
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Job-Token", token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Request-Id", requestID())
	resp, err := c.http.Do(req)
	if err != nil {
		pr.Close()
		return fmt.Errorf("upload artifacts: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return statusError(resp)
	}
	drain(resp)
	return nil
}

// DownloadArtifact fetches job id's archive (GET /jobs/:id/artifacts) into w,
// first with direct_download=true, following a redirect to object storage.
func (c *Client) DownloadArtifact(ctx context.Context, id int64, token string, w io.Writer) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: fmt.Sprintf("jobs/%d/artifacts?direct_download=true", id), header: jobHeader(token)})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("download artifacts of job %d: %w", id, err)
	}
	return nil
}
