package forge

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/smarthttp"
)

const (
	zero = gantry.ZeroSHA
	old  = "1111111111111111111111111111111111111111"
	next = "2222222222222222222222222222222222222222"
)

func TestCheckBranch(t *testing.T) {
	p := gantry.Project{DefaultBranch: "main", Path: "app", Namespace: gantry.Namespace{FullPath: "g"}}
	dev, maint, admin := pusher{level: gantry.Developer}, pusher{level: gantry.Maintainer}, pusher{admin: true}
	mainRule := gantry.ProtectedRef{Name: "main", PushLevel: gantry.Maintainer}
	devRule := gantry.ProtectedRef{Name: "rel*", PushLevel: gantry.Developer}
	forceRule := gantry.ProtectedRef{Name: "rel*", PushLevel: gantry.NoAccess, AllowForcePush: true}
	nobody := gantry.ProtectedRef{Name: "frozen", PushLevel: gantry.NoAccess}
	adminsOnly := gantry.ProtectedRef{Name: "ops", PushLevel: gantry.AdminAccess}
	cases := []struct {
		name     string
		u        pusher
		rules    []gantry.ProtectedRef
		branch   string
		old, new string
		empty    bool
		wantFF   bool
		wantMsg  string // "" means allowed
	}{
		{"unprotected update", dev, nil, "feature", old, next, false, false, ""},
		{"unprotected delete", dev, nil, "feature", old, zero, false, false, ""},
		{"default branch delete, even unprotected", admin, nil, "main", old, zero, false, false, msgDeleteDefault},
		{"developer update of maintainer branch", dev, []gantry.ProtectedRef{mainRule}, "main", old, next, false, false, msgPushProtected},
		{"developer creates protected branch", dev, []gantry.ProtectedRef{mainRule}, "main", zero, next, false, false, msgCreateProtected},
		{"developer, empty project", dev, []gantry.ProtectedRef{mainRule}, "main", zero, next, true, false, "does not yet exist"},
		{"maintainer update must fast-forward", maint, []gantry.ProtectedRef{mainRule}, "main", old, next, false, true, ""},
		{"maintainer create needs no ancestry", maint, []gantry.ProtectedRef{mainRule}, "main", zero, next, false, false, ""},
		{"admin counts as owner", admin, []gantry.ProtectedRef{mainRule}, "main", old, next, false, true, ""},
		{"most permissive rule grants push", dev, []gantry.ProtectedRef{nobody, devRule}, "rel", old, next, false, true, ""},
		{"force allowed by any matching rule", dev, []gantry.ProtectedRef{devRule, forceRule}, "rel", old, next, false, false, ""},
		{"no one means admins too", admin, []gantry.ProtectedRef{nobody}, "frozen", old, next, false, false, msgPushProtected},
		{"admins-only level refuses maintainers", maint, []gantry.ProtectedRef{adminsOnly}, "ops", old, next, false, false, msgPushProtected},
		{"admins-only level admits admins", admin, []gantry.ProtectedRef{adminsOnly}, "ops", old, next, false, true, ""},
		{"developer deletes protected", dev, []gantry.ProtectedRef{devRule}, "rel", old, zero, false, false, msgDeleteProtected},
		{"maintainer deletes protected over git", maint, []gantry.ProtectedRef{devRule}, "rel", old, zero, false, false, msgDeleteProtectedGit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p.Empty = c.empty
			cmd := smarthttp.RefCommand{Old: c.old, New: c.new, Ref: "refs/heads/" + c.branch}
			ff, err := checkBranch(p, c.u, c.rules, c.branch, cmd)
			checkVerdict(t, err, c.wantMsg, cmd.Ref)
			if err == nil && ff != c.wantFF {
				t.Errorf("fast-forward only = %v, want %v", ff, c.wantFF)
			}
		})
	}
}

func TestCheckTag(t *testing.T) {
	p := gantry.Project{DefaultBranch: "main"}
	dev, maint := pusher{level: gantry.Developer}, pusher{level: gantry.Maintainer}
	v := []gantry.ProtectedRef{{Tag: true, Name: "v*", PushLevel: gantry.Maintainer}}
	cases := []struct {
		name     string
		u        pusher
		rules    []gantry.ProtectedRef
		tag      string
		old, new string
		wantMsg  string
	}{
		{"unprotected create", dev, nil, "build-1", zero, next, ""},
		{"unprotected move", dev, nil, "build-1", old, next, ""},
		{"developer creates protected", dev, v, "v1", zero, next, msgCreateTag},
		{"maintainer creates protected", maint, v, "v1", zero, next, ""},
		{"nobody moves a protected tag", maint, v, "v1", old, next, msgUpdateTag},
		{"developer deletes protected", dev, v, "v1", old, zero, msgDeleteTag},
		{"maintainer deletes protected over git", maint, v, "v1", old, zero, msgDeleteTagGit},
		{"tag named like the default branch", maint, nil, "main", zero, next, msgTagIsDefaultBranch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := smarthttp.RefCommand{Old: c.old, New: c.new, Ref: "refs/tags/" + c.tag}
			checkVerdict(t, checkTag(p, c.u, c.rules, c.tag, cmd), c.wantMsg, cmd.Ref)
		})
	}
}

func checkVerdict(t *testing.T, err error, wantMsg, ref string) {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var re *smarthttp.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want a refusal saying %q", err, wantMsg)
	}
	if re.Ref != ref || re.Reason == "" || !strings.Contains(re.Message, wantMsg) {
		t.Errorf("refusal = %+v, want ref %s and message %q", re, ref, wantMsg)
	}
}
