package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/runnerapi/fakerunner"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestPipelinesOnProtectedRefs: as in GitLab, a developer may run
// pipelines and play, retry or cancel jobs of unprotected branches, but
// on a protected branch only if they may push or merge to it: main is
// protected for maintainers (the default), so the developer is refused
// there, by the pipelines API (400 with GitLab's reason), the jobs API
// (403) and the trigger API (for a job token of the developer's job).
func TestPipelinesOnProtectedRefs(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	dev := [2]string{"PRIVATE-TOKEN", f.user(t, "dev", p.ID, gl.DeveloperPermissions)}
	maint := [2]string{"PRIVATE-TOKEN", f.user(t, "maint", p.ID, gl.MaintainerPermissions)}
	c := &ciFixture{fixture: f}
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "build:\n  script: [b]\ndeploy:\n  when: manual\n  script: [d]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "dev", dev[1]), "main:feature")
	base := fmt.Sprintf("/api/v4/projects/%d", p.ID)
	pipelineOf := func(ref string) (pid, deploy, build string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			ps, _, err := f.root.Pipelines.ListProjectPipelines(p.ID, &gl.ListProjectPipelinesOptions{Ref: gl.Ptr(ref)})
			if err == nil && len(ps) > 0 && ps[0].Status != "created" {
				jobs, _, err := f.root.Jobs.ListPipelineJobs(p.ID, ps[0].ID, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]string{}
				for _, j := range jobs {
					ids[j.Name] = fmt.Sprint(j.ID)
				}
				return fmt.Sprint(ps[0].ID), ids["deploy"], ids["build"]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no pipeline for %s", ref)
		return
	}
	mainPipeline, mainDeploy, mainBuild := pipelineOf("main")
	_, featureDeploy, _ := pipelineOf("feature")

	for _, c2 := range []struct {
		name, method, path, body string
		cred                     [2]string
		want                     int
		reason                   string
	}{
		{"developer creates a pipeline on main", "POST", base + "/pipeline", `{"ref":"main"}`, dev, 400, "Insufficient permissions for protected ref 'main'"},
		{"developer creates a pipeline on feature", "POST", base + "/pipeline", `{"ref":"feature"}`, dev, 201, ""},
		{"developer plays a job of main", "POST", base + "/jobs/" + mainDeploy + "/play", "", dev, 403, ""},
		{"developer cancels a job of main", "POST", base + "/jobs/" + mainBuild + "/cancel", "", dev, 403, ""},
		{"developer cancels main's pipeline", "POST", base + "/pipelines/" + mainPipeline + "/cancel", "", dev, 403, ""},
		{"developer plays a job of feature", "POST", base + "/jobs/" + featureDeploy + "/play", "", dev, 200, ""},
		{"maintainer plays a job of main", "POST", base + "/jobs/" + mainDeploy + "/play", "", maint, 200, ""},
		{"maintainer creates a pipeline on main", "POST", base + "/pipeline", `{"ref":"main"}`, maint, 201, ""},
	} {
		t.Run(c2.name, func(t *testing.T) {
			code, out := c.call(t, c2.method, c2.path, c2.cred, c2.body)
			if code != c2.want || !strings.Contains(string(out), c2.reason) {
				t.Errorf("%d %s, want %d %q", code, out, c2.want, c2.reason)
			}
		})
	}

	// A job token carries its user's rights: the developer's job of
	// feature may not start a pipeline on main.
	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	r := fakerunner.New(t, f.srv.URL, token)
	var job string
	for range 5 {
		j := r.WaitJob(t, 10*time.Second)
		if j.GitInfo.Ref == "feature" {
			job = j.Token
			break
		}
	}
	if job == "" {
		t.Fatal("no job of feature was handed out")
	}
	code, out := c.call(t, "POST", base+"/trigger/pipeline", [2]string{}, fmt.Sprintf(`{"ref":"main","token":%q}`, job))
	if code != 400 || !strings.Contains(string(out), "protected ref 'main'") {
		t.Errorf("trigger main with the developer's job token: %d %s", code, out)
	}
	code, out = c.call(t, "POST", base+"/trigger/pipeline", [2]string{}, fmt.Sprintf(`{"ref":"feature","token":%q}`, job))
	if code != 201 {
		t.Errorf("trigger feature with the developer's job token: %d %s", code, out)
	}
}

// TestTagNamedLikeProtectedBranch: a developer pushes tag "production" at
// a commit of their own while branch "production" is protected. The push
// makes a tag pipeline, unprotected, whose job gets no protected variable
// (the reviewer's attack: it used to run as the protected branch). Asked
// by short name, "production" is ambiguous and the API refuses it, as
// GitLab does; the full names say which ref is meant.
func TestTagNamedLikeProtectedBranch(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	dev := f.user(t, "dev", p.ID, gl.DeveloperPermissions)
	c := &ciFixture{fixture: f}
	// The branch's own pipelines are filtered out: the only job is the tag's.
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "ok:\n  script: [ok]\n  rules: [{if: $CI_COMMIT_TAG}]\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main", "main:production")
	if _, _, err := f.root.ProtectedBranches.ProtectRepositoryBranches(p.ID, &gl.ProtectRepositoryBranchesOptions{Name: gl.Ptr("production")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.root.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{Key: gl.Ptr("DEPLOY_KEY"),
		Value: gl.Ptr("s3cr3t-deploy-key"), Protected: gl.Ptr(true), Masked: gl.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	evil := gittest.NewWorkTree(t, "x", map[string]string{".gitlab-ci.yml": "steal:\n  script: [echo $DEPLOY_KEY]\n"})
	gittest.Run(t, evil, "tag", "production")
	sha := strings.TrimSpace(gittest.Run(t, evil, "rev-parse", "HEAD"))
	gittest.Run(t, evil, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "dev", dev), "refs/tags/production")

	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	j := fakerunner.New(t, f.srv.URL, token).WaitJob(t, 20*time.Second)
	if j.JobInfo.Name != "steal" || j.GitInfo.RefType != "tag" || j.GitInfo.Sha != sha || j.GitInfo.Protected == nil || *j.GitInfo.Protected {
		t.Errorf("job %s: ref type %s, sha %s, protected %v; want steal, tag, %s, false", j.JobInfo.Name, j.GitInfo.RefType,
			j.GitInfo.Sha, j.GitInfo.Protected, sha)
	}
	for _, v := range j.Variables {
		if v.Key == "DEPLOY_KEY" {
			t.Errorf("the tag's job got the protected variable %s", v.Key)
		}
	}
	pl, _, err := f.root.Pipelines.GetPipeline(p.ID, j.JobInfo.PipelineID)
	if err != nil || !pl.Tag || pl.Ref != "production" || pl.SHA != sha {
		t.Errorf("pipeline = %+v, %v; want a tag pipeline of production at %s", pl, err, sha)
	}

	base := fmt.Sprintf("/api/v4/projects/%d/pipeline", p.ID)
	devCred := [2]string{"PRIVATE-TOKEN", dev}
	for _, tc := range []struct {
		ref  string
		want int
		msg  string
	}{
		{"production", 400, "Ref is ambiguous"},
		{"refs/heads/production", 400, "Insufficient permissions for protected ref"},
		{"refs/tags/production", 201, `"tag":true`},
		{"nowhere", 400, "Reference not found"},
	} {
		if code, out := c.call(t, "POST", base, devCred, fmt.Sprintf(`{"ref":%q}`, tc.ref)); code != tc.want || !strings.Contains(string(out), tc.msg) {
			t.Errorf("developer creates a pipeline for %s: %d %s; want %d %q", tc.ref, code, out, tc.want, tc.msg)
		}
	}
}
