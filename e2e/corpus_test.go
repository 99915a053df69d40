package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The execution cases of shared/corpus/gitlab-ci-local run through a real
// `gantry server` and a `gantry runner` shell runner: see TestCorpus.

// corpusCase is the part of a case's expect.json the execution run uses
// (shared/corpus/gitlab-ci-local/README.md describes the whole schema).
type corpusCase struct {
	Case             string        `json:"case"`
	ProjectVariables []corpusVar   `json:"project_variables"`
	Mocks            *corpusMocks  `json:"mocks"`
	Context          *corpusCtx    `json:"context"`
	Tests            []*corpusTest `json:"tests"`
	dir              string
}

type corpusVar struct {
	Key              string `json:"key"`
	Value            any    `json:"value"`
	VariableType     string `json:"variable_type"`
	EnvironmentScope string `json:"environment_scope"`
	Level            string `json:"level"`
}

type corpusMocks struct {
	GitRemoteOrigin string `json:"git_remote_origin"`
	Projects        []struct {
		Project string            `json:"project"`
		Ref     string            `json:"ref"`
		Files   map[string]string `json:"files"`
	} `json:"projects"`
	HTTP      []json.RawMessage `json:"http"`
	Templates map[string]string `json:"templates"`
}

type corpusCtx struct {
	Remote       string    `json:"remote"`
	ChangedFiles *[]string `json:"changed_files"`
}

// corpusTest is one test: the request and its expectations. Steps repeat
// the request with their own expectations (persistent cache).
type corpusTest struct {
	Name             string            `json:"name"`
	Mode             string            `json:"mode"`
	Cwd              string            `json:"cwd"`
	File             string            `json:"file"`
	Jobs             []string          `json:"jobs"`
	Needs            bool              `json:"needs"`
	Variables        map[string]any    `json:"variables"`
	Options          map[string]any    `json:"options"`
	Outcome          string            `json:"outcome"`
	GitlabOutcome    string            `json:"gitlab_outcome"`
	Setup            *corpusSetup      `json:"setup"`
	Context          *corpusCtx        `json:"context"`
	ProjectVariables []corpusVar       `json:"project_variables"`
	GitlabJobNames   map[string]string `json:"gitlab_job_names"`
	Steps            []*corpusExpect   `json:"steps"`
	corpusExpect
}

type corpusSetup struct {
	WriteFiles map[string]string `json:"write_files"`
}

