package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server/servertest"
)

const artifactAccessConfig = `
stages: [build, use]
.out: {stage: build, script: [x]}
all: {extends: .out, artifacts: {paths: [out.txt]}}
access_all: {extends: .out, artifacts: {paths: [out.txt], access: all}}
not_public: {extends: .out, artifacts: {paths: [out.txt], public: false}}
developer: {extends: .out, artifacts: {paths: [out.txt], access: developer}}
maintainer: {extends: .out, artifacts: {paths: [out.txt], access: maintainer}}
none: {extends: .out, artifacts: {paths: [out.txt], access: none}}
use: {stage: use, script: [x]}
`

// TestArtifactsAccess: artifacts:access and artifacts:public: false
// limit who downloads a job's artifacts through the API (403 otherwise,
// as GitLab answers), even in a public project; the jobs that depend on
// them still get them through the runner API.
func TestArtifactsAccess(t *testing.T) {
	f := newFixture(t)
	c := &ciFixture{fixture: f}
	p := f.project(t, "pub", gl.PublicVisibility)
	creds := map[string][2]string{"admin": {"PRIVATE-TOKEN", servertest.RootToken}}
	for _, m := range []struct {
		name string
		role gl.AccessLevelValue
	}{{"nonmember", 0}, {"reporter", gl.ReporterPermissions}, {"developer", gl.DeveloperPermissions}, {"maintainer", gl.MaintainerPermissions}} {
		creds[m.name] = [2]string{"PRIVATE-TOKEN", f.user(t, m.name, p.ID, m.role)}
	}
	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	r := fakerunner.New(t, f.srv.URL, token)
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": artifactAccessConfig})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")
	jobs := map[string]int64{}
	for range 6 {
		j := r.WaitJob(t, 20*time.Second)
		r.Update(t, j, gitlab.UpdateJobRequest{State: "running"})
		if len(j.Artifacts) == 0 {
			t.Fatalf("job %s has no artifacts to upload", j.JobInfo.Name)
		}
		if resp := r.Upload(t, j, j.Artifacts[0], "artifacts.zip", zipOf(t, "out.txt", j.JobInfo.Name)); resp.Status != 201 {
			t.Fatalf("upload %s: %d %s", j.JobInfo.Name, resp.Status, resp.Body)
		}
		if resp := r.Final(t, j, "success", "", 0, nil); resp.Status != 200 {
			t.Fatalf("finish %s: %d", j.JobInfo.Name, resp.Status)
		}
		jobs[j.JobInfo.Name] = j.ID
	}
	use := r.WaitJob(t, 20*time.Second)
	r.Update(t, use, gitlab.UpdateJobRequest{State: "running"})
	creds["job"] = [2]string{"JOB-TOKEN", use.Token} // root's job: root owns the project

	ok, no := 200, 403
	for _, c2 := range []struct {
		job  string
		want map[string]int // by credential; anything not listed: ok
	}{
		{"all", nil},
		{"access_all", nil},
		{"not_public", map[string]int{"nonmember": no, "reporter": no}},
		{"developer", map[string]int{"nonmember": no, "reporter": no}},
		{"maintainer", map[string]int{"nonmember": no, "reporter": no, "developer": no}},
		{"none", map[string]int{"nonmember": no, "reporter": no, "developer": no, "maintainer": no, "admin": no, "job": no}},
	} {
		for _, who := range []string{"nonmember", "reporter", "developer", "maintainer", "admin", "job"} {
			want, listed := c2.want[who]
			if !listed {
				want = ok
			}
			for _, path := range []string{"/artifacts", "/artifacts/out.txt"} {
				t.Run(c2.job+"/"+who+path, func(t *testing.T) {
					url := fmt.Sprintf("/api/v4/projects/%d/jobs/%d%s", p.ID, jobs[c2.job], path)
					if code, out := c.call(t, "GET", url, creds[who], ""); code != want {
						t.Errorf("GET %s = %d %.100s, want %d", url, code, out, want)
					}
				})
			}
		}
	}
	// The runner gets every dependency's archive for the job that needs it.
	var deps []string
	for _, d := range use.Dependencies {
		if resp := r.Download(t, d.ID, use.Token); resp.Status != 200 {
			t.Errorf("runner download of %s for %s: %d", d.Name, use.JobInfo.Name, resp.Status)
		}
		deps = append(deps, d.Name)
	}
	slices.Sort(deps)
	if !slices.Equal(deps, []string{"access_all", "all", "developer", "maintainer", "none", "not_public"}) {
		t.Errorf("dependencies of use: %v", deps)
	}
}
