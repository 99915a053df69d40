package ci_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/ci"
)

// goldenOptions is the pipeline every golden file compiles for: a push to
// main of group/project, with src/app/main.py changed.
func goldenOptions() ci.Options {
	return ci.Options{
		Project:         ci.Project{ID: 7, Path: "group/project"},
		ServerURL:       "https://gantry.example.com",
		Ref:             "main",
		SHA:             "6b3e1f0a9c2d4e5f60718293a4b5c6d7e8f90a1b",
		BeforeSHA:       "1111111111111111111111111111111111111111",
		CommitMessage:   "Add feature\n\nLonger text.",
		CommitAuthor:    "Ada <ada@example.com>",
		CommitTimestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:          "push",
		DefaultBranch:   "main",
		ChangedPaths:    []string{"src/app/main.py"},
		Includer:        &ci.FSIncluder{FS: os.DirFS("testdata/golden/repo")},
	}
}

// TestGolden compiles testdata/golden/*.yml into *.plan.json: one or more
// files per keyword (see each file's header comment).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		t.Run(name, func(t *testing.T) {
			plan, err := ci.Compile(t.Context(), mustRead(t, f), goldenOptions())
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			roundTrip(t, plan)
			goldenJSON(t, strings.TrimSuffix(f, ".yml")+".plan.json", plan)
		})
	}
}

// TestGoldenErrors compiles testdata/golden/errors/*.yml, which GitLab
// rejects, into *.err: the positioned messages.
func TestGoldenErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/errors/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error inputs: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		t.Run(name, func(t *testing.T) {
			opts := goldenOptions()
			opts.ConfigPath = name + ".yml"
			plan, err := ci.Compile(t.Context(), mustRead(t, f), opts)
			if err == nil {
				t.Fatalf("compiled (%d jobs), want an error", len(plan.Jobs))
			}
			var list ci.Errors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not ci.Errors: %v", err, err)
			}
			for _, e := range list {
				if e.File == "" {
					t.Errorf("error without a file: %v", e)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

// roundTrip checks the plan survives encoding/json unchanged, as the
// server stores it.
func roundTrip(t *testing.T, plan *ci.Plan) {
	t.Helper()
	a, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	var back ci.Plan
	if err := json.Unmarshal(a, &back); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("plan does not round-trip through JSON:\n%s\n%s", a, b)
	}
}
