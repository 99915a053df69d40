package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// request asks for a job; it returns the payload of a 201, or the
// version of a 204.
func request(r *fakerunner.Runner, lastUpdate string) (*gitlab.JobPayload, string, error) {
	body, _ := json.Marshal(gitlab.JobRequest{Info: r.Info, Token: r.Token, SystemID: r.SystemID, LastUpdate: lastUpdate})
	resp, err := r.Send("POST", "/api/v4/jobs/request", map[string]string{"Content-Type": "application/json"}, strings.NewReader(string(body)))
	switch {
	case err != nil:
		return nil, "", err
	case resp.Status == http.StatusCreated:
		var p gitlab.JobPayload
		return &p, "", json.Unmarshal(resp.Body, &p)
	case resp.Status == http.StatusNoContent:
		return nil, resp.Header.Get(gitlab.HeaderLastUpdate), nil
	}
	return nil, "", fmt.Errorf("job request: %d %s", resp.Status, resp.Body)
}

// finishJob confirms and ends a job, so that it never comes back.
func finishJob(r *fakerunner.Runner, job *gitlab.JobPayload) error {
	for _, state := range []string{"running", "success"} {
		body, _ := json.Marshal(gitlab.UpdateJobRequest{Token: job.Token, State: state, Info: r.Info})
		resp, err := r.Send("PUT", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10),
			map[string]string{"Content-Type": "application/json", gitlab.HeaderJobToken: job.Token}, strings.NewReader(string(body)))
		if err == nil && resp.Status != 200 {
			err = fmt.Errorf("update %s: %d", state, resp.Status)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// procCPU is a process's user plus system CPU time, with that of the
// children it waited for (git), from /proc/<pid>/stat.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	var ticks int64
	for _, f := range fields[11:15] { // utime stime cutime cstime
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// logText is size bytes of job log lines.
func logText(size int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "2026-11-27T02:35:03.%06dZ 01O \x1b[32;1m$ make test\x1b[0;m ok  \tgithub.com/example/pkg%d\t0.%03ds\n", i, i, i%1000)
	}
	return sb.String()[:size]
}

// waitMetric waits until an unlabelled gauge of the server's /metrics
// equals want (any value but 0 when want < 0) and returns it.
func waitMetric(tb testing.TB, url, name string, want float64) float64 {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v := metric(tb, url, name)
		if v == want || (want < 0 && v > 0) {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is %v, want %v", name, v, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func metric(tb testing.TB, url, name string) float64 {
	tb.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// raiseFileLimit lifts the soft limit on open files to the hard one: a
// thousand held polls are a thousand sockets on each side.
func raiseFileLimit(tb testing.TB) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
}
