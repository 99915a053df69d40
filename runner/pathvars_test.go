package runner_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

// TestPathsExpandVariables: artifacts and cache paths may use variables,
// and an absolute path inside the project folder ($CI_PROJECT_DIR/…)
// means the same relative path, as with GitLab Runner.
func TestPathsExpandVariables(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	vars := []gitlab.JobVariable{{Key: "NAME", Value: "named.txt", Public: true}, {Key: "CACHEDIR", Value: "cache", Public: true}}
	j := h.run(t, runnertest.Spec{ID: 1, Variables: vars,
		Script: []string{"touch named.txt", "mkdir -p out cache", "touch out/a out/b cache/c.txt"},
		Cache:  []gitlab.JobCache{{Key: "k", Paths: []string{"$CACHEDIR/**.txt"}, Policy: "pull-push", When: "on_success"}},
		Artifacts: []gitlab.JobArtifact{{Name: "artifacts", Paths: []string{"${NAME}", "$CI_PROJECT_DIR/out/"}, Exclude: []string{"$CI_PROJECT_DIR/out/b"},
			When: "on_success", ArtifactType: "archive", ArtifactFormat: "zip"}}})
	if j.State != "success" || len(j.Artifacts) != 1 {
		t.Fatalf("job: %s, %d artifacts\n%s", j.State, len(j.Artifacts), j.Trace)
	}
	var got []string
	for name := range zipNames(t, j.Artifacts[0].Data) {
		got = append(got, name)
	}
	sort.Strings(got)
	want := []string{"named.txt", "out/", "out/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s\n%s", diff, j.Trace)
	}
	data, err := os.ReadFile(filepath.Join(h.dir, "cache", "group", "project", "k", "cache.zip"))
	if err != nil {
		t.Fatalf("cache not saved: %v\n%s", err, j.Trace)
	}
	if got := zipNames(t, data); len(got) != 1 {
		t.Errorf("cache holds %q, want cache/c.txt", got)
	} else if _, ok := got["cache/c.txt"]; !ok {
		t.Errorf("cache holds %q, want cache/c.txt", got)
	}
}
