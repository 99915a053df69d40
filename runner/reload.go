package runner

import (
	"context"
	"fmt"
	"sync"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
)

// Update hands Run a new configuration (config.toml changed on disk), as
// GitLab Runner reloads its config while running: concurrent and
// check_interval change at once, new [[runners]] start polling, removed
// ones stop asking for jobs (their running jobs finish), changed ones take
// the new settings for their next job. The config is validated first.
func (r *Runner) Update(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, e := range cfg.Runners {
		if _, err := newEntry(e); err != nil {
			return err
		}
	}
	select {
	case <-r.updates: // a newer config replaces one not applied yet
	default:
	}
	r.updates <- cfg
	return nil
}

// entryKey identifies a runner across reloads: its server and id (stable
// across token rotation), else its token.
func entryKey(e *config.Runner) string {
	if e.ID != 0 {
		return fmt.Sprintf("%s#%d", e.URL, e.ID)
	}
	return e.URL + "#" + e.Token
}

// apply runs in Run's goroutine.
func (r *Runner) apply(ctx context.Context, cfg *config.Config, wg *sync.WaitGroup) {
	r.setGlobals(cfg)
	old := map[string]*entryClient{}
	for _, e := range r.entries {
		old[entryKey(e.snapshot())] = e
	}
	var next []*entryClient
	for _, c := range cfg.Runners {
		if e, ok := old[entryKey(c)]; ok {
			delete(old, entryKey(c))
			e.mu.Lock()
			restart := max(e.cfg.RequestConcurrency, 1) != max(c.RequestConcurrency, 1) || e.cfg.URL != c.URL
			e.cfg, e.info = c, Info(c)
			e.mu.Unlock()
			if restart {
				e.stop()
				r.start(ctx, e, wg)
			}
			next = append(next, e)
			continue
		}
		e, err := newEntry(c)
		if err != nil {
			r.logger.Error("reload: bad runner entry", "name", c.Name, "err", err)
			continue
		}
		r.start(ctx, e, wg)
		next = append(next, e)
		r.logger.Info("reload: runner added", "runner", e.short)
	}
	for _, e := range old {
		e.stop()
		r.logger.Info("reload: runner removed", "runner", e.short)
	}
	r.entries = next
	r.cfgMu.Lock()
	r.cfg = cfg
	r.cfgMu.Unlock()
}

// config is the configuration in effect.
func (r *Runner) config() *config.Config {
	r.cfgMu.Lock()
	defer r.cfgMu.Unlock()
	return r.cfg
}

func (e *entryClient) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
}

func (e *entryClient) requestInfo() gitlab.RunnerInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.info
}

// limiter is a counting semaphore whose limit can change (concurrent).
type limiter struct {
	mu          sync.Mutex
	limit, used int
	wake        chan struct{}
}

func newLimiter(n int) *limiter { return &limiter{limit: n, wake: make(chan struct{})} }

func (l *limiter) acquire(ctx context.Context, drain <-chan struct{}) bool {
	for {
		l.mu.Lock()
		if l.used < l.limit {
			l.used++
			l.mu.Unlock()
			return true
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		case <-drain:
			return false
		}
	}
}

func (l *limiter) release() {
	l.mu.Lock()
	l.used--
	l.signal()
	l.mu.Unlock()
}

func (l *limiter) setLimit(n int) {
	l.mu.Lock()
	l.limit = n
	l.signal()
	l.mu.Unlock()
}

func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// signal wakes waiters; l.mu must be held.
func (l *limiter) signal() {
	close(l.wake)
	l.wake = make(chan struct{})
}
