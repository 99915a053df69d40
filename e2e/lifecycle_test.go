package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/store/sqlite"
)

const rootToken = "glpat-e2e-root-token-abcdefghijklmnop"

func client(tb testing.TB, url string) *gl.Client {
	tb.Helper()
	c, err := gl.NewClient(rootToken, gl.WithBaseURL(url+"/api/v4"))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestUpFreshThenReuse: `gantry up` on a fresh folder prints the URL and
// where the root password is; a second process on the same folder is
// refused; after SIGTERM a new `gantry up` reuses the data.
func TestUpFreshThenReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	first := startGantry(t, env, "up", "--data-dir", dir, "--listen", "127.0.0.1:0")
	pwFile := filepath.Join(dir, "initial_root_password")
	first.waitOutput(t, "The initial root password is in "+pwFile)
	first.waitOutput(t, "Created user 'root'")
	if fi, err := os.Stat(pwFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	waitReady(t, first.URL)
	if _, _, err := client(t, first.URL).Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("kept")}); err != nil {
		t.Fatal(err)
	}

	second := exec.Command(gantryBin, "up", "--data-dir", dir, "--listen", "127.0.0.1:0")
	msg, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "in use by another gantry process") {
		t.Errorf("second process on the same data dir: %v\n%s", err, msg)
	}

	first.stop(t)
	again := startGantry(t, nil, "up", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if strings.Contains(again.Output(), "Created user") {
		t.Errorf("second start created root again:\n%s", again.Output())
	}
	p, _, err := client(t, again.URL).Projects.GetProject("root/kept", nil)
	if err != nil || p.Name != "kept" {
		t.Fatalf("project after restart = %v, %v", p, err)
	}
}

// TestKillDuringPush kills the server with SIGKILL while git pushes into
// it, at several moments, and checks after each restart that the
// repository and the database are intact, that pushing works again, and
// that the recorded ref events match the repository.
func TestKillDuringPush(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"GANTRY_INITIAL_ROOT_TOKEN=" + rootToken}
	srv := startGantry(t, env, "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
	proj, _, err := client(t, srv.URL).Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("big")})
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dir, "repositories", "1.git")
	wt := gittest.NewWorkTree(t, "main", map[string]string{"small.txt": "small\n"})
	for round, delay := range []time.Duration{0, 150 * time.Millisecond, 600 * time.Millisecond} {
		// Fresh incompressible content, so the push takes a while.
		gittest.Commit(t, wt, "round", map[string]string{"blob.bin": randomHex(t, 12<<20)})
		url := gittest.URLWithAuth(srv.URL+"/root/big.git", "root", rootToken)
		push := exec.Command("git", "push", "-q", "--force", url, "main")
		push.Dir, push.Env = wt, gittest.Env(t.TempDir())
		if err := push.Start(); err != nil {
			t.Fatal(err)
		}
		waitForQuarantine(t, bare, delay)
		srv.kill()
		if err := push.Wait(); err == nil {
			t.Logf("round %d: the push finished before the kill", round)
		}

		srv = startGantry(t, nil, "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
		if out, err := exec.Command("git", "--git-dir", bare, "fsck", "--no-dangling").CombinedOutput(); err != nil {
			t.Fatalf("round %d: git fsck: %v\n%s", round, err, out)
		}
		if err := sqlite.Check(t.Context(), filepath.Join(dir, "gantry.db")); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		url = gittest.URLWithAuth(srv.URL+"/root/big.git", "root", rootToken)
		gittest.Run(t, wt, "push", "-q", "--force", url, "main")
		checkEventsMatchRepo(t, dir, bare, proj.ID)
	}
	// An event is durable once the push has returned, even if the server
	// dies right after.
	head := gittest.Commit(t, wt, "last", map[string]string{"last.txt": "x\n"})
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(srv.URL+"/root/big.git", "root", rootToken), "main")
	srv.kill()
	if last := lastEvent(t, dir); last.After != head {
		t.Errorf("last event after kill = %+v, want after %s", last, head)
	}
}

// waitForQuarantine waits until receive-pack is receiving objects (git
// quarantines them in objects/incoming-*) and then delay more.
func waitForQuarantine(t *testing.T, bare string, delay time.Duration) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(bare, "objects", "tmp_objdir-incoming-*")); len(m) > 0 {
			time.Sleep(delay)
			return
		}
		if m, _ := filepath.Glob(filepath.Join(bare, "objects", "incoming-*")); len(m) > 0 {
			time.Sleep(delay)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("receive-pack never started receiving")
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// refEvents reads the ref events recorded in the data folder dir.
func refEvents(t *testing.T, dir string) []gantry.RefUpdate {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "gantry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.RefUpdatesAfter(t.Context(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func lastEvent(t *testing.T, dir string) gantry.RefUpdate {
	t.Helper()
	events := refEvents(t, dir)
	if len(events) == 0 {
		t.Fatal("no ref events recorded")
	}
	return events[len(events)-1]
}

// checkEventsMatchRepo: replaying the recorded events gives the refs the
// repository really has.
func checkEventsMatchRepo(t *testing.T, dir, bare string, projectID int64) {
	t.Helper()
	state := map[string]string{}
	for _, e := range refEvents(t, dir) {
		if e.ProjectID != projectID {
			continue
		}
		if e.After == gantry.ZeroSHA {
			delete(state, e.Ref)
		} else {
			state[e.Ref] = e.After
		}
	}
	out, err := exec.Command("git", "--git-dir", bare, "rev-parse", "refs/heads/main").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); state["refs/heads/main"] != want {
		t.Errorf("events say main is %s, repository has %s", state["refs/heads/main"], want)
	}
}
