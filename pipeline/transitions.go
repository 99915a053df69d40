package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/store"
)

// Result is how a runner says a job ended.
type Result struct {
	Failed        bool
	FailureReason string // GitLab's reason, e.g. script_failure
	ExitCode      int
	Coverage      *float64 // from the log and the job's coverage: regex
}

// onJob loads a job's pipeline and runs fn on the job inside the
// transition, then advances the pipeline.
func (s *Service) onJob(ctx context.Context, jobID int64, fn func(st *store.PipelineState, j *gantry.Job) error) (gantry.Job, error) {
	job, err := s.store.Job(ctx, jobID)
	if err != nil {
		return gantry.Job{}, err
	}
	var out gantry.Job
	err = s.update(ctx, job.PipelineID, func(st *store.PipelineState) error {
		j := jobByID(st.Jobs, jobID)
		if j == nil {
			return fmt.Errorf("job %d was retried: %w", jobID, gantry.ErrConflict)
		}
		if err := fn(st, j); err != nil {
			return err
		}
		out = *j
		return nil
	})
	return out, err
}

func jobByID(jobs []*gantry.Job, id int64) *gantry.Job {
	for _, j := range jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

// Confirm records a runner's two-phase confirmation: the claimed job runs.
func (s *Service) Confirm(ctx context.Context, jobID int64) (gantry.Job, error) {
	return s.onJob(ctx, jobID, func(_ *store.PipelineState, j *gantry.Job) error {
		if j.Status == gantry.StatusPending && j.RunnerID != 0 {
			j.Status = gantry.StatusRunning
		}
		return nil
	})
}

// Finish records a job's end as its runner reported it. A job being
// canceled ends canceled; a failure may be allowed (allow_failure, with
// exit_codes) and may be retried (retry:), which adds a new attempt.
func (s *Service) Finish(ctx context.Context, jobID int64, res Result) (gantry.Job, error) {
	return s.onJob(ctx, jobID, func(st *store.PipelineState, j *gantry.Job) error {
		if !j.Status.Executing() && j.Status != gantry.StatusPending {
			return fmt.Errorf("job %d is %s: %w", jobID, j.Status, gantry.ErrConflict)
		}
		now := s.now()
		j.FinishedAt, j.ExitCode = now, res.ExitCode
		if res.Coverage != nil {
			j.Coverage = res.Coverage
		}
		switch {
		case j.Status == gantry.StatusCanceling:
			j.Status = gantry.StatusCanceled
		case !res.Failed:
			j.Status = gantry.StatusSuccess
		default:
			j.Status, j.FailureReason = gantry.StatusFailed, res.FailureReason
			if j.FailureReason == "" {
				j.FailureReason = "script_failure"
			}
			spec := jobSpec(j)
			if len(spec.AllowFailureExitCodes) > 0 {
				j.AllowFailure = slices.Contains(spec.AllowFailureExitCodes, res.ExitCode)
			}
			if shouldRetry(spec.Retry, j, res) {
				retry(st, j, j.UserID)
			}
		}
		return nil
	})
}

func jobSpec(j *gantry.Job) ci.Job {
	var spec ci.Job
	_ = json.Unmarshal(j.Spec, &spec) // written by jobsFromPlan; an old or odd spec just means no extras
	return spec
}

// shouldRetry applies retry: max (attempts beyond the first), when
// (failure reasons, "always" by default) and exit_codes.
func shouldRetry(r *ci.Retry, j *gantry.Job, res Result) bool {
	if r == nil || r.Max <= 0 || j.Attempt > r.Max {
		return false
	}
	if len(r.ExitCodes) > 0 && !slices.Contains(r.ExitCodes, res.ExitCode) {
		return false
	}
	if len(r.When) == 0 {
		return true
	}
	for _, w := range r.When {
		switch {
		case w == "always", w == j.FailureReason:
			return true
		case w == "stuck_or_timeout_failure" && (j.FailureReason == "job_execution_timeout" || j.FailureReason == "stuck_or_timeout_failure"):
			return true
		}
	}
	return false
}

// retry replaces j with a new attempt (status created) and resets the
// skipped jobs that depend on it, so that processing decides them again.
func retry(st *store.PipelineState, j *gantry.Job, userID int64) *gantry.Job {
	next := &gantry.Job{Name: j.Name, Stage: j.Stage, StageIndex: j.StageIndex, Status: gantry.StatusCreated, When: j.When,
		AllowFailure: j.AllowFailure, Needs: j.Needs, Tags: j.Tags, ResourceGroup: j.ResourceGroup, Interruptible: j.Interruptible,
		Spec: j.Spec, Attempt: j.Attempt + 1, UserID: userID, TimeoutSecs: j.TimeoutSecs, Protected: j.Protected, StartIn: j.StartIn}
	if len(jobSpec(j).AllowFailureExitCodes) > 0 {
		next.AllowFailure = true // decided again when this attempt ends
	}
	j.Retried = true
	st.Jobs = append(st.Jobs, next)
	st.New = append(st.New, next)
	resetSkippedAfter(st.Jobs, next)
	return next
}

// resetSkippedAfter puts skipped jobs that come after j (later stages in
// stage order, or needing j, transitively) back to created.
func resetSkippedAfter(jobs []*gantry.Job, j *gantry.Job) {
	names := map[string]bool{j.Name: true}
	for changed := true; changed; {
		changed = false
		for _, o := range jobs {
			if o.Retried || o.Status != gantry.StatusSkipped || names[o.Name] {
				continue
			}
			after := o.Needs == nil && o.StageIndex > j.StageIndex
			for _, n := range o.Needs {
				after = after || names[n]
			}
			if after {
				o.Status, o.FinishedAt = gantry.StatusCreated, time.Time{}
				names[o.Name], changed = true, true
			}
		}
	}
}

// Play starts a manual job on behalf of userID.
func (s *Service) Play(ctx context.Context, jobID, userID int64) (gantry.Job, error) {
	return s.onJob(ctx, jobID, func(st *store.PipelineState, j *gantry.Job) error {
		if j.Status != gantry.StatusManual {
			return fmt.Errorf("%w: job is not manual (it is %s)", gantry.ErrInvalid, j.Status)
		}
		j.UserID = userID
		queueJob(j, st, s.now())
		resetSkippedAfter(st.Jobs, j)
		return nil
	})
}

// Retry adds a new attempt of a finished job on behalf of userID and
// returns it.
func (s *Service) Retry(ctx context.Context, jobID, userID int64) (gantry.Job, error) {
	var next *gantry.Job
	_, err := s.onJob(ctx, jobID, func(st *store.PipelineState, j *gantry.Job) error {
		if !j.Status.Completed() {
			return fmt.Errorf("%w: job is not finished (it is %s)", gantry.ErrInvalid, j.Status)
		}
		next = retry(st, j, userID)
		if j.When == "manual" || j.When == "delayed" {
			// Retrying is running it again: a retried manual job is not
			// waiting to be played once more.
			queueJob(next, st, s.now())
		}
		return nil
	})
	if err != nil {
		return gantry.Job{}, err
	}
	return s.store.Job(ctx, next.ID)
}

// RetryPipeline retries every failed or canceled job of a pipeline.
func (s *Service) RetryPipeline(ctx context.Context, pipelineID, userID int64) error {
	return s.update(ctx, pipelineID, func(st *store.PipelineState) error {
		n := 0
		for _, j := range slices.Clone(st.Jobs) {
			if !j.Retried && (j.Status == gantry.StatusFailed || j.Status == gantry.StatusCanceled) {
				retry(st, j, userID)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("%w: the pipeline has no failed or canceled jobs to retry", gantry.ErrInvalid)
		}
		return nil
	})
}

// CancelJob cancels a job. A job no runner runs yet is canceled at once; a
// running job whose runner can cancel gracefully becomes canceling (its
// runner runs after_script and reports back), others are canceled hard.
// force cancels hard whatever the runner can do.
func (s *Service) CancelJob(ctx context.Context, jobID int64, force bool) (gantry.Job, error) {
	return s.onJob(ctx, jobID, func(_ *store.PipelineState, j *gantry.Job) error {
		if !cancel(j, force, s.now()) {
			return fmt.Errorf("%w: job is %s and can't be canceled", gantry.ErrInvalid, j.Status)
		}
		return nil
	})
}

// cancel applies a cancellation to j and reports whether it could.
func cancel(j *gantry.Job, force bool, now time.Time) bool {
	switch {
	case j.Status == gantry.StatusRunning && j.GracefulCancel && !force:
		j.Status = gantry.StatusCanceling
	case j.Status == gantry.StatusCanceling && force, j.Status.Cancelable():
		j.Status, j.FinishedAt = gantry.StatusCanceled, now
	default:
		return false
	}
	return true
}

// CancelPipeline cancels every job of a pipeline that can be.
func (s *Service) CancelPipeline(ctx context.Context, pipelineID int64) error {
	return s.update(ctx, pipelineID, func(st *store.PipelineState) error {
		now := s.now()
		for _, j := range st.Jobs {
			if !j.Retried {
				cancel(j, false, now)
			}
		}
		return nil
	})
}

// MarkErased records that a finished job's log and artifacts were erased.
func (s *Service) MarkErased(ctx context.Context, jobID int64) (gantry.Job, error) {
	return s.onJob(ctx, jobID, func(_ *store.PipelineState, j *gantry.Job) error {
		j.ErasedAt = s.now()
		return nil
	})
}
