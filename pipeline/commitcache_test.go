package pipeline

import (
	"os"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/git/gittest"
)

// TestCommitCache: a pipeline's commit is read from git once; later jobs
// get it from memory (here the repository is gone by then).
func TestCommitCache(t *testing.T) {
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a": "a\n"})
	sha := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	repo := git.Repo{Dir: wt}
	var c commitCache
	first, ok := c.commit(t.Context(), repo, 1, sha)
	if !ok || first.ID != sha || first.Title != "initial commit" {
		t.Fatalf("first read: %+v %v", first, ok)
	}
	if err := os.RemoveAll(wt); err != nil {
		t.Fatal(err)
	}
	if again, ok := c.commit(t.Context(), repo, 1, sha); !ok || again.ID != sha || again.Message != first.Message {
		t.Errorf("cached read: %+v %v", again, ok)
	}
	if _, ok := c.commit(t.Context(), repo, 2, sha); ok {
		t.Error("another project's commit came from the cache")
	}
}
