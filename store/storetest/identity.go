package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

func testUsers(t *testing.T, s *store.Store) {
	ctx := t.Context()
	alice := MustUser(t, s, "alice", false)
	if alice.ID == 0 || alice.State != gantry.UserActive || alice.CreatedAt.IsZero() {
		t.Fatalf("created user not filled in: %+v", alice)
	}
	got, err := s.UserByUsername(ctx, "ALICE")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("user round trip (-want +got):\n%s", diff)
	}
	dup := gantry.User{Username: "Alice", Name: "x", Email: "other@example.com"}
	wantErr(t, s.CreateUser(ctx, &dup, ""), gantry.ErrConflict)
	dupMail := gantry.User{Username: "bob", Name: "x", Email: "ALICE@example.com"}
	wantErr(t, s.CreateUser(ctx, &dupMail, ""), gantry.ErrConflict)
	_, err = s.User(ctx, 999)
	wantErr(t, err, gantry.ErrNotFound)

	ns, err := s.UserNamespace(ctx, alice.ID)
	if err != nil || ns.FullPath != "alice" || ns.Kind != gantry.UserNamespace {
		t.Fatalf("UserNamespace = %+v, %v", ns, err)
	}
	u, hash, err := s.UserLogin(ctx, "alice@example.com")
	if err != nil || u.ID != alice.ID || hash != "hash" {
		t.Fatalf("UserLogin = %+v %q %v", u, hash, err)
	}
	for i := range 4 {
		MustUser(t, s, "user"+string(rune('a'+i)), false)
	}
	page, total, err := s.ListUsers(ctx, store.UserFilter{}, store.Page{Number: 2, Size: 2})
	if err != nil || total != 5 || len(page) != 2 || page[0].Username != "userb" {
		t.Fatalf("ListUsers page 2 = %v total %d err %v", page, total, err)
	}
	if err := s.SetUserState(ctx, alice.ID, gantry.UserBlocked); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, alice.ID); err != nil || u.Active() || u.State != gantry.UserBlocked {
		t.Errorf("blocked user = %+v, %v", u, err)
	}
	if _, total, err := s.ListUsers(ctx, store.UserFilter{Active: true}, store.Page{}); err != nil || total != 4 {
		t.Errorf("%d active users (%v), want 4", total, err)
	}
	if err := s.SetUserState(ctx, alice.ID, gantry.UserActive); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetUserState(ctx, 999, gantry.UserBlocked), gantry.ErrNotFound)
	for _, c := range []struct {
		filter store.UserFilter
		want   int
	}{
		{store.UserFilter{Search: "LIC"}, 1},
		{store.UserFilter{Search: "user"}, 4},
		{store.UserFilter{Search: "example.com"}, 0}, // addresses only with SearchEmail
		{store.UserFilter{Search: "example.com", SearchEmail: true}, 5},
		{store.UserFilter{Search: "ALICE@", SearchEmail: true}, 1},
		{store.UserFilter{Search: "%", SearchEmail: true}, 0},
	} {
		if _, total, err := s.ListUsers(ctx, c.filter, store.Page{}); err != nil || total != c.want {
			t.Errorf("ListUsers(%+v) total %d, %v; want %d", c.filter, total, err, c.want)
		}
	}
}

func testTokens(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "alice", false)
	exp := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	k := gantry.Token{UserID: u.ID, Name: "ci", Scopes: []gantry.Scope{gantry.ScopeAPI, gantry.ScopeReadRepository}, ExpiresAt: exp}
	if err := s.CreateToken(ctx, &k, "h1"); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	got, owner, err := s.TokenByHash(ctx, "h1")
	if err != nil || owner.ID != u.ID {
		t.Fatalf("TokenByHash = %v %v", owner, err)
	}
	if diff := cmp.Diff(k, got); diff != "" {
		t.Errorf("token round trip (-want +got):\n%s", diff)
	}
	dup := gantry.Token{UserID: u.ID, Name: "dup"}
	wantErr(t, s.CreateToken(ctx, &dup, "h1"), gantry.ErrConflict)
	if err := s.RevokeToken(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.TokenByHash(ctx, "h1")
	if !got.Revoked || got.Usable(time.Now()) {
		t.Errorf("revoked token still usable: %+v", got)
	}
	_, _, err = s.TokenByHash(ctx, "nope")
	wantErr(t, err, gantry.ErrNotFound)
}

func testNamespaces(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "alice", false)
	top := MustGroup(t, s, "top", nil, gantry.Private, u.ID)
	sub := MustGroup(t, s, "sub", &top, gantry.Private, 0)
	if sub.FullPath != "top/sub" || sub.ParentID != top.ID {
		t.Fatalf("subgroup = %+v", sub)
	}
	got, err := s.NamespaceByPath(ctx, "TOP/Sub")
	if err != nil || got.ID != sub.ID {
		t.Fatalf("NamespaceByPath = %+v, %v", got, err)
	}
	// A group path equal to a user's namespace, or a project's path, is taken.
	wantErr(t, s.CreateGroup(ctx, &gantry.Namespace{Name: "a", Path: "Alice", Visibility: gantry.Public}, nil, 0), gantry.ErrConflict)
	p := MustProject(t, s, sub, "app", gantry.Private)
	if p.FullPath() != "top/sub/app" {
		t.Fatalf("project path = %q", p.FullPath())
	}
	wantErr(t, s.CreateGroup(ctx, &gantry.Namespace{Name: "app", Path: "app", Visibility: gantry.Public}, &sub, 0), gantry.ErrConflict)
	dup := gantry.Project{Namespace: sub, Name: "App", Path: "APP", Visibility: gantry.Public}
	wantErr(t, s.CreateProject(ctx, &dup), gantry.ErrConflict)
	byPath, err := s.ProjectByPath(ctx, "top/sub/app")
	if err != nil || byPath.ID != p.ID || byPath.Namespace.FullPath != "top/sub" {
		t.Fatalf("ProjectByPath = %+v, %v", byPath, err)
	}
	wantErr(t, s.DeleteGroup(ctx, top.ID), gantry.ErrConflict)
}
