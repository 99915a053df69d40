package runner_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// Git authenticates after the 401 challenge with gitlab-ci-token:<job
// token>, and the GIT_* variables steer the checkout.
func TestGitStrategies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	project := filepath.Join(h.dir, "builds", "test", "0", "group", "project")
	v := func(kv ...string) []gitlab.JobVariable {
		var out []gitlab.JobVariable
		for i := 0; i < len(kv); i += 2 {
			out = append(out, gitlab.JobVariable{Key: kv[i], Value: kv[i+1], Public: true})
		}
		return out
	}
	first := h.run(t, runnertest.Spec{ID: 1, Script: []string{"echo junk > untracked.txt", "git rev-parse HEAD"}, Variables: v("GIT_DEPTH", "1")})
	if first.State != "success" || !bytes.Contains(first.Trace, []byte("01O "+h.sha+"\n")) || !bytes.Contains(first.Trace, []byte("git depth set to 1")) {
		t.Fatalf("first: %s\n%s", first.State, first.Trace)
	}
	if _, err := os.Stat(filepath.Join(project, ".git", "shallow")); err != nil {
		t.Errorf("GIT_DEPTH=1 did not make a shallow clone: %v", err)
	}
	var challenged, authed bool
	for _, e := range h.srv.Exchanges() {
		if strings.HasSuffix(e.Path, "/info/refs") {
			challenged = challenged || e.Status == 401
			if u, p, ok := basicAuth(e.Header.Get("Authorization")); ok && u == "gitlab-ci-token" && p == "glcbt-jobtoken1" {
				authed = true
			}
		}
	}
	if !challenged || !authed {
		t.Errorf("401 challenge %v, Basic gitlab-ci-token %v", challenged, authed)
	}
	// fetch with GIT_CLEAN_FLAGS=none keeps untracked files; the default cleans them.
	kept := h.run(t, runnertest.Spec{ID: 2, Script: []string{"cat untracked.txt"}, Variables: v("GIT_CLEAN_FLAGS", "none")})
	if kept.State != "success" {
		t.Errorf("GIT_CLEAN_FLAGS=none removed untracked files:\n%s", kept.Trace)
	}
	cleaned := h.run(t, runnertest.Spec{ID: 3, Script: []string{"test ! -e untracked.txt"}})
	if cleaned.State != "success" {
		t.Errorf("default clean kept untracked files:\n%s", cleaned.Trace)
	}
	// none: no git at all; the directory is used as it is.
	os.WriteFile(filepath.Join(project, "marker"), []byte("m"), 0o644)
	none := h.run(t, runnertest.Spec{ID: 4, Script: []string{"cat marker"}, Variables: v("GIT_STRATEGY", "none")})
	if none.State != "success" || !bytes.Contains(none.Trace, []byte("Skipping Git repository setup")) {
		t.Errorf("GIT_STRATEGY=none:\n%s", none.Trace)
	}
	// clone starts from scratch; GIT_CHECKOUT=false leaves the tree empty.
	clone := h.run(t, runnertest.Spec{ID: 5, Script: []string{"test ! -e marker", "test ! -e README.md", "git cat-file -e " + h.sha}, Variables: v("GIT_STRATEGY", "clone", "GIT_CHECKOUT", "false")})
	if clone.State != "success" || !bytes.Contains(clone.Trace, []byte("Skipping Git checkout")) {
		t.Errorf("clone without checkout:\n%s", clone.Trace)
	}
	// The token never lands in the repository's config.
	if out, _ := exec.Command("git", "-C", project, "config", "--local", "--list").Output(); bytes.Contains(out, []byte("glcbt-")) {
		t.Errorf(".git/config holds the job token:\n%s", out)
	}
}

// basicAuth decodes an Authorization header value.
func basicAuth(h string) (string, string, bool) {
	r := &http.Request{Header: http.Header{"Authorization": {h}}}
	return r.BasicAuth()
}

func TestCustomBuildDir(t *testing.T) {
	t.Parallel()
	enabled := true
	h := newHarness(t, func(c *config.Config) { c.Runners[0].CustomBuildDir = &config.CustomBuildDir{Enabled: &enabled} })
	ok := h.run(t, runnertest.Spec{ID: 1, Script: []string{`echo "dir=$CI_PROJECT_DIR"`, "cat README.md"},
		Variables: []gitlab.JobVariable{{Key: "GIT_CLONE_PATH", Value: "$CI_BUILDS_DIR/custom/place", Public: true}}})
	want := filepath.Join(h.dir, "builds", "test", "0", "custom", "place")
	if ok.State != "success" || !bytes.Contains(ok.Trace, []byte("dir="+want+"\n")) {
		t.Errorf("custom dir: %s\n%s", ok.State, ok.Trace)
	}
	bad := h.run(t, runnertest.Spec{ID: 2, Script: []string{"true"},
		Variables: []gitlab.JobVariable{{Key: "GIT_CLONE_PATH", Value: "/etc/evil", Public: true}}})
	if bad.State != "failed" || !bytes.Contains(bad.Trace, []byte("must be inside")) {
		t.Errorf("outside builds dir: %s\n%s", bad.State, bad.Trace)
	}
}
