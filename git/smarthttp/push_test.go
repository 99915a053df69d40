package smarthttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/git/gittest"
)

// fakeAuth authorizes every request with a fixed repository.
type fakeAuth struct{ repo Repository }

func (f fakeAuth) AuthorizeGit(context.Context, Credentials, string, bool) (Repository, error) {
	return f.repo, nil
}

func post(t *testing.T, h http.Handler, body []byte, gz bool) *httptest.ResponseRecorder {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req := httptest.NewRequest(http.MethodPost, "/group/app.git/git-receive-pack", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestVetPush(t *testing.T) {
	repoDir := t.TempDir()
	if err := git.NewCommand("init", "--bare", "--quiet").Arg(repoDir).Run(t.Context(), nil, nil); err != nil {
		t.Fatal(err)
	}
	var seen []RefCommand
	refuse := func(_ context.Context, cmds []RefCommand) ([]string, error) {
		seen = cmds
		return nil, &RefusedError{Ref: "refs/heads/main", Reason: "protected branch", Message: "You are not allowed to push code to protected branches on this project."}
	}
	ffOnly := func(_ context.Context, cmds []RefCommand) ([]string, error) { return []string{"refs/heads/main"}, nil }
	commands := pkts(a+" "+b+" refs/heads/main\x00report-status side-band-64k", zero+" "+b+" refs/heads/x", "")
	pack := []byte("PACK" + strings.Repeat("\x00", 1<<20)) // drained, never read as a pack

	t.Run("refused, side-band", func(t *testing.T) {
		h := &Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: repoDir}, CheckUpdates: refuse}}}
		for _, gz := range []bool{false, true} {
			rec := post(t, h, append([]byte(commands), pack...), gz)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-git-receive-pack-result" {
				t.Fatalf("gzip %v: status %d, type %q", gz, rec.Code, rec.Header().Get("Content-Type"))
			}
			ch := demux(t, rec.Body.Bytes())
			if !strings.Contains(ch[2], "protected branches") || !strings.Contains(ch[1], "ng refs/heads/main protected branch\n") ||
				!strings.Contains(ch[1], "ng refs/heads/x push declined\n") {
				t.Errorf("gzip %v: channels = %q", gz, ch)
			}
		}
		want := []RefCommand{{a, b, "refs/heads/main"}, {zero, b, "refs/heads/x"}}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("CheckUpdates got (-want +got):\n%s", diff)
		}
	})
	t.Run("refused, no report-status", func(t *testing.T) {
		h := &Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: repoDir}, CheckUpdates: refuse}}}
		rec := post(t, h, []byte(pkts(a+" "+b+" refs/heads/main", "")), false)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "protected branches") {
			t.Errorf("status %d body %q", rec.Code, rec.Body.String())
		}
	})
	t.Run("malformed", func(t *testing.T) {
		h := &Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: repoDir}, CheckUpdates: refuse}}}
		rec := post(t, h, []byte("00zzgarbage"), false)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("status %d body %q", rec.Code, rec.Body.String())
		}
	})
	t.Run("fast-forward check without hooks folder fails closed", func(t *testing.T) {
		h := &Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: repoDir}, CheckUpdates: ffOnly}}}
		rec := post(t, h, []byte(commands), false)
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "force pushes") {
			t.Errorf("status %d body %q", rec.Code, rec.Body.String())
		}
	})
	t.Run("allowed commands reach receive-pack", func(t *testing.T) {
		hooks := t.TempDir()
		var pushed []RefCommand
		h := &Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: repoDir}, CheckUpdates: ffOnly,
			Pushed: func(_ context.Context, cmds []RefCommand) error { pushed = cmds; return nil }}}, HooksDir: hooks}
		// Deleting a ref that doesn't exist: receive-pack answers for it,
		// which shows it read the replayed command list.
		rec := post(t, h, []byte(pkts(a+" "+zero+" refs/heads/gone\x00report-status delete-refs", "")), false)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK || !bytes.Contains(body, []byte("refs/heads/gone")) {
			t.Errorf("status %d body %q", rec.Code, body)
		}
		// Pushed learns the commands, to attribute what they changed.
		if diff := cmp.Diff([]RefCommand{{a, zero, "refs/heads/gone"}}, pushed); diff != "" {
			t.Errorf("Pushed got (-want +got):\n%s", diff)
		}
	})
}

