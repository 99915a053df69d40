package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// SharedDir returns ../shared beside the module root (the folder holding
// go.mod), found from the test's working directory. CI lays it out the
// same way; a missing copy fails tb, it is never a reason to skip.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory: cannot locate ../shared")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(shared); err != nil {
		tb.Fatalf("../shared is missing beside the repository at %s: the corpus, GitLab's CI schema and the protocol captures live there (%v)", dir, err)
	}
	return shared
}

// ReadShared returns the content of the file rel (slash-separated, for
// example "gitlab/captures/trace-101.log") below ../shared, failing tb
// when it cannot be read.
func ReadShared(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(SharedDir(tb), filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Dir returns the corpus folder, shared/corpus/gitlab-ci-local, failing
// tb when it is missing.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(SharedDir(tb), "corpus", "gitlab-ci-local")
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("the gitlab-ci-local corpus is missing: %v", err)
	}
	return dir
}

// Load reads every case of the corpus folder dir (each <case>/expect.json,
// in the order of those paths). A folder without cases is an error.
func Load(dir string) ([]*Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "expect.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no */expect.json in %s", dir)
	}
	sort.Strings(paths)
	cases := make([]*Case, 0, len(paths))
	for _, p := range paths {
		c, err := ReadCase(filepath.Dir(p))
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// ReadCase reads the case in folder dir.
func ReadCase(dir string) (*Case, error) {
	p := filepath.Join(dir, "expect.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	c := &Case{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	c.Dir = dir
	return c, nil
}
