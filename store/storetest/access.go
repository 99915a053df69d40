package storetest

import (
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

func testVisibility(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	member := MustUser(t, s, "member", false)
	other := MustUser(t, s, "other", false)
	admin := MustUser(t, s, "admin", true)
	grp := MustGroup(t, s, "grp", nil, gantry.Private, owner.ID)
	sub := MustGroup(t, s, "sub", &grp, gantry.Private, 0)
	priv := MustProject(t, s, sub, "priv", gantry.Private)
	MustProject(t, s, grp, "int", gantry.Internal)
	MustProject(t, s, grp, "pub", gantry.Public)
	if err := s.AddMember(ctx, store.GroupSource(grp.ID), member.ID, gantry.Reporter, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		viewer store.Viewer
		want   int
	}{
		{"anonymous", store.Viewer{}, 1},
		{"other user", store.Viewer{UserID: other.ID}, 2},
		{"inherited member", store.Viewer{UserID: member.ID}, 3},
		{"owner", store.Viewer{UserID: owner.ID}, 3},
		{"admin", store.Viewer{UserID: admin.ID, Admin: true}, 3},
	}
	for _, c := range cases {
		_, total, err := s.ListProjects(ctx, store.ProjectFilter{Viewer: c.viewer}, store.Page{})
		if err != nil || total != c.want {
			t.Errorf("%s sees %d projects (err %v), want %d", c.name, total, err, c.want)
		}
	}
	_, total, _ := s.ListGroups(ctx, store.GroupFilter{Viewer: store.Viewer{UserID: other.ID}}, store.Page{})
	if total != 0 {
		t.Errorf("other user sees %d private groups", total)
	}
	_, total, _ = s.ListGroups(ctx, store.GroupFilter{Viewer: store.Viewer{UserID: member.ID}}, store.Page{})
	if total != 2 {
		t.Errorf("member sees %d groups, want grp and grp/sub", total)
	}
	lvl, err := s.AccessLevel(ctx, member.ID, store.ProjectSource(priv.ID))
	if err != nil || lvl != gantry.Reporter {
		t.Errorf("inherited level = %v, %v; want reporter", lvl, err)
	}
}

func testMembers(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	dev := MustUser(t, s, "dev", false)
	grp := MustGroup(t, s, "grp", nil, gantry.Private, owner.ID)
	p := MustProject(t, s, grp, "app", gantry.Private)
	src := store.ProjectSource(p.ID)
	if err := s.AddMember(ctx, src, dev.ID, gantry.Developer, 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddMember(ctx, src, dev.ID, gantry.Guest, 0), gantry.ErrConflict)
	direct, total, err := s.ListMembers(ctx, src, false, store.Page{})
	if err != nil || total != 1 || direct[0].User.ID != dev.ID || direct[0].Inherited {
		t.Fatalf("direct members = %+v total %d err %v", direct, total, err)
	}
	all, total, err := s.ListMembers(ctx, src, true, store.Page{})
	if err != nil || total != 2 {
		t.Fatalf("all members = %+v total %d err %v", all, total, err)
	}
	if all[0].User.ID != owner.ID || !all[0].Inherited || all[0].AccessLevel != gantry.Owner {
		t.Errorf("inherited owner = %+v", all[0])
	}
	// A group owner who is also a guest on the project keeps the higher role.
	if err := s.AddMember(ctx, src, owner.ID, gantry.Guest, 0); err != nil {
		t.Fatal(err)
	}
	lvl, _ := s.AccessLevel(ctx, owner.ID, src)
	if lvl != gantry.Owner {
		t.Errorf("level = %v, want owner", lvl)
	}
	if err := s.RemoveMember(ctx, src, dev.ID); err != nil {
		t.Fatal(err)
	}
	lvl, _ = s.AccessLevel(ctx, dev.ID, src)
	if lvl != gantry.NoAccess {
		t.Errorf("removed member level = %v", lvl)
	}
	wantErr(t, s.RemoveMember(ctx, src, dev.ID), gantry.ErrNotFound)
}

func testRefs(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "alice", false)
	ns, _ := s.UserNamespace(ctx, u.ID)
	p := MustProject(t, s, ns, "app", gantry.Private)
	a, b, c := "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"
	both := map[string]string{"refs/heads/main": a, "refs/tags/v1": a}
	ups, err := s.SyncRefs(ctx, p.ID, both, store.Push{UserID: u.ID, Refs: both})
	if err != nil || len(ups) != 2 || ups[0].Before != gantry.ZeroSHA || ups[0].Ref != "refs/heads/main" ||
		ups[0].UserID != u.ID || ups[1].UserID != u.ID {
		t.Fatalf("first sync = %+v, %v", ups, err)
	}
	ups, _ = s.SyncRefs(ctx, p.ID, both, store.Push{UserID: u.ID, Refs: both})
	if len(ups) != 0 {
		t.Fatalf("unchanged sync recorded %+v", ups)
	}
	// The push deleted v1; main moved by another push: only the deletion
	// is this pusher's.
	ups, _ = s.SyncRefs(ctx, p.ID, map[string]string{"refs/heads/main": b},
		store.Push{UserID: u.ID, Refs: map[string]string{"refs/tags/v1": gantry.ZeroSHA}})
	if len(ups) != 2 || ups[0].After != b || ups[0].Before != a || ups[0].UserID != 0 ||
		ups[1].After != gantry.ZeroSHA || ups[1].UserID != u.ID {
		t.Fatalf("update+delete sync = %+v", ups)
	}
	// The push sent main to c, but another push moved it on since.
	ups, _ = s.SyncRefs(ctx, p.ID, map[string]string{"refs/heads/main": a}, store.Push{UserID: u.ID, Refs: map[string]string{"refs/heads/main": c}})
	if len(ups) != 1 || ups[0].After != a || ups[0].UserID != 0 {
		t.Fatalf("sync of a ref another push moved on = %+v", ups)
	}
	events, err := s.RefUpdatesAfter(ctx, 0, 10)
	if err != nil || len(events) != 5 || events[3].UserID != u.ID || events[4].UserID != 0 {
		t.Fatalf("events = %+v, %v", events, err)
	}
	if err := s.SetCursor(ctx, "pipelines", events[1].ID); err != nil {
		t.Fatal(err)
	}
	cursor, _ := s.Cursor(ctx, "pipelines")
	rest, _ := s.RefUpdatesAfter(ctx, cursor, 10)
	if len(rest) != 3 {
		t.Errorf("after cursor: %d events, want 3", len(rest))
	}
}
