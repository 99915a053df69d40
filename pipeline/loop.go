package pipeline

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// eventConsumer is the cursor name of push-event processing.
const eventConsumer = "pipelines"

// Run does the pipeline work nobody waits for, until ctx ends: it creates
// pipelines for pushes (resuming from its cursor after a restart), starts
// delayed jobs when due, fails jobs whose runner went silent, returns
// unconfirmed claims to the queue, drops jobs no runner took in time,
// deletes expired artifacts and the storage of deleted pipelines and
// projects, and at start re-advances every unfinished pipeline.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reconcile pipelines", "err", err)
	}
	tick := time.NewTicker(s.cfg.TickInterval)
	defer tick.Stop()
	var housekept time.Time
	for {
		steps := []func(context.Context) error{s.consumeEvents, s.startDue, s.failSilent}
		if now := s.now(); now.Sub(housekept) >= housekeepingInterval {
			housekept = now
			steps = append(steps, s.dropStuck, s.housekeep)
		}
		for _, step := range steps {
			if err := step(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("pipeline background step", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// Reconcile re-advances every unfinished pipeline, so that a transition a
// crash interrupted (a pipeline created but not yet advanced) completes.
func (s *Service) Reconcile(ctx context.Context) error {
	ids, err := s.store.UnfinishedPipelines(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Advance(ctx, id); err != nil {
			s.log.Warn("reconcile pipeline", "pipeline", id, "err", err)
		}
	}
	return nil
}

// consumeEvents creates a pipeline for each new branch or tag tip pushed.
// The cursor moves only past events that were handled, and a pipeline is
// tied to its event, so a crash anywhere here neither loses nor doubles a
// pipeline.
func (s *Service) consumeEvents(ctx context.Context) error {
	after, err := s.store.Cursor(ctx, eventConsumer)
	if err != nil {
		return err
	}
	for {
		events, err := s.store.RefUpdatesAfter(ctx, after, 100)
		if err != nil || len(events) == 0 {
			return err
		}
		for _, e := range events {
			if err := s.handleEvent(ctx, e); err != nil {
				return err
			}
			if err := s.store.SetCursor(ctx, eventConsumer, e.ID); err != nil {
				return err
			}
			after = e.ID
		}
	}
}

func (s *Service) handleEvent(ctx context.Context, e gantry.RefUpdate) error {
	name, isBranch := strings.CutPrefix(e.Ref, "refs/heads/")
	if !isBranch {
		var isTag bool
		if name, isTag = strings.CutPrefix(e.Ref, "refs/tags/"); !isTag {
			return nil
		}
	}
	if e.After == gantry.ZeroSHA {
		return nil // deletions run no pipeline
	}
	project, err := s.store.Project(ctx, e.ProjectID)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil // deleted since
	} else if err != nil {
		return err
	}
	user, _ := s.store.User(ctx, e.UserID) // 0 when a restart found the push: no user
	_, err = s.Create(ctx, CreateRequest{Project: project, Ref: name, SHA: e.After, BeforeSHA: e.Before,
		Source: "push", User: user, RefUpdateID: e.ID})
	switch {
	case err == nil, errors.Is(err, ErrNoConfig), errors.Is(err, ErrFiltered), errors.Is(err, gantry.ErrConflict):
		return nil
	case errors.Is(err, gantry.ErrInvalid):
		s.log.Info("no pipeline for push", "project", e.ProjectID, "ref", e.Ref, "reason", err)
		return nil
	}
	return err
}

// startDue queues delayed jobs whose start time has come.
func (s *Service) startDue(ctx context.Context) error {
	due, err := s.store.JobsDue(ctx, s.now())
	if err != nil {
		return err
	}
	for _, d := range due {
		_, err := s.onJob(ctx, d.ID, func(st *store.PipelineState, j *gantry.Job) error {
			if j.Status == gantry.StatusScheduled {
				queueJob(j, st, s.now())
			}
			return nil
		})
		if err != nil {
			s.log.Warn("start delayed job", "job", d.ID, "err", err)
		}
	}
	return nil
}

// failSilent returns claims a runner never confirmed to the queue and
// fails jobs whose runner stopped talking (retry: may then re-queue them).
// A claim must be confirmed within ConfirmTimeout of the claim, whatever
// else the runner sends meanwhile (a pending keep-alive, log): runners
// confirm right after they get the job, so one that has not by then is
// not going to run it.
func (s *Service) failSilent(ctx context.Context) error {
	now := s.now()
	claimedBefore := now.Add(-s.cfg.ConfirmTimeout)
	unconfirmed, err := s.store.JobsUnconfirmedSince(ctx, claimedBefore)
	if err != nil {
		return err
	}
	for _, j := range unconfirmed {
		if err := s.store.Unclaim(ctx, j.ID, claimedBefore); err == nil {
			s.log.Info("runner never confirmed the job; queued again", "job", j.ID, "runner", j.RunnerID)
			s.Advance(ctx, j.PipelineID)
			s.notify(ctx, []*gantry.Job{&j}) // pending all along, so the advance saw no change
		}
	}
	silent, err := s.store.JobsSilentSince(ctx, now.Add(-s.cfg.SilentTimeout))
	if err != nil {
		return err
	}
	for _, j := range silent {
		s.log.Warn("runner went silent; failing job", "job", j.ID, "runner", j.RunnerID)
		if _, err := s.Finish(ctx, j.ID, Result{Failed: true, FailureReason: "runner_system_failure"}); err != nil {
			s.log.Warn("fail silent job", "job", j.ID, "err", err)
		}
	}
	return nil
}

// dropStuck fails jobs that waited too long for a runner, as GitLab's
// stuck-builds worker: pending for PendingTimeout in any case, or for
// StuckTimeout while no online runner may run them, with failure reason
// stuck_or_timeout_failure (retry: may then queue them again).
func (s *Service) dropStuck(ctx context.Context) error {
	now := s.now()
	var runners []gantry.Runner
	loaded := false
	stuck := map[int64][]store.QueuedJob{} // by pipeline: one transition each
	const page = 100
	for after := int64(0); ; {
		jobs, err := s.store.JobsQueuedSince(ctx, now.Add(-min(s.cfg.StuckTimeout, s.cfg.PendingTimeout)), after, page)
		if err != nil {
			return err
		}
		for _, qj := range jobs {
			after = qj.ID
			if !qj.QueuedAt.Before(now.Add(-s.cfg.PendingTimeout)) {
				if !loaded {
					f := store.RunnerFilter{ContactedSince: now.Add(-queue.OnlineWindow)}
					if runners, _, err = s.store.ListRunners(ctx, f, store.Page{Size: 100000}); err != nil {
						return err
					}
					loaded = true
				}
				if !queue.Stuck(qj, runners, now) {
					continue
				}
			}
			stuck[qj.PipelineID] = append(stuck[qj.PipelineID], qj)
		}
		if len(jobs) < page {
			break
		}
	}
	for pipelineID, jobs := range stuck {
		if err := s.drop(ctx, pipelineID, jobs); err != nil {
			s.log.Warn("drop stuck jobs", "pipeline", pipelineID, "err", err)
		}
	}
	return nil
}

// drop fails the jobs of a pipeline that still wait for a runner since
// they were found waiting, with stuck_or_timeout_failure.
func (s *Service) drop(ctx context.Context, pipelineID int64, jobs []store.QueuedJob) error {
	return s.update(ctx, pipelineID, func(st *store.PipelineState) error {
		now := s.now()
		for _, qj := range jobs {
			j := jobByID(st.Jobs, qj.ID)
			if j == nil || j.Status != gantry.StatusPending || j.RunnerID != 0 || !j.QueuedAt.Equal(qj.QueuedAt) {
				continue // taken, retried or queued again meanwhile
			}
			s.log.Warn("no runner took the job in time; dropping it", "job", j.ID, "queued_at", j.QueuedAt)
			j.Status, j.FailureReason, j.FinishedAt = gantry.StatusFailed, "stuck_or_timeout_failure", now
			if shouldRetry(jobSpec(j).Retry, j, Result{Failed: true, FailureReason: j.FailureReason}) {
				retry(st, j, j.UserID)
			}
		}
		return nil
	})
}

// cancelRedundant cancels older unfinished pipelines of the same ref when
// every job they started is interruptible (GitLab's "auto-cancel redundant
// pipelines", on by default).
func (s *Service) cancelRedundant(ctx context.Context, p gantry.Pipeline) {
	if p.Source != "push" && p.Source != "web" && p.Source != "api" {
		return
	}
	older, _, err := s.store.ListPipelines(ctx, store.PipelineFilter{ProjectID: p.ProjectID, Ref: p.Ref,
		Statuses: []gantry.Status{gantry.StatusCreated, gantry.StatusPending, gantry.StatusRunning, gantry.StatusWaitingForResource,
			gantry.StatusScheduled, gantry.StatusManual, gantry.StatusPreparing}}, store.Page{Size: 100})
	if err != nil {
		s.log.Warn("auto-cancel: list pipelines", "err", err)
		return
	}
	for _, o := range older {
		if o.ID >= p.ID {
			continue
		}
		err := s.update(ctx, o.ID, func(st *store.PipelineState) error {
			for _, j := range st.Jobs {
				if !j.Retried && !j.Interruptible && (j.Status.Executing() || j.Status == gantry.StatusSuccess || j.Status == gantry.StatusFailed) {
					return nil // a non-interruptible job started: keep this pipeline
				}
			}
			now := s.now()
			for _, j := range st.Jobs {
				if !j.Retried {
					cancel(j, false, now)
				}
			}
			s.log.Info("auto-canceled redundant pipeline", "pipeline", o.ID, "by", p.ID)
			return nil
		})
		if err != nil {
			s.log.Warn("auto-cancel pipeline", "pipeline", o.ID, "err", err)
		}
	}
}

// StartDue, FailSilent, DropStuck and Housekeep run one round of the
// background work (Run calls the first two every tick, the others every
// housekeepingInterval; tests call them directly).
func (s *Service) StartDue(ctx context.Context) error { return s.startDue(ctx) }

// FailSilent fails jobs whose runner went silent; see Run.
func (s *Service) FailSilent(ctx context.Context) error { return s.failSilent(ctx) }

// DropStuck fails jobs no runner took in time; see Run.
func (s *Service) DropStuck(ctx context.Context) error { return s.dropStuck(ctx) }

// Housekeep deletes expired artifacts and the storage deleted pipelines
// and projects left behind; see Run.
func (s *Service) Housekeep(ctx context.Context) error { return s.housekeep(ctx) }

// housekeepingInterval is how often Run looks for stuck jobs, expired
// artifacts and storage to delete: the timeouts are hours, and looking
// for stuck jobs reads the runners.
const housekeepingInterval = time.Minute
