package ci_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/ci"
)

// TestCacheKeyFilesExpandVariables: cache:key:files names may use
// variables; the server hashes the files they name, so the compiler
// expands them (two jobs naming the same file differently share a cache).
func TestCacheKeyFilesExpandVariables(t *testing.T) {
	src := `variables:
  PACKAGE: package.json
produce:
  cache: {key: {files: [$PACKAGE, lock.json]}, paths: [deps]}
  script: [x]
consume:
  cache: {key: {files: [package.json, "${LOCK}"]}, paths: [deps]}
  variables: {LOCK: lock.json}
  script: [x]
`
	plan, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range plan.Jobs {
		if len(j.Cache) != 1 {
			t.Fatalf("%s: %d caches", j.Name, len(j.Cache))
		}
		if diff := cmp.Diff([]string{"package.json", "lock.json"}, j.Cache[0].KeyFiles); diff != "" {
			t.Errorf("%s key files (-want +got):\n%s", j.Name, diff)
		}
	}
}
