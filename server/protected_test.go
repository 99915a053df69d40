package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
)

// pushAs tries a git push and returns its output and whether it worked.
func pushAs(t *testing.T, wt, url string, args ...string) (string, bool) {
	t.Helper()
	out, err := gittest.Try(t, wt, append([]string{"push", url}, args...)...)
	return out, err == nil
}

func wantRefused(t *testing.T, what, out string, ok bool, wants ...string) {
	t.Logf("%s:\n%s", what, out)
	t.Helper()
	if ok {
		t.Errorf("%s: push succeeded, want it refused; output:\n%s", what, out)
		return
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

func remoteRef(t *testing.T, url, ref string) string {
	t.Helper()
	out := gittest.Run(t, t.TempDir(), "ls-remote", url, ref)
	sha, _, _ := strings.Cut(out, "\t")
	return strings.TrimSpace(sha)
}

// TestProtectedBranchesOverGit drives the real git client against
// protected branches: the default branch is protected when the project
// is created, developers can't push to it, force pushes need
// allow_force_push, protected branches can't be deleted over git, and a
// refused ref refuses the whole push.
func TestProtectedBranchesOverGit(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "guarded", gl.PrivateVisibility)
	devURL := gittest.URLWithAuth(p.HTTPURLToRepo, "dev", f.user(t, "dev", p.ID, gl.DeveloperPermissions))
	maintURL := gittest.URLWithAuth(p.HTTPURLToRepo, "maint", f.user(t, "maint", p.ID, gl.MaintainerPermissions))

	wt := gittest.NewWorkTree(t, "main", map[string]string{"README.md": "v1\n"})
	first := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	out, ok := pushAs(t, wt, devURL, "main")
	wantRefused(t, "developer's first push to the protected default branch", out, ok,
		"does not yet exist", "! [remote rejected] main -> main (protected branch)")
	if out, ok := pushAs(t, wt, maintURL, "main"); !ok {
		t.Fatalf("maintainer's first push: %s", out)
	}

	second := gittest.Commit(t, wt, "second", map[string]string{"README.md": "v2\n"})
	out, ok = pushAs(t, wt, devURL, "main")
	wantRefused(t, "developer push to main", out, ok,
		"remote: You are not allowed to push code to protected branches on this project.",
		"! [remote rejected] main -> main (protected branch)")
	if got := remoteRef(t, maintURL, "refs/heads/main"); got != first {
		t.Fatalf("main moved to %s after a refused push", got)
	}
	if out, ok := pushAs(t, wt, maintURL, "main"); !ok {
		t.Fatalf("maintainer fast-forward: %s", out)
	}

	// A whole push is refused when one ref is: feature is not created.
	gittest.Run(t, wt, "branch", "feature")
	gittest.Commit(t, wt, "third", map[string]string{"README.md": "v3\n"})
	out, ok = pushAs(t, wt, devURL, "main", "feature")
	wantRefused(t, "mixed push", out, ok, "main -> main (protected branch)", "feature -> feature (push declined)")
	if got := remoteRef(t, maintURL, "refs/heads/feature"); got != "" {
		t.Errorf("feature was created by a refused push: %s", got)
	}
	if out, ok := pushAs(t, wt, devURL, "feature"); !ok {
		t.Errorf("developer push to an unprotected branch: %s", out)
	}

	// Force pushes: a rewritten commit the server has never seen, and a
	// rewind to a commit it has. Neither may pass without allow_force_push.
	gittest.Run(t, wt, "reset", "-q", "--hard", first)
	rewritten := gittest.Commit(t, wt, "rewritten", map[string]string{"other.txt": "x\n"})
	out, ok = pushAs(t, wt, maintURL, "--force", "main")
	wantRefused(t, "maintainer force push of new history", out, ok,
		"remote: You are not allowed to force push code to a protected branch on this project.",
		"! [remote rejected] main -> main (pre-receive hook declined)")
	out, ok = pushAs(t, wt, maintURL, "--force", first+":refs/heads/main")
	wantRefused(t, "maintainer rewind", out, ok, "You are not allowed to force push code to a protected branch")
	if got := remoteRef(t, maintURL, "refs/heads/main"); got != second {
		t.Fatalf("main = %s after refused force pushes, want %s", got, second)
	}
	allow := true
	if _, _, err := f.root.ProtectedBranches.UpdateProtectedBranch(p.ID, "main", &gl.UpdateProtectedBranchOptions{AllowForcePush: &allow}); err != nil {
		t.Fatal(err)
	}
	if out, ok := pushAs(t, wt, maintURL, "--force", "main"); !ok {
		t.Fatalf("force push with allow_force_push: %s", out)
	}
	if got := remoteRef(t, maintURL, "refs/heads/main"); got != rewritten {
		t.Errorf("main = %s after allowed force push, want %s", got, rewritten)
	}
	gittest.Commit(t, wt, "developer's change", map[string]string{"dev.txt": "d\n"})
	out, ok = pushAs(t, wt, devURL, "--force", "main")
	wantRefused(t, "developer force push with allow_force_push", out, ok, "You are not allowed to push code to protected branches")

	// Deleting: the default branch never; other protected branches not over git.
	out, ok = pushAs(t, wt, maintURL, "--delete", "main")
	wantRefused(t, "delete default branch", out, ok, "The default branch of a project cannot be deleted.", "(default branch)")
	if _, _, err := f.root.ProtectedBranches.ProtectRepositoryBranches(p.ID, &gl.ProtectRepositoryBranchesOptions{
		Name: gl.Ptr("release/*"), PushAccessLevel: gl.Ptr(gl.DeveloperPermissions)}); err != nil {
		t.Fatal(err)
	}
	if out, ok := pushAs(t, wt, devURL, "HEAD:refs/heads/release/1.0"); !ok {
		t.Fatalf("developer creates release/1.0 (developers may push): %s", out)
	}
	out, ok = pushAs(t, wt, devURL, "--delete", "release/1.0")
	wantRefused(t, "developer deletes protected branch", out, ok, "Only a project maintainer or owner can delete a protected branch.")
	out, ok = pushAs(t, wt, maintURL, "--delete", "release/1.0")
	wantRefused(t, "maintainer deletes protected branch over git", out, ok, "You can only delete protected branches using the web interface.")
	if out, ok := pushAs(t, wt, devURL, "--delete", "feature"); !ok {
		t.Errorf("developer deletes an unprotected branch: %s", out)
	}
}

// TestRefusedLargePush: a push big enough for git to send a probe and
// then a chunked body is refused with the message, not a broken pipe.
func TestRefusedLargePush(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "big", gl.PrivateVisibility)
	maintURL := gittest.URLWithAuth(p.HTTPURLToRepo, "maint", f.user(t, "maint", p.ID, gl.MaintainerPermissions))
	devURL := gittest.URLWithAuth(p.HTTPURLToRepo, "dev", f.user(t, "dev", p.ID, gl.DeveloperPermissions))
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a.txt": "a\n"})
	gittest.Run(t, wt, "push", "-q", maintURL, "main")
	noise := make([]byte, 3<<20)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, wt, "big", map[string]string{"blob.hex": hex.EncodeToString(noise)})
	out, ok := pushAs(t, wt, devURL, "main")
	wantRefused(t, "large developer push", out, ok,
		"You are not allowed to push code to protected branches on this project.", "main -> main (protected branch)")
}

