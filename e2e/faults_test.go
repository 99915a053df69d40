package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/runner/config"
)

// tickScript prints a line every half second until the file at path
// exists (at most limit), so that the runner keeps talking to the server
// (trace patches) while the job runs.
func tickScript(path string, limit time.Duration) string {
	return fmt.Sprintf(`i=0; while [ ! -e %q ] && [ $i -lt %d ]; do echo "tick $i"; sleep 0.5; i=$((i+1)); done`,
		path, int(limit/(500*time.Millisecond)))
}

// TestRunnerKilledMidJob: a runner SIGKILLed while its job runs goes
// silent; the server fails the job with runner_system_failure after
// --ci-runner-silent-timeout, retry: re-queues it, and a restarted runner
// runs the new attempt.
func TestRunnerKilledMidJob(t *testing.T) {
	t.Parallel()
	srv := startCIServer(t, "--ci-runner-silent-timeout", "8s")
	rn := srv.startRunner(t, runnerOpts{})
	dir := t.TempDir()
	marker, stop := filepath.Join(dir, "started"), filepath.Join(dir, "stop")
	t.Cleanup(func() { os.WriteFile(stop, nil, 0o644) }) // ends the orphaned script
	yaml := fmt.Sprintf(`build:
  script:
    - if [ -e %[1]q ]; then echo "second attempt"; exit 0; fi
    - touch %[1]q
    - %[2]s
  retry:
    max: 1
    when: runner_system_failure
`, marker, tickScript(stop, 2*time.Minute))
	p := srv.project(t, "killed")
	pl := srv.pipelineFor(t, p.ID, srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": yaml}))
	first := srv.waitJob(t, p.ID, pl.ID, "build", 30*time.Second, "running")
	srv.eventually(t, 30*time.Second, "the job's script to start", func() bool { _, err := os.Stat(marker); return err == nil })
	time.Sleep(4 * time.Second) // longer than the trace interval: the runner is seen alive
	if j, _, err := srv.api.Jobs.GetJob(p.ID, first.ID); err != nil || j.Status != "running" {
		t.Fatalf("before the kill, the job is %v (%v): a live runner must keep it running", j.Status, err)
	}
	rn.kill()

	srv.eventually(t, 30*time.Second, "the silent job to fail", func() bool {
		j, _, err := srv.api.Jobs.GetJob(p.ID, first.ID)
		return err == nil && j.Status == "failed"
	})
	failed, _, _ := srv.api.Jobs.GetJob(p.ID, first.ID)
	if failed.FailureReason != "runner_system_failure" {
		t.Errorf("failure reason %q, want runner_system_failure", failed.FailureReason)
	}
	retry := srv.waitJob(t, p.ID, pl.ID, "build", 10*time.Second, "pending")
	if retry.ID == first.ID {
		t.Fatal("no new attempt")
	}

	rn.start(t)
	t.Cleanup(func() {
		if t.Failed() {
			for name, j := range srv.jobs(t, p.ID, pl.ID) {
				t.Logf("%s %d %s %s\n%s", name, j.ID, j.Status, j.FailureReason, srv.trace(t, p.ID, j.ID))
			}
			t.Logf("runner:\n%s", rn.Output())
		}
	})
	srv.waitPipeline(t, p.ID, pl.ID, 30*time.Second, "success")
	checkLog(t, srv.trace(t, p.ID, retry.ID), []string{"second attempt", "Job succeeded"}, nil)
}

// TestServerDownMidJob: the server goes away for 20 s while a job prints
// lines; the runner keeps the job, buffers its log and, once the server is
// back, completes it: every line arrives once, in order.
func TestServerDownMidJob(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SIGKILL and restart", "SIGSTOP and SIGCONT"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			srv := startCIServer(t)
			srv.startRunner(t, runnerOpts{})
			const lines = 140 // 35 s of output
			yaml := fmt.Sprintf("build:\n  script:\n    - for i in $(seq 1 %d); do echo \"line $i\"; sleep 0.25; done\n", lines)
			p := srv.project(t, "outage")
			pl := srv.pipelineFor(t, p.ID, srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": yaml}))
			job := srv.waitJob(t, p.ID, pl.ID, "build", 30*time.Second, "running")
			srv.eventually(t, 30*time.Second, "the log to start", func() bool {
				return bytes.Contains(srv.trace(t, p.ID, job.ID), []byte("line 5\n"))
			})
			if how == "SIGKILL and restart" {
				srv.kill()
				time.Sleep(20 * time.Second)
				srv.restart(t)
			} else {
				srv.cmd.Process.Signal(syscall.SIGSTOP)
				time.Sleep(20 * time.Second)
				srv.cmd.Process.Signal(syscall.SIGCONT)
			}
			if pl := srv.waitPipeline(t, p.ID, pl.ID, 2*time.Minute, "success", "failed"); pl.Status != "success" {
				t.Fatalf("pipeline %s:\n%s", pl.Status, srv.trace(t, p.ID, job.ID))
			}
			log := srv.trace(t, p.ID, job.ID)
			checkSequence(t, log, `01O line (\d+)$`, lines)
			checkLog(t, log, []string{"Job succeeded"}, nil)
		})
	}
}

