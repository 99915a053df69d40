package runner_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/internal/corpus"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

const waitJob = 60 * time.Second

// harness is a fake GitLab with a repo and a running shell runner.
type harness struct {
	srv  *runnertest.Server
	sha  string
	dir  string // runner working directory
	cfg  *config.Config
	stop func()
}

func newHarness(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	srv := runnertest.New(t)
	srv.UpdateInterval = 1
	srv.LongPoll = 5 * time.Second
	sha := srv.Repo("group/project", 7, map[string]string{"README.md": "hello\n", "src/main.txt": "main\n"})
	dir := t.TempDir()
	cfg := &config.Config{Concurrent: 1, CheckInterval: 1, Runners: []*config.Runner{{
		Name: "test", URL: srv.URL, Token: srv.RunnerToken, Executor: "shell",
	}}}
	if mutate != nil {
		mutate(cfg)
	}
	h := &harness{srv: srv, sha: sha, dir: dir, cfg: cfg}
	h.start(t)
	return h
}

func (h *harness) start(t *testing.T) {
	t.Helper()
	h.stop = startRunner(t, h.cfg, h.dir)
}

// startRunner runs a Runner until the test ends; the returned func stops it.
func startRunner(t testing.TB, cfg *config.Config, dir string) func() {
	t.Helper()
	var logger *slog.Logger
	if tt, ok := t.(*testing.T); ok {
		logger = slog.New(slog.NewTextHandler(testWriter{tt}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := runner.New(cfg, runner.Options{WorkDir: dir, Logger: logger, RetryBackoff: 200 * time.Millisecond, KeepAlive: 2 * time.Second})
	if err != nil {
		t.Fatalf("runner.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) run(t *testing.T, sp runnertest.Spec) runnertest.Job {
	t.Helper()
	if sp.Sha == "" {
		sp.Sha = h.sha
	}
	h.srv.Enqueue(h.srv.Payload(sp))
	return h.srv.Wait(sp.ID, waitJob)
}

// checkLog asserts the final update matches the trace the server holds.
func checkLog(t *testing.T, j runnertest.Job) {
	t.Helper()
	if len(j.Updates) == 0 {
		t.Fatal("no job updates")
	}
	final := j.Updates[len(j.Updates)-1]
	want := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(j.Trace))
	if final.Output.Checksum != want || final.Output.Bytesize != int64(len(j.Trace)) || final.Checksum != want {
		t.Errorf("final output %+v checksum %q, server has %d bytes %s", final.Output, final.Checksum, len(j.Trace), want)
	}
}

func sections(trace []byte) []string {
	var out []string
	for _, l := range strings.Split(string(trace), "\n") {
		if i := strings.Index(l, "section_start:"); i >= 0 {
			parts := strings.SplitN(l[i:], ":", 3)
			out = append(out, strings.TrimSuffix(parts[2], "\r\x1b[0K"))
		}
	}
	return out
}

func zipNames(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("artifact is not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		out[f.Name] = b.String()
	}
	return out
}

func TestJobSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	j := h.run(t, runnertest.Spec{
		ID: 101,
		Variables: []gitlab.JobVariable{
			{Key: "MY_VAR", Value: "my value"},
			{Key: "SECRET_VAR", Value: "s3cr3t-value-123", Masked: true},
			{Key: "REF_VAR", Value: "from $MY_VAR"},
			{Key: "RAW_VAR", Value: "keep $MY_VAR", Raw: true},
			{Key: "FILE_VAR", Value: "file content", File: true},
		},
		Script: []string{
			"echo hello",
			`echo "MY_VAR=$MY_VAR secret=$SECRET_VAR ref=$REF_VAR raw=$RAW_VAR"`,
			`echo "file=$(cat "$FILE_VAR")"`,
			"cat README.md",
			"git log --oneline -1",
			"echo out > out.txt; mkdir -p dist; echo d > dist/a.txt; echo x > dist/skip.log",
			`echo "token=$CI_JOB_TOKEN pat=glpat-AbCdEf123456"`,
			`echo "status=$CI_JOB_STATUS"`,
		},
		AfterScript: []string{`echo "after status=$CI_JOB_STATUS"`},
		Artifacts:   []gitlab.JobArtifact{{Name: "myart", Paths: []string{"out.txt", "dist/"}, Exclude: []string{"dist/*.log"}, When: "on_success", ArtifactType: "archive", ArtifactFormat: "zip", ExpireIn: "1 day"}},
	})
	trace := string(j.Trace)
	if j.State != "success" {
		t.Fatalf("state %s\n%s", j.State, trace)
	}
	checkLog(t, j)
	for _, want := range []string{
		"01O hello\n",
		"01O MY_VAR=my value secret=[MASKED] ref=from my value raw=keep $MY_VAR\n",
		"01O file=file content\n",
		"01O hello\n",
		"01O token=[MASKED] pat=glpat-[MASKED]\n",
		"01O after status=success\n",
		"01O status=running\n",
		"out.txt: found 1 matching artifact files and directories",
		"Initialized empty Git repository in ",
		"Job succeeded",
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, leak := range []string{"s3cr3t-value-123", "glcbt-jobtoken101"} {
		if strings.Contains(trace, leak) {
			t.Errorf("log leaks %q", leak)
		}
	}
	wantSections := []string{"prepare_executor", "prepare_script", "get_sources", "step_script", "after_script", "upload_artifacts_on_success", "cleanup_file_variables"}
	if got := sections(j.Trace); !slices.Equal(got, wantSections) {
		t.Errorf("sections = %q, want %q", got, wantSections)
	}
	if len(j.Artifacts) != 1 {
		t.Fatalf("artifacts = %d", len(j.Artifacts))
	}
	a := j.Artifacts[0]
	if a.Filename != "myart.zip" || a.Query["artifact_format"] != "zip" || a.Query["artifact_type"] != "archive" || a.Query["expire_in"] != "1 day" {
		t.Errorf("artifact upload %q %v", a.Filename, a.Query)
	}
	files := zipNames(t, a.Data)
	if files["out.txt"] != "out\n" || files["dist/a.txt"] != "d\n" || len(files) != 3 {
		t.Errorf("artifact files = %v", files)
	}
	// The credentials must not stay in the repository config.
	gitconf, _ := os.ReadFile(filepath.Join(h.dir, "builds", "test", "0", "group", "project", ".git", "config"))
	if bytes.Contains(gitconf, []byte("glcbt-")) {
		t.Errorf(".git/config keeps the job token:\n%s", gitconf)
	}
}

// Request and update bodies carry the same fields as GitLab Runner's.
func TestWireShapes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.run(t, runnertest.Spec{ID: 5, Script: []string{"true"}})
	var request, running, final []byte
	for _, e := range h.srv.Exchanges() {
		switch {
		case e.Path == "/api/v4/jobs/request" && request == nil:
			request = e.Body
		case e.Method == "PUT" && running == nil:
			running = e.Body
		case e.Method == "PUT":
			final = e.Body
		}
	}
	for _, c := range []struct {
		sample string
		body   []byte
	}{{"sample-jobs-request-body.json", request}, {"sample-put-running-body.json", running}, {"sample-put-final-body.json", final}} {
		want := keySet(t, corpus.ReadShared(t, "gitlab/captures/"+c.sample))
		got := keySet(t, c.body)
		if !slices.Equal(want, got) {
			t.Errorf("%s: field set differs\nwant %q\n got %q", c.sample, want, got)
		}
	}
	for _, e := range h.srv.Exchanges() {
		if e.Path == "/api/v4/jobs/request" && e.Header.Get("Runner-Token") != h.srv.RunnerToken {
			t.Errorf("job request without RUNNER-TOKEN header")
		}
		if strings.HasPrefix(e.Path, "/api/v4/jobs/5") && e.Header.Get("Job-Token") == "" {
			t.Errorf("%s %s without JOB-TOKEN", e.Method, e.Path)
		}
		if strings.HasPrefix(e.Path, "/api/v4/") && len(e.Header.Get("X-Request-Id")) != 32 {
			t.Errorf("%s %s: X-Request-Id %q", e.Method, e.Path, e.Header.Get("X-Request-Id"))
		}
	}
}

// keySet lists the dotted paths of all object keys in a JSON document.
func keySet(t *testing.T, data []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("bad JSON %q: %v", data, err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, child := range m {
				out = append(out, prefix+k)
				walk(prefix+k+".", child)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}
