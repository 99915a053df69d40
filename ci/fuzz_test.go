package ci_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/gantry-ci/gantry/ci"
)

// FuzzCompile feeds arbitrary bytes through the whole compiler (loader,
// includes from a small tree, references, extends, evaluation). It must
// never panic, and every failure must be a configuration error list or a
// plan.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*.yml")
	errs, _ := filepath.Glob("testdata/golden/errors/*.yml")
	for _, s := range append(seeds, errs...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("job: {script: x, extends: [.a]}\n.a: {extends: job}\n"))
	repo := fstest.MapFS{
		"a.yml": {Data: []byte("spec:\n  inputs:\n    x: {default: 1, type: number}\n---\nj$[[ inputs.x ]]: {script: y}\n")},
		"b.yml": {Data: []byte("include: a.yml\nk: {script: z, needs: [j1]}\n")},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := ci.Options{Ref: "main", Source: "push", Includer: &ci.FSIncluder{FS: repo},
			Limits: ci.Limits{MaxNodes: 200_000}}
		plan, err := ci.Compile(t.Context(), src, opts)
		var list ci.Errors
		switch {
		case err == nil && plan == nil:
			t.Fatal("nil plan without error")
		case err != nil && !errors.As(err, &list):
			t.Fatalf("non-configuration error: %v", err)
		case err != nil && len(list) == 0:
			t.Fatal("empty error list")
		}
	})
}
