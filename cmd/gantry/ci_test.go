package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runCLI runs the gantry command tree in-process and returns its stdout
// and exit code (0 for success, the exitError code otherwise, 2 for
// other errors as main does).
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.code
	}
	return out.String(), 2
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const lintConfig = `
include: ci/build.yml
stages: [build, test]
test:
  stage: test
  image: golang:1.26
  needs: [build]
  tags: [linux]
  variables: {GOFLAGS: -mod=mod}
  script: go test ./...
deploy:
  stage: test
  script: ./deploy
  rules:
    - if: $CI_COMMIT_TAG
`

func TestLintJSON(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".gitlab-ci.yml": lintConfig,
		"ci/build.yml":   "build:\n  stage: build\n  script: [make]\n",
	})
	out, code := runCLI(t, "ci", "lint", "--json", "--ref", "main", dir)
	if code != 0 {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	var res struct {
		Valid    bool     `json:"valid"`
		Errors   []string `json:"errors"`
		Warnings []string `json:"warnings"`
		Merged   string   `json:"merged_yaml"`
		Stages   []string `json:"stages"`
		Jobs     []struct {
			Name      string            `json:"name"`
			Stage     string            `json:"stage"`
			Script    []string          `json:"script"`
			Needs     []string          `json:"needs"`
			Tags      []string          `json:"tag_list"`
			Variables map[string]string `json:"variables"`
			Image     *string           `json:"image"`
			When      string            `json:"when"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if !res.Valid || len(res.Errors) != 0 || res.Merged == "" {
		t.Fatalf("valid=%v errors=%v merged=%q", res.Valid, res.Errors, res.Merged)
	}
	if d := cmp.Diff([]string{"build", "test"}, res.Stages); d != "" {
		t.Errorf("stages (-want +got):\n%s", d)
	}
	var names []string
	for _, j := range res.Jobs {
		names = append(names, j.Name)
	}
	// deploy only runs for tags, so a push to main does not create it.
	if d := cmp.Diff([]string{"build", "test"}, names); d != "" {
		t.Fatalf("jobs (-want +got):\n%s", d)
	}
	test := res.Jobs[1]
	if test.Image == nil || *test.Image != "golang:1.26" || test.Variables["GOFLAGS"] != "-mod=mod" ||
		!cmp.Equal(test.Needs, []string{"build"}) || !cmp.Equal(test.Tags, []string{"linux"}) {
		t.Errorf("test job = %+v", test)
	}
	if res.Jobs[0].Needs != nil {
		t.Errorf("build has needs %v, want null (stage order)", res.Jobs[0].Needs)
	}

	out, code = runCLI(t, "ci", "lint", "--json", "--ref", "v1.0", "--tag", dir)
	if code != 0 || !bytes.Contains([]byte(out), []byte(`"name": "deploy"`)) {
		t.Errorf("tag pipeline: exit %d, want deploy in:\n%s", code, out)
	}
}

func TestLintExitCodes(t *testing.T) {
	valid := writeTree(t, map[string]string{".gitlab-ci.yml": "job:\n  script: echo\n"})
	invalid := writeTree(t, map[string]string{".gitlab-ci.yml": "job:\n  scirpt: echo\n"})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid", []string{"ci", "lint", valid}, 0, "is valid"},
		{"invalid", []string{"ci", "lint", invalid}, 1, ".gitlab-ci.yml:2:3: jobs:job config contains unknown keys: scirpt"},
		{"invalid json", []string{"ci", "lint", "--json", invalid}, 1, `"valid": false`},
		{"no dir", []string{"ci", "lint"}, 2, ""},
		{"missing dir", []string{"ci", "lint", filepath.Join(valid, "nope")}, 2, ""},
		{"bad flag", []string{"ci", "lint", "--nope", valid}, 2, ""},
		{"bad var", []string{"ci", "lint", "--var", "novalue", valid}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.code, out)
			}
			if tt.want != "" && !bytes.Contains([]byte(out), []byte(tt.want)) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestLintHumanSummary(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".gitlab-ci.yml": lintConfig,
		"ci/build.yml":   "build:\n  stage: build\n  script: [make]\n",
	})
	out, code := runCLI(t, "ci", "lint", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"stages: build → test", "  test (on_success) needs: build"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
