// Package runner runs CI jobs from a GitLab or Gantry server: it polls
// POST /jobs/request for each [[runners]] entry of a config.toml, runs the
// jobs it gets with the configured executor, streams their logs and reports
// their outcome — the behaviour of `gitlab-runner run`.
//
// A Runner can also be embedded (gantry up runs one shell runner in the
// server process): build a config with ShellConfig, then Run.
package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/client"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/executor/docker"
	"github.com/gantry-ci/gantry/runner/executor/shell"
)

// Revision is the build's source revision, set with -ldflags.
var Revision = "unknown"

// Options tune a Runner beyond config.toml.
type Options struct {
	// WorkDir is the working directory: default builds_dir is
	// WorkDir/builds, default cache_dir WorkDir/cache. Default: cwd.
	WorkDir string
	// Logger receives the runner's own log (not job logs).
	Logger *slog.Logger
	// SystemID identifies this machine to the server; default derived from
	// /etc/machine-id.
	SystemID string
	// RetryBackoff is the first wait between final-update retries (1 s).
	RetryBackoff time.Duration
	// KeepAlive is the silence after which a running job sends a keep-alive
	// update (default 30 s, as GitLab Runner).
	KeepAlive time.Duration
	// FinalTimeout bounds the final update after a job (default 10 min).
	FinalTimeout time.Duration
	// Executors overrides executor construction by name (tests, embedding).
	Executors map[string]ExecutorFactory
	// MaxJobs makes Run return after this many jobs (run-single); 0: no limit.
	MaxJobs int
	// TokenRotated is called after an expiring runner token was rotated,
	// with the current configuration (holding the new token); the CLI saves
	// the config file here.
	TokenRotated func(*config.Config) error
}

func (o Options) finalTimeout() time.Duration {
	if o.FinalTimeout > 0 {
		return o.FinalTimeout
	}
	return 10 * time.Minute
}

// ExecutorFactory makes the executor for one job of a runner entry and
// says how to name it in the log ("Shell (bash)").
type ExecutorFactory func(entry *config.Runner, job *gitlab.JobPayload) (executor.Executor, string, error)

// Runner polls for and runs jobs for every runner entry of a config.
type Runner struct {
	cfgMu    sync.Mutex
	cfg      *config.Config
	opts     Options
	logger   *slog.Logger
	systemID string
	entries  []*entryClient
	slots    *limiter     // global `concurrent`
	interval atomic.Int64 // check_interval in seconds
	updates  chan *config.Config

	drain     chan struct{}
	drainOnce sync.Once
	jobs      sync.WaitGroup
	started   atomic.Int64
	metrics   metrics

	dockerMu sync.Mutex
	dockers  map[string]*dockerclient.Client // by host
}

// entryClient is one [[runners]] entry with its client and state.
type entryClient struct {
	cancel context.CancelFunc // stops the entry's loops
	cfg    *config.Runner
	short  string // short token at start, for the runner's own log
	client *client.Client
	info   gitlab.RunnerInfo

	mu     sync.Mutex
	used   map[int]bool // concurrent ids in use
	active int
}

// New validates cfg and prepares a Runner; it contacts no server.
func New(cfg *config.Config, opts Options) (*Runner, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no configuration", gantry.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		opts.WorkDir = wd
	}
	opts.WorkDir, _ = filepath.Abs(opts.WorkDir)
	r := &Runner{cfg: cfg, opts: opts, logger: opts.Logger, slots: newLimiter(0), drain: make(chan struct{}), updates: make(chan *config.Config, 1)}
	r.systemID = opts.SystemID
	if r.systemID == "" {
		r.systemID = SystemID()
	}
	r.setGlobals(cfg)
	for _, e := range cfg.Runners {
		ec, err := newEntry(e)
		if err != nil {
			return nil, err
		}
		r.entries = append(r.entries, ec)
	}
	return r, nil
}

