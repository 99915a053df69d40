package server_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server/servertest"
	"github.com/gantry-ci/gantry/store/sqlite"
)

// setUserState blocks or unblocks a user straight in the database: Gantry
// has no API for it yet.
func (f *fixture) setUserState(t *testing.T, username string, state gantry.UserState) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(f.srv.DataDir, "gantry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByUsername(t.Context(), username)
	if err == nil {
		err = st.SetUserState(t.Context(), u.ID, state)
	}
	if err != nil {
		t.Fatalf("set %s %s: %v", username, state, err)
	}
}

// runningJob pushes a one-job pipeline to p with token (as user) and
// returns the job, claimed and running.
func runningJob(t *testing.T, c *ciFixture, r *fakerunner.Runner, p *gl.Project, user, token string) *gitlab.JobPayload {
	t.Helper()
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "job:\n  script: [x]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, user, token), "main")
	j := r.WaitJob(t, 20*time.Second)
	if j.JobInfo.ProjectID != p.ID {
		t.Fatalf("got a job of project %d, want %d", j.JobInfo.ProjectID, p.ID)
	}
	r.Update(t, j, gitlab.UpdateJobRequest{State: "running"})
	return j
}

// TestJobTokenTriggersItsOwnProjectOnly: a job token starts pipelines in
// its own project only, even where the job's user could run them (Gantry
// has no job token allowlist, through which GitLab lets other projects
// admit it), and only with the rights of its user.
func TestJobTokenTriggersItsOwnProjectOnly(t *testing.T) {
	f := newFixture(t)
	c := &ciFixture{fixture: f}
	a, b := f.project(t, "a", gl.PrivateVisibility), f.project(t, "b", gl.PrivateVisibility)
	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	r := fakerunner.New(t, f.srv.URL, token)
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "job:\n  script: [x]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(b.HTTPURLToRepo, "root", servertest.RootToken), "main")
	r.WaitJob(t, 20*time.Second) // b's pipeline: b's main exists and root may run pipelines there
	job := runningJob(t, c, r, a, "root", servertest.RootToken)
	for _, tc := range []struct {
		project *gl.Project
		want    int
	}{{b, 404}, {a, 201}} {
		path := fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", tc.project.ID)
		code, out := c.call(t, "POST", path, [2]string{}, fmt.Sprintf(`{"ref":"main","token":%q,"variables":{"INJECTED":"1"}}`, job.Token))
		if code != tc.want {
			t.Errorf("trigger %s with a's job token: %d %s, want %d", tc.project.PathWithNamespace, code, out, tc.want)
		}
	}
	if ps, _, err := f.root.Pipelines.ListProjectPipelines(b.ID, nil); err != nil || len(ps) != 1 {
		t.Errorf("b has %d pipelines (%v), want its push's only", len(ps), err)
	}
}

// TestBlockedUsersLoseCIAccess: a blocked user's trigger tokens and job
// tokens stop working, as their personal access tokens do; a job token
// of a user removed from a private project can't read it any more.
func TestBlockedUsersLoseCIAccess(t *testing.T) {
	f := newFixture(t)
	c := &ciFixture{fixture: f}
	p := f.project(t, "app", gl.PrivateVisibility)
	dev := f.user(t, "dev", p.ID, gl.MaintainerPermissions)
	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	r := fakerunner.New(t, f.srv.URL, token)
	job := runningJob(t, c, r, p, "dev", dev)
	devClient, err := gl.NewClient(dev, gl.WithBaseURL(f.srv.URL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := devClient.PipelineTriggers.AddPipelineTrigger(p.ID, &gl.AddPipelineTriggerOptions{Description: gl.Ptr("dev's")})
	if err != nil {
		t.Fatal(err)
	}
	users, _, err := f.root.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr("dev")})
	if err != nil || len(users) != 1 {
		t.Fatalf("find dev: %v", err)
	}
	devID := users[0].ID

	trigger := func() int {
		code, _ := c.call(t, "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", p.ID), [2]string{},
			fmt.Sprintf(`{"ref":"main","token":%q}`, tr.Token))
		return code
	}
	clone := func() error {
		_, err := gittest.Try(t, t.TempDir(), "ls-remote", gittest.URLWithAuth(p.HTTPURLToRepo, "gitlab-ci-token", job.Token))
		return err
	}
	apiCall := func(path string) int {
		code, _ := c.call(t, "GET", path, [2]string{"JOB-TOKEN", job.Token}, "")
		return code
	}
	project := fmt.Sprintf("/api/v4/projects/%d", p.ID)
	check := func(state string, wantTrigger, wantJob, wantProject int, cloneOK bool) {
		t.Helper()
		if code := trigger(); code != wantTrigger {
			t.Errorf("%s: trigger = %d, want %d", state, code, wantTrigger)
		}
		if err := clone(); (err == nil) != cloneOK {
			t.Errorf("%s: clone with the job token: %v, want success %v", state, err, cloneOK)
		}
		if code := apiCall("/api/v4/job"); code != wantJob {
			t.Errorf("%s: GET /job = %d, want %d", state, code, wantJob)
		}
		if code := apiCall(project); code != wantProject {
			t.Errorf("%s: GET the project = %d, want %d", state, code, wantProject)
		}
	}
	check("active", 201, 200, 200, true)
	f.setUserState(t, "dev", gantry.UserBlocked)
	check("blocked", 404, 401, 401, false)
	f.setUserState(t, "dev", gantry.UserActive)
	check("unblocked", 201, 200, 200, true)
	if _, err := f.root.ProjectMembers.DeleteProjectMember(p.ID, devID); err != nil {
		t.Fatal(err)
	}
	check("removed from the project", 404, 200, 404, false)
}
