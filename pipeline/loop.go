package pipeline

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// eventConsumer is the cursor name of push-event processing.
const eventConsumer = "pipelines"

// Run does the pipeline work nobody waits for, until ctx ends: it creates
// pipelines for pushes (resuming from its cursor after a restart), starts
// delayed jobs when due, fails jobs whose runner went silent, returns
// unconfirmed claims to the queue, and at start re-advances every
// unfinished pipeline.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reconcile pipelines", "err", err)
	}
	tick := time.NewTicker(s.cfg.TickInterval)
	defer tick.Stop()
	for {
		for _, step := range []func(context.Context) error{s.consumeEvents, s.startDue, s.failSilent} {
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
				queue(j, st, s.now())
			}
			return nil
		})
		if err != nil {
			s.log.Warn("start delayed job", "job", d.ID, "err", err)
		}
	}
	return nil
}

// failSilent fails jobs whose runner stopped talking (retry: may then
// re-queue them) and returns claims a runner never confirmed to the queue.
func (s *Service) failSilent(ctx context.Context) error {
	now := s.now()
	silent, err := s.store.JobsSilentSince(ctx, now.Add(-min(s.cfg.SilentTimeout, s.cfg.ConfirmTimeout)))
	if err != nil {
		return err
	}
	for _, j := range silent {
		switch {
		case j.Status == gantry.StatusPending && j.LastContactAt.Before(now.Add(-s.cfg.ConfirmTimeout)):
			if err := s.store.Unclaim(ctx, j.ID); err == nil {
				s.log.Info("runner never confirmed the job; queued again", "job", j.ID, "runner", j.RunnerID)
				s.Advance(ctx, j.PipelineID)
				s.notify(ctx, []*gantry.Job{&j}) // pending all along, so the advance saw no change
			}
		case j.Status.Executing() && j.LastContactAt.Before(now.Add(-s.cfg.SilentTimeout)):
			s.log.Warn("runner went silent; failing job", "job", j.ID, "runner", j.RunnerID)
			if _, err := s.Finish(ctx, j.ID, Result{Failed: true, FailureReason: "runner_system_failure"}); err != nil {
				s.log.Warn("fail silent job", "job", j.ID, "err", err)
			}
		}
	}
	return nil
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

// StartDue and FailSilent run one round of the background checks (Run
// calls them every tick; tests call them directly).
func (s *Service) StartDue(ctx context.Context) error { return s.startDue(ctx) }

// FailSilent fails jobs whose runner went silent; see Run.
func (s *Service) FailSilent(ctx context.Context) error { return s.failSilent(ctx) }
