package ci_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/ci"
)

func TestPredefined(t *testing.T) {
	opts := ci.Options{
		Project:         ci.Project{ID: 42, Path: "Group/Sub/My_Project", Visibility: "private"},
		ServerURL:       "http://gantry.local:8080/",
		Ref:             "feature/Ünïcode-Branch_1",
		SHA:             "0123456789abcdef0123456789abcdef01234567",
		CommitMessage:   "Title line\n\nBody text",
		CommitAuthor:    "Ada <ada@example.com>",
		CommitTimestamp: time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		Source:          "web",
		DefaultBranch:   "main",
		User:            ci.User{ID: 3, Login: "ada", Name: "Ada", Email: "ada@example.com"},
	}
	got := map[string]string{}
	for _, v := range ci.Predefined(opts) {
		got[v.Key] = v.Value
	}
	want := map[string]string{
		"CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes",
		"CI_SERVER_URL": "http://gantry.local:8080", "CI_SERVER_HOST": "gantry.local",
		"CI_SERVER_PORT": "8080", "CI_SERVER_PROTOCOL": "http", "CI_SERVER_NAME": "Gantry",
		"CI_API_V4_URL": "http://gantry.local:8080/api/v4", "CI_API_GRAPHQL_URL": "http://gantry.local:8080/api/graphql",
		"CI_PROJECT_URL": "http://gantry.local:8080/Group/Sub/My_Project",
		"CI_PROJECT_ID":  "42", "CI_PROJECT_NAME": "My_Project", "CI_PROJECT_TITLE": "My_Project",
		"CI_PROJECT_PATH": "Group/Sub/My_Project", "CI_PROJECT_PATH_SLUG": "group-sub-my-project",
		"CI_PROJECT_NAMESPACE": "Group/Sub", "CI_PROJECT_ROOT_NAMESPACE": "Group",
		"CI_PROJECT_VISIBILITY": "private", "CI_DEFAULT_BRANCH": "main", "CI_CONFIG_PATH": ".gitlab-ci.yml",
		"CI_PIPELINE_SOURCE": "web",
		"CI_COMMIT_SHA":      "0123456789abcdef0123456789abcdef01234567", "CI_COMMIT_SHORT_SHA": "01234567",
		"CI_COMMIT_BEFORE_SHA": "0000000000000000000000000000000000000000",
		"CI_COMMIT_REF_NAME":   "feature/Ünïcode-Branch_1", "CI_COMMIT_REF_SLUG": "feature--n-code-branch-1",
		"CI_COMMIT_BRANCH": "feature/Ünïcode-Branch_1", "CI_COMMIT_REF_PROTECTED": "false",
		"CI_COMMIT_MESSAGE": "Title line\n\nBody text", "CI_COMMIT_TITLE": "Title line",
		"CI_COMMIT_DESCRIPTION": "Body text", "CI_COMMIT_AUTHOR": "Ada <ada@example.com>",
		"CI_COMMIT_TIMESTAMP": "2026-03-04T05:06:07+01:00",
		"GITLAB_USER_ID":      "3", "GITLAB_USER_LOGIN": "ada", "GITLAB_USER_NAME": "Ada", "GITLAB_USER_EMAIL": "ada@example.com",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Predefined (-want +got):\n%s", d)
	}

	opts.Tag, opts.Ref = true, "v1.2.3"
	tag := map[string]string{}
	for _, v := range ci.Predefined(opts) {
		tag[v.Key] = v.Value
	}
	if tag["CI_COMMIT_TAG"] != "v1.2.3" || tag["CI_COMMIT_BRANCH"] != "" {
		t.Errorf("tag pipeline: CI_COMMIT_TAG=%q CI_COMMIT_BRANCH=%q", tag["CI_COMMIT_TAG"], tag["CI_COMMIT_BRANCH"])
	}
}

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"main":                         "main",
		"Feature/ABC_12":               "feature-abc-12",
		"--x--":                        "x",
		"a: [b, c]":                    "a---b--c",
		"":                             "",
		"a" + string(make([]byte, 70)): "a",
	}
	long := ""
	for i := 0; i < 70; i++ {
		long += "b"
	}
	tests[long] = long[:63]
	for in, want := range tests {
		if got := ci.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJobPredefined(t *testing.T) {
	j := &ci.Job{Name: "test: [linux, amd64]", Stage: "test", When: "manual",
		Parallel:    &ci.Parallel{Index: 2, Total: 4},
		Environment: &ci.Environment{Name: "review/feature", Action: "start", URL: "https://x"}}
	got := map[string]string{}
	for _, v := range ci.JobPredefined(j) {
		got[v.Key] = v.Value
	}
	want := map[string]string{
		"CI_JOB_NAME": "test: [linux, amd64]", "CI_JOB_NAME_SLUG": "test---linux--amd64", "CI_JOB_STAGE": "test",
		"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4", "CI_JOB_MANUAL": "true",
		"CI_ENVIRONMENT_NAME": "review/feature", "CI_ENVIRONMENT_SLUG": "review-feature-3v0q3s",
		"CI_ENVIRONMENT_ACTION": "start", "CI_ENVIRONMENT_URL": "https://x",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JobPredefined (-want +got):\n%s", d)
	}
}
