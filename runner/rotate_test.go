package runner_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// An expiring token is rotated at 3/4 of its life and the runner goes on
// with the new one.
func TestTokenRotation(t *testing.T) {
	t.Parallel()
	srv := runnertest.New(t)
	srv.UpdateInterval = 1
	sha := srv.Repo("group/project", 7, map[string]string{"a": "a"})
	now := time.Now().UTC()
	cfg := &config.Config{Concurrent: 1, CheckInterval: 1, Runners: []*config.Runner{{
		Name: "rot", URL: srv.URL, Token: srv.RunnerToken, Executor: "shell",
		TokenObtainedAt: now.Add(-30 * time.Second), TokenExpiresAt: now.Add(10 * time.Second),
	}}}
	var saved atomic.Int32
	r, err := runner.New(cfg, runner.Options{WorkDir: t.TempDir(), TokenRotated: func(c *config.Config) error {
		if strings.HasPrefix(c.Runners[0].Token, "glrt-reset-") {
			saved.Add(1)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv.Enqueue(srv.Payload(runnertest.Spec{ID: 1, Sha: sha, Script: []string{"true"}}))
	if j := srv.Wait(1, time.Minute); j.State != "success" {
		t.Fatalf("job after rotation: %s", j.State)
	}
	if saved.Load() == 0 {
		t.Error("TokenRotated not called")
	}
	rotated := false
	for _, e := range srv.Exchanges() {
		rotated = rotated || e.Path == "/api/v4/runners/reset_authentication_token" && e.Status == 201
	}
	if !rotated {
		t.Error("no token reset request")
	}
	if !strings.HasPrefix(srv.Token(), "glrt-reset-") {
		t.Errorf("server token %q", srv.Token())
	}
}
