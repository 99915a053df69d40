package runnerapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// TestEveryJobAssignedOnceOverHTTP: 500 jobs are pending and 50 runners
// race for them through POST /jobs/request; every job goes to exactly
// one runner. (queue's race test does the same below HTTP; run both with
// -race.)
func TestEveryJobAssignedOnceOverHTTP(t *testing.T) {
	const jobs, runners = 500, 50
	e := newEnv(t)
	var yaml strings.Builder
	for i := range jobs {
		fmt.Fprintf(&yaml, "job%d:\n  script: [echo %d]\n", i, i)
	}
	e.push(map[string]string{".gitlab-ci.yml": yaml.String()})
	e.waitStatus(e.pipeline().ID, "pending")
	var mu sync.Mutex
	got := map[int64][]int{}
	var wg sync.WaitGroup
	for r := range runners {
		fr := fakerunner.New(t, e.srv.URL, e.createRunner(`{"runner_type":"instance_type"}`))
		body, _ := json.Marshal(gitlab.JobRequest{Info: fr.Info, Token: fr.Token, SystemID: fr.SystemID})
		wg.Go(func() {
			for {
				resp, err := fr.Send("POST", "/api/v4/jobs/request", map[string]string{"Content-Type": "application/json"}, bytes.NewReader(body))
				var job gitlab.JobPayload
				switch {
				case err == nil && resp.Status == http.StatusNoContent:
					return
				case err == nil && resp.Status == http.StatusCreated:
					err = json.Unmarshal(resp.Body, &job)
				case err == nil:
					err = fmt.Errorf("%d %s", resp.Status, resp.Body)
				}
				if err != nil {
					t.Errorf("runner %d: %v", r, err)
					return
				}
				mu.Lock()
				got[job.ID] = append(got[job.ID], r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != jobs {
		t.Errorf("%d jobs handed out, want %d", len(got), jobs)
	}
	for id, rs := range got {
		if len(rs) != 1 {
			t.Errorf("job %d went to runners %v", id, rs)
		}
	}
}
