package runner

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/client"
	"github.com/gantry-ci/gantry/runner/trace"
)

// maxPatch is the largest trace PATCH body, as GitLab Runner sends.
const maxPatch = 1 << 20

// keepAliveAfter is how long without contact before a keep-alive PUT.
const keepAliveAfter = 30 * time.Second

// jobAPI is what a running job needs from the server.
type jobAPI interface {
	UpdateJob(ctx context.Context, id int64, req gitlab.UpdateJobRequest) (client.JobAnswer, error)
	PatchTrace(ctx context.Context, id int64, token string, offset int64, data []byte, debug bool) (client.JobAnswer, error)
}

// sender streams a job log to the server with incremental PATCHes and
// turns the server's answers into cancel signals. It runs in its own
// goroutine (loop) while the job runs; finish sends the rest and the final
// state.
type sender struct {
	api    jobAPI
	id     int64
	token  string
	info   gitlab.RunnerInfo
	log    *trace.Log
	logger *slog.Logger
	// backoff is the first wait between final-update retries.
	backoff time.Duration
	// retries bounds the final update (and final trace flush) attempts.
	retries int
	// keepAlive is the silence after which a running update is sent.
	silence time.Duration

	mu        sync.Mutex
	sent      int64
	interval  time.Duration
	contacted time.Time
	noTrace   bool // 404 on PATCH: stop sending the log
	debug     bool // PATCH ?debug_trace=true

	// status receives Job-Status values other than running (canceling,
	// canceled, failed) and "forbidden" for a 403.
	status chan string
}

func newSender(api jobAPI, id int64, token string, info gitlab.RunnerInfo, log *trace.Log, logger *slog.Logger) *sender {
	return &sender{
		api: api, id: id, token: token, info: info, log: log, logger: logger,
		backoff: time.Second, retries: 10, silence: keepAliveAfter,
		interval: 3 * time.Second, contacted: time.Now(),
		status: make(chan string, 8),
	}
}

func (s *sender) note(a client.JobAnswer) {
	s.mu.Lock()
	if a.UpdateInterval > 0 {
		s.interval = a.UpdateInterval
	}
	s.contacted = time.Now()
	s.mu.Unlock()
	st := a.JobStatus
	if a.Code == http.StatusForbidden {
		st = "forbidden"
	}
	switch st {
	case "", gitlab.JobStateRunning, gitlab.JobStatePending, gitlab.JobStateSuccess:
		return
	}
	select {
	case s.status <- st:
	default:
	}
}

func (s *sender) setDebug(on bool) {
	s.mu.Lock()
	s.debug = on
	s.mu.Unlock()
}

func (s *sender) updateInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

// loop patches new log bytes every interval until ctx is done.
func (s *sender) loop(ctx context.Context) {
	for {
		t := time.NewTimer(s.updateInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.flush(ctx)
		s.keepAlive(ctx)
	}
}

// flush sends unsent log bytes, in ≤1 MiB patches, until caught up or the
// server stops accepting. It reports whether everything was sent.
func (s *sender) flush(ctx context.Context) bool {
	buf := make([]byte, maxPatch)
	for ctx.Err() == nil {
		s.mu.Lock()
		off, stop, debug := s.sent, s.noTrace, s.debug
		s.mu.Unlock()
		if stop {
			return true
		}
		n := min(s.log.Len()-off, maxPatch)
		if n <= 0 {
			return true
		}
		if _, err := s.log.ReadAt(buf[:n], off); err != nil {
			s.logger.Error("read job log", "job", s.id, "err", err)
			return false
		}
		a, err := s.api.PatchTrace(ctx, s.id, s.token, off, buf[:n], debug)
		if err != nil {
			s.logger.Warn("patch trace", "job", s.id, "err", err)
			return false
		}
		s.note(a)
		switch a.Code {
		case http.StatusAccepted, http.StatusOK:
			s.mu.Lock()
			s.sent = off + n
			s.mu.Unlock()
		case http.StatusRequestedRangeNotSatisfiable:
			// The server holds RemoteLength bytes; resume from there next tick.
			if a.RemoteLength >= 0 && a.RemoteLength <= s.log.Len() {
				s.mu.Lock()
				s.sent = a.RemoteLength
				s.mu.Unlock()
			}
			return false
		case http.StatusNotFound:
			s.mu.Lock()
			s.noTrace = true
			s.mu.Unlock()
			return true
		default:
			return false
		}
	}
	return false
}

func (s *sender) keepAlive(ctx context.Context) {
	s.mu.Lock()
	idle := time.Since(s.contacted)
	s.mu.Unlock()
	if idle < s.silence {
		return
	}
	a, err := s.api.UpdateJob(ctx, s.id, s.update(gitlab.JobStateRunning, "", 0))
	if err != nil {
		s.logger.Warn("keep-alive", "job", s.id, "err", err)
		return
	}
	s.note(a)
}

func (s *sender) update(state, reason string, exit int) gitlab.UpdateJobRequest {
	sum := s.log.Checksum()
	return gitlab.UpdateJobRequest{
		Info: s.info, Token: s.token, State: state, FailureReason: reason, ExitCode: exit,
		Output: gitlab.JobOutput{Checksum: sum, Bytesize: s.log.Len()}, Checksum: sum,
	}
}

// errAborted is a final update the server refused for good.
var errAborted = errors.New("job aborted by the server")

// finish sends the remaining log and the final state, retrying through
// server outages with backoff, looping on 202 as GitLab Runner does.
func (s *sender) finish(ctx context.Context, state, reason string, exit int) error {
	wait := s.backoff
	for attempt := 0; ; attempt++ {
		if s.flush(ctx) {
			a, err := s.api.UpdateJob(ctx, s.id, s.update(state, reason, exit))
			if err == nil {
				s.note(a)
				switch a.Code {
				case http.StatusOK:
					return nil
				case http.StatusAccepted:
					// Server still persisting; wait one interval, resend what's new.
					if !sleep(ctx, s.updateInterval()) {
						return ctx.Err()
					}
					continue
				case http.StatusPreconditionFailed:
					s.mu.Lock()
					s.sent = 0
					s.mu.Unlock()
					continue
				case http.StatusForbidden, http.StatusNotFound:
					return errAborted
				}
			} else {
				s.logger.Warn("final update", "job", s.id, "err", err)
			}
		}
		if attempt+1 >= s.retries {
			return errors.New("final update: server unreachable, giving up")
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(wait*2, time.Minute)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
