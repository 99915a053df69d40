package runnerapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
	h := e.srv.Server.Handler()
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v4/jobs/request", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				b.Errorf("idle poll: %d", rec.Code)
				return
			}
		}
	})
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
	h := e.srv.Server.Handler()
	cpu := processCPU()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v4/jobs/request", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("job request: %d", rec.Code)
				return
			}
		}
	})
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
