package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// steadyRunner speaks the runner protocol like gitlab-runner when the
// server goes away: a call that gets no answer (or a 5xx) is sent again
// until retryFor ends; a trace offset the server disputes (416) moves to
// the server's length; a final update answered 202 sends what is missing
// and tries again.
type steadyRunner struct {
	*fakerunner.Runner
	retryFor time.Duration
	// retries counts calls sent again for want of an answer; resends
	// counts trace patches the server answered 416.
	retries, resends atomic.Int64
}

func newSteadyRunner(tb testing.TB, url, token string) *steadyRunner {
	r := fakerunner.New(tb, url, token)
	r.Client.Timeout = 30 * time.Second
	return &steadyRunner{Runner: r, retryFor: 90 * time.Second}
}

// send retries method path until the server answers below 500.
func (r *steadyRunner) send(method, path string, header map[string]string, body []byte) (fakerunner.Response, error) {
	deadline := time.Now().Add(r.retryFor)
	for {
		resp, err := r.Send(method, path, header, bytes.NewReader(body))
		if err == nil && resp.Status < 500 {
			return resp, nil
		}
		if time.Now().After(deadline) {
			return resp, fmt.Errorf("%s %s: no answer within %s: %v (status %d)", method, path, r.retryFor, err, resp.Status)
		}
		r.retries.Add(1)
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *steadyRunner) sendJSON(method, path string, header map[string]string, v any) (fakerunner.Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return fakerunner.Response{}, err
	}
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	for k, val := range header {
		h[k] = val
	}
	return r.send(method, path, h, b)
}

// waitJob polls /jobs/request (long polling with last_update) until a job
// comes.
func (r *steadyRunner) waitJob(within time.Duration) (*gitlab.JobPayload, error) {
	deadline, last := time.Now().Add(within), ""
	for time.Now().Before(deadline) {
		resp, err := r.sendJSON("POST", "/api/v4/jobs/request", nil,
			gitlab.JobRequest{Info: r.Info, Token: r.Token, SystemID: r.SystemID, LastUpdate: last})
		if err != nil {
			return nil, err
		}
		switch resp.Status {
		case http.StatusCreated:
			var p gitlab.JobPayload
			return &p, json.Unmarshal(resp.Body, &p)
		case http.StatusNoContent:
			last = resp.Header.Get(gitlab.HeaderLastUpdate)
		default:
			return nil, fmt.Errorf("job request: %d %s", resp.Status, resp.Body)
		}
	}
	return nil, errors.New("no job came")
}

// update sends PUT /jobs/:id.
func (r *steadyRunner) update(job *gitlab.JobPayload, u gitlab.UpdateJobRequest) (fakerunner.Response, error) {
	u.Info, u.Token = r.Info, job.Token
	return r.sendJSON("PUT", "/api/v4/jobs/"+strconv.FormatInt(job.ID, 10), map[string]string{gitlab.HeaderJobToken: job.Token}, u)
}

// jobLog is a job's log as the runner has it, and how much of it the
// server acknowledged.
type jobLog struct {
	job   *gitlab.JobPayload
	data  []byte
	acked atomic.Int64
	// lost, when set, makes the next flush forget that many acknowledged
	// bytes, as a runner whose reply was cut by a crash resends them.
	lost atomic.Int64
}

