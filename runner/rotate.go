package runner

import (
	"context"
	"time"

	"github.com/gantry-ci/gantry/runner/config"
)

// snapshot copies the entry's config for one job, so rotation cannot
// change it under the job.
func (e *entryClient) snapshot() *config.Runner {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := *e.cfg
	return &c
}

// token is the entry's current runner token (it changes on rotation).
func (e *entryClient) token() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.Token
}

// rotateAt is when GitLab Runner rotates an expiring token: at 3/4 of its
// lifetime. Zero when the token does not expire.
func (e *entryClient) rotateAt() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, got := e.cfg.TokenExpiresAt, e.cfg.TokenObtainedAt
	if exp.IsZero() || exp.Year() <= 1 || e.cfg.FeatureFlag("FF_DISABLE_AUTOMATIC_TOKEN_ROTATION", false) {
		return time.Time{}
	}
	if got.IsZero() || got.After(exp) {
		got = time.Now()
	}
	return got.Add(exp.Sub(got) * 3 / 4)
}

// rotate resets the entry's token when it is due, then calls
// Options.TokenRotated so the new token can be saved.
func (r *Runner) rotate(ctx context.Context, e *entryClient) {
	for {
		at := e.rotateAt()
		if at.IsZero() {
			return
		}
		if !r.sleep(ctx, time.Until(at)) {
			return
		}
		res, err := e.client.ResetToken(ctx, e.token())
		if err != nil {
			r.logger.Error("rotate runner token", "runner", e.short, "err", err)
			if !r.sleep(ctx, time.Minute) {
				return
			}
			continue
		}
		e.mu.Lock()
		e.cfg.ReplaceToken(res.Token, res.TokenExpiresAt, time.Now())
		e.mu.Unlock()
		r.logger.Info("runner token rotated", "runner", e.short)
		if r.opts.TokenRotated != nil {
			if err := r.opts.TokenRotated(r.config()); err != nil {
				r.logger.Error("save rotated token", "err", err)
			}
		}
	}
}
