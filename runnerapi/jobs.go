package runnerapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/trace"
)

// jobFor authenticates a job request: the job token (JOB-TOKEN header, or
// the body's token for PUT) must belong to the job in the path. It returns
// the job and the token it authenticated with. It writes the refusal
// itself and returns ok=false: 403 for a wrong token, and for a job no
// longer running also its status in Job-Status so the runner stops.
func (s *Server) jobFor(w http.ResponseWriter, r *http.Request, bodyToken string) (j gantry.Job, token string, ok bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		message(w, http.StatusNotFound, "404 Not Found")
		return gantry.Job{}, "", false
	}
	token = r.Header.Get(gitlab.HeaderJobToken)
	if token == "" {
		token = bodyToken
	}
	j, err = s.Store.JobByTokenHash(r.Context(), auth.HashSecret(token))
	if err != nil || j.ID != id || token == "" {
		if err != nil && !errors.Is(err, gantry.ErrNotFound) {
			s.fail(w, r, err)
			return gantry.Job{}, "", false
		}
		message(w, http.StatusForbidden, "403 Forbidden - invalid job token")
		return gantry.Job{}, "", false
	}
	if !j.Status.Executing() && !(j.Status == gantry.StatusPending && j.RunnerID != 0) {
		w.Header().Set(gitlab.HeaderJobStatus, string(j.Status))
		message(w, http.StatusForbidden, "403 Forbidden - job is not running")
		return gantry.Job{}, "", false
	}
	return j, token, true
}

// updateJob answers PUT /jobs/:id: the two-phase confirmation, keep-alives
// and the final state.
func (s *Server) updateJob(w http.ResponseWriter, r *http.Request) {
	var req gitlab.UpdateJobRequest
	if err := decode(r, &req); err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - malformed job update")
		return
	}
	j, token, ok := s.jobFor(w, r, req.Token)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := s.Store.TouchJob(ctx, j.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	var err error
	switch req.State {
	case gitlab.JobStateRunning, gitlab.JobStatePending:
		if j.Status == gantry.StatusPending && req.State == gitlab.JobStateRunning {
			j, err = s.Pipelines.Confirm(ctx, j.ID)
		}
	case gitlab.JobStateSuccess, gitlab.JobStateFailed:
		if done, werr := s.traceComplete(ctx, j.ID, req.Output.Bytesize); werr != nil {
			err = werr
		} else if !done {
			// Some trace is still on its way: the runner PATCHes what is
			// left and PUTs again after the interval.
			w.Header().Set(gitlab.HeaderTraceUpdateInterval, "1")
			w.Header().Set(gitlab.HeaderJobStatus, string(j.Status))
			message(w, http.StatusAccepted, "202 Accepted")
			return
		}
		if err == nil {
			j, err = s.finish(ctx, j, token, req)
		}
	default:
		message(w, http.StatusBadRequest, "400 Bad request - state does not have a valid value")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set(gitlab.HeaderJobStatus, string(j.Status))
	message(w, http.StatusOK, "200 OK")
}

// traceComplete reports whether every byte the runner says it sent is
// stored.
func (s *Server) traceComplete(ctx context.Context, jobID, bytesize int64) (bool, error) {
	if bytesize == 0 {
		return true, nil
	}
	n, err := s.Traces.Length(ctx, jobID)
	return n >= bytesize, err
}

// finish records the final state and archives the log, masking with the
// secrets the job had while it ran (the job forgets them as it ends). A
// failure report while canceling ends the job canceled.
func (s *Server) finish(ctx context.Context, j gantry.Job, token string, req gitlab.UpdateJobRequest) (gantry.Job, error) {
	secrets, serr := s.secretsFor(ctx, j, token)
	res := pipeline.Result{Failed: req.State == gitlab.JobStateFailed, FailureReason: req.FailureReason, ExitCode: req.ExitCode,
		Coverage: s.coverage(ctx, j)}
	done, err := s.Pipelines.Finish(ctx, j.ID, res)
	if err != nil {
		return gantry.Job{}, err
	}
	err = serr
	if err == nil {
		err = s.Traces.Archive(context.WithoutCancel(ctx), j.ID, secrets)
	}
	if err != nil {
		s.log().Error("archive job log", "job", j.ID, "err", err)
	}
	s.log().Info("job finished", "job", j.ID, "status", done.Status, "reason", done.FailureReason)
	return done, nil
}

// coverage reads the code coverage from a finished job's log with its
// coverage: regex (nil without one, or when nothing matches).
func (s *Server) coverage(ctx context.Context, j gantry.Job) *float64 {
	var spec ci.Job
	if json.Unmarshal(j.Spec, &spec) != nil || len(spec.Coverage) < 2 {
		return nil
	}
	re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(spec.Coverage, "/"), "/"))
	if err != nil {
		return nil // the compiler refused such a regex; an old spec just has no coverage
	}
	r, err := s.Traces.Reader(ctx, j.ID, 0)
	if err != nil {
		s.log().Warn("read job log for coverage", "job", j.ID, "err", err)
		return nil
	}
	defer r.Close()
	v, found, err := trace.Coverage(r, re)
	if err != nil {
		s.log().Warn("read job log for coverage", "job", j.ID, "err", err)
	}
	if !found {
		return nil
	}
	return &v
}
