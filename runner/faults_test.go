package runner_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

func TestArtifactsBetweenJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.srv.ArtifactFailures = 2 // the upload is retried
	a := h.run(t, runnertest.Spec{ID: 1, Name: "build", Script: []string{"mkdir -p dist", "echo built-by-1 > dist/dep.txt"},
		Artifacts: []gitlab.JobArtifact{{Name: "artifacts", Paths: []string{"dist"}, When: "on_success", ArtifactType: "archive", ArtifactFormat: "zip"}}})
	if a.State != "success" || len(a.Artifacts) != 1 || !bytes.Contains(a.Trace, []byte("retrying")) {
		t.Fatalf("build: %s, %d artifacts\n%s", a.State, len(a.Artifacts), a.Trace)
	}
	b := h.run(t, runnertest.Spec{ID: 2, Name: "use", Script: []string{"cat dist/dep.txt"},
		Deps: []gitlab.JobDependency{{ID: 1, Name: "build", ArtifactsFile: gitlab.JobArtifactsFile{Filename: "artifacts.zip", Size: int64(len(a.Artifacts[0].Data))}}}})
	if b.State != "success" || !strings.Contains(string(b.Trace), "01O built-by-1\n") {
		t.Fatalf("use: %s\n%s", b.State, b.Trace)
	}
	if !contains(sections(b.Trace), "download_artifacts") {
		t.Errorf("no download_artifacts section: %q", sections(b.Trace))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCacheUsedTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cache := []gitlab.JobCache{{Key: "deps-$CI_COMMIT_REF_NAME", Paths: []string{"vendor"}, Policy: "pull-push", When: "on_success"}}
	first := h.run(t, runnertest.Spec{ID: 1, Cache: cache, Script: []string{"test ! -e vendor/lib.txt", "mkdir -p vendor", "echo cached > vendor/lib.txt"}})
	if first.State != "success" {
		t.Fatalf("first: %s\n%s", first.State, first.Trace)
	}
	if !bytes.Contains(first.Trace, []byte("Created cache")) {
		t.Errorf("first job did not save the cache:\n%s", first.Trace)
	}
	// A clone strategy wipes the checkout, so only the cache can bring it back.
	second := h.run(t, runnertest.Spec{ID: 2, Cache: cache, Script: []string{"cat vendor/lib.txt"},
		Variables: []gitlab.JobVariable{{Key: "GIT_STRATEGY", Value: "clone"}}})
	if second.State != "success" || !bytes.Contains(second.Trace, []byte("01O cached\n")) {
		t.Fatalf("second: %s\n%s", second.State, second.Trace)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "cache", "group", "project", "deps-main", "cache.zip")); err != nil {
		t.Errorf("cache file: %v", err)
	}
	// Fallback keys: a new key falls back to the old one.
	third := h.run(t, runnertest.Spec{ID: 3, Script: []string{"cat vendor/lib.txt"},
		Variables: []gitlab.JobVariable{{Key: "GIT_STRATEGY", Value: "clone"}},
		Cache:     []gitlab.JobCache{{Key: "other", FallbackKeys: []string{"deps-main"}, Paths: []string{"vendor"}, Policy: "pull"}}})
	if third.State != "success" {
		t.Fatalf("fallback: %s\n%s", third.State, third.Trace)
	}
}

func TestBadCacheKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for i, key := range []string{"../escape", "a/b", "..", "%2e%2e"} {
		j := h.run(t, runnertest.Spec{ID: int64(10 + i), Script: []string{"mkdir -p v", "echo x > v/f"},
			Cache: []gitlab.JobCache{{Key: key, Paths: []string{"v"}, Policy: "pull-push"}}})
		if j.State != "success" {
			t.Errorf("key %q: job %s", key, j.State)
		}
		if !bytes.Contains(j.Trace, []byte("cache key")) {
			t.Errorf("key %q: no warning in the log:\n%s", key, j.Trace)
		}
	}
	// Nothing may appear beside the cache dir.
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if e.Name() != "builds" && e.Name() != "cache" {
			t.Errorf("unexpected %s in the working directory", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "cache")); err == nil {
		t.Errorf("a cache was written for an invalid key")
	}
}

func TestZipSlipRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("../../../../evil.txt")
	w.Write([]byte("pwned"))
	zw.Close()
	h.srv.SetArtifact(900, "artifacts.zip", buf.Bytes())
	j := h.run(t, runnertest.Spec{ID: 3, Script: []string{"echo should-not-run"},
		Deps: []gitlab.JobDependency{{ID: 900, Name: "evil", ArtifactsFile: gitlab.JobArtifactsFile{Filename: "artifacts.zip"}}}})
	if j.State != "failed" {
		t.Fatalf("state %s", j.State)
	}
	if !bytes.Contains(j.Trace, []byte("leaves the target directory")) {
		t.Errorf("no clear error:\n%s", j.Trace)
	}
	if bytes.Contains(j.Trace, []byte("01O should-not-run")) {
		t.Errorf("script ran after a bad dependency")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "evil.txt")); err == nil {
		t.Errorf("zip slip wrote outside the build dir")
	}
	filepath.Walk(filepath.Dir(h.dir), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "evil.txt" {
			t.Errorf("zip slip wrote %s", p)
		}
		return nil
	})
}

func TestScriptFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	j := h.run(t, runnertest.Spec{ID: 103, Script: []string{"echo failing", "echo partial > out.txt", "exit 3", "echo never"},
		AfterScript: []string{`echo "after status=$CI_JOB_STATUS"`},
		Artifacts:   []gitlab.JobArtifact{{Name: "fail-art", Paths: []string{"out.txt"}, When: "on_failure", ArtifactType: "archive", ArtifactFormat: "zip"}}})
	if j.State != "failed" {
		t.Fatalf("state %s", j.State)
	}
	checkLog(t, j)
	final := j.Updates[len(j.Updates)-1]
	if final.ExitCode != 3 || final.FailureReason != "script_failure" || final.State != "failed" {
		t.Errorf("final update %+v", final)
	}
	trace := string(j.Trace)
	for _, want := range []string{"after status=failed", "ERROR: Job failed: exit status 3", "upload_artifacts_on_failure"} {
		if !strings.Contains(trace, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(trace, "01O never") {
		t.Error("script continued after exit 3")
	}
	if len(j.Artifacts) != 1 || j.Artifacts[0].Filename != "fail-art.zip" {
		t.Errorf("artifacts %v", j.Artifacts)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	j := h.run(t, runnertest.Spec{ID: 4, Timeout: 2, Script: []string{"echo start", "sleep 30", "echo never"}, AfterScript: []string{`echo "after status=$CI_JOB_STATUS"`}})
	final := j.Updates[len(j.Updates)-1]
	if j.State != "failed" || final.FailureReason != "job_execution_timeout" {
		t.Fatalf("state %s final %+v\n%s", j.State, final, j.Trace)
	}
	if !bytes.Contains(j.Trace, []byte("after status=failed")) || !bytes.Contains(j.Trace, []byte("execution took longer than 2s")) {
		t.Errorf("log:\n%s", j.Trace)
	}
}

func TestGracefulCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	p := h.srv.Payload(runnertest.Spec{ID: 104, Sha: h.sha,
		Script:      []string{"echo partial > out.txt", "for i in $(seq 1 60); do echo tick $i; sleep 1; done"},
		AfterScript: []string{`echo "after status=$CI_JOB_STATUS"`},
		Artifacts:   []gitlab.JobArtifact{{Name: "always-art", Paths: []string{"out.txt"}, When: "always", ArtifactType: "archive", ArtifactFormat: "zip"}}})
	h.srv.Enqueue(p)
	waitFor(t, func() bool { return bytes.Contains(h.srv.Job(104).Trace, []byte("tick 2")) })
	h.srv.Cancel(104, true)
	j := h.srv.Wait(104, waitJob)
	if j.State != "canceled" {
		t.Fatalf("state %s", j.State)
	}
	final := j.Updates[len(j.Updates)-1]
	if final.State != "failed" || final.FailureReason != "unknown_failure" {
		t.Errorf("final update %+v", final)
	}
	trace := string(j.Trace)
	for _, want := range []string{"script canceled externally", "after status=canceled", "ERROR: Job failed: canceled"} {
		if !strings.Contains(trace, want) {
			t.Errorf("log lacks %q:\n%s", want, trace)
		}
	}
	if strings.Contains(trace, "tick 30") {
		t.Error("script was not stopped")
	}
	if len(j.Artifacts) != 1 || j.Artifacts[0].Filename != "always-art.zip" {
		t.Errorf("when:always artifacts not uploaded: %v", j.Artifacts)
	}
}

func TestHardCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: 6, Sha: h.sha, Script: []string{"for i in $(seq 1 60); do echo tick $i; sleep 1; done"}, AfterScript: []string{"echo after-ran"}}))
	waitFor(t, func() bool { return bytes.Contains(h.srv.Job(6).Trace, []byte("tick 1")) })
	h.srv.Cancel(6, false)
	// The runner must stop the script and not run after_script; it then
	// asks for new jobs, which proves it is free again.
	next := h.run(t, runnertest.Spec{ID: 7, Script: []string{"echo next"}})
	if next.State != "success" {
		t.Fatalf("next job: %s", next.State)
	}
	if bytes.Contains(h.srv.Job(6).Trace, []byte("after-ran")) {
		t.Error("after_script ran after a hard cancel")
	}
}

