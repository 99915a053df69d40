package ci_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/ci"
)

// pipeline1000 generates a 1,000-job configuration in the shape large
// monorepos have: templates combined with extends, rules on every job,
// needs on the previous stage, variables and a few parallel jobs.
func pipeline1000() []byte {
	var b strings.Builder
	b.WriteString("stages: [build, test, package, deploy, verify]\n")
	b.WriteString("variables:\n  GLOBAL: g\n  REGISTRY: registry.example.com\n")
	b.WriteString("default:\n  image: golang:1.26\n  tags: [docker]\n  retry: 1\n")
	b.WriteString(".base:\n  before_script: [echo setup]\n  variables: {BASE: base}\n  artifacts: {paths: [out/], expire_in: 1 day}\n")
	b.WriteString(".rules:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: never\n")
	b.WriteString("    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG\n    - changes: [src/**/*]\n      when: manual\n")
	stages := []string{"build", "test", "package", "deploy", "verify"}
	for i := 0; i < 1000; i++ {
		st := i % 5
		fmt.Fprintf(&b, "job-%d:\n  extends: [.base, .rules]\n  stage: %s\n", i, stages[st])
		fmt.Fprintf(&b, "  variables: {INDEX: \"%d\", NAME: job-%d}\n", i, i)
		fmt.Fprintf(&b, "  script:\n    - make target-%d\n    - ./check $INDEX\n", i)
		if st > 0 {
			fmt.Fprintf(&b, "  needs: [job-%d]\n", i-1)
		}
		if i%100 == 0 {
			b.WriteString("  environment: {name: env/$NAME, url: https://$NAME.example.com}\n")
		}
	}
	return []byte(b.String())
}

// BenchmarkCompile1000Jobs is the push-time cost target: at most 50 ms and
// 50 MB allocated per compilation on the reference machine.
func BenchmarkCompile1000Jobs(b *testing.B) {
	src := pipeline1000()
	opts := ci.Options{Ref: "main", DefaultBranch: "main", Source: "push", SHA: strings.Repeat("a", 40),
		Project: ci.Project{ID: 1, Path: "group/monorepo"}, ServerURL: "https://gantry.example.com"}
	plan, err := ci.Compile(b.Context(), src, opts)
	if err != nil {
		b.Fatal(err)
	}
	if len(plan.Jobs) != 1000 {
		b.Fatalf("%d jobs, want 1000", len(plan.Jobs))
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ci.Compile(b.Context(), src, opts); err != nil {
			b.Fatal(err)
		}
	}
}
