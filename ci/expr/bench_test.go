package expr

import "testing"

var benchVars = mapLookup(map[string]string{
	"CI_COMMIT_BRANCH":   "main",
	"CI_DEFAULT_BRANCH":  "main",
	"CI_PIPELINE_SOURCE": "web",
	"CI_COMMIT_REF_NAME": "main",
	"PROD_REF":           "/^(master|main)$/",
})

func benchmarkEvaluate(b *testing.B, src string, want bool) {
	e, err := Parse(src)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if e.Evaluate(benchVars) != want {
			b.Fatal("wrong verdict")
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	benchmarkEvaluate(b, `$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE =~ /push|web/`, true)
}

func BenchmarkEvaluateVariablePattern(b *testing.B) {
	benchmarkEvaluate(b, `$CI_COMMIT_REF_NAME =~ $PROD_REF`, true)
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(`$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE =~ /push|web/`); err != nil {
			b.Fatal(err)
		}
	}
}
