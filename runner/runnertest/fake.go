// Package runnertest is a protocol-level fake GitLab for testing runners:
// an httptest.Server that answers the runner API as
// shared/gitlab/RUNNER_PROTOCOL.md describes (registration, long-polled job
// requests, two-phase commit, trace PATCH with Content-Range, cancel via
// Job-Status, artifacts) and serves git repositories over smart HTTP with
// the system git, challenging with 401 and accepting
// gitlab-ci-token:<job token>. It records what it received so tests can
// assert on shapes.
package runnertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
)

// Exchange is one recorded API request.
type Exchange struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte // JSON bodies only (trace bodies go to the job)
	Status              int
}

// Job is the server-side state of one job.
type Job struct {
	Payload   *gitlab.JobPayload
	Raw       []byte // payload sent as is (bad-payload tests)
	State     string // pending, running, canceling, canceled, success, failed
	Trace     []byte
	Updates   []gitlab.UpdateJobRequest
	Patches   []string // Content-Range values received
	Artifacts []Artifact
	done      chan struct{}
}

// Artifact is one uploaded artifacts archive.
type Artifact struct {
	Query    map[string]string
	Filename string
	Data     []byte
}

// Server is the fake GitLab. Exported fields may be changed between
// jobs; use the methods while a runner is running.
type Server struct {
	*httptest.Server
	t testing.TB

	mu sync.Mutex
	// RunnerToken is accepted on runner endpoints; RegistrationToken by the
	// legacy POST /runners.
	RunnerToken       string
	RegistrationToken string
	// UpdateInterval is sent as X-GitLab-Trace-Update-Interval (seconds).
	UpdateInterval int
	// LongPoll is how long a job request with the current last_update is held.
	LongPoll time.Duration
	// Fail416Once answers the next trace PATCH starting past 0 with 416 and
	// Range 0-0, as task3-job-edgecases.jsonl.
	Fail416Once bool
	// ArtifactFailures answers that many artifact uploads with 503 first.
	ArtifactFailures int
	// PAT is the personal access token accepted by reset-token --pat.
	PAT string
	// Final202Once answers the first final PUT with 202.
	Final202Once bool

	down      bool
	queue     []*Job
	jobs      map[int64]*Job
	exchanges []Exchange
	version   int
	wake      chan struct{}
	repoRoot  string
}

// New starts a fake GitLab; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t: t, RunnerToken: "glrt-test", RegistrationToken: "GR1348941legacy", UpdateInterval: 3,
		jobs: map[int64]*Job{}, wake: make(chan struct{}), repoRoot: t.TempDir(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/runners/verify", s.verify)
	mux.HandleFunc("POST /api/v4/runners", s.register)
	mux.HandleFunc("DELETE /api/v4/runners", s.unregister)
	mux.HandleFunc("DELETE /api/v4/runners/managers", s.unregister)
	mux.HandleFunc("POST /api/v4/runners/reset_authentication_token", s.resetToken)
	mux.HandleFunc("POST /api/v4/runners/{id}/reset_authentication_token", s.resetTokenPAT)
	mux.HandleFunc("POST /api/v4/jobs/request", s.request)
	mux.HandleFunc("PUT /api/v4/jobs/{id}", s.update)
	mux.HandleFunc("PATCH /api/v4/jobs/{id}/trace", s.patch)
	mux.HandleFunc("POST /api/v4/jobs/{id}/artifacts", s.uploadArtifacts)
	mux.HandleFunc("GET /api/v4/jobs/{id}/artifacts", s.downloadArtifacts)
	mux.HandleFunc("/", s.git)
	s.Server = httptest.NewServer(s.outage(mux))
	t.Cleanup(s.Close)
	return s
}

// Token is the current runner token (it changes on reset).
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.RunnerToken
}

// SetDown makes the server drop every connection (true) or serve again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *Server) outage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Enqueue adds a job for the next request and wakes long polls.
func (s *Server) Enqueue(p *gitlab.JobPayload) *Job {
	return s.enqueue(&Job{Payload: p, State: "pending"})
}

// EnqueueRaw queues a literal 201 body (for malformed payload tests); id is
// what the server-side state is filed under.
func (s *Server) EnqueueRaw(id int64, body []byte) *Job {
	return s.enqueue(&Job{Raw: body, State: "pending", Payload: &gitlab.JobPayload{ID: id}})
}

func (s *Server) enqueue(j *Job) *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.done = make(chan struct{})
	s.queue = append(s.queue, j)
	s.jobs[j.Payload.ID] = j
	s.version++
	close(s.wake)
	s.wake = make(chan struct{})
	return j
}

// Wait blocks until job id reaches a final state (success, failed,
// canceled) and returns a copy of it.
func (s *Server) Wait(id int64, timeout time.Duration) Job {
	s.t.Helper()
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		s.t.Fatalf("fake gitlab: no job %d", id)
	}
	select {
	case <-j.done:
	case <-time.After(timeout):
		s.t.Fatalf("fake gitlab: job %d not finished after %v (state %s)\n%s", id, timeout, s.Job(id).State, s.Job(id).Trace)
	}
	return s.Job(id)
}

// Job returns a copy of job id's state.
func (s *Server) Job(id int64) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return Job{}
	}
	c := *j
	c.Trace = append([]byte(nil), j.Trace...)
	c.Updates = append([]gitlab.UpdateJobRequest(nil), j.Updates...)
	c.Patches = append([]string(nil), j.Patches...)
	c.Artifacts = append([]Artifact(nil), j.Artifacts...)
	return c
}

// Cancel cancels a running job: gracefully (Job-Status: canceling on the
// next answer) or hard (canceled, 403 on the next call).
func (s *Server) Cancel(id int64, graceful bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		if graceful {
			j.State = "canceling"
		} else {
			j.State = "canceled"
			s.finishLocked(j)
		}
	}
}

// Exchanges returns the recorded API requests.
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.exchanges...)
}

func (s *Server) record(r *http.Request, body []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Status: status})
}

func (s *Server) finishLocked(j *Job) {
	select {
	case <-j.done:
	default:
		close(j.done)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

// readJSON decodes a JSON body and records the exchange.
func (s *Server) readJSON(r *http.Request, v any) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return body, fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	return body, json.Unmarshal(body, v)
}

func (s *Server) jobFor(w http.ResponseWriter, r *http.Request, bodyToken string) (*Job, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		message(w, http.StatusNotFound, "404 Not found")
		return nil, false
	}
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		message(w, http.StatusNotFound, "404 Job Not Found")
		return nil, false
	}
	tok := r.Header.Get("JOB-TOKEN")
	if tok == "" {
		tok = bodyToken
	}
	if tok != j.Payload.Token {
		message(w, http.StatusForbidden, "403 Forbidden - invalid job token")
		return nil, false
	}
	return j, true
}

func (s *Server) jobHeaders(w http.ResponseWriter, j *Job) {
	w.Header().Set("Job-Status", j.State)
	w.Header().Set("X-GitLab-Trace-Update-Interval", strconv.Itoa(s.UpdateInterval))
}
