package ci_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
)

// TestSchemaFixtures runs Gantry's own examples of every feature GitLab's
// CI schema tests cover (spec/frontend/editor/schema/ci/yaml_tests in
// GitLab): every file in testdata/schema/positive compiles, and every case
// in testdata/schema/negative is rejected with a positioned error that
// carries the expected message. GitLab's files are not copied here;
// testdata/schema/GITLAB_FIXTURES.md records how Gantry fares on them.
func TestSchemaFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "schema")
	opts := schemaOptions(filepath.Join(dir, "positive"))

	positives, _ := filepath.Glob(filepath.Join(dir, "positive", "*.yml"))
	negatives, _ := filepath.Glob(filepath.Join(dir, "negative", "*.yml"))
	if len(positives) < 25 || len(negatives) < 25 {
		t.Fatalf("found %d positive and %d negative files; the fixtures went missing", len(positives), len(negatives))
	}
	for _, f := range positives {
		t.Run("positive/"+filepath.Base(f), func(t *testing.T) {
			plan, err := ci.Compile(t.Context(), mustRead(t, f), opts)
			if err != nil {
				t.Fatalf("rejected:\n%v", err)
			}
			if plan.Filtered != "" || len(plan.Jobs) == 0 {
				t.Errorf("compiled to no pipeline (%q)", plan.Filtered)
			}
		})
	}
	for _, f := range negatives {
		for _, c := range negativeCases(t, f) {
			t.Run("negative/"+filepath.Base(f)+"/"+c.name, func(t *testing.T) {
				_, err := ci.Compile(t.Context(), []byte(c.Config), opts)
				var list ci.Errors
				if !errors.As(err, &list) {
					t.Fatalf("accepted (err %v)", err)
				}
				i := slices.IndexFunc(list, func(e *ci.Error) bool { return strings.Contains(e.Msg, c.Error) })
				switch {
				case i < 0:
					t.Errorf("no error mentions %q:\n%v", c.Error, err)
				case list[i].Line == 0:
					t.Errorf("error without a position: %v", list[i])
				}
			})
		}
	}
}

type negativeCase struct {
	name   string
	Error  string `yaml:"error"`
	Config string `yaml:"config"`
}

// negativeCases reads a negative file: a hash of case names to the
// expected message and the configuration, kept as text so that headers
// (spec: ... ---) can be written.
func negativeCases(t *testing.T, file string) []negativeCase {
	t.Helper()
	var cases map[string]negativeCase
	if err := yaml.Unmarshal(mustRead(t, file), &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]negativeCase, 0, len(cases))
	for _, name := range names {
		c := cases[name]
		if c.Error == "" || c.Config == "" {
			t.Fatalf("%s: case %q needs an error and a config", file, name)
		}
		c.name = name
		out = append(out, c)
	}
	return out
}

// schemaOptions compiles a push to main. Local includes come from dir;
// projects, templates and remote files get a small job, as a server would
// serve them, except for project paths no GitLab project can have.
func schemaOptions(dir string) ci.Options {
	return ci.Options{
		Ref: "main", Source: "push", DefaultBranch: "main",
		SHA:             "5d4c3b2a10f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5",
		Project:         ci.Project{ID: 7, Path: "team/app"},
		Includer:        &schemaIncluder{FSIncluder: ci.FSIncluder{FS: os.DirFS(dir)}},
		RemoteAllowlist: []string{"ci.example.com"},
	}
}

type schemaIncluder struct{ ci.FSIncluder }

var projectPath = regexp.MustCompile(`^[\w.][\w.-]*(/[\w.][\w.-]*)+$`)

func (i *schemaIncluder) Project(_ context.Context, project, _, file string) ([]byte, error) {
	if !projectPath.MatchString(project) {
		return nil, fmt.Errorf("project %q: %w", project, gantry.ErrNotFound)
	}
	return includedJob(project + "/" + file), nil
}

func (i *schemaIncluder) Template(_ context.Context, name string) ([]byte, error) {
	return includedJob(name), nil
}

func (i *schemaIncluder) Remote(_ context.Context, url string) ([]byte, error) {
	return includedJob(url), nil
}

func includedJob(from string) []byte {
	return fmt.Appendf(nil, "%q:\n  script: [echo included]\n", "from "+path.Clean(from))
}