func TestInstallHooks(t *testing.T) {
	dir := t.TempDir()
	for range 2 { // rewriting is fine
		if err := git.InstallHooks(t.Context(), dir); err != nil {
			t.Fatal(err)
		}
	}
	env, err := git.FastForwardOnlyEnv(dir, []string{"refs/heads/main", "refs/heads/release/1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "GANTRY_FF_ONLY=refs/heads/main\nrefs/heads/release/1"; env[len(env)-1] != want {
		t.Errorf("env = %q", env)
	}
	if _, err := git.FastForwardOnlyEnv("relative/hooks", []string{"refs/heads/main"}); err == nil {
		t.Error("a relative hooks folder was accepted; git would not find the hook and skip the check")
	}
	for _, bad := range []string{"", "refs/heads/a b", "refs/heads/a\nb"} {
		if _, err := git.FastForwardOnlyEnv(dir, []string{bad}); err == nil {
			t.Errorf("FastForwardOnlyEnv(%q) accepted", bad)
		}
	}
}

// TestForcePushHook pushes with the real git client through the handler,
// with a relative hooks folder (as "gantry up" in ./gantry-data gets):
// fast-forwards pass, a force push of new history is refused by the hook.
func TestForcePushHook(t *testing.T) {
	t.Chdir(t.TempDir())
	bare := filepath.Join(t.TempDir(), "app.git")
	if err := git.NewCommand("init", "--bare", "--quiet").Arg(bare).Run(t.Context(), nil, nil); err != nil {
		t.Fatal(err)
	}
	ffOnly := func(_ context.Context, cmds []RefCommand) ([]string, error) { return []string{"refs/heads/main"}, nil }
	srv := httptest.NewServer(&Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: bare}, CheckUpdates: ffOnly}}, HooksDir: "hooks"})
	defer srv.Close()
	url := srv.URL + "/group/app.git"
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a": "1\n"})
	first := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "push", "-q", url, "main")
	gittest.Commit(t, wt, "two", map[string]string{"a": "2\n"})
	gittest.Run(t, wt, "push", "-q", url, "main")
	gittest.Run(t, wt, "reset", "-q", "--hard", first)
	gittest.Commit(t, wt, "rewritten", map[string]string{"b": "x\n"})
	out, err := gittest.Try(t, wt, "push", "--force", url, "main")
	if err == nil || !strings.Contains(out, "You are not allowed to force push code to a protected branch on this project.") ||
		!strings.Contains(out, "(pre-receive hook declined)") {
		t.Fatalf("force push: err %v, output:\n%s", err, out)
	}
	// A hook deleted behind the server's back is written again.
	if err := os.Remove(filepath.Join("hooks", "pre-receive")); err != nil {
		t.Fatal(err)
	}
	if out, err := gittest.Try(t, wt, "push", "--force", url, "main"); err == nil || !strings.Contains(out, "force push") {
		t.Fatalf("force push after the hook was deleted: err %v, output:\n%s", err, out)
	}
	// Another branch in the same push is not held to fast-forwards.
	gittest.Run(t, wt, "push", "-q", url, "HEAD:refs/heads/other")
	gittest.Run(t, wt, "reset", "-q", "--hard", first)
	gittest.Commit(t, wt, "other rewrite", map[string]string{"c": "y\n"})
	gittest.Run(t, wt, "push", "-q", "--force", url, "HEAD:refs/heads/other")
}

// TestHiddenRefs: pushes may not create, move or delete the refs the
// server owns (refs/pipelines/… and GitLab's other namespaces), whoever
// pushes; receive-pack does not advertise them. Fetches still get them
// by name, with protocol v0 and v2, as runners fetch refs/pipelines/<id>.
func TestHiddenRefs(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "app.git")
	if err := git.NewCommand("init", "--bare", "--quiet").Arg(bare).Run(t.Context(), nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&Handler{Auth: fakeAuth{Repository{Repo: git.Repo{Dir: bare}}}})
	defer srv.Close()
	url := srv.URL + "/group/app.git"
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a": "1\n"})
	sha := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "push", "-q", url, "main")
	for _, ref := range []string{"refs/pipelines/1", "refs/merge-requests/1/head", "refs/environments/prod", "refs/keep-around/" + sha} {
		gittest.Run(t, bare, "update-ref", ref, sha)
	}
	gittest.Commit(t, wt, "evil", map[string]string{"a": "2\n"})

	for _, refspec := range []string{":refs/pipelines/1", "HEAD:refs/pipelines/1", "HEAD:refs/pipelines/2",
		"HEAD:refs/merge-requests/1/head", ":refs/environments/prod", ":refs/keep-around/" + sha} {
		out, err := gittest.Try(t, wt, "push", "--force", url, refspec)
		if err == nil || !strings.Contains(out, "hidden ref") {
			t.Errorf("push %s: err %v, output:\n%s", refspec, err, out)
		}
	}
	if got := gittest.Run(t, bare, "for-each-ref", "--format=%(refname) %(objectname)", "refs/pipelines/"); got != "refs/pipelines/1 "+sha+"\n" {
		t.Errorf("pipeline refs after the pushes:\n%s", got)
	}
	resp, err := http.Get(url + "/info/refs?service=git-receive-pack")
	if err != nil {
		t.Fatal(err)
	}
	adv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(adv, []byte("refs/heads/main")) || bytes.Contains(adv, []byte("refs/pipelines/")) {
		t.Errorf("receive-pack advertisement:\n%s", adv)
	}
	for _, v := range []string{"0", "2"} {
		clone := t.TempDir()
		gittest.Run(t, clone, "init", "-q")
		gittest.Run(t, clone, "-c", "protocol.version="+v, "fetch", "-q", url, "+refs/pipelines/1:refs/pipelines/1")
		if got := strings.TrimSpace(gittest.Run(t, clone, "rev-parse", "refs/pipelines/1")); got != sha {
			t.Errorf("protocol v%s: fetched refs/pipelines/1 = %s, want %s", v, got, sha)
		}
	}
}