// flush PATCHes the log from the acknowledged offset until the server
// has all of it.
func (r *steadyRunner) flush(l *jobLog) error {
	if n := l.lost.Swap(0); n > 0 {
		l.acked.Store(max(0, l.acked.Load()-n))
	}
	for int(l.acked.Load()) < len(l.data) {
		start := int(l.acked.Load())
		chunk := l.data[start:min(len(l.data), start+256<<10)]
		h := map[string]string{gitlab.HeaderJobToken: l.job.Token, "Content-Type": "text/plain",
			"Content-Range": fmt.Sprintf("%d-%d", start, start+len(chunk)-1)}
		resp, err := r.send("PATCH", "/api/v4/jobs/"+strconv.FormatInt(l.job.ID, 10)+"/trace?debug_trace=false", h, chunk)
		if err != nil {
			return err
		}
		switch resp.Status {
		case http.StatusRequestedRangeNotSatisfiable, http.StatusAccepted:
			if resp.Status == http.StatusRequestedRangeNotSatisfiable {
				r.resends.Add(1)
			}
			// 416 after a crash: the server kept a patch whose reply
			// was lost (or lost one); go on from its length.
			_, end, ok := strings.Cut(resp.Header.Get("Range"), "-")
			n, err := strconv.ParseInt(end, 10, 64)
			if !ok || err != nil || n > int64(len(l.data)) {
				return fmt.Errorf("trace reply %d with Range %q", resp.Status, resp.Header.Get("Range"))
			}
			l.acked.Store(n)
		default:
			return fmt.Errorf("trace: %d %v %s", resp.Status, resp.Header, resp.Body)
		}
	}
	return nil
}

// finish sends the final update until the server takes it. A 403 whose
// Job-Status is the state sent means an earlier attempt was taken and its
// reply lost.
func (r *steadyRunner) finish(l *jobLog, state, reason string) error {
	sum := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(l.data))
	for range 50 {
		resp, err := r.update(l.job, gitlab.UpdateJobRequest{State: state, FailureReason: reason,
			Output: gitlab.JobOutput{Checksum: sum, Bytesize: int64(len(l.data))}, Checksum: sum})
		switch {
		case err != nil:
			return err
		case resp.Status == http.StatusOK:
			return nil
		case resp.Status == http.StatusForbidden && resp.Header.Get(gitlab.HeaderJobStatus) == state:
			return nil
		case resp.Status == http.StatusAccepted:
			if err := r.flush(l); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		default:
			return fmt.Errorf("final update: %d %v", resp.Status, resp.Header)
		}
	}
	return errors.New("the final update was never taken")
}

// run plays a short job to success.
func (r *steadyRunner) run(job *gitlab.JobPayload, text string) error {
	if _, err := r.update(job, gitlab.UpdateJobRequest{State: "running"}); err != nil {
		return err
	}
	l := &jobLog{job: job, data: []byte(text)}
	if err := r.flush(l); err != nil {
		return err
	}
	return r.finish(l, "success", "")
}

// freeAddr returns a loopback address with a port nobody listens on, so
// that a restarted server can take the same one.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ciProject creates a project with a .gitlab-ci.yml pushed to main and an
// instance runner, and returns the project and the runner's token.
func ciProject(tb testing.TB, url, ciYAML string) (*gl.Project, string) {
	tb.Helper()
	c := client(tb, url)
	p, _, err := c.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app")})
	if err != nil {
		tb.Fatal(err)
	}
	var runner struct{ Token string }
	req, err := c.NewRequest("POST", "user/runners", map[string]any{"runner_type": "instance_type"}, nil)
	if err == nil {
		_, err = c.Do(req, &runner)
	}
	if err != nil {
		tb.Fatalf("create runner: %v", err)
	}
	wt := gittest.NewWorkTree(tb, "main", map[string]string{".gitlab-ci.yml": ciYAML})
	gittest.Run(tb, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", rootToken), "main")
	return p, runner.Token
}

// waitPipeline waits until the project's only pipeline has a status.
func waitPipeline(tb testing.TB, c *gl.Client, pid int64, want string) *gl.Pipeline {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps, _, err := c.Pipelines.ListProjectPipelines(pid, nil)
		if err == nil && len(ps) == 1 && ps[0].Status == want {
			p, _, err := c.Pipelines.GetPipeline(pid, ps[0].ID)
			if err != nil {
				tb.Fatal(err)
			}
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("pipeline never became %s: %v %v", want, ps, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
