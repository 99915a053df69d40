package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// eventConsumer is the cursor name of push-event processing.
const eventConsumer = "pipelines"

// stallAfter is how long a pipeline may stay created before the
// background loop starts it again (see startStalled).
const stallAfter = time.Minute

// Run does the pipeline work nobody waits for, until ctx ends: it creates
// pipelines for pushes (resuming from its cursor after a restart), starts
// delayed jobs when due, fails jobs whose runner went silent, returns
// unconfirmed claims to the queue, starts pipelines whose start failed,
// drops jobs no runner took in time, deletes expired artifacts and the
// storage of deleted pipelines and projects, and at start re-advances every
// unfinished pipeline. A panic in any of this is logged and the loop goes on.
func (s *Service) Run(ctx context.Context) error {
	if err := guard(s.Reconcile)(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reconcile pipelines", "err", err)
	}
	tick := time.NewTicker(s.cfg.TickInterval)
	defer tick.Stop()
	var stalledChecked, housekept time.Time
	for {
		steps := []func(context.Context) error{s.consumeEvents, s.startDue, s.failSilent}
		now := s.now()
		if now.Sub(stalledChecked) >= stallAfter/2 {
			steps, stalledChecked = append(steps, s.startStalled), now
		}
		if now.Sub(housekept) >= housekeepingInterval {
			steps, housekept = append(steps, s.dropStuck, s.housekeep), now
		}
		for _, step := range steps {
			if err := guard(step)(ctx); err != nil && ctx.Err() == nil {
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
// crash interrupted completes, after making sure each one's commit is kept
// in refs/pipelines/<id>: a crash between storing a pipeline and writing
// that ref would leave jobs that cannot fetch.
func (s *Service) Reconcile(ctx context.Context) error {
	ps, err := s.store.UnfinishedPipelines(ctx)
	if err != nil {
		return err
	}
	s.keepCommits(ctx, ps)
	for _, p := range ps {
		if err := s.Advance(ctx, p.ID); err != nil {
			s.log.Warn("reconcile pipeline", "pipeline", p.ID, "err", err)
		}
	}
	return nil
}

// startStalled starts pipelines stored but left created for a while:
// their start failed after the pipeline was saved (see start).
func (s *Service) startStalled(ctx context.Context) error {
	ps, err := s.store.StalledPipelines(ctx, s.now().Add(-stallAfter))
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.start(ctx, p); err != nil {
			s.log.Warn("start stalled pipeline", "pipeline", p.ID, "err", err)
		} else {
			s.log.Info("started stalled pipeline", "pipeline", p.ID)
		}
	}
	return nil
}

// keepCommits writes the refs/pipelines/<id> missing among pipelines',
// reading each project's refs once.
func (s *Service) keepCommits(ctx context.Context, ps []gantry.Pipeline) {
	byProject := map[int64][]gantry.Pipeline{}
	for _, p := range ps {
		byProject[p.ProjectID] = append(byProject[p.ProjectID], p)
	}
	for projectID, ps := range byProject {
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = pipelineRef(p.ID)
		}
		have, err := s.forge.Repos().Repo(projectID).Refs(ctx, names...)
		if err != nil {
			s.log.Warn("read pipeline refs", "project", projectID, "err", err)
			continue
		}
		for _, p := range ps {
			if _, ok := have[pipelineRef(p.ID)]; ok {
				continue
			}
			if err := s.keepCommit(ctx, p); err != nil {
				s.log.Warn("restore pipeline ref", "pipeline", p.ID, "err", err)
			} else {
				s.log.Info("restored pipeline ref", "pipeline", p.ID)
			}
		}
	}
}

// consumeEvents creates a pipeline for each new branch or tag tip pushed.
// The cursor moves only past events that were handled, and a pipeline is
// tied to its event, so a crash anywhere here neither loses nor doubles a
// pipeline. An event whose handling panics is logged and skipped.
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
			err := guard(func(ctx context.Context) error { return s.handleEvent(ctx, e) })(ctx)
			var p *panicError
			if errors.As(err, &p) {
				// It would panic again: skip it rather than retry forever.
				s.log.Error("push event skipped", "event", e.ID, "project", e.ProjectID, "ref", e.Ref, "err", err)
			} else if err != nil {
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
	if !strings.HasPrefix(e.Ref, "refs/heads/") && !strings.HasPrefix(e.Ref, "refs/tags/") {
		return nil
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
	// The full ref name: a tag and a branch of the same name are not
	// the same ref, and the tag's pipeline must not become the branch's.
	_, err = s.Create(ctx, CreateRequest{Project: project, Ref: e.Ref, SHA: e.After, BeforeSHA: e.Before,
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

// panicError is a panic that guard recovered from, with its stack.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.value, e.stack) }

// guard runs fn and turns a panic into a *panicError for the caller to
// log: one bad pipeline or push must not stop the background loop (and
// the server with it).
func guard(fn func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = &panicError{value: r, stack: debug.Stack()}
			}
		}()
		return fn(ctx)
	}
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

// cancelRedundant cancels older unfinished pipelines of the same branch or
// tag when every job they started is interruptible (GitLab's "auto-cancel
// redundant pipelines", on by default).
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
		if o.ID >= p.ID || o.Tag != p.Tag {
			continue // a tag's pipelines are not redundant with a branch's of the same name
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

// StartStalled starts pipelines whose start failed; see Run.
func (s *Service) StartStalled(ctx context.Context) error { return s.startStalled(ctx) }

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