func newEntry(e *config.Runner) (*entryClient, error) {
	c, err := client.New(e.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("runner %q: %w", e.Name, err)
	}
	return &entryClient{cfg: e, short: e.ShortToken(), client: c, info: Info(e), used: map[int]bool{}}, nil
}

// setGlobals applies concurrent and check_interval.
func (r *Runner) setGlobals(cfg *config.Config) {
	concurrent := cfg.Concurrent
	if concurrent <= 0 {
		concurrent = config.DefaultConcurrent
	}
	r.slots.setLimit(concurrent)
	interval := cfg.CheckInterval
	if interval <= 0 {
		interval = config.DefaultCheckInterval
	}
	r.interval.Store(int64(interval))
}

// Run polls and runs jobs until ctx is done or, after Drain, until the
// running jobs have finished. Canceling ctx stops running jobs at once
// (they are reported failed as a runner system failure). Docker entries
// first sweep containers and networks a killed earlier run left behind.
func (r *Runner) Run(ctx context.Context) error {
	r.sweep(ctx)
	defer r.closeDockers()
	var wg sync.WaitGroup
	for _, e := range r.entries {
		r.start(ctx, e, &wg)
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-r.drain:
			done = true
		case cfg := <-r.updates:
			r.apply(ctx, cfg, &wg)
		}
	}
	for _, e := range r.entries {
		e.stop()
	}
	wg.Wait()
	r.jobs.Wait()
	return nil
}

// start runs an entry's request loops and token rotation until the entry
// is stopped or ctx ends.
func (r *Runner) start(ctx context.Context, e *entryClient, wg *sync.WaitGroup) {
	ectx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.cancel = cancel
	n := max(e.cfg.RequestConcurrency, 1)
	e.mu.Unlock()
	wg.Add(1 + n)
	go func() {
		defer wg.Done()
		r.rotate(ectx, e)
	}()
	for range n {
		go func() {
			defer wg.Done()
			r.poll(ectx, ctx, e)
		}()
	}
}

// Drain stops asking for jobs; Run returns once running jobs finish
// (SIGQUIT in gitlab-runner).
func (r *Runner) Drain() { r.drainOnce.Do(func() { close(r.drain) }) }

func (r *Runner) draining() bool {
	select {
	case <-r.drain:
		return true
	default:
		return false
	}
}

// poll is one request loop of an entry; ctx ends the loop (entry removed,
// runner stopping), jobCtx the jobs it started (runner stopping only).
func (r *Runner) poll(ctx, jobCtx context.Context, e *entryClient) {
	lastUpdate, forbidden := "", 0
	for ctx.Err() == nil && !r.draining() {
		cid, ok := r.acquire(ctx, e)
		if !ok {
			return
		}
		offer, err := e.client.RequestJob(ctx, gitlab.JobRequest{Info: e.requestInfo(), Token: e.token(), SystemID: r.systemID, LastUpdate: lastUpdate})
		if offer.LastUpdate != "" {
			lastUpdate = offer.LastUpdate
		}
		if offer.Job != nil && err == nil {
			forbidden = 0
			r.jobs.Add(1)
			if n := r.started.Add(1); r.opts.MaxJobs > 0 && n >= int64(r.opts.MaxJobs) {
				r.Drain()
			}
			go func() {
				defer r.jobs.Done()
				defer r.release(e, cid)
				r.metrics.running.Add(1)
				defer r.metrics.running.Add(-1)
				r.runJob(jobCtx, e, e.snapshot(), offer.Job, cid)
			}()
			continue
		}
		r.release(e, cid)
		wait := time.Duration(r.interval.Load()) * time.Second
		var inv *client.InvalidJobError
		switch {
		case err == nil && offer.LongPolled:
			wait = 0
		case err == nil:
		case errors.As(err, &inv):
			r.logger.Error("job payload rejected", "runner", e.short, "err", err)
			r.failInvalid(ctx, e, inv)
			wait = 0
		case errors.Is(err, gantry.ErrForbidden):
			forbidden++
			r.logger.Error("runner token rejected (403)", "runner", e.short, "attempt", forbidden)
			if forbidden >= 3 {
				wait = time.Hour // unhealthy, as GitLab Runner
				forbidden = 0
			}
		case ctx.Err() != nil:
			return
		default:
			r.logger.Warn("request job", "runner", e.short, "err", err)
		}
		if !r.sleep(ctx, wait) {
			return
		}
	}
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.drain:
		return false
	case <-t.C:
		return true
	}
}

