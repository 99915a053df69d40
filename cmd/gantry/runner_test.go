package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

func gantryCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestRunnerRegisterFlow(t *testing.T) {
	srv := runnertest.New(t)
	cfgPath := filepath.Join(t.TempDir(), "config.toml")

	if out, err := gantryCmd(t, "runner", "register", "-c", cfgPath, "--url", srv.URL+"/", "--token", "glrt-test", "--name", "one", "--non-interactive"); err != nil {
		t.Fatalf("register glrt: %v\n%s", err, out)
	}
	if _, err := gantryCmd(t, "runner", "register", "-c", cfgPath, "--url", srv.URL, "--token", "glrt-test", "--tag-list", "a,b"); err == nil {
		t.Error("glrt- register accepted --tag-list")
	}
	if out, err := gantryCmd(t, "runner", "register", "-c", cfgPath, "--url", srv.URL, "--token", srv.RegistrationToken,
		"--name", "legacy", "--tag-list", "a,b", "--executor", "docker", "--docker-image", "busybox"); err != nil {
		t.Fatalf("register legacy: %v\n%s", err, out)
	}
	if _, err := gantryCmd(t, "runner", "register", "-c", cfgPath, "--url", srv.URL, "--token", "glrt-wrong"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("register with a bad token: %v", err)
	}
	// An unreachable server: a clear error, nothing written.
	other := filepath.Join(t.TempDir(), "other.toml")
	if _, err := gantryCmd(t, "runner", "register", "-c", other, "--url", "http://127.0.0.1:1", "--token", "glrt-x"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable server: %v", err)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("config written after a failed registration")
	}
	if _, err := gantryCmd(t, "runner", "register", "-c", other, "--url", "ftp://x", "--token", "glrt-x"); err == nil || !strings.Contains(err.Error(), "http(s)") {
		t.Errorf("bad url: %v", err)
	}
	cfg, warns, err := config.Load(cfgPath)
	if err != nil || len(warns) > 0 {
		t.Fatalf("load: %v %v", err, warns)
	}
	if len(cfg.Runners) != 2 || cfg.Runners[0].ID != 1 || cfg.Runners[0].Token != "glrt-test" || cfg.Runners[0].URL != srv.URL ||
		cfg.Runners[1].Executor != "docker" || cfg.Runners[1].Docker.Image != "busybox" || cfg.Runners[1].Token != srv.RunnerToken {
		t.Fatalf("config after register: %+v %+v", cfg.Runners[0], cfg.Runners[len(cfg.Runners)-1])
	}
	// Request shapes as in task2-register*.jsonl.
	var sawVerify, sawLegacy bool
	for _, e := range srv.Exchanges() {
		var body map[string]any
		_ = json.Unmarshal(e.Body, &body)
		switch e.Path {
		case "/api/v4/runners/verify":
			sawVerify = true
			if body["token"] == nil || body["system_id"] == nil || body["info"] == nil {
				t.Errorf("verify body %s", e.Body)
			}
		case "/api/v4/runners":
			sawLegacy = true
			if body["tag_list"] != "a,b" || body["run_untagged"] != false || body["locked"] != true || body["paused"] != false {
				t.Errorf("legacy register body %s", e.Body)
			}
		}
	}
	if !sawVerify || !sawLegacy {
		t.Errorf("verify %v legacy %v", sawVerify, sawLegacy)
	}

	out, err := gantryCmd(t, "runner", "list", "-c", cfgPath)
	if err != nil || !strings.Contains(out, "one") || !strings.Contains(out, "Executor=docker") || strings.Contains(out, "glrt-test") && !strings.Contains(out, "…") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err := gantryCmd(t, "runner", "verify", "-c", cfgPath); err != nil || !strings.Contains(out, "is valid") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	if out, err := gantryCmd(t, "runner", "reset-token", "-c", cfgPath, "--name", "one"); err != nil {
		t.Fatalf("reset-token: %v\n%s", err, out)
	}
	cfg, _, _ = config.Load(cfgPath)
	if !strings.HasPrefix(cfg.Runners[0].Token, "glrt-reset-") {
		t.Errorf("token after reset: %q", cfg.Runners[0].Token)
	}
	srv.PAT = "glpat-admin"
	if out, err := gantryCmd(t, "runner", "reset-token", "-c", cfgPath, "--name", "one", "--pat", "glpat-wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("reset-token with a wrong PAT: %v\n%s", err, out)
	}
	if out, err := gantryCmd(t, "runner", "reset-token", "-c", cfgPath, "--name", "one", "--pat", "glpat-admin"); err != nil {
		t.Fatalf("reset-token --pat: %v\n%s", err, out)
	}
	if cfg, _, _ = config.Load(cfgPath); cfg.Runners[0].Token != "glrt-pat-reset" {
		t.Errorf("token after --pat reset: %q", cfg.Runners[0].Token)
	}
	if out, err := gantryCmd(t, "runner", "unregister", "-c", cfgPath, "--name", "one"); err != nil {
		t.Fatalf("unregister: %v\n%s", err, out)
	}
	cfg, _, _ = config.Load(cfgPath)
	if len(cfg.Runners) != 1 || cfg.Runners[0].Name != "legacy" {
		t.Errorf("runners after unregister: %d", len(cfg.Runners))
	}
}

