package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// ciBench is a server, a shell runner and a project whose pipeline the
// benchmark creates again and again through the API.
type ciBench struct {
	srv *ciServer
	rn  *ciRunner
	pid int64
}

func newCIBench(b *testing.B, concurrent int, yaml string) *ciBench {
	b.Helper()
	srv := startCIServer(b)
	rn := srv.startRunner(b, runnerOpts{concurrent: concurrent})
	p := srv.project(b, "bench")
	sha := srv.push(b, p, "main", map[string]string{".gitlab-ci.yml": yaml})
	pl := srv.pipelineFor(b, p.ID, sha) // warm up: the first pipeline, from the push
	srv.waitPipeline(b, p.ID, pl.ID, time.Minute, "success")
	return &ciBench{srv: srv, rn: rn, pid: p.ID}
}

// run creates a pipeline and waits for it to succeed, polling tightly.
func (c *ciBench) run(b *testing.B, within time.Duration) *gl.Pipeline {
	b.Helper()
	pl, _, err := c.srv.api.Pipelines.CreatePipeline(c.pid, &gl.CreatePipelineOptions{Ref: gl.Ptr("main")})
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for {
		p, _, err := c.srv.api.Pipelines.GetPipeline(c.pid, pl.ID)
		if err != nil {
			b.Fatal(err)
		}
		switch p.Status {
		case "success":
			return p
		case "failed", "canceled":
			b.Fatalf("pipeline %d %s", p.ID, p.Status)
		}
		if time.Now().After(deadline) {
			b.Fatalf("pipeline %d still %s after %v", p.ID, p.Status, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkJobOverhead runs a one-job pipeline (`echo hi`, shell
// executor) per iteration and reports the per-job overhead as the server
// sees it: from the runner's job request (started_at, set when the job is
// claimed) to the final success update (finished_at). ns/op is the whole
// round trip through the API, pipeline creation and polling included.
// Run: go test ./e2e -run=^$ -bench=JobOverhead -benchtime=50x
func BenchmarkJobOverhead(b *testing.B) {
	c := newCIBench(b, 1, "job:\n  script: [echo hi]\n")
	var overheads []time.Duration
	b.ResetTimer()
	for range b.N {
		p := c.run(b, time.Minute)
		b.StopTimer()
		jobs := c.srv.jobs(b, c.pid, p.ID)
		j := jobs["job"]
		overheads = append(overheads, j.FinishedAt.Sub(*j.StartedAt))
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(overheads)
	var sum time.Duration
	for _, d := range overheads {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(len(overheads)), "ms/job-overhead")
	b.ReportMetric(float64(overheads[len(overheads)/2].Microseconds())/1000, "ms/job-overhead-p50")
	b.ReportMetric(float64(overheads[len(overheads)*9/10].Microseconds())/1000, "ms/job-overhead-p90")
}

// BenchmarkRunnerIdleRSS starts `gantry runner run` against a server,
// lets it idle in its long poll, and reports its resident memory.
// Run: go test ./e2e -run=^$ -bench=RunnerIdleRSS -benchtime=3x
func BenchmarkRunnerIdleRSS(b *testing.B) {
	srv := startCIServer(b)
	var rss float64
	for range b.N {
		rn := srv.startRunner(b, runnerOpts{concurrent: 1})
		b.StopTimer()
		time.Sleep(3 * time.Second) // a few polls, then idle in the long poll
		rss = max(rss, float64(vmRSS(b, rn.cmd.Process.Pid)))
		rn.stop(b)
		b.StartTimer()
	}
	b.ReportMetric(rss/1024, "idle-RSS-MiB")
}

// BenchmarkConcurrentJobs runs a pipeline of 200 trivial jobs (parallel:
// 200, each fetches the repository and echoes) on a runner with
// concurrent = 20, and reports the time to pipeline success.
// Run: go test ./e2e -run=^$ -bench=ConcurrentJobs -benchtime=3x
func BenchmarkConcurrentJobs(b *testing.B) {
	c := newCIBench(b, 20, "job:\n  parallel: 200\n  script: [echo hi $CI_NODE_INDEX]\n")
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		c.run(b, 5*time.Minute)
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/200-jobs")
}