// acquire takes a global slot and one of the entry's (limit), and returns
// the lowest free concurrent id.
func (r *Runner) acquire(ctx context.Context, e *entryClient) (int, bool) {
	for {
		if !r.slots.acquire(ctx, r.drain) {
			return 0, false
		}
		e.mu.Lock()
		if e.cfg.Limit <= 0 || e.active < e.cfg.Limit {
			e.active++
			id := 0
			for e.used[id] {
				id++
			}
			e.used[id] = true
			e.mu.Unlock()
			return id, true
		}
		e.mu.Unlock()
		r.slots.release()
		if !r.sleep(ctx, 200*time.Millisecond) {
			return 0, false
		}
	}
}

func (r *Runner) release(e *entryClient, id int) {
	e.mu.Lock()
	e.active--
	delete(e.used, id)
	e.mu.Unlock()
	r.slots.release()
}

// failInvalid reports a job whose payload cannot be run as failed, so it
// does not hang on the server.
func (r *Runner) failInvalid(ctx context.Context, e *entryClient, inv *client.InvalidJobError) {
	if inv.ID == 0 || inv.Token == "" {
		return
	}
	msg := fmt.Sprintf("\x1b[31;1mERROR: Job failed (system failure): %v\x1b[0;m\n", inv.Err)
	line := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") + " 00O " + msg
	_, _ = e.client.PatchTrace(ctx, inv.ID, inv.Token, 0, []byte(line), false)
	sum := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE([]byte(line)))
	_, err := e.client.UpdateJob(ctx, inv.ID, gitlab.UpdateJobRequest{
		Info: e.requestInfo(), Token: inv.Token, State: gitlab.JobStateFailed, FailureReason: gitlab.FailureRunnerSystem,
		Output: gitlab.JobOutput{Checksum: sum, Bytesize: int64(len(line))}, Checksum: sum,
	})
	if err != nil {
		r.logger.Warn("fail invalid job", "job", inv.ID, "err", err)
	}
}

// newExecutor builds the executor of one job.
func (r *Runner) newExecutor(e *config.Runner, p *gitlab.JobPayload) (executor.Executor, string, error) {
	if f, ok := r.opts.Executors[e.Executor]; ok {
		return f(e, p)
	}
	switch e.Executor {
	case "shell":
		return &shell.Executor{BuildsDir: r.buildsDir(e), Shell: e.Shell}, "Shell (bash)", nil
	case "docker":
		c, err := r.dockerClient(e)
		if err != nil {
			return nil, "", err
		}
		return &docker.Executor{Client: c, Config: e.Docker, BuildsDir: r.buildsDir(e)}, "docker", nil
	}
	return nil, "", fmt.Errorf("%w: executor %q is not available in this build", gantry.ErrNotImplemented, e.Executor)
}

func (r *Runner) buildsDir(e *config.Runner) string {
	if e.BuildsDir != "" {
		if filepath.IsAbs(e.BuildsDir) {
			return e.BuildsDir
		}
		return filepath.Join(r.opts.WorkDir, e.BuildsDir)
	}
	return filepath.Join(r.opts.WorkDir, "builds")
}

// hostShell runs a script with bash on the runner's host.
func (r *Runner) hostShell(ctx context.Context, dir string, cmd executor.Command) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return shell.Run(ctx, shell.RunOptions{Dir: dir}, cmd)
}
