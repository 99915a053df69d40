package ci_test

import (
	"testing"

	"github.com/gantry-ci/gantry/ci"
)

// TestEnvironmentSlug: CI_ENVIRONMENT_SLUG follows GitLab: lowercase,
// [a-z0-9-], starts with a letter, no repeated dashes, at most 24
// characters; a name that had to change gets its first 17 characters and
// a 6-character suffix from the SHA-256 of the name.
func TestEnvironmentSlug(t *testing.T) {
	for name, want := range map[string]string{
		"dev-domain":                      "dev-domain",
		"production":                      "production",
		"Stage Domain":                    "stage-domain-ip33nk",
		"stage-domain-foobar-long-string": "stage-domain-foob-yafktx",
		"review/feature-1":                "review-feature-1-1q251u",
		"123":                             "env-123-7j7izn",
	} {
		got := ""
		for _, v := range ci.JobPredefined(&ci.Job{Name: "j", Stage: "test", Environment: &ci.Environment{Name: name}}) {
			if v.Key == "CI_ENVIRONMENT_SLUG" {
				got = v.Value
			}
		}
		if got != want {
			t.Errorf("slug of %q = %q, want %q", name, got, want)
		}
	}
}
