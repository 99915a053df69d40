package corpus_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/internal/corpus"
)

func TestLoad(t *testing.T) {
	dir := corpus.Dir(t)
	cases, err := corpus.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("Load read %d cases, want the whole corpus (over 100)", len(cases))
	}
	for i, c := range cases {
		if c.Name == "" || c.Dir == "" || len(c.Tests) == 0 {
			t.Errorf("case %d: name %q, dir %q, %d tests", i, c.Name, c.Dir, len(c.Tests))
		}
		if i > 0 && filepath.Join(cases[i-1].Dir, "expect.json") >= filepath.Join(c.Dir, "expect.json") {
			t.Errorf("cases not in path order: %s before %s", cases[i-1].Dir, c.Dir)
		}
	}
	one, err := corpus.ReadCase(cases[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := one.Test(cases[0].Tests[0].Name); got == nil {
		t.Errorf("Test(%q) = nil", cases[0].Tests[0].Name)
	}
	if got := one.Test("no such test"); got != nil {
		t.Errorf("Test(no such test) = %+v, want nil", got)
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := corpus.Load(t.TempDir()); err == nil {
		t.Error("Load of an empty folder: no error")
	}
}

func TestVariables(t *testing.T) {
	var c corpus.Case
	err := json.Unmarshal([]byte(`{
		"project_variables": [{"key": "A", "value": "x"}, {"key": "N", "value": 42, "level": "group_or_instance"}],
		"tests": [{"name": "t", "project_variables": [{"key": "B", "value": true, "variable_type": "file"}],
			"variables": {"Z": 1.5, "Y": "y"}, "options": {"manual": "deploy"}, "job_status": {"j": "success"}}]
	}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	tt := c.Test("t")
	want := []corpus.Variable{
		{Key: "A", Value: "x"},
		{Key: "N", Value: "42", Level: "group_or_instance"},
		{Key: "B", Value: "true", VariableType: "file"},
	}
	if diff := cmp.Diff(want, c.Variables(tt)); diff != "" {
		t.Errorf("Variables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corpus.Variable{{Key: "Y", Value: "y"}, {Key: "Z", Value: "1.5"}}, tt.PipelineVariables()); diff != "" {
		t.Errorf("PipelineVariables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"deploy"}, tt.Manual()); diff != "" {
		t.Errorf("Manual (-want +got):\n%s", diff)
	}
	if tt.JobStatus["j"] != "success" {
		t.Errorf("JobStatus = %v: the embedded expectations were not read", tt.JobStatus)
	}
	if len(c.ProjectVariables) != 2 {
		t.Errorf("Variables changed the case: %v", c.ProjectVariables)
	}
}

func TestNeeds(t *testing.T) {
	yes, no := true, false
	c := &corpus.Case{NeedsDocker: true}
	for _, tc := range []struct {
		docker, network *bool
		wantD, wantN    bool
	}{
		{nil, nil, true, false},
		{&no, &yes, false, true},
	} {
		tt := &corpus.Test{NeedsDocker: tc.docker, NeedsNetwork: tc.network}
		if got := c.TestNeedsDocker(tt); got != tc.wantD {
			t.Errorf("TestNeedsDocker(%v) = %v, want %v", tc.docker, got, tc.wantD)
		}
		if got := c.TestNeedsNetwork(tt); got != tc.wantN {
			t.Errorf("TestNeedsNetwork(%v) = %v, want %v", tc.network, got, tc.wantN)
		}
	}
}

func TestProjectPath(t *testing.T) {
	for remote, want := range map[string]string{
		"git@gitlab.com:gcl/test-hest.git":          "gcl/test-hest",
		"https://gitlab.com/gcl/test-project.git":   "gcl/test-project",
		"git@gitlab.com:test-group/sub/project.git": "test-group/sub/project",
		"ssh://git@gitlab.com:22/group/project.git": "group/project",
		"": "",
	} {
		if got := corpus.ProjectPath(remote); got != want {
			t.Errorf("ProjectPath(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestReadShared(t *testing.T) {
	b := corpus.ReadShared(t, "corpus/gitlab-ci-local/README.md")
	if len(b) == 0 {
		t.Error("ReadShared of the corpus README: empty")
	}
}
