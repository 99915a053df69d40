// Package e2e runs Gantry as real processes — the binary a user runs — and
// drives it with real clients: git, GitLab's Go client, signals.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gantryBin is the binary built once for the whole package.
var gantryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gantry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gantryBin = filepath.Join(dir, "gantry")
	build := exec.Command("go", "build", "-o", gantryBin, "github.com/gantry-ci/gantry/cmd/gantry")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gantry: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running gantry process.
type proc struct {
	cmd    *exec.Cmd
	URL    string
	mu     sync.Mutex
	output strings.Builder
	done   chan struct{}
	urls   chan string // URLs the process announced
}

var runningAt = regexp.MustCompile(`Gantry is running at (\S+)`)

// startGantry runs `gantry <args…>` and waits until it prints its URL.
func startGantry(tb testing.TB, env []string, args ...string) *proc {
	tb.Helper()
	p := spawn(tb, env, args...)
	select {
	case p.URL = <-p.urls:
	case <-p.done:
		tb.Fatalf("gantry %s exited before serving:\n%s", strings.Join(args, " "), p.Output())
	case <-time.After(30 * time.Second):
		tb.Fatalf("gantry did not start:\n%s", p.Output())
	}
	return p
}

// spawn runs `gantry <args…>` and collects what it prints; the process is
// killed when the test ends.
func spawn(tb testing.TB, env []string, args ...string) *proc {
	tb.Helper()
	p := &proc{cmd: exec.Command(gantryBin, args...), done: make(chan struct{}), urls: make(chan string, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start gantry: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.write(line + "\n")
			if m := runningAt.FindStringSubmatch(line); m != nil {
				select {
				case p.urls <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) write(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.output.WriteString(s)
}

// Output is what the process printed so far (stdout and stderr).
func (p *proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) { w.p.write(string(b)); return len(b), nil }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(tb testing.TB) {
	tb.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		tb.Fatalf("gantry ignored SIGTERM:\n%s", p.Output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		tb.Fatalf("gantry exited with %d after SIGTERM:\n%s", code, p.Output())
	}
}

// waitReady polls /-/readiness until it answers 200.
func waitReady(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(url + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("%s never became ready", url)
}

// waitOutput waits until the process has printed substr.
func (p *proc) waitOutput(tb testing.TB, substr string) {
	tb.Helper()
	p.waitOutputFor(tb, substr, 10*time.Second)
}

// waitOutputFor waits up to d until the process has printed substr.
func (p *proc) waitOutputFor(tb testing.TB, substr string, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Output(), substr) {
		if time.Now().After(deadline) {
			tb.Fatalf("process never printed %q:\n%s", substr, p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