func TestTrace416Resend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.srv.Fail416Once = true
	j := h.run(t, runnertest.Spec{ID: 102, Script: []string{"for i in 1 2 3 4; do echo tick $i; sleep 1; done"}})
	if j.State != "success" {
		t.Fatalf("state %s", j.State)
	}
	checkLog(t, j)
	got416 := false
	for _, e := range h.srv.Exchanges() {
		if e.Method == "PATCH" && e.Header.Get("Content-Range") != "" && strings.HasPrefix(e.Header.Get("Content-Range"), "0-") && got416 {
			break
		}
		if e.Method == "PATCH" && !strings.HasPrefix(e.Header.Get("Content-Range"), "0-") {
			got416 = true
		}
	}
	if !got416 || !bytes.HasPrefix(j.Trace, []byte(time.Now().UTC().Format("2006-"))) || !bytes.Contains(j.Trace, []byte("tick 4")) {
		t.Errorf("416 path not exercised or log incomplete (patches %v)\n%s", j.Patches, j.Trace)
	}
}

func TestServerOutage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: 8, Sha: h.sha, Script: []string{"for i in $(seq 1 6); do echo tick $i; sleep 1; done", "echo done"}}))
	waitFor(t, func() bool { return bytes.Contains(h.srv.Job(8).Trace, []byte("tick 1")) })
	h.srv.SetDown(true)
	time.Sleep(outage())
	h.srv.SetDown(false)
	j := h.srv.Wait(8, waitJob+outage())
	if j.State != "success" {
		t.Fatalf("state %s", j.State)
	}
	checkLog(t, j)
	for i := 1; i <= 6; i++ {
		if !bytes.Contains(j.Trace, []byte("tick "+strconv.Itoa(i)+"\n")) {
			t.Errorf("tick %d lost", i)
		}
	}
}

// outage is how long TestServerOutage keeps the server down
// (GANTRY_TEST_OUTAGE, default 8s; the acceptance run used 20s).
func outage() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("GANTRY_TEST_OUTAGE")); err == nil {
		return d
	}
	return 8 * time.Second
}

// TestLargeLog streams GANTRY_TEST_LOG_MB megabytes (default 8) of output.
func TestLargeLog(t *testing.T) {
	t.Parallel()
	mb := 8
	if n, err := strconv.Atoi(os.Getenv("GANTRY_TEST_LOG_MB")); err == nil && n > 0 {
		mb = n
	}
	h := newHarness(t, func(c *config.Config) { c.Runners[0].OutputLimit = (mb + 16) * 1024 * 2 })
	lines := mb * 1024 * 1024 / 64
	j := h.srv.Wait(h.srv.Enqueue(h.srv.Payload(runnertest.Spec{ID: 9, Sha: h.sha,
		Script: []string{fmt.Sprintf("seq -f 'line %%010.0f %s' 1 %d", strings.Repeat("x", 40), lines)}})).Payload.ID, 10*time.Minute)
	if j.State != "success" {
		t.Fatalf("state %s", j.State)
	}
	checkLog(t, j)
	t.Logf("streamed %d bytes of log in %d patches", len(j.Trace), len(j.Patches))
	last := fmt.Sprintf("line %010d %s\n", lines, strings.Repeat("x", 40))
	if !bytes.Contains(j.Trace, []byte(last)) {
		t.Errorf("last line %q missing", last)
	}
	if n := bytes.Count(j.Trace, []byte(" 01O line ")); n != lines {
		t.Errorf("%d lines arrived, want %d", n, lines)
	}
}

