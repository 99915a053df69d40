package ci_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/internal/corpus"
)

// TestConformance runs every compile-time test of the gitlab-ci-local
// corpus (previews, listings, validations and rejections) and the
// compile stage of every execution test. Known differences are listed
// with reasons in testdata/conformance/known-failures.txt; the test fails
// when an unlisted test fails or a listed one starts passing, so the list
// stays honest. The execution-only assertions are tracked in
// testdata/conformance/execution-cases.md (regenerated with -update).
func TestConformance(t *testing.T) {
	cases, err := corpus.Load(corpus.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	known := knownFailures(t)
	var pass, total, execPass, execTotal, network int
	var exec []execRow
	for _, c := range cases {
		for _, ct := range c.Tests {
			id := c.Name + " | " + ct.Name
			if ct.Skip || ct.Mode == "none" {
				continue
			}
			problem := runCorpusTest(t, c, ct)
			if problem == needsNetwork {
				// gitlab.com content the corpus does not bundle: tracked in
				// the table, neither passed nor failed.
				network++
				exec = append(exec, execRow{c: c, t: ct, problem: problem})
				continue
			}
			if compileOnly(ct) {
				total++
				if problem == "" {
					pass++
				}
			} else {
				execTotal++
				if problem == "" {
					execPass++
				}
				exec = append(exec, execRow{c: c, t: ct, problem: problem})
			}
			_, listed := known[id]
			switch {
			case problem != "" && !listed:
				t.Errorf("%s: %s", id, problem)
			case problem == "" && listed:
				t.Errorf("%s: listed in known-failures.txt but passes now; remove it", id)
			}
			delete(known, id)
		}
	}
	for id := range known {
		t.Errorf("known-failures.txt lists %q, which is not a corpus test", id)
	}
	t.Logf("compile-time conformance: %d/%d passed (%.1f%%)", pass, total, 100*float64(pass)/float64(total))
	t.Logf("execution cases, compile stage: %d/%d passed", execPass, execTotal)
	t.Logf("not run: %d tests need gitlab.com content the corpus does not bundle", network)
	if float64(pass) < 0.95*float64(total) {
		t.Errorf("compile-time conformance %d/%d is below the 95%% target", pass, total)
	}
	golden(t, "testdata/conformance/execution-cases.md", executionTable(exec))
}

func knownFailures(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(mustRead(t, "testdata/conformance/known-failures.txt")), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, why, _ := strings.Cut(line, " => ")
		out[strings.TrimSpace(id)] = why
	}
	return out
}

// runCorpusTest returns "" when the test's compile-time expectations hold,
// else what went wrong.
func runCorpusTest(t *testing.T, c *corpus.Case, ct *corpus.Test) string {
	if c.TestNeedsNetwork(ct) {
		return needsNetwork
	}
	opts, src, err := corpusOptions(c, ct)
	if err != nil {
		return "setup: " + err.Error()
	}
	plan, err := ci.Compile(t.Context(), src, opts)
	var cfgErr ci.Errors
	if err != nil && !errors.As(err, &cfgErr) {
		return "unexpected non-configuration error: " + err.Error()
	}
	if wantError(ct) {
		if err == nil {
			return "compiled, but GitLab rejects this configuration"
		}
		return checkGitLabWording(c, ct, err)
	}
	if err != nil {
		return "rejected: " + err.Error()
	}
	if ct.GitlabOutcome == "no_pipeline" {
		if plan.Filtered == "" {
			return "a pipeline was created, but GitLab creates none"
		}
		return ""
	}
	if ct.Mode == "preview" {
		return checkPreview(ct, plan)
	}
	if plan.Filtered != "" && ct.Mode != "run" {
		return "no pipeline: " + plan.Filtered
	}
	switch {
	case ct.Mode == "list":
		return checkList(ct, plan)
	case ct.Mode == "run":
		return checkRunCompileStage(ct, plan)
	}
	return ""
}

// checkGitLabWording compares messages the corpus says follow GitLab's
// wording (spec:inputs, self-dependency); other messages are the tool's.
func checkGitLabWording(c *corpus.Case, ct *corpus.Test, err error) string {
	if c.Name != "include-inputs" && c.Name != "self-dependency" {
		return ""
	}
	var want []string
	switch v := ct.ErrorContains.(type) {
	case string:
		want = []string{v}
	case []any:
		for _, s := range v {
			want = append(want, fmt.Sprint(s))
		}
	}
	for _, w := range want {
		w = strings.TrimPrefix(w, "This GitLab CI configuration is invalid:")
		w = strings.TrimSuffix(strings.TrimSpace(w), ".")
		if w != "" && !strings.Contains(err.Error(), w) {
			return fmt.Sprintf("error %q does not contain GitLab's %q", err, w)
		}
	}
	return ""
}

func gitlabName(ct *corpus.Test, name string) string {
	if n, ok := ct.GitlabJobNames[name]; ok {
		return n
	}
	return name
}

