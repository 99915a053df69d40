package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

func newClient(tb testing.TB, baseURL, token string) *gl.Client {
	tb.Helper()
	c, err := gl.NewClient(token, gl.WithBaseURL(baseURL+"/api/v4"), gl.WithCustomRetryMax(0))
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	return c
}

// wantStatus checks that err is a GitLab API error with the given status.
func wantStatus(tb testing.TB, err error, code int) {
	tb.Helper()
	if code == http.StatusNotFound && errors.Is(err, gl.ErrNotFound) {
		return // the client turns every 404 into this sentinel
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != code {
		tb.Fatalf("error = %v, want HTTP %d", err, code)
	}
}

// userWithToken creates a user through the API (as root) and a token for them.
func userWithToken(tb testing.TB, root *gl.Client, username string) (*gl.User, string) {
	tb.Helper()
	u, _, err := root.Users.CreateUser(&gl.CreateUserOptions{Username: gl.Ptr(username), Name: gl.Ptr(username),
		Email: gl.Ptr(username + "@example.com"), Password: gl.Ptr("password-" + username)})
	if err != nil {
		tb.Fatalf("create user %s: %v", username, err)
	}
	tok, _, err := root.Users.CreatePersonalAccessToken(u.ID, &gl.CreatePersonalAccessTokenOptions{
		Name: gl.Ptr("test"), Scopes: &[]string{"api"}})
	if err != nil {
		tb.Fatalf("create token for %s: %v", username, err)
	}
	return u, tok.Token
}

// TestOfficialGoClient drives the API with GitLab's own Go client: groups,
// projects, pagination, files, members and the errors it must get.
func TestOfficialGoClient(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	alice, aliceToken := userWithToken(t, root, "alice")
	bob, bobToken := userWithToken(t, root, "bob")
	ac, bc := newClient(t, srv.URL, aliceToken), newClient(t, srv.URL, bobToken)

	grp, _, err := ac.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("Team"), Path: gl.Ptr("team"), Visibility: gl.Ptr(gl.PrivateVisibility)})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	sub, _, err := ac.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("Sub"), Path: gl.Ptr("sub"), ParentID: gl.Ptr(grp.ID)})
	if err != nil || sub.FullPath != "team/sub" {
		t.Fatalf("create subgroup = %+v, %v", sub, err)
	}
	var app *gl.Project
	for i := range 7 {
		p, _, err := ac.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr(fmt.Sprintf("app%d", i)), NamespaceID: gl.Ptr(sub.ID)})
		if err != nil {
			t.Fatalf("create project %d: %v", i, err)
		}
		app = p
	}
	if app.PathWithNamespace != "team/sub/app6" || app.HTTPURLToRepo != srv.URL+"/team/sub/app6.git" || app.Visibility != gl.PrivateVisibility {
		t.Errorf("created project = %+v", app)
	}

	// Three pages of three, three and one.
	var names []string
	opt := &gl.ListProjectsOptions{ListOptions: gl.ListOptions{PerPage: 3, Page: 1}, OrderBy: gl.Ptr("id"), Sort: gl.Ptr("asc")}
	for pages := 0; ; pages++ {
		ps, resp, err := ac.Projects.ListProjects(opt)
		if err != nil {
			t.Fatalf("list projects page %d: %v", opt.Page, err)
		}
		if resp.TotalItems != 7 || resp.TotalPages != 3 || resp.ItemsPerPage != 3 {
			t.Fatalf("page %d headers: total %d pages %d per page %d", opt.Page, resp.TotalItems, resp.TotalPages, resp.ItemsPerPage)
		}
		for _, p := range ps {
			names = append(names, p.Path)
		}
		if resp.NextPage == 0 {
			if pages != 2 {
				t.Fatalf("stopped after %d pages", pages+1)
			}
			break
		}
		opt.Page = resp.NextPage
	}
	if fmt.Sprint(names) != "[app0 app1 app2 app3 app4 app5 app6]" {
		t.Errorf("paginated projects = %v", names)
	}

	// A file pushed with git reads back through the files API.
	wt := gittest.NewWorkTree(t, "main", map[string]string{"docs/readme.md": "hello from gantry\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(app.HTTPURLToRepo, "oauth2", aliceToken), "main")
	f, _, err := ac.RepositoryFiles.GetFile(app.ID, "docs/readme.md", &gl.GetFileOptions{Ref: gl.Ptr("main")})
	if err != nil {
		t.Fatalf("get file: %v", err)
	}
	if f.FileName != "readme.md" || f.Encoding != "base64" || f.Content != "aGVsbG8gZnJvbSBnYW50cnkK" || f.LastCommitID == "" {
		t.Errorf("file = %+v", f)
	}
	raw, _, err := ac.RepositoryFiles.GetRawFile("team/sub/app6", "docs/readme.md", &gl.GetRawFileOptions{Ref: gl.Ptr("main")})
	if err != nil || string(raw) != "hello from gantry\n" {
		t.Errorf("raw file by path = %q, %v", raw, err)
	}
	_, _, err = ac.RepositoryFiles.GetFile(app.ID, "missing.txt", &gl.GetFileOptions{Ref: gl.Ptr("main")})
	wantStatus(t, err, http.StatusNotFound)

	// Bob can't see the private project until he is a member.
	_, _, err = bc.Projects.GetProject(app.ID, nil)
	wantStatus(t, err, http.StatusNotFound)
	m, _, err := ac.ProjectMembers.AddProjectMember(app.ID, &gl.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gl.Ptr(gl.DeveloperPermissions)})
	if err != nil || m.Username != "bob" || m.AccessLevel != gl.DeveloperPermissions {
		t.Fatalf("add member = %+v, %v", m, err)
	}
	_, _, err = ac.ProjectMembers.AddProjectMember(app.ID, &gl.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gl.Ptr(gl.DeveloperPermissions)})
	wantStatus(t, err, http.StatusConflict)
	got, _, err := bc.Projects.GetProject("team/sub/app6", nil)
	if err != nil || got.ID != app.ID {
		t.Fatalf("bob gets project by path = %+v, %v", got, err)
	}
	// … but a developer may not delete it, nor add members.
	_, err = bc.Projects.DeleteProject(app.ID, nil)
	wantStatus(t, err, http.StatusForbidden)
	_, _, err = bc.ProjectMembers.AddProjectMember(app.ID, &gl.AddProjectMemberOptions{UserID: alice.ID, AccessLevel: gl.Ptr(gl.GuestPermissions)})
	wantStatus(t, err, http.StatusForbidden)
	members, _, err := bc.ProjectMembers.ListAllProjectMembers(app.ID, nil)
	if err != nil || len(members) != 2 {
		t.Errorf("all members = %d, %v", len(members), err)
	}

	// No token and a bad token are 401; a non-admin can't create users.
	_, _, err = newClient(t, srv.URL, "").Users.CurrentUser()
	wantStatus(t, err, http.StatusUnauthorized)
	_, _, err = newClient(t, srv.URL, "glpat-not-a-real-token").Projects.ListProjects(nil)
	wantStatus(t, err, http.StatusUnauthorized)
	_, _, err = bc.Users.CreateUser(&gl.CreateUserOptions{Username: gl.Ptr("eve"), Name: gl.Ptr("eve"), Email: gl.Ptr("eve@example.com")})
	wantStatus(t, err, http.StatusForbidden)

	// The owner may delete.
	if _, err := ac.Projects.DeleteProject(app.ID, nil); err != nil {
		t.Fatalf("owner deletes project: %v", err)
	}
	_, _, err = ac.Projects.GetProject(app.ID, nil)
	wantStatus(t, err, http.StatusNotFound)
}
