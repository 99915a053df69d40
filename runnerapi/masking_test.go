package runnerapi_test

import (
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/gitlab"
)

// TestMaskingOutlivesRotationAndRestart: a job's log masks the masked
// variables the job was handed, even after the variable was rotated and
// the server restarted mid-job (nothing of the job kept in memory), and
// its job token.
func TestMaskingOutlivesRotationAndRestart(t *testing.T) {
	e := newEnv(t)
	const old, rotated = "old-secret-value-1", "new-secret-value-2"
	if _, _, err := e.api.ProjectVariables.CreateVariable(e.project.ID, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("DEPLOY_KEY"), Value: gl.Ptr(old), Masked: gl.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	e.push(map[string]string{".gitlab-ci.yml": "deploy:\n  script: [echo $DEPLOY_KEY]\n"})
	e.pipeline()
	job := e.runner.WaitJob(t, 10*time.Second)
	if r := e.runner.Update(t, job, gitlab.UpdateJobRequest{State: "running"}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if _, _, err := e.api.ProjectVariables.UpdateVariable(e.project.ID, "DEPLOY_KEY", &gl.UpdateProjectVariableOptions{
		Value: gl.Ptr(rotated)}); err != nil {
		t.Fatal(err)
	}
	e.srv.Restart(t)

	log := "key " + old + "\ntoken " + job.Token + "\ndone\n"
	if r := e.runner.Patch(t, job, 0, []byte(log)); r.Status != 202 {
		t.Fatalf("patch after restart: %d %s", r.Status, r.Body)
	}
	if r := e.runner.Final(t, job, "success", "", 0, []byte(log)); r.Status != 200 {
		t.Fatalf("final update: %d %s", r.Status, r.Body)
	}
	trace, _, err := e.api.Jobs.GetTraceFile(e.project.ID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, trace)
	if strings.Contains(got, old) || strings.Contains(got, job.Token) || !strings.HasSuffix(got, "\ndone\n") {
		t.Errorf("stored log = %q; want the old value and the job token masked", got)
	}
}
