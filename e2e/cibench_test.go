package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// The CI benchmarks run the real `gantry server` as a process and drive it
// over HTTP with protocol-level runners in the benchmark process, so that
// the server's CPU can be read apart from the load generator's.
// Run: go test ./e2e -run '^$' -bench 'Pickup|IdlePoll|JobsAssigned|TraceIngest' -benchtime 200x

// benchServer starts a server for a benchmark with a project whose CI
// configuration is ciYAML and returns it with an API client.
func benchServer(b *testing.B, args ...string) (*proc, *gl.Client, *gl.Project) {
	b.Helper()
	raiseFileLimit(b)
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	srv := startGantry(b, env, append([]string{"server", "--data-dir", filepath.Join(b.TempDir(), "data"),
		"--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	c := client(b, srv.URL)
	p, _, err := c.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("bench")})
	if err != nil {
		b.Fatal(err)
	}
	return srv, c, p
}

// pushPipelines pushes ciYAML to n branches (one pipeline each; separate
// refs, so none auto-cancels another) and waits for their pipelines.
func pushPipelines(b *testing.B, c *gl.Client, p *gl.Project, ciYAML string, n int) []int64 {
	b.Helper()
	wt := gittest.NewWorkTree(b, "main", map[string]string{".gitlab-ci.yml": ciYAML})
	refs := []string{}
	for i := range n {
		refs = append(refs, fmt.Sprintf("main:refs/heads/b%d", i))
	}
	gittest.Run(b, wt, append([]string{"push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", rootToken)}, refs...)...)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ps, _, err := c.Pipelines.ListProjectPipelines(p.ID, &gl.ListProjectPipelinesOptions{ListOptions: gl.ListOptions{PerPage: 100}})
		if err != nil {
			b.Fatal(err)
		}
		if len(ps) == n && !slices.ContainsFunc(ps, func(p *gl.PipelineInfo) bool { return p.Status == "created" }) {
			ids := make([]int64, n)
			for i, pl := range ps {
				ids[i] = pl.ID
			}
			return ids
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pipelines", len(ps), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jobsYAML is a configuration of n jobs, manual or not.
func jobsYAML(n int, manual bool) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "job%d:\n  script: [echo %d]\n", i, i)
		if manual {
			sb.WriteString("  when: manual\n")
		}
	}
	return sb.String()
}

// benchRunners creates n instance runners and returns protocol-level
// runners for them sharing one HTTP transport.
func benchRunners(b *testing.B, c *gl.Client, url string, n int) []*fakerunner.Runner {
	b.Helper()
	tr := &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 4 * n, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	out := make([]*fakerunner.Runner, n)
	for i := range out {
		var created struct{ Token string }
		req, err := c.NewRequest("POST", "user/runners", map[string]any{"runner_type": "instance_type"}, nil)
		if err == nil {
			_, err = c.Do(req, &created)
		}
		if err != nil {
			b.Fatalf("create runner %d: %v", i, err)
		}
		out[i] = fakerunner.New(b, url, created.Token)
		out[i].Client = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	}
	return out
}

// BenchmarkPickupLatency: 1,000 runners each hold a long poll; a manual
// job is played through the API; the time from just before that call to
// the moment one runner has the job is the pickup latency (p50, p99).
func BenchmarkPickupLatency(b *testing.B) {
	const runners, perPipeline = 1000, 250
	srv, c, p := benchServer(b, "--ci-long-poll", "50s")
	pipelines := pushPipelines(b, c, p, jobsYAML(perPipeline, true), (b.N+perPipeline-1)/perPipeline)
	var manual []int64
	for _, pl := range pipelines {
		manual = append(manual, pipelineJobs(b, c, p.ID, pl)...)
	}
	type receipt struct {
		at  time.Time
		err error
	}
	got, finished := make(chan receipt, runners), make(chan error, runners)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); srv.kill(); wg.Wait() }()
	for _, r := range benchRunners(b, c, srv.URL, runners) {
		wg.Go(func() {
			last := ""
			for ctx.Err() == nil {
				job, v, err := request(r, last)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					got <- receipt{err: err}
					return
				case job != nil:
					got <- receipt{at: time.Now()}
					finished <- finishJob(r, job)
				default:
					last = v
				}
			}
		})
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		waitMetric(b, srv.URL, "gantry_ci_long_poll_waiters", runners)
		b.StartTimer()
		start := time.Now()
		if _, _, err := c.Jobs.PlayJob(p.ID, manual[i], nil); err != nil {
			b.Fatal(err)
		}
		r := <-got
		if r.err != nil {
			b.Fatal(r.err)
		}
		lat = append(lat, r.at.Sub(start))
		b.StopTimer()
		if err := <-finished; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1e3, "p99-ms")
}

