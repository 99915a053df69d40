package server

import (
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gantry-ci/gantry/api"
	"github.com/gantry-ci/gantry/git/smarthttp"
	"github.com/gantry-ci/gantry/runnerapi"
)

// httpMetrics counts requests by route pattern, never by raw path, so that
// the number of series stays bounded whatever URLs clients send.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_http_requests_total", Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gantry_http_request_duration_seconds", Help: "HTTP request duration by method and route pattern.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument records metrics for every request. The route label is the
// ServeMux pattern that matched (set on the request by the mux), or a
// fixed name for the few handlers outside the mux's patterns.
func (m *httpMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if _, _, ok := smarthttp.Match(r.URL.Path); ok {
			route = "git smart http"
		} else if route == "" || route == "/" {
			route = "unmatched"
		} else if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

// handler builds the whole HTTP surface.
func (s *Server) handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := newHTTPMetrics(reg)
	reg.MustRegister(newCICollector(s.store, s.queue))
	pending := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gantry_ci_job_pending_seconds",
		Help: "How long jobs waited in the queue before a runner took them.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)})
	reg.MustRegister(pending)

	mux := http.NewServeMux()
	apiServer := &api.Server{Forge: s.forge, Pipelines: s.pipelines, Store: s.store, Traces: s.traces, Blobs: s.blobs,
		Queue: s.queue, ExternalURL: s.URL, Log: s.log}
	apiServer.Register(mux)
	runners := &runnerapi.Server{Forge: s.forge, Pipelines: s.pipelines, Queue: s.queue, Store: s.store, Traces: s.traces,
		Blobs: s.blobs, Variables: s.forge, ExternalURL: s.URL, Log: s.log, LongPoll: s.cfg.CI.LongPoll,
		MaxArtifactSize: s.cfg.CI.MaxArtifactSize, PendingTime: pending}
	runners.Register(mux)
	git := &smarthttp.Handler{Auth: s.forge, Log: s.log, Realm: "Gantry", HooksDir: filepath.Join(s.cfg.DataDir, "hooks")}
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("Gantry OK"))
	})
	mux.HandleFunc("GET /-/liveness", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /-/readiness", s.readiness)
	mux.Handle("GET /metrics", s.monitoringOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"404 Not Found"}` + "\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := smarthttp.Match(r.URL.Path); ok {
			git.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	return metrics.instrument(mux)
}

// monitoringOnly answers 404 to clients outside the monitoring allowlist,
// as GitLab does for /-/metrics: the metrics name runners and show how busy
// the instance is, which is nobody else's business. The peer address
// counts, never a forwarded-for header anyone could set.
func (s *Server) monitoringOnly(h http.Handler) http.Handler {
	allow := s.cfg.MonitoringAllowlist
	if allow == nil {
		allow = DefaultMonitoringAllowlist
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && slices.ContainsFunc(allow, func(p netip.Prefix) bool { return p.Contains(ap.Addr().Unmap()) }) {
			h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn("readiness: database unreachable", "err", err)
		writeStatus(w, http.StatusServiceUnavailable, "failed")
		return
	}
	writeStatus(w, http.StatusOK, "ok")
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write([]byte(`{"status":"` + status + `","master_check":[{"status":"` + status + `"}]}` + "\n"))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
