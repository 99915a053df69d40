package runnerapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/queue"
)

// requestJob answers POST /jobs/request: 201 with a job, or 204 with the
// queue version in X-GitLab-Last-Update. When the runner already saw the
// current version, the request is held (long poll) until a job it can run
// becomes pending or the poll time ends.
func (s *Server) requestJob(w http.ResponseWriter, r *http.Request) {
	var req gitlab.JobRequest
	if err := decode(r, &req); err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - malformed job request")
		return
	}
	if req.Token == "" {
		req.Token = r.Header.Get(gitlab.HeaderRunnerToken)
	}
	runner, err := s.Forge.AuthenticateRunner(r.Context(), req.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	manager := s.seenRunner(r.Context(), runner, req.SystemID, req.Info, r)
	if runner.Paused {
		s.noJob(w, s.Queue.Version())
		return
	}
	features := req.Info.Features
	var token string // the job token of the claim that succeeded
	claim := func(ctx context.Context, jobID int64) (gantry.Job, error) {
		t := auth.NewSecret(auth.JobTokenPrefix)
		j, err := s.Store.Claim(ctx, jobID, runner.ID, manager.ID, auth.HashSecret(t), features.TwoPhaseJobCommit, features.CancelGracefully)
		if err == nil {
			token = t
		}
		return j, err
	}
	job, version, err := s.Queue.Next(r.Context(), runner, req.LastUpdate, s.longPoll(), claim)
	switch {
	case errors.Is(err, queue.ErrNoJob):
		if queue.Held(req.LastUpdate, s.longPoll()) {
			w.Header().Set(gitlab.HeaderBuildsPolling, "yes")
		}
		s.noJob(w, version)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	payload, err := s.payload(r.Context(), job, runner, token)
	if err != nil {
		// The job can't be described (its project vanished, say): fail it
		// rather than hand the runner something broken.
		s.log().Error("build job payload", "job", job.ID, "err", err)
		s.Pipelines.Finish(context.WithoutCancel(r.Context()), job.ID, pipelineFailure("runner_system_failure"))
		s.noJob(w, version)
		return
	}
	if s.PendingTime != nil && !job.QueuedAt.IsZero() {
		s.PendingTime.Observe(job.StartedAt.Sub(job.QueuedAt).Seconds())
	}
	s.log().Info("job assigned", "job", job.ID, "runner", runner.ID, "project", job.ProjectID)
	writeJSON(w, http.StatusCreated, payload)
}

func (s *Server) noJob(w http.ResponseWriter, version string) {
	w.Header().Set(gitlab.HeaderLastUpdate, version)
	w.WriteHeader(http.StatusNoContent)
}
