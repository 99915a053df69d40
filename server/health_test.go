package server_test

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/server"
	"github.com/gantry-ci/gantry/server/servertest"
)

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthAndMetrics: the probes answer, and request metrics are labelled
// by route pattern, never by raw path.
func TestHealthAndMetrics(t *testing.T) {
	srv := servertest.Start(t)
	for _, p := range []string{"/-/health", "/-/liveness", "/-/readiness"} {
		if code, body := get(t, srv.URL+p); code != 200 || body == "" {
			t.Errorf("GET %s = %d %q", p, code, body)
		}
	}
	for _, id := range []string{"1", "2", "root%2Fnothing"} {
		get(t, srv.URL+"/api/v4/projects/"+id, "PRIVATE-TOKEN", servertest.RootToken)
	}
	get(t, srv.URL+"/root/nothing.git/info/refs?service=git-upload-pack")
	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`gantry_http_requests_total{code="404",method="GET",route="/api/v4/projects/{id}"} 3`,
		`gantry_http_request_duration_seconds_count{method="GET",route="/api/v4/projects/{id}"} 3`,
		`gantry_http_requests_total{code="401",method="GET",route="git smart http"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, "root%2Fnothing") || strings.Contains(metrics, `route="/api/v4/projects/1"`) {
		t.Error("metrics carry raw paths")
	}
}

// TestMetricsOnlyForTheMonitoringAllowlist: /metrics answers loopback by
// default and 404 to a client outside the allowlist, as GitLab's
// monitoring_whitelist; the probes stay open for kubelets.
func TestMetricsOnlyForTheMonitoringAllowlist(t *testing.T) {
	open := servertest.Start(t)
	if code, body := get(t, open.URL+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("loopback GET /metrics = %d", code)
	}
	closed := servertest.Start(t, func(c *server.Config) {
		c.MonitoringAllowlist = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	if code, body := get(t, closed.URL+"/metrics"); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics from outside the allowlist = %d %q", code, body)
	}
	if code, _ := get(t, closed.URL+"/-/readiness"); code != 200 {
		t.Errorf("GET /-/readiness from outside the allowlist = %d", code)
	}
}
