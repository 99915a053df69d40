package runnerapi_test

import (
	"net/http"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
)

// TestHeldPollSaysSo: a 204 that was held (the runner sent a last_update,
// current or stale) carries Gitlab-Ci-Builds-Polling: yes, as Workhorse's,
// so that the runner asks again at once rather than after check_interval;
// an answer to a request without last_update was not held and does not.
func TestHeldPollSaysSo(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, lastUpdate, want string
	}{
		{"first request", "", ""},
		{"stale version", "0", "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, resp := e.runner.Request(t, tc.lastUpdate)
			if p != nil || resp.Status != http.StatusNoContent {
				t.Fatalf("request = %d, want 204", resp.Status)
			}
			if got := resp.Header.Get(gitlab.HeaderBuildsPolling); got != tc.want {
				t.Errorf("%s = %q, want %q", gitlab.HeaderBuildsPolling, got, tc.want)
			}
			if resp.Header.Get(gitlab.HeaderLastUpdate) == "" {
				t.Errorf("204 without %s", gitlab.HeaderLastUpdate)
			}
		})
	}
}
