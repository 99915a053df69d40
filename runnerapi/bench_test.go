package runnerapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/server"
)

// BenchmarkIdlePollHandler runs the job request handler in-process for
// idle cycles: the runner already has the queue's version, the poll is
// held for 1 ms and answered 204. It is the handler's share of an idle
// poll, without TCP and HTTP parsing (e2e.BenchmarkIdlePollCPU measures
// the whole server process); run it with -cpuprofile to see where the
// time goes.
func BenchmarkIdlePollHandler(b *testing.B) {
	e := newEnv(b, func(c *server.Config) { c.CI.LongPoll = time.Millisecond })
	_, resp := e.runner.Request(b, "")
	body, _ := json.Marshal(gitlab.JobRequest{Info: e.runner.Info, Token: e.runner.Token, SystemID: e.runner.SystemID,
		LastUpdate: resp.Header.Get(gitlab.HeaderLastUpdate)})
	b.ResetTimer()
	requestJobs(b, e.srv.Server.Handler(), body, 8, http.StatusNoContent)
}

// BenchmarkAssignHandler runs the job request handler in-process while
// b.N jobs are pending: each call claims one and builds its payload.
// e2e.BenchmarkJobsAssigned measures the same over HTTP against the real
// binary; run this one with -cpuprofile to see where the time goes.
func BenchmarkAssignHandler(b *testing.B) {
	e := newEnv(b)
	var yaml strings.Builder
	for i := range b.N {
		fmt.Fprintf(&yaml, "job%d:\n  script: [echo %d]\n", i, i)
	}
	e.push(map[string]string{".gitlab-ci.yml": yaml.String()})
	e.waitStatus(e.pipeline().ID, "pending")
	body, _ := json.Marshal(gitlab.JobRequest{Info: e.runner.Info, Token: e.runner.Token, SystemID: e.runner.SystemID})
	cpu := processCPU()
	b.ResetTimer()
	requestJobs(b, e.srv.Server.Handler(), body, 4, http.StatusCreated)
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// requestJobs sends b.N job requests with body to h from parallelism
// goroutines per CPU, each expected to be answered with status want.
func requestJobs(b *testing.B, h http.Handler, body []byte, parallelism, want int) {
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v4/jobs/request", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				b.Errorf("job request: %d, want %d", rec.Code, want)
				return
			}
		}
	})
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPatchHandler runs the trace handler in-process: 4 running
// jobs receive 64 KiB patches in parallel (e2e.BenchmarkTraceIngest does
// it over HTTP against the real binary).
func BenchmarkPatchHandler(b *testing.B) {
	const jobs, size = 4, 64 << 10
	e := newEnv(b, func(c *server.Config) { c.CI.MaxTraceSize = 1 << 40 })
	e.push(map[string]string{".gitlab-ci.yml": "a:\n  script: [a]\nb:\n  script: [b]\nc:\n  script: [c]\nd:\n  script: [d]\n"})
	e.waitStatus(e.pipeline().ID, "pending")
	var running []*gitlab.JobPayload
	for range jobs {
		job := e.runner.WaitJob(b, 10*time.Second)
		e.runner.Update(b, job, gitlab.UpdateJobRequest{State: "running"})
		running = append(running, job)
	}
	chunk := bytes.Repeat([]byte("2026-11-27T02:35:03.315233Z 01O \x1b[32;1m$ make test\x1b[0;m ok  github.com/example/pkg 0.012s\n"), size/64+1)[:size]
	h := e.srv.Server.Handler()
	var next atomic.Int64
	cpu := processCPU()
	b.SetBytes(size)
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, job := range running {
		wg.Go(func() {
			for offset := 0; next.Add(1) <= int64(b.N); offset += size {
				req := httptest.NewRequest("PATCH", fmt.Sprintf("/api/v4/jobs/%d/trace", job.ID), bytes.NewReader(chunk))
				req.Header.Set(gitlab.HeaderJobToken, job.Token)
				req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+size-1))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Errorf("patch: %d %s", rec.Code, rec.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}
