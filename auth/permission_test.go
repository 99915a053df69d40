package auth_test

import (
	"fmt"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
)

// TestCanMatrix is GitLab's default permission table for projects: each
// row is a role, each column an action (read, clone, push, admin), each
// cell "y" or "-".
func TestCanMatrix(t *testing.T) {
	type role struct {
		name  string
		actor auth.Actor
		level gantry.AccessLevel
	}
	user := auth.Actor{User: gantry.User{ID: 7, State: gantry.UserActive}}
	admin := auth.Actor{User: gantry.User{ID: 1, Admin: true, State: gantry.UserActive}}
	roles := []role{
		{"anonymous", auth.Actor{}, gantry.NoAccess},
		{"non-member", user, gantry.NoAccess},
		{"guest", user, gantry.Guest},
		{"reporter", user, gantry.Reporter},
		{"developer", user, gantry.Developer},
		{"maintainer", user, gantry.Maintainer},
		{"owner", user, gantry.Owner},
		{"admin", admin, gantry.NoAccess},
	}
	actions := []auth.Action{auth.ReadProject, auth.ReadCode, auth.PushCode, auth.ManageProject}
	want := map[gantry.Visibility][]string{
		//                 anon    non-m   guest   report  dev     maint   owner   admin
		gantry.Private:  {"----", "----", "y---", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
		gantry.Internal: {"----", "yy--", "yy--", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
		gantry.Public:   {"yy--", "yy--", "yy--", "yy--", "yyy-", "yyyy", "yyyy", "yyyy"},
	}
	for vis, rows := range want {
		for i, r := range roles {
			for j, a := range actions {
				t.Run(fmt.Sprintf("%s/%s/%s", vis, r.name, a), func(t *testing.T) {
					expect := rows[i][j] == 'y'
					if got := auth.Can(r.actor, a, vis, r.level); got != expect {
						t.Errorf("Can = %v, want %v", got, expect)
					}
				})
			}
		}
	}
}

func TestOwnProjectNeedsOwner(t *testing.T) {
	user := auth.Actor{User: gantry.User{ID: 7, State: gantry.UserActive}}
	if auth.Can(user, auth.OwnProject, gantry.Public, gantry.Maintainer) {
		t.Error("maintainer may delete the project")
	}
	if !auth.Can(user, auth.OwnProject, gantry.Private, gantry.Owner) {
		t.Error("owner may not delete the project")
	}
}

func TestHasScope(t *testing.T) {
	tok := auth.Actor{User: gantry.User{ID: 7}, Scopes: []gantry.Scope{gantry.ScopeReadRepository}}
	if tok.HasScope(gantry.ScopeAPI, gantry.ScopeWriteRepository) {
		t.Error("read_repository token has write scope")
	}
	if !tok.HasScope(gantry.ScopeReadRepository) {
		t.Error("read_repository token lacks its scope")
	}
	if !(auth.Actor{User: gantry.User{ID: 7}}).HasScope(gantry.ScopeAPI) {
		t.Error("password login lacks a scope")
	}
	if (auth.Actor{}).HasScope(gantry.ScopeReadAPI) {
		t.Error("anonymous has a scope")
	}
}

func TestPasswords(t *testing.T) {
	long := string(make([]byte, 100)) + "tail-a"
	for _, pw := range []string{"correct horse", long} {
		h, err := auth.HashPassword(pw, 4)
		if err != nil {
			t.Fatal(err)
		}
		if !auth.PasswordMatches(h, pw) {
			t.Errorf("password %q does not match its hash", pw[len(pw)-6:])
		}
		if auth.PasswordMatches(h, pw[:len(pw)-1]+"b") {
			t.Errorf("a different password matches")
		}
	}
	if _, err := auth.HashPassword("short", 4); err == nil {
		t.Error("short password accepted")
	}
	if auth.PasswordMatches("", "") {
		t.Error("empty hash matches")
	}
}

func TestSecrets(t *testing.T) {
	a, b := auth.NewSecret(auth.PersonalTokenPrefix), auth.NewSecret(auth.PersonalTokenPrefix)
	if a == b || len(a) != len("glpat-")+27 {
		t.Errorf("secrets %q %q", a, b)
	}
	if auth.HashSecret(a) == a || auth.HashSecret(a) != auth.HashSecret(a) {
		t.Error("hash is not a stable one-way function of the secret")
	}
}