// pipelineJobs lists a pipeline's job ids, oldest first.
func pipelineJobs(b *testing.B, c *gl.Client, pid, pipeline int64) []int64 {
	b.Helper()
	var ids []int64
	for page := int64(1); ; page++ {
		jobs, resp, err := c.Jobs.ListPipelineJobs(pid, pipeline, &gl.ListJobsOptions{ListOptions: gl.ListOptions{Page: page, PerPage: 100}})
		if err != nil {
			b.Fatal(err)
		}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		if resp.NextPage == 0 {
			slices.Sort(ids)
			return ids
		}
	}
}

// BenchmarkIdlePollCPU: runners poll with the queue's current version and
// a 1 ms long poll, so every cycle is an idle one (held, then 204); the
// server process's CPU time (utime+stime) per cycle is reported.
func BenchmarkIdlePollCPU(b *testing.B) {
	const workers = 8
	srv, c, _ := benchServer(b, "--ci-long-poll", "1ms")
	runners := benchRunners(b, c, srv.URL, workers)
	versions := make([]string, workers)
	for i, r := range runners {
		_, v, err := request(r, "")
		if err != nil || v == "" {
			b.Fatalf("first poll: %q %v", v, err)
		}
		versions[i] = v
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := procCPU(b, srv.cmd.Process.Pid)
	b.ResetTimer()
	for i, r := range runners {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				job, v, err := request(r, versions[i])
				if err != nil || job != nil {
					b.Errorf("idle poll: %v %v", job, err)
					return
				}
				versions[i] = v
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	used := procCPU(b, srv.cmd.Process.Pid) - cpu
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "server-µs/cycle")
}

// BenchmarkJobsAssigned: b.N jobs are pending; 8 runners ask for jobs as
// fast as they can, over HTTP, until the queue is empty. Every job must be
// handed out exactly once.
func BenchmarkJobsAssigned(b *testing.B) {
	const workers, perPipeline = 8, 500
	srv, c, p := benchServer(b, "--ci-long-poll", "1s")
	pushPipelines(b, c, p, jobsYAML(perPipeline, false), (b.N+perPipeline-1)/perPipeline)
	runners := benchRunners(b, c, srv.URL, workers)
	total := int(waitMetric(b, srv.URL, "gantry_ci_queue_depth", -1))
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	cpu := procCPU(b, srv.cmd.Process.Pid)
	b.ResetTimer()
	start := time.Now()
	for _, r := range runners {
		wg.Go(func() {
			for {
				job, _, err := request(r, "")
				if err != nil {
					b.Error(err)
					return
				}
				if job == nil {
					return // the queue is empty
				}
				mu.Lock()
				seen[job.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	used := procCPU(b, srv.cmd.Process.Pid) - cpu
	for id, n := range seen {
		if n != 1 {
			b.Errorf("job %d handed out %d times", id, n)
		}
	}
	if len(seen) != total {
		b.Errorf("%d jobs handed out, %d were pending", len(seen), total)
	}
	b.ReportMetric(float64(len(seen))/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(used.Microseconds())/float64(len(seen)), "server-µs/job")
}

// BenchmarkTraceIngest: 4 running jobs receive log patches in parallel
// over HTTP; MB/s is the aggregate.
func BenchmarkTraceIngest(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("patch=%dKiB", size>>10), func(b *testing.B) {
			const jobs = 4
			srv, c, p := benchServer(b, "--ci-long-poll", "1s", "--ci-max-trace-size", strconv.Itoa(1<<40))
			pushPipelines(b, c, p, jobsYAML(jobs, false), 1)
			r := benchRunners(b, c, srv.URL, 1)[0]
			chunk := logText(size)
			var next atomic.Int64
			var wg sync.WaitGroup
			var running []*gitlab.JobPayload
			for range jobs {
				job, _, err := request(r, "")
				if err != nil || job == nil {
					b.Fatalf("job: %v", err)
				}
				body, _ := json.Marshal(gitlab.UpdateJobRequest{Token: job.Token, State: "running"})
				if resp, err := r.Send("PUT", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10), map[string]string{
					"Content-Type": "application/json", gitlab.HeaderJobToken: job.Token}, strings.NewReader(string(body))); err != nil || resp.Status != 200 {
					b.Fatalf("confirm: %v", err)
				}
				running = append(running, job)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for _, job := range running {
				wg.Go(func() {
					offset := 0
					for next.Add(1) <= int64(b.N) {
						h := map[string]string{gitlab.HeaderJobToken: job.Token, "Content-Type": "text/plain",
							"Content-Range": fmt.Sprintf("%d-%d", offset, offset+size-1)}
						resp, err := r.Send("PATCH", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10)+"/trace", h, strings.NewReader(chunk))
						if err != nil || resp.Status != http.StatusAccepted {
							b.Errorf("patch: %v %d %s", err, resp.Status, resp.Body)
							return
						}
						offset += size
					}
				})
			}
			wg.Wait()
		})
	}
}
