// Package corpus reads the gitlab-ci-local conformance corpus
// (shared/corpus/gitlab-ci-local) as data.
//
// The types hold the fields of expect.json that Gantry's tests use:
// ci's compile-time conformance test and e2e's execution through a
// server and a runner. shared/corpus/gitlab-ci-local/README.md describes
// the whole schema; an absent field means "not asserted". SharedDir also
// locates the rest of the reference material beside the repository
// (GitLab's CI schema, the runner protocol captures).
package corpus

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Case is one case folder: its expect.json and where it was read from.
type Case struct {
	Name             string      `json:"case"`
	Category         string      `json:"category"`
	NeedsDocker      bool        `json:"needs_docker"`
	NeedsNetwork     bool        `json:"needs_network"`
	ProjectVariables []Variable  `json:"project_variables"`
	Mocks            *Mocks      `json:"mocks"`
	Context          *GitContext `json:"context"`
	Tests            []*Test     `json:"tests"`
	// Dir is the case folder; files the case names are relative to it.
	Dir string `json:"-"`
}

// Variable is a CI/CD variable of the case or test (project_variables)
// or, from Test.PipelineVariables, a pipeline variable.
type Variable struct {
	Key string `json:"key"`
	// Value is the value as text: a JSON number or boolean becomes what
	// fmt.Sprint writes for it.
	Value            string `json:"value"`
	VariableType     string `json:"variable_type"`     // "file" or empty
	EnvironmentScope string `json:"environment_scope"` // empty means "*"
	Level            string `json:"level"`             // "group_or_instance": below project variables
}

