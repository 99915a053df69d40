package ci_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
)

// The gitlab-ci-local corpus as data: see shared/corpus/gitlab-ci-local/README.md.

type corpusCase struct {
	Case             string        `json:"case"`
	Category         string        `json:"category"`
	NeedsDocker      bool          `json:"needs_docker"`
	NeedsNetwork     bool          `json:"needs_network"`
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
	HTTP []struct {
		URL      string `json:"url"`
		Status   int    `json:"status"`
		BodyFile string `json:"body_file"`
	} `json:"http"`
	Projects []struct {
		Project string            `json:"project"`
		Ref     string            `json:"ref"`
		Files   map[string]string `json:"files"`
	} `json:"projects"`
	Templates map[string]string `json:"templates"`
}

type corpusCtx struct {
	Remote       string    `json:"remote"`
	ChangedFiles *[]string `json:"changed_files"`
	Git          string    `json:"git"`
}

type corpusTest struct {
	Name                 string                    `json:"name"`
	Mode                 string                    `json:"mode"`
	Cwd                  string                    `json:"cwd"`
	File                 string                    `json:"file"`
	Jobs                 []string                  `json:"jobs"`
	Variables            map[string]any            `json:"variables"`
	Options              map[string]any            `json:"options"`
	Outcome              string                    `json:"outcome"`
	GitlabOutcome        string                    `json:"gitlab_outcome"`
	ErrorContains        any                       `json:"error_contains"`
	ErrorEquals          string                    `json:"error_equals"`
	MergedYAML           *string                   `json:"merged_yaml"`
	ListJobs             []map[string]any          `json:"list_jobs"`
	ListJobNamesContains []string                  `json:"list_job_names_contains"`
	GitlabJobNames       map[string]string         `json:"gitlab_job_names"`
	Context              *corpusCtx                `json:"context"`
	ProjectVariables     []corpusVar               `json:"project_variables"`
	NeedsNetwork         *bool                     `json:"needs_network"`
	NeedsDocker          *bool                     `json:"needs_docker"`
	Skip                 bool                      `json:"skip"`
	EffectiveInputs      map[string]map[string]any `json:"effective_inputs"`
	JobStatus            map[string]string         `json:"job_status"`
	Environments         map[string]struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"environments"`
	Deviation string `json:"deviation"`
}

const corpusSHA = "02618988a1864b3d06cfee3bd79f8baa2dd21407"

func loadCorpus(dir string) ([]*corpusCase, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "expect.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var cases []*corpusCase
	for _, p := range paths {
		var c corpusCase
		if err := json.Unmarshal(mustReadFile(p), &c); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		c.dir = filepath.Dir(p)
		cases = append(cases, &c)
	}
	return cases, nil
}

func mustReadFile(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

func (t *corpusTest) needsNetwork(c *corpusCase) bool {
	if t.NeedsNetwork != nil {
		return *t.NeedsNetwork
	}
	return c.NeedsNetwork
}

func (t *corpusTest) needsDocker(c *corpusCase) bool {
	if t.NeedsDocker != nil {
		return *t.NeedsDocker
	}
	return c.NeedsDocker
}

// compileOnly reports whether the test's assertions are all decidable at
// compile time: previews, listings, validations and rejections.
func (t *corpusTest) compileOnly(c *corpusCase) bool {
	if t.Skip || t.Mode == "none" {
		return false
	}
	return t.Mode == "preview" || t.Mode == "list" || t.Mode == "validate" || t.Outcome == "error"
}

// wantError is whether GitLab rejects the configuration: the tool's
// outcome unless the corpus records GitLab's differing outcome.
func (t *corpusTest) wantError() bool {
	if t.GitlabOutcome != "" {
		return t.GitlabOutcome == "error"
	}
	return t.Outcome == "error"
}

// remotePath turns a git remote into a project path.
func remotePath(remote string) string {
	p := remote
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		_, p, _ = strings.Cut(p, "/")
	} else if _, after, ok := strings.Cut(p, ":"); ok {
		p = after
	}
	return strings.TrimSuffix(p, ".git")
}

// corpusOptions builds the compile options for a test: a push to master
// of gcl/test-project on gitlab.com, as the corpus README describes.
func corpusOptions(c *corpusCase, t *corpusTest) (ci.Options, []byte, error) {
	root := c.dir
	if t.Cwd != "" {
		root = filepath.Join(c.dir, t.Cwd)
	}
	file := t.File
	if file == "" {
		file = ".gitlab-ci.yml"
	}
	src, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return ci.Options{}, nil, err
	}
	project := "gcl/test-project"
	ctx := c.Context
	if t.Context != nil {
		ctx = t.Context
	}
	opts := ci.Options{
		ConfigPath: file, Ref: "master", Source: "push", SHA: corpusSHA, DefaultBranch: "main",
		ServerURL: "https://gitlab.com", CommitMessage: "Commit Title\nMore commit text",
		User: ci.User{ID: 990, Login: "test", Name: "Testersen", Email: "test@test.com"},
	}
	if ctx != nil && ctx.Remote != "" {
		project = remotePath(ctx.Remote)
	}
	if ctx != nil && ctx.ChangedFiles != nil {
		opts.ChangedPaths = append([]string{}, (*ctx.ChangedFiles)...)
	}
	if v, ok := t.Options["evaluate_rule_changes"]; ok && v == false {
		opts.ChangedPaths = nil
	}
	opts.Project = ci.Project{ID: 1217, Path: project, Visibility: "internal"}
	if n, ok := t.Options["max_includes"].(float64); ok {
		opts.Limits.MaxIncludes = int(n)
	}
	opts.CIVariables = corpusVariables(append(append([]corpusVar{}, c.ProjectVariables...), t.ProjectVariables...))
	for _, k := range sortedMapKeys(t.Variables) {
		opts.PipelineVariables = append(opts.PipelineVariables, ci.Variable{Key: k, Value: fmt.Sprint(t.Variables[k])})
	}
	inc := &corpusIncluder{fs: &ci.FSIncluder{FS: os.DirFS(root)}, dir: c.dir, mocks: c.Mocks}
	opts.Includer = inc
	if c.Mocks != nil {
		for _, h := range c.Mocks.HTTP {
			opts.RemoteAllowlist = append(opts.RemoteAllowlist, hostOf(h.URL))
		}
	}
	if len(t.EffectiveInputs) > 0 {
		src = withComponentInputs(src, t.EffectiveInputs)
	}
	return opts, src, nil
}

// corpusVariables orders group/instance-level variables below project
// ones. Environment-scoped variables are left out: they reach only jobs
// deploying to that environment, which is a job-level concern.
func corpusVariables(vars []corpusVar) []ci.Variable {
	var low, high []ci.Variable
	for _, v := range vars {
		if v.EnvironmentScope != "" && v.EnvironmentScope != "*" {
			continue
		}
		cv := ci.Variable{Key: v.Key, Value: fmt.Sprint(v.Value)}
		if v.Level == "group_or_instance" {
			low = append(low, cv)
		} else {
			high = append(high, cv)
		}
	}
	return append(low, high...)
}

func hostOf(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	h, _, _ := strings.Cut(rest, "/")
	return h
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// corpusIncluder serves the case folder and the corpus's mocks.
type corpusIncluder struct {
	fs    *ci.FSIncluder
	dir   string
	mocks *corpusMocks
}

func (i *corpusIncluder) Local(ctx context.Context, p string) ([]byte, error) {
	return i.fs.Local(ctx, p)
}

func (i *corpusIncluder) Files(ctx context.Context) ([]string, error) { return i.fs.Files(ctx) }

func (i *corpusIncluder) Project(_ context.Context, project, ref, p string) ([]byte, error) {
	if i.mocks != nil {
		for _, m := range i.mocks.Projects {
			if m.Project == project && (ref == "" || m.Ref == ref) {
				if f, ok := m.Files[p]; ok {
					return os.ReadFile(filepath.Join(i.dir, f))
				}
			}
		}
	}
	return nil, fmt.Errorf("project %s@%s:%s: %w", project, ref, p, gantry.ErrNotFound)
}

func (i *corpusIncluder) Template(_ context.Context, name string) ([]byte, error) {
	if i.mocks != nil {
		if f, ok := i.mocks.Templates[name]; ok {
			return os.ReadFile(filepath.Join(i.dir, f))
		}
	}
	return nil, fmt.Errorf("template %s: %w", name, gantry.ErrNotFound)
}

func (i *corpusIncluder) Remote(_ context.Context, url string) ([]byte, error) {
	if i.mocks != nil {
		for _, h := range i.mocks.HTTP {
			if h.URL == url && h.Status == 200 {
				return os.ReadFile(filepath.Join(i.dir, h.BodyFile))
			}
		}
	}
	return nil, fmt.Errorf("GET %s: 404: %w", url, gantry.ErrNotFound)
}

var _ fs.FS = os.DirFS(".")

// componentRE finds the component name in "host/path/NAME@version".
var componentRE = regexp.MustCompile(`/([^/@]+)@`)