// buildGantry compiles the binary once per test run.
func buildGantry(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gantry")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRunnerProcess runs `gantry runner run` as a process: a job runs,
// SIGQUIT lets a running job finish before the process exits.
func TestRunnerProcess(t *testing.T) {
	bin := buildGantry(t)
	srv := runnertest.New(t)
	srv.UpdateInterval = 1
	sha := srv.Repo("group/project", 7, map[string]string{"a.txt": "a\n"})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	metricsAddr := freeAddr(t)
	cfg := &config.Config{Concurrent: 2, CheckInterval: 1, ListenAddress: metricsAddr, LogFormat: "json",
		Runners: []*config.Runner{{Name: "proc", URL: srv.URL, Token: srv.RunnerToken, Executor: "shell"}}}
	if err := config.Save(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "runner", "run", "-c", cfgPath, "-d", dir)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Enqueue(srv.Payload(runnertest.Spec{ID: 1, Sha: sha, Script: []string{"cat a.txt"}}))
	if j := srv.Wait(1, time.Minute); j.State != "success" || !bytes.Contains(j.Trace, []byte("01O a\n")) {
		t.Fatalf("job 1: %s\n%s\n%s", j.State, j.Trace, logs.String())
	}
	// The counter moves right after the final update the server has seen.
	var body []byte
	for range 50 {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `gantry_runner_jobs_total{state="success"} 1`) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(string(body), `gantry_runner_jobs_total{state="success"} 1`) {
		t.Errorf("metrics:\n%s", body)
	}
	if !strings.Contains(logs.String(), `"msg":"runner started"`) {
		t.Errorf("log_format json not applied:\n%s", logs.String())
	}
	if rss := vmRSS(cmd.Process.Pid); rss != "" {
		t.Logf("idle runner RSS after one job: %s", rss)
	}
	// The running process picks up a runner added to config.toml.
	srv2 := runnertest.New(t)
	srv2.RunnerToken = "glrt-added"
	sha2 := srv2.Repo("group/project", 7, map[string]string{"b.txt": "b\n"})
	cfg.Runners = append(cfg.Runners, &config.Runner{Name: "added", URL: srv2.URL, Token: srv2.RunnerToken, Executor: "shell"})
	if err := config.Save(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	srv2.Enqueue(srv2.Payload(runnertest.Spec{ID: 1, Sha: sha2, Script: []string{"cat b.txt"}}))
	if j := srv2.Wait(1, time.Minute); j.State != "success" {
		t.Fatalf("job of the reloaded runner: %s\n%s", j.State, logs.String())
	}
	if !strings.Contains(logs.String(), "configuration reloaded") {
		t.Errorf("no reload in the log")
	}

	srv.Enqueue(srv.Payload(runnertest.Spec{ID: 2, Sha: sha, Script: []string{"sleep 2", "echo finished"}}))
	deadline := time.Now().Add(time.Minute)
	for !bytes.Contains(srv.Job(2).Trace, []byte("step_script")) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runner exit: %v\n%s", err, logs.String())
	}
	if j := srv.Job(2); j.State != "success" || !bytes.Contains(j.Trace, []byte("finished")) {
		t.Errorf("job 2 after SIGQUIT: %s\n%s", j.State, j.Trace)
	}

	// SIGTERM stops at once: the running job is reported as a system failure.
	cmd = exec.CommandContext(ctx, bin, "runner", "run", "-c", cfgPath, "-d", dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Enqueue(srv.Payload(runnertest.Spec{ID: 3, Sha: sha, Script: []string{"sleep 120"}}))
	deadline = time.Now().Add(time.Minute)
	for !bytes.Contains(srv.Job(3).Trace, []byte("step_script")) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	j := srv.Wait(3, time.Minute)
	if u := j.Updates[len(j.Updates)-1]; j.State != "failed" || u.FailureReason != "runner_system_failure" {
		t.Errorf("job 3 after SIGTERM: %s %+v", j.State, u)
	}
	t.Logf("SIGTERM to final update: %v", time.Since(start))
	if time.Since(start) > 30*time.Second {
		t.Errorf("SIGTERM took %v", time.Since(start))
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func vmRSS(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	return ""
}
