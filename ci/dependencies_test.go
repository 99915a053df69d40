package ci_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/ci"
)

// TestDependenciesAndNeedsArtifacts: with needs, an explicit dependencies
// list only downloads from needs that keep artifacts (GitLab intersects
// the two); needs: {artifacts: false} wins over dependencies.
func TestDependenciesAndNeedsArtifacts(t *testing.T) {
	src := `one:
  script: [touch one.txt]
  artifacts: {paths: [one.txt]}
two:
  script: [touch two.txt]
  artifacts: {paths: [two.txt]}
both:
  needs: [{job: one, artifacts: false}, {job: two}]
  dependencies: [two, one]
  script: [x]
implicit:
  needs: [{job: one, artifacts: false}, two]
  script: [x]
`
	plan, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, j := range plan.Jobs {
		if j.Name == "both" || j.Name == "implicit" {
			got[j.Name] = j.Dependencies
		}
	}
	want := map[string][]string{"both": {"two"}, "implicit": {"two"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
}
