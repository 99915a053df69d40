// Package pipeline turns compiled plans into stored pipelines and moves
// their jobs through GitLab's state machine: stage order and needs, when:
// and allow_failure, manual and delayed jobs, retries, resource groups,
// cancellation and auto-cancel of redundant pipelines.
//
// Every transition happens inside store.UpdatePipeline, one transaction
// that loads a pipeline's jobs, applies the change and re-runs advance, so
// a crash leaves each pipeline either before or after a transition. On
// start-up Run re-advances every unfinished pipeline, which is idempotent.
package pipeline

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/store"
)

// Notifier learns about jobs that became pending, so that runners waiting
// in a long poll get them at once (queue.Queue implements it).
type Notifier interface {
	Notify(jobs ...store.QueuedJob)
}

// Variables supplies CI/CD variables and ref protection.
type Variables interface {
	CIVariables(ctx context.Context, p gantry.Project, protectedRef bool) ([]gantry.CIVariable, error)
	RefProtected(ctx context.Context, projectID int64, ref string, tag bool) (bool, error)
}

// Config holds a Service's dependencies and settings.
type Config struct {
	Store     *store.Store
	Forge     *forge.Service
	Variables Variables // nil: no CI/CD variables, no protected refs
	Notifier  Notifier  // nil: runners find jobs at their next poll
	// Objects and Logs delete the artifact files and logs of deleted
	// pipelines and projects and expired artifacts (nil: they stay).
	Objects     Objects
	Logs        Logs
	ExternalURL *url.URL
	Log         *slog.Logger
	// DefaultTimeout is a job's timeout when the YAML sets none (GitLab's
	// project default: 1 hour).
	DefaultTimeout time.Duration
	// SilentTimeout is how long a runner may go without a word about a
	// running job before the job fails with runner_system_failure.
	SilentTimeout time.Duration
	// ConfirmTimeout is how long a claimed job waits for the runner's
	// two-phase confirmation before it goes back to the queue.
	ConfirmTimeout time.Duration
	// PendingTimeout fails a job no runner took for that long (GitLab: 1
	// day), StuckTimeout one no online runner may run for that long
	// (GitLab: 1 hour); both with stuck_or_timeout_failure.
	PendingTimeout time.Duration
	StuckTimeout   time.Duration
	// TickInterval is how often Run looks for due, silent and unconfirmed
	// jobs and for new push events.
	TickInterval time.Duration
	// CompileTimeout bounds the compilation of a pipeline's configuration,
	// includes included (GitLab's: 30 s).
	CompileTimeout time.Duration
	Now            func() time.Time
}

// Service creates pipelines and drives their jobs.
type Service struct {
	cfg     Config
	store   *store.Store
	forge   *forge.Service
	log     *slog.Logger
	wake    chan struct{}
	commits commitCache // pipeline commits, for predefined variables
	// compiler is ci.Compile; tests replace it (export_test.go).
	compiler func(context.Context, []byte, ci.Options) (*ci.Plan, error)
}

// New returns a Service; zero settings take their defaults.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = time.Hour
	}
	if cfg.SilentTimeout == 0 {
		cfg.SilentTimeout = 10 * time.Minute
	}
	if cfg.ConfirmTimeout == 0 {
		cfg.ConfirmTimeout = time.Minute
	}
	if cfg.PendingTimeout == 0 {
		cfg.PendingTimeout = 24 * time.Hour
	}
	if cfg.StuckTimeout == 0 {
		cfg.StuckTimeout = time.Hour
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.CompileTimeout == 0 {
		cfg.CompileTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, store: cfg.Store, forge: cfg.Forge, log: cfg.Log, wake: make(chan struct{}, 1), compiler: ci.Compile}
}

// Wake makes Run look for new push events now rather than at its next tick.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// notify tells the queue about jobs that became pending.
func (s *Service) notify(ctx context.Context, jobs []*gantry.Job) {
	if s.cfg.Notifier == nil || len(jobs) == 0 {
		return
	}
	var queued []store.QueuedJob
	for _, j := range jobs {
		if j.Status != gantry.StatusPending {
			continue
		}
		q, err := s.store.QueuedJobByID(ctx, j.ID)
		if err != nil {
			continue // already taken, or no longer pending
		}
		queued = append(queued, q)
	}
	s.cfg.Notifier.Notify(queued...)
}

// update runs fn and then advance on a pipeline in one transaction, and
// tells the queue about jobs that became pending. It is the only way
// statuses change.
//
// Jobs that became pending are found by comparing before and after, not
// taken from advance alone: fn may queue a job itself (a played manual
// job, a delayed job whose time came, a retried manual job), and a runner
// holding a long poll must hear of those too.
func (s *Service) update(ctx context.Context, pipelineID int64, fn func(st *store.PipelineState) error) error {
	var queued []*gantry.Job
	released := map[string]bool{}
	var projectID int64
	err := s.store.UpdatePipeline(ctx, pipelineID, func(st *store.PipelineState) error {
		held, waiting := map[int64]bool{}, map[int64]bool{}
		for _, j := range st.Jobs {
			held[j.ID] = j.ResourceGroup != "" && (j.Status == gantry.StatusPending || j.Status.Executing())
			waiting[j.ID] = waitsForRunner(j)
		}
		if fn != nil {
			if err := fn(st); err != nil {
				return err
			}
		}
		advance(st, s.now())
		queued = queued[:0]
		for _, j := range st.Jobs {
			if held[j.ID] && j.Status.Completed() {
				released[j.ResourceGroup] = true
			}
			if waitsForRunner(j) && (j.ID == 0 || !waiting[j.ID]) {
				queued = append(queued, j) // j.ID == 0: a new attempt, saved with the transaction
			}
		}
		projectID = st.Pipeline.ProjectID
		return nil
	})
	if err != nil {
		return err
	}
	s.notify(ctx, queued)
	for group := range released {
		s.wakeWaiting(ctx, projectID, group)
	}
	return nil
}

// waitsForRunner reports whether j is in the queue: pending and taken by
// no runner.
func waitsForRunner(j *gantry.Job) bool {
	return !j.Retried && j.Status == gantry.StatusPending && j.RunnerID == 0
}

// wakeWaiting advances the pipeline of the oldest job waiting for a
// resource group that was just released.
func (s *Service) wakeWaiting(ctx context.Context, projectID int64, group string) {
	waiting, err := s.store.JobsWaitingForResource(ctx, projectID, group)
	if err != nil || len(waiting) == 0 {
		return
	}
	if err := s.Advance(ctx, waiting[0].PipelineID); err != nil {
		s.log.Warn("advance pipeline waiting for resource", "pipeline", waiting[0].PipelineID, "err", err)
	}
}

// Advance re-evaluates a pipeline (idempotent).
func (s *Service) Advance(ctx context.Context, pipelineID int64) error {
	return s.update(ctx, pipelineID, nil)
}