func TestBadPayloads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// Missing sha: the runner fails the job on the server with a clear reason.
	bad := h.srv.Payload(runnertest.Spec{ID: 20, Sha: "", Script: []string{"true"}})
	h.srv.Enqueue(bad)
	j := h.srv.Wait(20, waitJob)
	if j.State != "failed" || j.Updates[len(j.Updates)-1].FailureReason != "runner_system_failure" || !bytes.Contains(j.Trace, []byte("git_info.sha")) {
		t.Errorf("missing sha: state %s updates %+v trace %q", j.State, j.Updates, j.Trace)
	}
	// Wrong types: not even the id can be read; the runner logs and goes on.
	h.srv.EnqueueRaw(21, []byte(`{"id":"twenty-one","token":5}`))
	h.srv.EnqueueRaw(22, []byte(`not json`))
	ok := h.run(t, runnertest.Spec{ID: 23, Script: []string{"echo fine"}})
	if ok.State != "success" {
		t.Errorf("runner did not recover: %s", ok.State)
	}
	// Features this runner does not have fail the job with a clear message.
	steps := h.srv.Payload(runnertest.Spec{ID: 25, Sha: h.sha, Script: []string{"true"}})
	steps.Run = `[{"name":"x","script":"echo"}]`
	h.srv.Enqueue(steps)
	if j := h.srv.Wait(25, waitJob); j.State != "failed" || !bytes.Contains(j.Trace, []byte("run keyword")) {
		t.Errorf("run keyword: %s\n%s", j.State, j.Trace)
	}
	// A project path that tries to leave the builds dir falls back to project-<id>.
	esc := h.srv.Payload(runnertest.Spec{ID: 24, Sha: h.sha, Script: []string{"pwd"}})
	esc.JobInfo.ProjectFullPath = "../../etc"
	h.srv.Enqueue(esc)
	e := h.srv.Wait(24, waitJob)
	if e.State != "success" || !bytes.Contains(e.Trace, []byte(filepath.Join(h.dir, "builds"))) {
		t.Errorf("escaping path: %s\n%s", e.State, e.Trace)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitJob)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A silent job sends keep-alive updates (state running, with the log's
// checksum so far), as task3-silent-job.jsonl shows; the harness sets the
// silence threshold to 2 s instead of 30 s.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	j := h.run(t, runnertest.Spec{ID: 105, Script: []string{"echo before-silence", "sleep 6", "echo after-silence"}})
	if j.State != "success" {
		t.Fatalf("state %s", j.State)
	}
	keepAlives := 0
	for _, u := range j.Updates[1 : len(j.Updates)-1] {
		if u.State == "running" && u.Output.Checksum != "" && u.Output.Bytesize > 0 {
			keepAlives++
		}
	}
	if keepAlives == 0 {
		t.Errorf("no keep-alive among %d updates", len(j.Updates))
	}
	// Later job requests carry the last X-GitLab-Last-Update: once idle, the
	// runner long-polls with it and the new job wakes that request.
	waitFor(t, func() bool {
		for _, e := range h.srv.Exchanges() {
			if e.Path == "/api/v4/jobs/request" && e.Status == 204 {
				return true
			}
		}
		return false
	})
	time.Sleep(1500 * time.Millisecond) // check_interval after the first 204
	if j := h.run(t, runnertest.Spec{ID: 106, Script: []string{"true"}}); j.State != "success" {
		t.Fatalf("second job: %s", j.State)
	}
	withLastUpdate := false
	for _, e := range h.srv.Exchanges() {
		withLastUpdate = withLastUpdate || e.Path == "/api/v4/jobs/request" && bytes.Contains(e.Body, []byte(`"last_update":"v`))
	}
	if !withLastUpdate {
		t.Error("no job request sent last_update")
	}
}
