package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server"
	"github.com/gantry-ci/gantry/server/servertest"
	"github.com/gantry-ci/gantry/store/sqlite"
)

type fixture struct {
	srv    *servertest.Instance
	root   *gl.Client
	tokens map[string]string // username → api token
}

func newFixture(t *testing.T, options ...func(*server.Config)) *fixture {
	t.Helper()
	srv := servertest.Start(t, options...)
	root, err := gl.NewClient(servertest.RootToken, gl.WithBaseURL(srv.URL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, root: root, tokens: map[string]string{}}
}

// user creates a user with an api token; role > 0 makes them a member of
// project pid with that access level.
func (f *fixture) user(t *testing.T, name string, pid int64, role gl.AccessLevelValue) string {
	t.Helper()
	u, _, err := f.root.Users.CreateUser(&gl.CreateUserOptions{Username: gl.Ptr(name), Name: gl.Ptr(name),
		Email: gl.Ptr(name + "@example.com"), Password: gl.Ptr("secret-" + name)})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	tok, _, err := f.root.Users.CreatePersonalAccessToken(u.ID, &gl.CreatePersonalAccessTokenOptions{Name: gl.Ptr("t"), Scopes: &[]string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if role > 0 {
		if _, _, err := f.root.ProjectMembers.AddProjectMember(pid, &gl.AddProjectMemberOptions{UserID: u.ID, AccessLevel: gl.Ptr(role)}); err != nil {
			t.Fatal(err)
		}
	}
	f.tokens[name] = tok.Token
	return tok.Token
}

func (f *fixture) project(t *testing.T, name string, vis gl.VisibilityValue) *gl.Project {
	t.Helper()
	p, _, err := f.root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr(name), Visibility: gl.Ptr(vis)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGitOverHTTP drives the real git client through clone, push of a
// branch and a tag, fetch, force-push and branch deletion, and the refusals
// git relies on (a 401 challenge first, then 403 or 404).
func TestGitOverHTTP(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	// New projects protect their default branch, as in GitLab; this test
	// is about plain developer pushes (protected_test.go covers the rest).
	if _, err := f.root.ProtectedBranches.UnprotectRepositoryBranches(p.ID, "main"); err != nil {
		t.Fatalf("unprotect main: %v", err)
	}
	dev := f.user(t, "dev", p.ID, gl.DeveloperPermissions)
	rep := f.user(t, "rep", p.ID, gl.ReporterPermissions)
	f.user(t, "stranger", 0, 0)
	devURL := gittest.URLWithAuth(p.HTTPURLToRepo, "dev", dev)

	// Anonymous: the challenge git needs before it sends credentials.
	resp, err := http.Get(p.HTTPURLToRepo + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="Gantry"` {
		t.Fatalf("anonymous info/refs = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	wt := gittest.NewWorkTree(t, "main", map[string]string{"README.md": "hello\n"})
	first := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "push", "-q", devURL, "main")
	gittest.Run(t, wt, "checkout", "-q", "-b", "feature")
	gittest.Commit(t, wt, "feature work", map[string]string{"f.txt": "f\n"})
	gittest.Run(t, wt, "push", "-q", devURL, "feature")
	gittest.Run(t, wt, "tag", "-a", "v1.0", "-m", "release 1.0")
	gittest.Run(t, wt, "push", "-q", devURL, "v1.0")

	// Clone with a token as password and any username, and with the
	// user's password (protocol v2 is what git 2.39 speaks by default).
	clone := filepath.Join(t.TempDir(), "clone")
	gittest.Run(t, "", "clone", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "oauth2", rep), clone)
	if out := gittest.Run(t, clone, "tag", "--list"); strings.TrimSpace(out) != "v1.0" {
		t.Errorf("cloned tags = %q", out)
	}
	pwClone := filepath.Join(t.TempDir(), "pw")
	gittest.Run(t, "", "-c", "protocol.version=0", "clone", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "rep", "secret-rep"), pwClone)

	// Fetch sees a new commit.
	gittest.Run(t, wt, "checkout", "-q", "main")
	second := gittest.Commit(t, wt, "second", map[string]string{"README.md": "hello again\n"})
	gittest.Run(t, wt, "push", "-q", devURL, "main")
	gittest.Run(t, clone, "fetch", "-q", "origin")
	if got := strings.TrimSpace(gittest.Run(t, clone, "rev-parse", "origin/main")); got != second {
		t.Errorf("fetched main = %s, want %s", got, second)
	}

	// Refusals: wrong password 401, reporter push 403, stranger 404,
	// no credentials at all asks for them.
	denied := []struct {
		name, url string
		args      []string
		want      string
	}{
		{"wrong password", gittest.URLWithAuth(p.HTTPURLToRepo, "dev", "wrong"), []string{"ls-remote"}, "Authentication failed"},
		{"reporter push", gittest.URLWithAuth(p.HTTPURLToRepo, "rep", rep), []string{"push", "-q"}, "403"},
		{"stranger", gittest.URLWithAuth(p.HTTPURLToRepo, "stranger", f.tokens["stranger"]), []string{"ls-remote"}, "not found"},
		{"anonymous", p.HTTPURLToRepo, []string{"ls-remote"}, "could not read Username"},
	}
	for _, d := range denied {
		args := append(d.args, d.url)
		if d.args[0] == "push" {
			args = append(args, "main:refs/heads/rep-branch")
		}
		out, err := gittest.Try(t, wt, args...)
		if err == nil || !strings.Contains(out, d.want) {
			t.Errorf("%s: err %v, output %q; want failure mentioning %q", d.name, err, out, d.want)
		}
	}

	// Developers may rewrite history and delete branches.
	gittest.Run(t, wt, "reset", "-q", "--hard", first)
	gittest.Run(t, wt, "push", "-q", "--force", devURL, "main")
	gittest.Run(t, wt, "push", "-q", devURL, "--delete", "feature")
	out := gittest.Run(t, wt, "ls-remote", devURL)
	if !strings.Contains(out, first+"\trefs/heads/main") || strings.Contains(out, "feature") {
		t.Errorf("after force-push and delete, remote has:\n%s", out)
	}

	// Every ref change was recorded as a durable event, in order.
	st, err := sqlite.Open(t.Context(), filepath.Join(f.srv.DataDir, "gantry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.RefUpdatesAfter(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		switch {
		case e.Before == gantry.ZeroSHA:
			got = append(got, "create "+e.Ref)
		case e.After == gantry.ZeroSHA:
			got = append(got, "delete "+e.Ref)
		default:
			got = append(got, "update "+e.Ref)
		}
	}
	want := "create refs/heads/main,create refs/heads/feature,create refs/tags/v1.0,update refs/heads/main,update refs/heads/main,delete refs/heads/feature"
	if strings.Join(got, ",") != want {
		t.Errorf("events = %s\nwant     %s", strings.Join(got, ","), want)
	}
}

// TestPushToCreate: pushing to a path that doesn't exist in your own
// namespace creates a private project, as GitLab does.
func TestPushToCreate(t *testing.T) {
	f := newFixture(t)
	tok := f.user(t, "carol", 0, 0)
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a.txt": "a\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(f.srv.URL+"/carol/fresh.git", "carol", tok), "main")
	p, _, err := f.root.Projects.GetProject("carol/fresh", nil)
	if err != nil || p.Visibility != gl.PrivateVisibility || p.EmptyRepo {
		t.Fatalf("pushed-to-create project = %+v, %v", p, err)
	}
	// Not in someone else's namespace.
	out, err := gittest.Try(t, wt, "push", "-q", gittest.URLWithAuth(f.srv.URL+"/root/sneaky.git", "carol", tok), "main")
	if err == nil || !strings.Contains(out, "not found") {
		t.Errorf("push into root's namespace: %v %s", err, out)
	}

	// Only with a token that may push: for any other, as in GitLab, the
	// path is simply not found.
	c := &ciFixture{fixture: f}
	for _, scope := range []string{"read_user", "read_api", "read_repository", "write_repository"} {
		t.Run(scope, func(t *testing.T) {
			path := "carol/by-" + strings.ReplaceAll(scope, "_", "-")
			url := gittest.URLWithAuth(f.srv.URL+"/"+path+".git", "carol", c.scopedToken(t, "carol", scope))
			out, err := gittest.Try(t, wt, "push", "-q", url, "main")
			_, _, gerr := f.root.Projects.GetProject(path, nil)
			if scope == "write_repository" {
				if err != nil || gerr != nil {
					t.Errorf("push: %v %s; project: %v", err, out, gerr)
				}
				return
			}
			if err == nil || !strings.Contains(out, "not found") {
				t.Errorf("push: err %v, output %q; want not found", err, out)
			}
			if gerr == nil {
				t.Errorf("a %s token created project %s", scope, path)
			}
		})
	}
}
