package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestPermissionMatrix checks GitLab's default permissions through the real
// paths: read = GET the project over the API, clone = git ls-remote,
// push = git push, admin = PUT project settings. The expectations are the
// same table as auth's unit test; this proves every path asks it.
func TestPermissionMatrix(t *testing.T) {
	f := newFixture(t)
	want := map[gl.VisibilityValue][]string{
		//               anon    non-m   guest   report  dev     maint   owner   admin
		gl.PrivateVisibility:  {"----", "----", "y---", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
		gl.InternalVisibility: {"----", "yy--", "yy--", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
		gl.PublicVisibility:   {"yy--", "yy--", "yy--", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
	}
	roles := []struct {
		name  string
		level gl.AccessLevelValue
	}{{"anon", 0}, {"nonmember", 0}, {"guest", gl.GuestPermissions}, {"reporter", gl.ReporterPermissions},
		{"developer", gl.DeveloperPermissions}, {"maintainer", gl.MaintainerPermissions}, {"owner", gl.OwnerPermissions}, {"admin", 0}}
	wt := gittest.NewWorkTree(t, "main", map[string]string{"x": "x\n"})
	for vis, rows := range want {
		p := f.project(t, "m-"+string(vis), vis)
		gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main")
		for i, r := range roles {
			token := ""
			switch r.name {
			case "anon":
			case "admin":
				token = servertest.RootToken
			default:
				token = f.user(t, fmt.Sprintf("%s-%s", r.name, vis), p.ID, r.level)
			}
			for j, action := range []string{"read", "clone", "push", "admin"} {
				t.Run(fmt.Sprintf("%s/%s/%s", vis, r.name, action), func(t *testing.T) {
					if got, exp := allowed(t, f, p, token, action), rows[i][j] == 'y'; got != exp {
						t.Errorf("allowed = %v, want %v", got, exp)
					}
				})
			}
		}
	}
}

func allowed(t *testing.T, f *fixture, p *gl.Project, token, action string) bool {
	t.Helper()
	url := p.HTTPURLToRepo
	if token != "" {
		url = gittest.URLWithAuth(url, "user", token)
	}
	switch action {
	case "clone":
		_, err := gittest.Try(t, t.TempDir(), "ls-remote", url)
		return err == nil
	case "push":
		wt := gittest.NewWorkTree(t, "main", map[string]string{"y": t.Name()})
		_, err := gittest.Try(t, wt, "push", "-q", url, "main:refs/heads/"+strings.ReplaceAll(t.Name(), "/", "-"))
		return err == nil
	}
	method, body := "GET", ""
	if action == "admin" {
		method, body = "PUT", `{"description":"changed"}`
	}
	req, _ := http.NewRequest(method, f.srv.URL+fmt.Sprintf("/api/v4/projects/%d", p.ID), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