// corpusExpect holds the assertions a test (or one of its steps) makes.
type corpusExpect struct {
	OutputContains         []string            `json:"output_contains"`
	OutputAbsent           []string            `json:"output_absent"`
	OutputContainsText     []string            `json:"output_contains_text"`
	OutputAbsentText       []string            `json:"output_absent_text"`
	OutputContainsSequence []string            `json:"output_contains_sequence"`
	OutputCount            []corpusCount       `json:"output_count"`
	StderrContains         []string            `json:"stderr_contains"`
	StderrContainsText     []string            `json:"stderr_contains_text"`
	JobOutput              map[string][]string `json:"job_output"`
	JobOutputAbsent        map[string][]string `json:"job_output_absent"`
	JobOutputExact         map[string][]string `json:"job_output_exact"`
	// JobOutputMatches is Gantry's own (testdata/corpus-gitlab.json):
	// regular expressions a line of the job's output must match.
	JobOutputMatches map[string][]string `json:"job_output_matches"`
	JobStatus        map[string]string   `json:"job_status"`
	NoJobFailed      bool                `json:"no_job_failed"`
	Coverage         map[string]string   `json:"coverage"`
	Environments     map[string]struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"environments"`
	FilesExist  []corpusFile `json:"files_exist"`
	FilesAbsent []corpusFile `json:"files_absent"`
}

type corpusCount struct {
	Pattern string `json:"pattern"`
	Count   int    `json:"count"`
}

type corpusFile struct {
	Kind string `json:"kind"`
	Job  string `json:"job"`
	Key  string `json:"key"`
	Path string `json:"path"`
}

// manual lists the manual jobs the test plays (options.manual, a string
// or a list).
func (t *corpusTest) manual() []string {
	switch v := t.Options["manual"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// corpusEntry is one row of the execution-cases table.
type corpusEntry struct {
	c *corpusCase
	t *corpusTest
}

func (e corpusEntry) id() string { return e.c.Case + " | " + e.t.Name }

// sharedDir is ../shared beside the repository root (the folder holding
// go.mod); the corpus lives there.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(shared); err != nil {
				tb.Fatalf("../shared is missing beside the repository at %s: the corpus lives there (%v)", dir, err)
			}
			return shared
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// executionEntries reads ci/testdata/conformance/execution-cases.md and
// returns the tests that need neither containers nor network, with their
// expectations from the corpus.
func executionEntries(tb testing.TB, corpus string) []corpusEntry {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "ci", "testdata", "conformance", "execution-cases.md"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cases := map[string]*corpusCase{}
	var out []corpusEntry
	cell := regexp.MustCompile(`(?:\\\||[^|])*`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| case ") {
			continue
		}
		var cols []string
		for _, c := range cell.FindAllString(strings.Trim(line, "|"), -1) {
			cols = append(cols, strings.ReplaceAll(strings.TrimSpace(c), `\|`, "|"))
		}
		if len(cols) < 5 || cols[2] != "no" || cols[3] != "no" {
			continue
		}
		c := cases[cols[0]]
		if c == nil {
			c = loadCase(tb, filepath.Join(corpus, cols[0]))
			cases[cols[0]] = c
		}
		t := c.test(cols[1])
		if t == nil {
			tb.Fatalf("execution-cases.md names %s | %s, which %s/expect.json lacks", cols[0], cols[1], c.dir)
		}
		out = append(out, corpusEntry{c: c, t: t})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func loadCase(tb testing.TB, dir string) *corpusCase {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		tb.Fatal(err)
	}
	c := &corpusCase{dir: dir}
	if err := json.Unmarshal(b, c); err != nil {
		tb.Fatalf("%s/expect.json: %v", dir, err)
	}
	return c
}

func (c *corpusCase) test(name string) *corpusTest {
	for _, t := range c.Tests {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// gitlabExpectations reads testdata/corpus-gitlab.json: for tests whose
// expectations the corpus itself says differ in GitLab (DEVIATIONS.md),
// GitLab's expectations, which replace the test's.
func gitlabExpectations(tb testing.TB) map[string]corpusOverride {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus-gitlab.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]corpusOverride
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatalf("testdata/corpus-gitlab.json: %v", err)
	}
	return out
}

type corpusOverride struct {
	Why    string       `json:"why"`
	Expect corpusExpect `json:"expect"`
}

// knownDeviations reads testdata/corpus-deviations.md: the tests that
// fail for a documented reason (case | test | reason).
func knownDeviations(tb testing.TB) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus-deviations.md"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	cell := regexp.MustCompile(`(?:\\\||[^|])*`)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| case ") {
			continue
		}
		var cols []string
		for _, c := range cell.FindAllString(strings.Trim(line, "|"), -1) {
			cols = append(cols, strings.ReplaceAll(strings.TrimSpace(c), `\|`, "|"))
		}
		if len(cols) >= 3 {
			out[cols[0]+" | "+cols[1]] = cols[2]
		}
	}
	return out
}

// TestCorpus runs every execution case of the gitlab-ci-local corpus that
// needs no containers and no network through one `gantry server` and one
// `gantry runner` (shell, concurrent jobs), cases in parallel, and checks
// the job logs, statuses, artifacts and caches read back through the API.
// Tests listed in testdata/corpus-deviations.md must fail (with the
// documented reason); every other test must pass.
//
// GitLab has no job selection: a test that names jobs runs the whole
// pipeline and only the selected jobs' expectations are checked (see
// corpusRun.selected).
func TestCorpus(t *testing.T) {
	t.Parallel()
	entries := executionEntries(t, filepath.Join(sharedDir(t), "corpus", "gitlab-ci-local"))
	if only := os.Getenv("GANTRY_E2E_CORPUS_ONLY"); only != "" { // a regexp on "case | test", while debugging
		re := regexp.MustCompile(only)
		var some []corpusEntry
		for _, e := range entries {
			if re.MatchString(e.id()) {
				some = append(some, e)
			}
		}
		entries = some
	}
	known := knownDeviations(t)
	overrides := gitlabExpectations(t)
	for i, e := range entries {
		if o, ok := overrides[e.id()]; ok {
			t := *e.t
			t.corpusExpect = o.Expect
			entries[i].t = &t
			delete(overrides, e.id())
		}
	}
	for id := range overrides {
		if os.Getenv("GANTRY_E2E_CORPUS_ONLY") == "" {
			t.Errorf("testdata/corpus-gitlab.json names %s, which is not an execution case", id)
		}
	}
	srv := startCIServer(t)
	rn := srv.startRunner(t, runnerOpts{concurrent: 8})
	env := &corpusEnv{srv: srv, runner: rn, tmp: t.TempDir(), groups: map[string]int64{}}

	results := make([]string, len(entries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	start := time.Now()
	for i, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = env.run(i, e)
		}()
	}
	wg.Wait()

	pass := 0
	var failures []string
	for i, e := range entries {
		reason, listed := known[e.id()]
		switch {
		case results[i] == "" && listed:
			t.Errorf("%s passes but is listed in testdata/corpus-deviations.md (%s): remove it", e.id(), reason)
			pass++
		case results[i] == "":
			pass++
		case listed:
			failures = append(failures, fmt.Sprintf("  %s: %s [known: %s]", e.id(), results[i], reason))
		default:
			t.Errorf("%s: %s", e.id(), results[i])
			failures = append(failures, fmt.Sprintf("  %s: %s [NEW]", e.id(), results[i]))
		}
	}
	sort.Strings(failures)
	t.Logf("corpus execution cases: %d/%d passed (%.1f%%) in %v; failing:\n%s", pass, len(entries),
		100*float64(pass)/float64(len(entries)), time.Since(start).Round(time.Second), strings.Join(failures, "\n"))
}
