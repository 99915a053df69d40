// Package client speaks the GitLab runner protocol
// (shared/gitlab/RUNNER_PROTOCOL.md) to a GitLab or Gantry server: runner
// registration, job requests, job updates, trace patches and artifacts.
//
// Methods return errors, never booleans: an HTTP status the protocol gives
// meaning to comes back as a *StatusError wrapping a gantry sentinel
// (403 → gantry.ErrForbidden, 404 → gantry.ErrNotFound, …), transport
// failures as wrapped net errors. Retries of transient statuses (408, 429,
// 5xx) happen here, a few times with backoff; longer outages are the
// caller's business.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

// Client talks to one server. It is safe for concurrent use.
type Client struct {
	base      *url.URL // …/api/v4/
	http      *http.Client
	userAgent string
	// Attempts is how many times a transient failure is tried (default 5).
	Attempts int
	// Backoff is the first retry wait, doubled each time (default 100 ms).
	Backoff time.Duration
}

// New returns a client for the server at rawURL (a runner's `url`;
// trailing "/" and "/ci" are stripped as GitLab Runner does). A nil hc gets
// a client with GitLab Runner's timeouts (60 min total, 10 min to headers).
func New(rawURL string, hc *http.Client) (*Client, error) {
	u, err := BaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 10 * time.Minute
		tr.MaxIdleConnsPerHost = 32
		hc = &http.Client{Timeout: 60 * time.Minute, Transport: tr}
	}
	api := u.JoinPath("api", "v4")
	api.Path += "/"
	return &Client{
		base: api, http: hc, Attempts: 5, Backoff: 100 * time.Millisecond,
		userAgent: fmt.Sprintf("gantry-runner %s (%s; %s; %s/%s)", gantry.Version, "main", runtime.Version(), runtime.GOOS, runtime.GOARCH),
	}, nil
}

// BaseURL normalises a runner `url`: http(s) only, trailing "/" and "/ci"
// removed.
func BaseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("%w: server url %q: %v", gantry.ErrInvalid, rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server url %q must be http(s)://host[/path]", gantry.ErrInvalid, rawURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/ci")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// URL returns the server base URL (no /api/v4).
func (c *Client) URL() string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/api/v4/")
	return u.String()
}

// StatusError is an HTTP answer the caller did not expect.
type StatusError struct {
	Method, Path string
	Code         int
	Message      string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap maps the status to a gantry sentinel.
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusUnauthorized:
		return gantry.ErrUnauthorized
	case http.StatusForbidden:
		return gantry.ErrForbidden
	case http.StatusNotFound:
		return gantry.ErrNotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return gantry.ErrConflict
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return gantry.ErrInvalid
	}
	return nil
}

// request describes one call; body is JSON-encoded once so retries can
// resend it.
type request struct {
	method  string
	path    string // relative to /api/v4/, may hold a query
	header  http.Header
	json    any
	raw     []byte
	noRetry bool
}

func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	var body []byte
	if r.json != nil {
		b, err := json.Marshal(r.json)
		if err != nil {
			return nil, fmt.Errorf("encode %s body: %w", r.path, err)
		}
		body = b
	} else {
		body = r.raw
	}
	u, err := c.base.Parse(r.path)
	if err != nil {
		return nil, fmt.Errorf("%w: path %q: %v", gantry.ErrInvalid, r.path, err)
	}
	attempts := max(c.Attempts, 1)
	if r.noRetry {
		attempts = 1
	}
	wait := c.Backoff
	for i := 0; ; i++ {
		resp, err := c.once(ctx, r, u, body)
		if i+1 >= attempts || ctx.Err() != nil || !retryable(resp, err) {
			return resp, err
		}
		d := retryAfter(resp, wait)
		if resp != nil {
			drain(resp)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		wait = min(wait*2, time.Minute)
	}
}

func (c *Client) once(ctx context.Context, r request, u *url.URL, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.json != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Request-Id", requestID())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, u.Path, err)
	}
	return resp, nil
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	switch c := resp.StatusCode; {
	case c == 408, c == 429, c == 500, c == 502, c == 503, c == 504, c >= 512:
		return true
	}
	return false
}

// retryAfter honours RateLimit-ResetTime and Retry-After, else def.
func retryAfter(resp *http.Response, def time.Duration) time.Duration {
	if resp == nil {
		return def
	}
	if t, err := http.ParseTime(resp.Header.Get("RateLimit-ResetTime")); err == nil {
		if d := time.Until(t); d > 0 && d < time.Minute {
			return d
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Minute)
	}
	return def
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// statusError reads a GitLab error body ({"message": …}) into a StatusError
// and closes the body.
func statusError(resp *http.Response) error {
	defer drain(resp)
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	var m struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &m) == nil {
		var s string
		switch {
		case json.Unmarshal(m.Message, &s) == nil:
			msg = s
		case len(m.Message) > 0:
			msg = string(m.Message)
		case m.Error != "":
			msg = m.Error
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &StatusError{Method: resp.Request.Method, Path: resp.Request.URL.Path, Code: resp.StatusCode, Message: msg}
}

// doJSON sends r and decodes the JSON reply into out when the status is
// want; another status is a *StatusError.
func (c *Client) doJSON(ctx context.Context, r request, want int, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return statusError(resp)
	}
	return decodeJSON(resp, out)
}

// decodeJSON reads a JSON reply; GitLab Runner insists on the content type.
func decodeJSON(resp *http.Response, v any) error {
	defer drain(resp)
	ct := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%w: %s %s: reply Content-Type %q, want application/json", gantry.ErrInvalid, resp.Request.Method, resp.Request.URL.Path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%w: %s %s: decode reply: %v", gantry.ErrInvalid, resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// IsTransient reports whether err is worth retrying later (network failure
// or a 5xx/429), as opposed to an answer that will not change.
func IsTransient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == 408 || se.Code == 429 || se.Code >= 500
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, gantry.ErrInvalid)
}
