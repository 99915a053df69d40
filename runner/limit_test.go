package runner_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// limit = 1 under concurrent = 4: jobs never overlap. Each job takes a
// directory lock that a concurrent job would fail to get; with limit = 2
// the lock does collide, which shows the probe works.
func TestLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit       int
		wantFailure bool
	}{{1, false}, {2, true}} {
		t.Run(fmt.Sprint("limit=", tc.limit), func(t *testing.T) {
			lock := filepath.Join(t.TempDir(), "lock")
			h := newHarness(t, func(c *config.Config) {
				c.Concurrent = 4
				c.Runners[0].Limit = tc.limit
				c.Runners[0].RequestConcurrency = 4
			})
			probe := []string{fmt.Sprintf("mkdir %s || exit 9", lock), "sleep 1", fmt.Sprintf("rmdir %s", lock)}
			for id := int64(1); id <= 3; id++ {
				h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: id, Sha: h.sha, Script: probe, Variables: nil}))
			}
			failed := false
			for id := int64(1); id <= 3; id++ {
				j := h.srv.Wait(id, time.Minute)
				failed = failed || j.State == "failed"
			}
			if failed != tc.wantFailure {
				t.Errorf("limit %d: overlapping jobs = %v, want %v", tc.limit, failed, tc.wantFailure)
			}
		})
	}
}
