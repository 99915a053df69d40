package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
)

// BenchmarkServerStart measures the time from exec to a ready
// /-/readiness, and the idle RSS of the server once it is up.
// Run: go test ./e2e -run=^$ -bench=ServerStart -benchtime=10x
func BenchmarkServerStart(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	// The first start seeds the database; measure warm starts.
	p := startGantry(b, nil, "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
	p.stop(b)
	var rss float64
	b.ResetTimer()
	for range b.N {
		p := startGantry(b, nil, "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
		waitReady(b, p.URL)
		b.StopTimer()
		time.Sleep(500 * time.Millisecond) // let start-up garbage settle
		rss = max(rss, float64(vmRSS(b, p.cmd.Process.Pid)))
		p.stop(b)
		b.StartTimer()
	}
	b.ReportMetric(rss/1024, "idle-RSS-MiB")
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(tb testing.TB, pid int) int {
	tb.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// BenchmarkClone50MB clones a 50 MB repository through Gantry's smart HTTP
// and from the same bare repository over file://, and reports the ratio.
// Run: go test ./e2e -run=^$ -bench=Clone50MB -benchtime=5x
func BenchmarkClone50MB(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	srv := startGantry(b, env, "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
	c, err := gl.NewClient(rootToken, gl.WithBaseURL(srv.URL+"/api/v4"))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("big"), Visibility: gl.Ptr(gl.PublicVisibility)}); err != nil {
		b.Fatal(err)
	}
	wt := gittest.NewWorkTree(b, "main", nil)
	for i := range 10 { // 10 commits of 5 MB of incompressible data
		gittest.Commit(b, wt, "chunk", map[string]string{"chunk" + strconv.Itoa(i) + ".bin": randomHex(b, 10<<20)})
	}
	gittest.Run(b, wt, "push", "-q", gittest.URLWithAuth(srv.URL+"/root/big.git", "root", rootToken), "main")
	bare := filepath.Join(dir, "repositories", "1.git")
	clone := func(url string) time.Duration {
		dst := filepath.Join(b.TempDir(), "c")
		start := time.Now()
		cmd := exec.Command("git", "clone", "-q", "--bare", url, dst)
		cmd.Env = gittest.Env(b.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("clone %s: %v\n%s", url, err, out)
		}
		d := time.Since(start)
		os.RemoveAll(dst)
		return d
	}
	var viaHTTP, viaFile time.Duration
	b.ResetTimer()
	for range b.N {
		viaHTTP += clone(srv.URL + "/root/big.git")
		b.StopTimer()
		viaFile += clone("file://" + bare)
		b.StartTimer()
	}
	b.ReportMetric(float64(viaHTTP.Milliseconds())/float64(b.N), "ms/http-clone")
	b.ReportMetric(float64(viaFile.Milliseconds())/float64(b.N), "ms/file-clone")
	b.ReportMetric(float64(viaHTTP)/float64(viaFile), "http/file-ratio")
}