// TestProtectedTagsOverGit: creating a protected tag needs the create
// level, protected tags can't be moved, and deleting them is for the web.
func TestProtectedTagsOverGit(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "tags", gl.PrivateVisibility)
	devToken := f.user(t, "dev", p.ID, gl.DeveloperPermissions)
	devURL := gittest.URLWithAuth(p.HTTPURLToRepo, "dev", devToken)
	maintURL := gittest.URLWithAuth(p.HTTPURLToRepo, "maint", f.user(t, "maint", p.ID, gl.MaintainerPermissions))
	if _, _, err := f.root.ProtectedTags.ProtectRepositoryTags(p.ID, &gl.ProtectRepositoryTagsOptions{
		Name: gl.Ptr("v*"), CreateAccessLevel: gl.Ptr(gl.MaintainerPermissions)}); err != nil {
		t.Fatal(err)
	}
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a.txt": "a\n"})
	gittest.Run(t, wt, "push", "-q", maintURL, "main")
	gittest.Run(t, wt, "tag", "v1.0")
	gittest.Run(t, wt, "tag", "build-1")

	out, ok := pushAs(t, wt, devURL, "v1.0")
	wantRefused(t, "developer creates protected tag", out, ok,
		"remote: You are not allowed to create this tag as it is protected.", "! [remote rejected] v1.0 -> v1.0 (protected tag)")
	if out, ok := pushAs(t, wt, devURL, "build-1"); !ok {
		t.Errorf("developer creates an unprotected tag: %s", out)
	}
	if out, ok := pushAs(t, wt, maintURL, "v1.0"); !ok {
		t.Fatalf("maintainer creates protected tag: %s", out)
	}
	gittest.Commit(t, wt, "later", map[string]string{"a.txt": "b\n"})
	gittest.Run(t, wt, "tag", "-f", "v1.0")
	out, ok = pushAs(t, wt, maintURL, "--force", "v1.0")
	wantRefused(t, "move protected tag", out, ok, "Protected tags cannot be updated.")
	out, ok = pushAs(t, wt, devURL, "--delete", "v1.0")
	wantRefused(t, "developer deletes protected tag", out, ok, "Only a project maintainer or owner can delete a protected tag.")
	out, ok = pushAs(t, wt, maintURL, "--delete", "v1.0")
	wantRefused(t, "maintainer deletes protected tag over git", out, ok, "You can only delete protected tags using the web interface.")
	gittest.Run(t, wt, "tag", "main")
	out, ok = pushAs(t, wt, maintURL, "refs/tags/main")
	wantRefused(t, "tag named like the default branch", out, ok, "You cannot use default branch name to create a tag")

	// The branches and tags API shows the protection.
	dev, err := gl.NewClient(devToken, gl.WithBaseURL(f.srv.URL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := dev.Branches.GetBranch(p.ID, "main")
	if err != nil || !b.Protected || b.DevelopersCanPush || b.CanPush || !b.Default {
		t.Errorf("main as the developer sees it = %+v, %v", b, err)
	}
	tags, _, err := dev.Tags.ListTags(p.ID, nil)
	if err != nil || len(tags) != 2 {
		t.Fatalf("tags = %+v, %v", tags, err)
	}
	for _, tag := range tags {
		if tag.Protected != strings.HasPrefix(tag.Name, "v") {
			t.Errorf("tag %s protected = %v", tag.Name, tag.Protected)
		}
	}
}
