package runnerapi_test

import (
	"testing"

	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
)

// TestStuckJob: a pending job that no online runner can take shows as
// stuck, and stops being stuck once a matching runner calls in.
func TestStuckJob(t *testing.T) {
	e := newEnv(t)
	e.push(map[string]string{".gitlab-ci.yml": "train:\n  tags: [gpu]\n  script: [echo train]\n"})
	p := e.pipeline()
	e.runner.Verify(t) // an online runner, but without the tag
	job := e.jobs(int64(p.ID))["train"]
	if job.Status != "pending" || !stuck(t, e, job.ID) {
		t.Fatalf("job %s, stuck %v; want pending and stuck", job.Status, stuck(t, e, job.ID))
	}
	gpu := fakerunner.New(t, e.srv.URL, e.createRunner(`{"runner_type":"instance_type","tag_list":["gpu"]}`))
	gpu.Verify(t)
	if stuck(t, e, job.ID) {
		t.Error("still stuck with a matching runner online")
	}
}

func stuck(t *testing.T, e *env, jobID int64) bool {
	t.Helper()
	var j struct {
		Stuck bool `json:"stuck"`
	}
	req, err := e.api.NewRequest("GET", "projects/"+itoa(e.project.ID)+"/jobs/"+itoa(jobID), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Do(req, &j); err != nil {
		t.Fatal(err)
	}
	return j.Stuck
}
