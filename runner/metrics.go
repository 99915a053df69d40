package runner

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// metrics counts jobs for the Prometheus endpoint.
type metrics struct {
	running   atomic.Int64
	succeeded atomic.Int64
	failed    atomic.Int64
}

// MetricsHandler serves the runner's counters in Prometheus text format
// (listen_address).
func (r *Runner) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP gantry_runner_jobs Jobs currently running.\n# TYPE gantry_runner_jobs gauge\ngantry_runner_jobs %d\n", r.metrics.running.Load())
		fmt.Fprintf(w, "# HELP gantry_runner_jobs_total Jobs finished, by final state.\n# TYPE gantry_runner_jobs_total counter\n")
		fmt.Fprintf(w, "gantry_runner_jobs_total{state=\"success\"} %d\n", r.metrics.succeeded.Load())
		fmt.Fprintf(w, "gantry_runner_jobs_total{state=\"failed\"} %d\n", r.metrics.failed.Load())
		fmt.Fprintf(w, "# HELP gantry_runner_concurrent The concurrent setting.\n# TYPE gantry_runner_concurrent gauge\ngantry_runner_concurrent %d\n", r.slots.current())
	})
}
