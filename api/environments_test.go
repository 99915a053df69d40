package api_test

import (
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestEnvironmentsAPI: a pushed pipeline's environments are listed and
// read through GitLab's environments API with the official client.
func TestEnvironmentsAPI(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	p, _, err := root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app")})
	if err != nil {
		t.Fatal(err)
	}
	yaml := "deploy:\n  script: [x]\n  environment: {name: review/$CI_COMMIT_REF_SLUG, url: https://review.example.com}\n" +
		"prod:\n  script: [x]\n  environment: production\n"
	wt := gittest.NewWorkTree(t, "main", map[string]string{".gitlab-ci.yml": yaml})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")

	var envs []*gl.Environment
	deadline := time.Now().Add(30 * time.Second)
	for len(envs) < 2 && time.Now().Before(deadline) {
		if envs, _, err = root.Environments.ListEnvironments(p.ID, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(envs) != 2 {
		t.Fatalf("environments = %d, want 2", len(envs))
	}
	if e := envs[0]; e.Name != "production" || e.Slug != "production" || e.Tier != "production" || e.State != "available" {
		t.Errorf("first environment = %+v", e)
	}
	if e := envs[1]; e.Name != "review/main" || e.ExternalURL != "https://review.example.com" || e.Tier != "development" {
		t.Errorf("second environment = %+v", e)
	}
	one, _, err := root.Environments.ListEnvironments(p.ID, &gl.ListEnvironmentsOptions{Name: gl.Ptr("review/main")})
	if err != nil || len(one) != 1 {
		t.Fatalf("by name: %v, %v", one, err)
	}
	got, _, err := root.Environments.GetEnvironment(p.ID, one[0].ID)
	if err != nil || got.Name != "review/main" {
		t.Errorf("GetEnvironment = %+v, %v", got, err)
	}
	if _, resp, err := root.Environments.GetEnvironment(p.ID, 999); err == nil || resp.StatusCode != 404 {
		t.Errorf("missing environment: %v", err)
	}
}