// lookupJob finds a job by its GitLab name, falling back to the tool's
// name: DEVIATIONS.md §1 says commas inside one matrix value are not
// rewritten, which parallel-matrix-long-name's mapping does anyway.
func lookupJob(jobs map[string]*ci.Job, ct *corpus.Test, name string) *ci.Job {
	if j := jobs[gitlabName(ct, name)]; j != nil {
		return j
	}
	return jobs[name]
}

func checkList(ct *corpus.Test, plan *ci.Plan) string {
	jobs := map[string]*ci.Job{}
	for _, j := range plan.Jobs {
		jobs[j.Name] = j
	}
	for _, name := range ct.ListJobNamesContains {
		if jobs[gitlabName(ct, name)] == nil {
			return "missing job " + name
		}
	}
	if ct.ListJobs == nil {
		return ""
	}
	var got, want []string
	for _, j := range plan.Jobs {
		got = append(got, j.Name)
	}
	for _, lj := range ct.ListJobs {
		name := gitlabName(ct, fmt.Sprint(lj["name"]))
		want = append(want, name)
		j := jobs[name]
		if j == nil {
			continue
		}
		if e, ok := lj["environment"].(string); ok && e != "" && (j.Environment == nil || j.Environment.Name != e) {
			return fmt.Sprintf("job %s: environment %v, want %s", name, j.Environment, e)
		}
		if w, ok := lj["when"].(string); ok && w != j.When {
			return fmt.Sprintf("job %s: when %s, want %s", name, j.When, w)
		}
		if s, ok := lj["stage"].(string); ok && s != j.Stage {
			return fmt.Sprintf("job %s: stage %s, want %s", name, j.Stage, s)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		return "jobs differ (-want +got):\n" + d
	}
	return ""
}

// checkRunCompileStage checks what an execution test fixes at compile
// time: jobs whose status is asserted exist, and expanded environments.
func checkRunCompileStage(ct *corpus.Test, plan *ci.Plan) string {
	jobs := map[string]*ci.Job{}
	for _, j := range plan.Jobs {
		jobs[j.Name] = j
	}
	for _, name := range slices.Sorted(maps.Keys(ct.JobStatus)) {
		st := ct.JobStatus[name]
		if st == "not success" || strings.Contains(name, " -> ") {
			continue
		}
		if lookupJob(jobs, ct, name) == nil {
			return fmt.Sprintf("job %q (status %s) is not in the plan", gitlabName(ct, name), st)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ct.Environments)) {
		want := ct.Environments[name]
		j := lookupJob(jobs, ct, name)
		if j == nil || j.Environment == nil {
			return fmt.Sprintf("job %q has no environment", name)
		}
		if j.Environment.Name != want.Name || j.Environment.URL != want.URL {
			return fmt.Sprintf("job %q environment %s %s, want %s %s", name, j.Environment.Name, j.Environment.URL, want.Name, want.URL)
		}
	}
	return ""
}

func checkPreview(ct *corpus.Test, plan *ci.Plan) string {
	if ct.MergedYAML == nil {
		return ""
	}
	wantSrc := strings.ReplaceAll(*ct.MergedYAML, "{{CI_COMMIT_SHA}}", corpusSHA)
	var want, got map[string]any
	if err := yaml.Unmarshal([]byte(wantSrc), &want); err != nil {
		return "expected merged_yaml does not parse: " + err.Error()
	}
	if err := yaml.Unmarshal([]byte(plan.MergedYAML), &got); err != nil {
		return "merged_yaml does not parse: " + err.Error()
	}
	if d := cmp.Diff(previewForm(want), previewForm(got)); d != "" {
		return "merged configuration differs (-want +got):\n" + d
	}
	return ""
}

// previewForm normalises a merged configuration the way DEVIATIONS.md §3
// describes gitlab-ci-local's dump: .pre/.post always in stages, hidden
// jobs, default: and the top-level default aliases applied to jobs (only
// the keys the tool inherits) and removed, scripts as flat lists, image as
// {name}, cache as a list with policy and when filled in.
func previewForm(m map[string]any) map[string]any {
	out := map[string]any{}
	defaults := map[string]any{}
	for _, k := range []string{"image", "services", "cache", "before_script", "after_script"} {
		if v, ok := m[k]; ok && v != nil {
			defaults[k] = v
		}
	}
	if d, ok := m["default"].(map[string]any); ok {
		for _, k := range []string{"image", "services", "cache", "before_script", "after_script", "artifacts"} {
			if v, ok := d[k]; ok && v != nil {
				defaults[k] = v
			}
		}
	}
	for k, v := range m {
		switch {
		case k == "stages":
			out[k] = stagesForm(v)
		case k == "variables" || k == "workflow":
			out[k] = v
		case strings.HasPrefix(k, "."), k == "default", k == "include", k == "spec",
			k == "image", k == "services", k == "cache", k == "before_script", k == "after_script":
		default:
			job, ok := v.(map[string]any)
			if !ok {
				out[k] = v
				continue
			}
			out[k] = jobForm(job, defaults)
		}
	}
	if _, ok := out["stages"]; !ok {
		out["stages"] = []any{".pre", "build", "test", "deploy", ".post"}
	}
	return out
}

func stagesForm(v any) any {
	list, _ := v.([]any)
	out := []any{".pre"}
	for _, s := range list {
		if s != ".pre" && s != ".post" {
			out = append(out, s)
		}
	}
	return append(out, ".post")
}

func jobForm(job, defaults map[string]any) map[string]any {
	out := map[string]any{}
	inherit := inheritedDefaults(job)
	for k, v := range defaults {
		if cur, ok := job[k]; (!ok || cur == nil) && inherit(k) {
			out[k] = v
		}
	}
	for k, v := range job {
		if k == "extends" || k == "inherit" || v == nil {
			continue
		}
		out[k] = v
	}
	for _, k := range []string{"script", "before_script", "after_script", "rules"} {
		if v, ok := out[k]; ok {
			out[k] = flatten(v)
		}
	}
	if s, ok := out["image"].(string); ok {
		out["image"] = map[string]any{"name": s}
	}
	if c, ok := out["cache"]; ok {
		out["cache"] = cacheForm(c)
	}
	return out
}

func inheritedDefaults(job map[string]any) func(string) bool {
	inh, _ := job["inherit"].(map[string]any)
	switch d := inh["default"].(type) {
	case bool:
		return func(string) bool { return d }
	case []any:
		return func(k string) bool {
			for _, x := range d {
				if x == k {
					return true
				}
			}
			return false
		}
	}
	return func(string) bool { return true }
}

func flatten(v any) []any {
	list, ok := v.([]any)
	if !ok {
		return []any{v}
	}
	var out []any
	for _, it := range list {
		if inner, ok := it.([]any); ok {
			out = append(out, flatten(inner)...)
			continue
		}
		out = append(out, it)
	}
	return out
}

func cacheForm(v any) any {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			out = append(out, it)
			continue
		}
		c := map[string]any{"policy": "pull-push", "when": "on_success"}
		for k, x := range m {
			c[k] = x
		}
		out = append(out, c)
	}
	return out
}

