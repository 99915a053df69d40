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

	"github.com/gantry-ci/gantry/internal/corpus"
)

// The execution cases of shared/corpus/gitlab-ci-local run through a real
// `gantry server` and a `gantry runner` shell runner: see TestCorpus.

// corpusEntry is one row of the execution-cases table.
type corpusEntry struct {
	c *corpus.Case
	t *corpus.Test
}

func (e corpusEntry) id() string { return e.c.Name + " | " + e.t.Name }

// executionEntries reads ci/testdata/conformance/execution-cases.md and
// returns the tests that need neither containers nor network, with their
// expectations from the corpus.
func executionEntries(tb testing.TB, dir string) []corpusEntry {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "ci", "testdata", "conformance", "execution-cases.md"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cases := map[string]*corpus.Case{}
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
			if c, err = corpus.ReadCase(filepath.Join(dir, cols[0])); err != nil {
				tb.Fatal(err)
			}
			cases[cols[0]] = c
		}
		t := c.Test(cols[1])
		if t == nil {
			tb.Fatalf("execution-cases.md names %s | %s, which %s/expect.json lacks", cols[0], cols[1], c.Dir)
		}
		out = append(out, corpusEntry{c: c, t: t})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
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
	Why    string        `json:"why"`
	Expect corpus.Expect `json:"expect"`
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
	entries := executionEntries(t, corpus.Dir(t))
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
			t.Expect = o.Expect
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

	// Cases run in parallel, the tests of one case one after the other:
	// each test runs its case's whole pipeline, and a case's jobs may share
	// host paths (after-script writes and removes /tmp/cache).
	results := make([]string, len(entries))
	byCase := map[string][]int{}
	var order []string
	for i, e := range entries {
		if _, seen := byCase[e.c.Name]; !seen {
			order = append(order, e.c.Name)
		}
		byCase[e.c.Name] = append(byCase[e.c.Name], i)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	start := time.Now()
	for _, name := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, i := range byCase[name] {
				results[i] = env.run(i, entries[i])
			}
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