// UnmarshalJSON reads a variable whose value may be any JSON scalar.
func (v *Variable) UnmarshalJSON(b []byte) error {
	type plain Variable // without this method
	var raw struct {
		plain
		Value any `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = Variable(raw.plain)
	v.Value = fmt.Sprint(raw.Value)
	return nil
}

// Mocks are the external resources a case's tests stub.
type Mocks struct {
	GitRemoteOrigin string            `json:"git_remote_origin"`
	HTTP            []HTTPMock        `json:"http"`
	Projects        []ProjectMock     `json:"projects"`
	Templates       map[string]string `json:"templates"` // template name → file in the case
}

// HTTPMock answers a remote include.
type HTTPMock struct {
	URL      string `json:"url"`
	Status   int    `json:"status"`
	BodyFile string `json:"body_file"` // in the case folder
}

// ProjectMock is another project the case includes files from.
type ProjectMock struct {
	Project string            `json:"project"`
	Ref     string            `json:"ref"`
	Files   map[string]string `json:"files"` // path in the project → file in the case
}

// GitContext changes the mocked git context, for a whole case or one test.
type GitContext struct {
	Remote string `json:"remote"`
	// ChangedFiles is what rules:changes compares against; nil when the
	// context does not say.
	ChangedFiles *[]string `json:"changed_files"`
	Git          string    `json:"git"` // "unmocked"
}

// Test is one test of a case: the request and its expectations. Steps
// repeat the request with their own expectations (persistent cache).
type Test struct {
	Name                 string                    `json:"name"`
	Mode                 string                    `json:"mode"` // run, preview, list, validate, none
	Cwd                  string                    `json:"cwd"`
	File                 string                    `json:"file"`
	Jobs                 []string                  `json:"jobs"`
	Needs                bool                      `json:"needs"`
	Variables            map[string]any            `json:"variables"`
	Options              map[string]any            `json:"options"`
	Setup                *Setup                    `json:"setup"`
	Context              *GitContext               `json:"context"`
	ProjectVariables     []Variable                `json:"project_variables"`
	NeedsNetwork         *bool                     `json:"needs_network"`
	NeedsDocker          *bool                     `json:"needs_docker"`
	Skip                 bool                      `json:"skip"`
	Outcome              string                    `json:"outcome"`
	GitlabOutcome        string                    `json:"gitlab_outcome"`
	ErrorContains        any                       `json:"error_contains"` // a string or a list
	ErrorEquals          string                    `json:"error_equals"`
	MergedYAML           *string                   `json:"merged_yaml"`
	ListJobs             []map[string]any          `json:"list_jobs"`
	ListJobNamesContains []string                  `json:"list_job_names_contains"`
	EffectiveInputs      map[string]map[string]any `json:"effective_inputs"`
	GitlabJobNames       map[string]string         `json:"gitlab_job_names"`
	Deviation            string                    `json:"deviation"`
	Steps                []*Expect                 `json:"steps"`
	Expect
}

// Setup holds a test's preconditions.
type Setup struct {
	WriteFiles map[string]string `json:"write_files"` // path in the project → content
}

// Expect holds the assertions of a test or of one of its steps.
type Expect struct {
	OutputContains         []string            `json:"output_contains"`
	OutputAbsent           []string            `json:"output_absent"`
	OutputContainsText     []string            `json:"output_contains_text"`
	OutputAbsentText       []string            `json:"output_absent_text"`
	OutputContainsSequence []string            `json:"output_contains_sequence"`
	OutputCount            []Count             `json:"output_count"`
	StderrContains         []string            `json:"stderr_contains"`
	StderrContainsText     []string            `json:"stderr_contains_text"`
	JobOutput              map[string][]string `json:"job_output"`
	JobOutputAbsent        map[string][]string `json:"job_output_absent"`
	JobOutputExact         map[string][]string `json:"job_output_exact"`
	// JobOutputMatches is not in the corpus but Gantry's own
	// (e2e/testdata/corpus-gitlab.json): regular expressions a line of
	// the job's output must match.
	JobOutputMatches map[string][]string    `json:"job_output_matches"`
	JobStatus        map[string]string      `json:"job_status"`
	NoJobFailed      bool                   `json:"no_job_failed"`
	Coverage         map[string]string      `json:"coverage"`
	Environments     map[string]Environment `json:"environments"`
	FilesExist       []File                 `json:"files_exist"`
	FilesAbsent      []File                 `json:"files_absent"`
}

// Count is the number of output lines containing Pattern.
type Count struct {
	Pattern string `json:"pattern"`
	Count   int    `json:"count"`
}

// Environment is a job's expanded environment.
type Environment struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// File is a file expected in (or absent from) an artifact, a cache or
// the workspace, as Kind says.
type File struct {
	Kind string `json:"kind"`
	Job  string `json:"job"`
	Key  string `json:"key"`
	Path string `json:"path"`
}

// Test returns the case's test called name, or nil.
func (c *Case) Test(name string) *Test {
	for _, t := range c.Tests {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Variables returns the CI/CD variables test t runs with: the case's,
// then the test's own.
func (c *Case) Variables(t *Test) []Variable {
	return append(slices.Clone(c.ProjectVariables), t.ProjectVariables...)
}

// TestNeedsNetwork reports whether test t needs network access: its own
// flag, else the case's.
func (c *Case) TestNeedsNetwork(t *Test) bool {
	if t.NeedsNetwork != nil {
		return *t.NeedsNetwork
	}
	return c.NeedsNetwork
}

// TestNeedsDocker reports whether test t needs a container runtime: its
// own flag, else the case's.
func (c *Case) TestNeedsDocker(t *Test) bool {
	if t.NeedsDocker != nil {
		return *t.NeedsDocker
	}
	return c.NeedsDocker
}

// PipelineVariables returns the test's pipeline variables (variables)
// sorted by key, values as text.
func (t *Test) PipelineVariables() []Variable {
	out := make([]Variable, 0, len(t.Variables))
	for k, v := range t.Variables {
		out = append(out, Variable{Key: k, Value: fmt.Sprint(v)})
	}
	slices.SortFunc(out, func(a, b Variable) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Manual lists the manual jobs the test plays (options.manual, a string
// or a list).
func (t *Test) Manual() []string {
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

// ProjectPath turns a git remote (git@host:group/project.git or
// https://host/group/project.git) into a project path (group/project).
func ProjectPath(remote string) string {
	p := remote
	if _, after, ok := strings.Cut(p, "://"); ok {
		_, p, _ = strings.Cut(after, "/")
	} else if _, after, ok := strings.Cut(p, ":"); ok {
		p = after
	}
	return strings.TrimSuffix(p, ".git")
}
