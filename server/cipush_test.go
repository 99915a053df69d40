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

// waitPipelines polls until project pid has n pipelines and returns them,
// newest first.
func (f *fixture) waitPipelines(t *testing.T, pid int64, n int) []*gl.PipelineInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, _, err := f.root.Pipelines.ListProjectPipelines(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) >= n {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pipelines after 20 s, want %d", len(ps), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAnnotatedTagPipeline: the pipeline of a pushed annotated tag runs
// the commit it tags, not the tag object: its sha, the job's checkout and
// CI_COMMIT_SHA are the commit's, as in GitLab.
func TestAnnotatedTagPipeline(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	c := &ciFixture{fixture: f}
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "j:\n  script: [x]\n  rules: [{if: $CI_COMMIT_TAG}]\n"})
	gittest.Run(t, wt, "tag", "-a", "-m", "release", "v1")
	commit := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main", "refs/tags/v1")

	_, token := c.createRunner(t, servertest.RootToken, `{"runner_type":"instance_type"}`)
	j := fakerunner.New(t, f.srv.URL, token).WaitJob(t, 20*time.Second)
	vars := map[string]string{}
	for _, v := range j.Variables {
		vars[v.Key] = v.Value
	}
	if j.GitInfo.Sha != commit || vars["CI_COMMIT_SHA"] != commit || vars["CI_COMMIT_TAG"] != "v1" {
		t.Errorf("job checks out %s with CI_COMMIT_SHA %s, CI_COMMIT_TAG %q; want the commit %s, v1", j.GitInfo.Sha,
			vars["CI_COMMIT_SHA"], vars["CI_COMMIT_TAG"], commit)
	}
	if ps := f.waitPipelines(t, p.ID, 1); ps[0].SHA != commit || ps[0].Ref != "v1" {
		t.Errorf("pipeline %s at %s, want v1 at the commit %s", ps[0].Ref, ps[0].SHA, commit)
	}
}

// TestPushCannotTouchPipelineRefs: nobody, not even an administrator,
// deletes or moves a pipeline's refs/pipelines/<id> by pushing (jobs
// fetch their commit from it), as in GitLab.
func TestPushCannotTouchPipelineRefs(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	dev := f.user(t, "dev", p.ID, gl.DeveloperPermissions)
	rootURL := gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken)
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": "j:\n  script: [x]\n"})
	gittest.Run(t, wt, "push", "-q", rootURL, "main")
	pl := f.waitPipelines(t, p.ID, 1)[0]
	ref := fmt.Sprintf("refs/pipelines/%d", pl.ID)
	gittest.Commit(t, wt, "other", map[string]string{"x": "y\n"})
	for _, c := range []struct{ who, url, refspec string }{
		{"developer", gittest.URLWithAuth(p.HTTPURLToRepo, "dev", dev), ":" + ref},
		{"developer", gittest.URLWithAuth(p.HTTPURLToRepo, "dev", dev), "HEAD:" + ref},
		{"administrator", rootURL, ":" + ref},
	} {
		if out, err := gittest.Try(t, wt, "push", "--force", c.url, c.refspec); err == nil || !strings.Contains(out, "hidden ref") {
			t.Errorf("%s pushes %s: err %v, output:\n%s", c.who, c.refspec, err, out)
		}
	}
	if out := gittest.Run(t, wt, "ls-remote", rootURL, ref); !strings.HasPrefix(out, pl.SHA+"\t"+ref) {
		t.Errorf("%s after the pushes: %q, want %s", ref, out, pl.SHA)
	}
}
