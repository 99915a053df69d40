// Package runnerapi serves GitLab's runner protocol (/api/v4/runners/…,
// /api/v4/jobs/…) exactly as shared/gitlab/RUNNER_PROTOCOL.md describes
// it, so that the official gitlab-runner and `gantry runner` both work
// against Gantry: registration and verification, long-polled job requests,
// job updates with two-phase commit and cancellation, incremental traces
// and artifacts.
package runnerapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// Traces stores job logs as runners send them (package trace).
type Traces interface {
	// Append stores data at offset and returns the new length. An offset
	// other than the stored length is a *trace.RangeError; secrets are
	// masked before anything is stored.
	Append(ctx context.Context, jobID, offset int64, data []byte, secrets []string) (int64, error)
	Length(ctx context.Context, jobID int64) (int64, error)
	// Reader reads a job's stored (masked) log from offset.
	Reader(ctx context.Context, jobID, offset int64) (io.ReadCloser, error)
	// Archive moves a finished job's log to the blob store; secrets mask
	// what the last append held back.
	Archive(ctx context.Context, jobID int64, secrets []string) error
}

// Blobs stores artifact files (package blob).
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// Server holds the runner API's dependencies. Register its routes on a mux.
type Server struct {
	Forge       *forge.Service
	Pipelines   *pipeline.Service
	Queue       *queue.Queue
	Store       *store.Store
	Traces      Traces
	Blobs       Blobs
	Variables   pipeline.Variables // nil: no CI/CD variables
	ExternalURL *url.URL
	Log         *slog.Logger
	// LongPoll is how long a job request may be held (default 50 s).
	LongPoll time.Duration
	// MaxArtifactSize bounds one artifact upload (default 100 MiB).
	MaxArtifactSize int64
	// PendingTime, if set, observes how long each job waited in the queue
	// (seconds) when a runner takes it.
	PendingTime interface{ Observe(float64) }

	seen sync.Map // runner id + system id → time of the last recorded contact
}

// Register adds the runner protocol routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v4/runners/verify", s.verify)
	mux.HandleFunc("POST /api/v4/runners", s.register)
	mux.HandleFunc("DELETE /api/v4/runners", s.unregister)
	mux.HandleFunc("DELETE /api/v4/runners/managers", s.unregisterManager)
	mux.HandleFunc("POST /api/v4/runners/reset_authentication_token", s.resetToken)
	mux.HandleFunc("GET /api/v4/runners/router/discovery", func(w http.ResponseWriter, r *http.Request) {
		message(w, http.StatusNotImplemented, "501 Not Implemented: the job router is not supported")
	})
	mux.HandleFunc("POST /api/v4/jobs/request", s.requestJob)
	mux.HandleFunc("PUT /api/v4/jobs/{id}", s.updateJob)
	mux.HandleFunc("PATCH /api/v4/jobs/{id}/trace", s.patchTrace)
	mux.HandleFunc("POST /api/v4/jobs/{id}/artifacts", s.uploadArtifact)
	mux.HandleFunc("GET /api/v4/jobs/{id}/artifacts", s.downloadArtifact)
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Server) longPoll() time.Duration {
	if s.LongPoll == 0 {
		return 50 * time.Second
	}
	return s.LongPoll
}

// writeJSON answers JSON; the runner rejects a parsed reply without
// Content-Type application/json.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, gitlab.Error{Message: msg})
}

// decode reads a JSON body of at most 1 MiB into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// fail maps errors to the statuses the runner understands: it only treats
// 403 as "this token is dead", so 403 is never used for anything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, gantry.ErrForbidden), errors.Is(err, gantry.ErrUnauthorized):
		message(w, http.StatusForbidden, "403 Forbidden")
	case errors.Is(err, gantry.ErrNotFound):
		message(w, http.StatusNotFound, "404 Not Found")
	case errors.Is(err, gantry.ErrInvalid):
		message(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
	case errors.Is(err, gantry.ErrConflict):
		message(w, http.StatusConflict, "409 Conflict")
	case errors.Is(err, context.Canceled):
		// The runner hung up; nobody reads an answer.
	default:
		s.log().Error("runner API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		message(w, http.StatusInternalServerError, "500 Internal Server Error")
	}
}

// seenRunner records a runner manager's contact, at most every 30 s per
// manager, so that idle polling costs no write.
func (s *Server) seenRunner(ctx context.Context, runner gantry.Runner, systemID string, info gitlab.RunnerInfo, r *http.Request) gantry.RunnerManager {
	if systemID == "" {
		systemID = "<legacy>"
	}
	key := runnerKey(runner.ID, systemID)
	if last, ok := s.seen.Load(key); ok {
		if m := last.(gantry.RunnerManager); time.Since(m.ContactedAt) < 30*time.Second {
			return m
		}
	}
	ip := clientIP(r.RemoteAddr)
	m, err := s.Store.SeenRunner(ctx, gantry.RunnerManager{RunnerID: runner.ID, SystemID: systemID, Version: info.Version,
		Revision: info.Revision, Platform: info.Platform, Architecture: info.Architecture, Executor: info.Executor, IPAddress: ip})
	if err != nil {
		s.log().Warn("record runner contact", "runner", runner.ID, "err", err)
		return gantry.RunnerManager{RunnerID: runner.ID, SystemID: systemID}
	}
	s.seen.Store(key, m)
	return m
}

// clientIP is the host of a request's peer address; IPv6 hosts hold
// colons too, so splitting at the first one would keep only "[".
func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// timePtr encodes a zero time as null: the runner decodes
// token_expires_at as a Go time and fails on "".
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