// checkSequence asserts that the lines of log matching re (its group is a
// number) count 1..n, each once, in order.
func checkSequence(t *testing.T, log []byte, re string, n int) {
	t.Helper()
	next, err := sequence(bytes.NewReader(log), regexp.MustCompile(re))
	if err != nil || next != n+1 {
		t.Errorf("log sequence ends at %d (%v), want 1..%d:\n%s", next-1, err, n, tail(string(log), 3000))
	}
}

// sequence reads lines and checks that those matching re number 1, 2, 3…;
// it returns the next number expected.
func sequence(r interface{ Read([]byte) (int, error) }, re *regexp.Regexp) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next := 1
	for sc.Scan() {
		m := re.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != next {
			return next, fmt.Errorf("line %d where %d was due", got, next)
		}
		next++
	}
	return next, sc.Err()
}

// TestHugeLog streams a big job log (GANTRY_E2E_LOG_MB of output, default
// 8) through runner and server and reads it back through the API: every
// line arrives, once, in order.
func TestHugeLog(t *testing.T) {
	t.Parallel()
	mb := 8
	if v := os.Getenv("GANTRY_E2E_LOG_MB"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil || mb <= 0 {
			t.Fatalf("GANTRY_E2E_LOG_MB=%q: want a positive number", v)
		}
	}
	const lineLen = 100 // bytes of output per line, newline included
	lines := mb << 20 / lineLen
	limit := 2*(mb<<20) + 16<<20 // stored lines also carry a timestamp prefix
	srv := startCIServer(t, "--ci-max-trace-size", strconv.Itoa(limit))
	srv.startRunner(t, runnerOpts{tune: func(c *config.Config) { c.Runners[0].OutputLimit = limit >> 10 }})
	yaml := fmt.Sprintf(`build:
  script:
    - awk 'BEGIN { pad = sprintf("%%089d", 0); for (i = 1; i <= %d; i++) printf "%%09d %%s\n", i, pad }'
`, lines)
	p := srv.project(t, "huge")
	start := time.Now()
	pl := srv.pipelineFor(t, p.ID, srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": yaml}))
	final := srv.waitPipeline(t, p.ID, pl.ID, time.Duration(mb)*time.Second+2*time.Minute, "success", "failed")
	elapsed := time.Since(start)
	job := srv.jobs(t, p.ID, pl.ID)["build"]
	if final.Status != "success" {
		t.Fatalf("pipeline %s (%s)", final.Status, job.FailureReason)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/trace", srv.URL, p.ID, job.ID), nil)
	req.Header.Set("PRIVATE-TOKEN", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	counted := &countingReader{r: resp.Body}
	next, err := sequence(counted, regexp.MustCompile(`01O (\d{9}) 0{89}$`))
	if err != nil || next != lines+1 {
		t.Fatalf("log read back ends at line %d of %d: %v", next-1, lines, err)
	}
	t.Logf("%d MiB of output (%d lines) in %v; stored log %d bytes", mb, lines, elapsed.Round(time.Millisecond), counted.n)
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// TestCancelDuringScript: a job canceled through the API while its script
// runs stops gracefully: after_script runs (and sees canceled), when:
// always artifacts are uploaded, and the job ends canceled.
func TestCancelDuringScript(t *testing.T) {
	t.Parallel()
	srv := startCIServer(t)
	srv.startRunner(t, runnerOpts{})
	stop := filepath.Join(t.TempDir(), "stop")
	t.Cleanup(func() { os.WriteFile(stop, nil, 0o644) })
	yaml := fmt.Sprintf(`slow:
  script:
    - echo "kept whatever happens" > always.txt
    - echo "script started"
    - %s
    - echo "script finished"
  after_script:
    - echo "after_script saw $CI_JOB_STATUS"
  artifacts:
    when: always
    paths: [always.txt]
`, tickScript(stop, 2*time.Minute))
	p := srv.project(t, "cancel")
	pl := srv.pipelineFor(t, p.ID, srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": yaml}))
	job := srv.waitJob(t, p.ID, pl.ID, "slow", 30*time.Second, "running")
	srv.eventually(t, 30*time.Second, "the script to start", func() bool {
		return bytes.Contains(srv.trace(t, p.ID, job.ID), []byte("01O script started\n"))
	})
	if _, _, err := srv.api.Jobs.CancelJob(p.ID, job.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	var done *gl.Job
	srv.eventually(t, time.Minute, "the job to end", func() bool {
		var err error
		done, _, err = srv.api.Jobs.GetJob(p.ID, job.ID)
		return err == nil && done.Status != "running" && done.Status != "canceling"
	})
	log := srv.trace(t, p.ID, job.ID)
	if done.Status != "canceled" {
		t.Errorf("job is %s, want canceled:\n%s", done.Status, log)
	}
	checkLog(t, log, []string{"after_script saw canceled", "Uploading artifacts for failed job"}, []string{"01O script finished"})
	if got := srv.artifacts(t, p.ID, job.ID); got["always.txt"] != "kept whatever happens\n" {
		t.Errorf("artifacts = %q", got)
	}
}