// withComponentInputs adds the corpus's effective_inputs (gitlab-ci-local
// passes them out of band) as include:inputs of the matching component.
func withComponentInputs(src []byte, inputs map[string]map[string]any) []byte {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 {
		return src
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "include" {
			continue
		}
		for _, entry := range root.Content[i+1].Content {
			setComponentInputs(entry, inputs)
		}
	}
	var b bytes.Buffer
	if err := yaml.NewEncoder(&b).Encode(&doc); err != nil {
		return src
	}
	return b.Bytes()
}

func setComponentInputs(entry *yaml.Node, inputs map[string]map[string]any) {
	if entry.Kind != yaml.MappingNode {
		return
	}
	for j := 0; j+1 < len(entry.Content); j += 2 {
		if entry.Content[j].Value != "component" {
			continue
		}
		m := componentRE.FindStringSubmatch(entry.Content[j+1].Value)
		if m == nil || inputs[m[1]] == nil {
			return
		}
		var v yaml.Node
		if err := v.Encode(inputs[m[1]]); err != nil {
			return
		}
		for k := 0; k+1 < len(entry.Content); k += 2 {
			if entry.Content[k].Value == "inputs" {
				entry.Content[k+1] = &v
				return
			}
		}
		entry.Content = append(entry.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "inputs"}, &v)
		return
	}
}

const needsNetwork = "not run: needs gitlab.com content the corpus does not bundle"

type execRow struct {
	c       *corpus.Case
	t       *corpus.Test
	problem string
}

var pipeRE = regexp.MustCompile(`\|`)

// executionTable renders the execution-only tests for the runner issue.
func executionTable(rows []execRow) []byte {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].c.Name < rows[j].c.Name })
	var b strings.Builder
	b.WriteString("# Corpus tests that need execution\n\n")
	b.WriteString("Generated by `go test ./ci -run TestConformance -update` from\n")
	b.WriteString("`shared/corpus/gitlab-ci-local`. These tests assert job output, statuses,\n")
	b.WriteString("artifacts or caches, so the compiler alone cannot pass them; the runner issue\n")
	b.WriteString("picks them up. The compile column says whether the pipeline they need compiles\n")
	b.WriteString("as expected today (jobs with asserted statuses exist, environments expand).\n")
	b.WriteString("Tests that need gitlab.com content (not bundled) are listed too, compile-time or not.\n\n")
	b.WriteString("| case | test | docker | network | compile |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		compile := "ok"
		if r.problem == needsNetwork {
			compile = needsNetwork
		} else if r.problem != "" {
			compile = "FAIL: " + firstLine(r.problem)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.c.Name, pipeRE.ReplaceAllString(r.t.Name, `\|`),
			yesNo(r.c.TestNeedsDocker(r.t)), yesNo(r.c.TestNeedsNetwork(r.t)), pipeRE.ReplaceAllString(compile, `\|`))
	}
	return []byte(b.String())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
