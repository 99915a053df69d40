package ci_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/internal/corpus"
)

// The gitlab-ci-local corpus (package corpus) compiled: options and
// includes for a test, as shared/corpus/gitlab-ci-local/README.md describes.

const corpusSHA = "02618988a1864b3d06cfee3bd79f8baa2dd21407"

// compileOnly reports whether the test's assertions are all decidable at
// compile time: previews, listings, validations and rejections.
func compileOnly(t *corpus.Test) bool {
	if t.Skip || t.Mode == "none" {
		return false
	}
	return t.Mode == "preview" || t.Mode == "list" || t.Mode == "validate" || t.Outcome == "error"
}

// wantError is whether GitLab rejects the configuration: the tool's
// outcome unless the corpus records GitLab's differing outcome.
func wantError(t *corpus.Test) bool {
	if t.GitlabOutcome != "" {
		return t.GitlabOutcome == "error"
	}
	return t.Outcome == "error"
}

// corpusOptions builds the compile options for a test: a push to master
// of gcl/test-project on gitlab.com, as the corpus README describes.
func corpusOptions(c *corpus.Case, t *corpus.Test) (ci.Options, []byte, error) {
	root := c.Dir
	if t.Cwd != "" {
		root = filepath.Join(c.Dir, t.Cwd)
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
		project = corpus.ProjectPath(ctx.Remote)
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
	opts.CIVariables = corpusVariables(c.Variables(t))
	for _, v := range t.PipelineVariables() {
		opts.PipelineVariables = append(opts.PipelineVariables, ci.Variable{Key: v.Key, Value: v.Value})
	}
	inc := &corpusIncluder{fs: &ci.FSIncluder{FS: os.DirFS(root)}, dir: c.Dir, mocks: c.Mocks}
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
func corpusVariables(vars []corpus.Variable) []ci.Variable {
	var low, high []ci.Variable
	for _, v := range vars {
		if v.EnvironmentScope != "" && v.EnvironmentScope != "*" {
			continue
		}
		cv := ci.Variable{Key: v.Key, Value: v.Value}
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

// corpusIncluder serves the case folder and the corpus's mocks.
type corpusIncluder struct {
	fs    *ci.FSIncluder
	dir   string
	mocks *corpus.Mocks
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
