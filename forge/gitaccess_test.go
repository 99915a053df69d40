package forge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/git/smarthttp"
)

// TestPushAttribution: two developers' pushes land in git before either
// is reconciled; the first reconciliation records both ref changes, each
// as the user whose command list asked for it, or as nobody (user 0) when
// it was not its own — never as the wrong pusher.
func TestPushAttribution(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	users := map[string]gantry.User{}
	repos := map[string]smarthttp.Repository{}
	for _, name := range []string{"alice", "bob"} {
		u, err := e.svc.CreateUser(ctx, forge.System(), forge.NewUser{Username: name, Name: name, Email: name + "@example.com",
			Password: "secret-" + name})
		if err == nil {
			_, err = e.svc.SetMember(ctx, e.owner, forge.MemberTarget{IDOrPath: fmt.Sprint(e.proj.ID)}, u.ID, gantry.Developer, time.Time{}, true)
		}
		if err == nil {
			repos[name], err = e.svc.AuthorizeGit(ctx, smarthttp.Credentials{Username: name, Password: "secret-" + name, Present: true},
				e.proj.FullPath(), true)
		}
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a": "1\n"})
	sha := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "push", "-q", e.svc.Repos().Path(e.proj.ID), "HEAD:refs/heads/alices", "HEAD:refs/heads/bobs")

	// Bob's push is reconciled first, then Alice's.
	for _, push := range []struct{ who, ref string }{{"bob", "refs/heads/bobs"}, {"alice", "refs/heads/alices"}} {
		cmds := []smarthttp.RefCommand{{Old: gantry.ZeroSHA, New: sha, Ref: push.ref}}
		if err := repos[push.who].Pushed(ctx, cmds); err != nil {
			t.Fatal(err)
		}
	}
	events, err := e.st.RefUpdatesAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, ev := range events {
		got[ev.Ref] = ev.UserID
	}
	want := map[string]int64{"refs/heads/alices": 0, "refs/heads/bobs": users["bob"].ID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events, ref → user (-want +got):\n%s", diff)
	}
}
