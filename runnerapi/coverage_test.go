package runnerapi_test

import (
	"testing"
	"time"
)

// TestCoverageFromLog: a job with a coverage: regex gets its coverage from
// its log when the runner reports the end, as GitLab does; one without a
// matching line has none.
func TestCoverageFromLog(t *testing.T) {
	e := newEnv(t)
	e.push(map[string]string{".gitlab-ci.yml": "test:\n  coverage: /^\\s*Lines:\\s*(\\d+.\\d+)\\%/\n  script: [x]\n" +
		"other:\n  coverage: '/Branches: (\\d+)%/'\n  script: [x]\n"})
	p := e.pipeline()
	for range 2 {
		job := e.runner.WaitJob(t, 10*time.Second)
		e.run(job, "2026-01-02T03:04:05.000000Z 01O   Lines:   48.46% (510/650)\n"+
			"2026-01-02T03:04:05.000000Z 01O   Lines:   78.46% (510/650)\n", "success", 0)
	}
	jobs := e.jobs(p.ID)
	if got := jobs["test"].Coverage; got != 78.46 {
		t.Errorf("coverage of test = %v, want 78.46 (the last match)", got)
	}
	if got := jobs["other"].Coverage; got != 0 {
		t.Errorf("coverage of other = %v, want none", got)
	}
}
