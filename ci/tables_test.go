package ci_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/internal/corpus"
)

type tableFile[R any] struct {
	Rows []R `json:"rows"`
}

func loadTable[R any](t *testing.T, name string) []R {
	t.Helper()
	var tf tableFile[R]
	path := filepath.Join(corpus.Dir(t), "_tables", name)
	if err := json.Unmarshal(mustRead(t, path), &tf); err != nil {
		t.Fatal(err)
	}
	if len(tf.Rows) == 0 {
		t.Fatalf("%s has no rows", name)
	}
	return tf.Rows
}

// TestRulesTable evaluates the corpus's rule lists (rules_list.json): the
// job's resulting when and allow_failure, or its absence for "never".
func TestRulesTable(t *testing.T) {
	type row struct {
		Rules           []map[string]any  `json:"rules"`
		JobWhen         string            `json:"job_when"`
		JobAllowFailure *bool             `json:"job_allow_failure"`
		Variables       map[string]string `json:"variables"`
		ExpectedWhen    string            `json:"expected_when"`
		ExpectedAF      bool              `json:"expected_allow_failure"`
		Expected        string            `json:"expected"`
		ErrorMatches    string            `json:"error_matches"`
	}
	for i, r := range loadTable[row](t, "rules_list.json") {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			job := map[string]any{"script": "x", "rules": r.Rules}
			if r.JobWhen != "" {
				job["when"] = r.JobWhen
			}
			if r.JobAllowFailure != nil {
				job["allow_failure"] = *r.JobAllowFailure
			}
			job2 := map[string]any{"script": "y"} // keeps the pipeline non-empty
			src, err := yaml.Marshal(map[string]any{"job": job, "other": job2})
			if err != nil {
				t.Fatal(err)
			}
			opts := ci.Options{Ref: "master", Source: "push"}
			for k, v := range r.Variables {
				opts.PipelineVariables = append(opts.PipelineVariables, ci.Variable{Key: k, Value: v})
			}
			plan, err := ci.Compile(t.Context(), src, opts)
			if r.Expected == "error" {
				if err == nil {
					t.Fatalf("rules %v compiled, want an error", r.Rules)
				}
				return
			}
			if err != nil {
				t.Fatalf("rules %v: %v", r.Rules, err)
			}
			var got *ci.Job
			for _, j := range plan.Jobs {
				if j.Name == "job" {
					got = j
				}
			}
			switch {
			case r.ExpectedWhen == "never" && got != nil:
				t.Errorf("rules %v with %v: job created (when %s), want none", r.Rules, r.Variables, got.When)
			case r.ExpectedWhen == "never":
			case got == nil:
				t.Errorf("rules %v with %v: no job, want when %s", r.Rules, r.Variables, r.ExpectedWhen)
			case got.When != r.ExpectedWhen || got.AllowFailure != r.ExpectedAF:
				t.Errorf("rules %v with %v: when %s allow_failure %v, want %s %v",
					r.Rules, r.Variables, got.When, got.AllowFailure, r.ExpectedWhen, r.ExpectedAF)
			}
		})
	}
}

// TestChangesTable checks rules:changes glob semantics (changes_glob.json,
// GitLab's File.fnmatch flags) through a compiled rule.
func TestChangesTable(t *testing.T) {
	type row struct {
		Pattern     string `json:"pattern"`
		Path        string `json:"path"`
		Expected    bool   `json:"expected"`
		Description string `json:"description"`
	}
	for _, r := range loadTable[row](t, "changes_glob.json") {
		t.Run(r.Description, func(t *testing.T) {
			src, _ := yaml.Marshal(map[string]any{
				"job":   map[string]any{"script": "x", "rules": []any{map[string]any{"changes": []string{r.Pattern}}}},
				"other": map[string]any{"script": "y"},
			})
			opts := ci.Options{Ref: "main", Source: "push", ChangedPaths: []string{r.Path}}
			plan, err := ci.Compile(t.Context(), src, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := len(plan.Jobs) == 2
			if got != r.Expected {
				t.Errorf("pattern %q vs %q: matched %v, want %v", r.Pattern, r.Path, got, r.Expected)
			}
		})
	}
}
