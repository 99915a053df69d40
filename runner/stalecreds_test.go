package runner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/runner/runnertest"
)

// TestStaleCredentialsOfKilledJob: a runner killed mid-job leaves the
// job's temporary folder behind, with git credentials holding the dead
// job's token. The next job in the same build folder must fetch with its
// own token (it used to append its credentials after the stale ones, git
// took the first, and the fetch failed with 401).
func TestStaleCredentialsOfKilledJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if first := h.run(t, runnertest.Spec{ID: 1, Script: []string{"true"}}); first.State != "success" {
		t.Fatalf("first job: %s\n%s", first.State, first.Trace)
	}
	// What job 1 wrote before a SIGKILL would have stopped its cleanup.
	project := filepath.Join(h.dir, "builds", "test", "0", "group", "project")
	conf := project + ".tmp/git-credentials.conf"
	if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
		t.Fatal(err)
	}
	scheme, host, _ := strings.Cut(h.srv.URL, "://")
	stale := scheme + "://gitlab-ci-token:glcbt-jobtoken1@" + host + "/"
	if out, err := exec.Command("git", "config", "-f", conf, "url."+stale+".insteadOf", scheme+"://"+host+"/").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	second := h.run(t, runnertest.Spec{ID: 2, Script: []string{"cat README.md"}})
	if second.State != "success" {
		t.Fatalf("job after a killed one: %s\n%s", second.State, second.Trace)
	}
}
