package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

func testVariables(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	top := MustGroup(t, s, "top", nil, gantry.Private, owner.ID)
	sub := MustGroup(t, s, "sub", &top, gantry.Private, 0)
	p := MustProject(t, s, sub, "app", gantry.Private)
	other := MustProject(t, s, top, "other", gantry.Private)
	add := func(v gantry.CIVariable) gantry.CIVariable {
		t.Helper()
		if err := s.CreateVariable(ctx, &v); err != nil {
			t.Fatalf("CreateVariable(%+v): %v", v, err)
		}
		return v
	}
	pv := add(gantry.CIVariable{Key: "TOKEN", Value: "secret-value", Masked: true, Protected: true, Hidden: true,
		File: true, Raw: true, EnvironmentScope: "*", Description: "deploy token", Level: gantry.ProjectLevel, OwnerID: p.ID})
	add(gantry.CIVariable{Key: "TOKEN", Value: "prod", EnvironmentScope: "production", Level: gantry.ProjectLevel, OwnerID: p.ID})
	add(gantry.CIVariable{Key: "OTHER", Value: "x", EnvironmentScope: "*", Level: gantry.ProjectLevel, OwnerID: other.ID})
	add(gantry.CIVariable{Key: "SUB", Value: "s", EnvironmentScope: "*", Level: gantry.GroupLevel, OwnerID: sub.ID})
	add(gantry.CIVariable{Key: "TOP", Value: "t", EnvironmentScope: "*", Level: gantry.GroupLevel, OwnerID: top.ID})
	inst := add(gantry.CIVariable{Key: "INST", Value: "i", EnvironmentScope: "staging", Level: gantry.InstanceLevel})
	if inst.EnvironmentScope != "*" || inst.OwnerID != 0 {
		t.Errorf("instance variable kept scope %q owner %d; want * and 0", inst.EnvironmentScope, inst.OwnerID)
	}

	// Same key and scope at the same owner: conflict; elsewhere: fine.
	dup := gantry.CIVariable{Key: "TOKEN", Value: "again", EnvironmentScope: "*", Level: gantry.ProjectLevel, OwnerID: p.ID}
	wantErr(t, s.CreateVariable(ctx, &dup), gantry.ErrConflict)
	add(gantry.CIVariable{Key: "TOKEN", Value: "group", EnvironmentScope: "*", Level: gantry.GroupLevel, OwnerID: sub.ID})
	missing := gantry.CIVariable{Key: "X", Value: "x", EnvironmentScope: "*", Level: gantry.GroupLevel, OwnerID: 9999}
	wantErr(t, s.CreateVariable(ctx, &missing), gantry.ErrNotFound)
	// A project's namespace id is no group.
	userNS, _ := s.UserNamespace(ctx, owner.ID)
	missing.OwnerID = userNS.ID
	wantErr(t, s.CreateVariable(ctx, &missing), gantry.ErrNotFound)

	projOwner := store.VariableOwner{Level: gantry.ProjectLevel, ID: p.ID}
	list, total, err := s.ListVariables(ctx, projOwner, store.Page{Number: 1, Size: 1})
	if err != nil || total != 2 || len(list) != 1 {
		t.Fatalf("ListVariables page 1 = %+v, total %d, %v", list, total, err)
	}
	if diff := cmp.Diff(pv, list[0]); diff != "" {
		t.Errorf("listed variable (-want +got):\n%s", diff)
	}
	byKey, err := s.VariablesByKey(ctx, projOwner, "TOKEN")
	if err != nil || len(byKey) != 2 || byKey[0].EnvironmentScope != "*" || byKey[1].EnvironmentScope != "production" {
		t.Fatalf("VariablesByKey = %+v, %v", byKey, err)
	}
	if none, err := s.VariablesByKey(ctx, projOwner, "NOPE"); err != nil || len(none) != 0 {
		t.Errorf("VariablesByKey(NOPE) = %+v, %v", none, err)
	}

	// Update moves the production variable to staging; moving it onto "*"
	// collides; an unknown scope is not found.
	upd := byKey[1]
	upd.Value, upd.EnvironmentScope, upd.Masked = "stage", "staging", true
	if err := s.UpdateVariable(ctx, "production", upd); err != nil {
		t.Fatalf("UpdateVariable: %v", err)
	}
	upd.EnvironmentScope = "*"
	wantErr(t, s.UpdateVariable(ctx, "staging", upd), gantry.ErrConflict)
	wantErr(t, s.UpdateVariable(ctx, "production", upd), gantry.ErrNotFound)
	byKey, _ = s.VariablesByKey(ctx, projOwner, "TOKEN")
	if len(byKey) != 2 || byKey[1].EnvironmentScope != "staging" || byKey[1].Value != "stage" || !byKey[1].Masked {
		t.Errorf("after update = %+v", byKey)
	}

	// Precedence order for the project's pipelines: instance, top, sub, project.
	got, err := s.PipelineVariables(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range got {
		keys = append(keys, string(v.Level)+":"+v.Key+"@"+v.EnvironmentScope)
	}
	want := []string{"instance:INST@*", "group:TOP@*", "group:SUB@*", "group:TOKEN@*", "project:TOKEN@*", "project:TOKEN@staging"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("PipelineVariables order (-want +got):\n%s", diff)
	}
	_, err = s.PipelineVariables(ctx, 9999)
	wantErr(t, err, gantry.ErrNotFound)

	wantErr(t, s.DeleteVariable(ctx, projOwner, "TOKEN", "production"), gantry.ErrNotFound)
	if err := s.DeleteVariable(ctx, projOwner, "TOKEN", "staging"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVariable(ctx, store.InstanceVariables, "INST", "*"); err != nil {
		t.Fatal(err)
	}
	// Deleting the project takes its variables along.
	if err := s.DeleteProject(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.ListVariables(ctx, store.VariableOwner{Level: gantry.ProjectLevel, ID: other.ID}, store.Page{}); total != 0 {
		t.Errorf("variables of a deleted project: %d", total)
	}
	_, total, _ = s.ListVariables(ctx, store.InstanceVariables, store.Page{})
	if total != 0 {
		t.Errorf("instance variables after delete: %d", total)
	}
}

func testProtectedRefs(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "alice", false)
	ns, _ := s.UserNamespace(ctx, u.ID)
	p := MustProject(t, s, ns, "app", gantry.Private)
	main := gantry.ProtectedRef{ProjectID: p.ID, Name: "main", PushLevel: gantry.Maintainer, MergeLevel: gantry.Developer}
	if err := s.CreateProtectedRef(ctx, &main); err != nil || main.ID == 0 || main.CreatedAt.IsZero() {
		t.Fatalf("CreateProtectedRef = %+v, %v", main, err)
	}
	rel := gantry.ProtectedRef{ProjectID: p.ID, Name: "release/*", PushLevel: gantry.NoAccess, MergeLevel: gantry.Maintainer, AllowForcePush: true}
	if err := s.CreateProtectedRef(ctx, &rel); err != nil {
		t.Fatal(err)
	}
	tag := gantry.ProtectedRef{ProjectID: p.ID, Tag: true, Name: "main", PushLevel: gantry.Maintainer}
	if err := s.CreateProtectedRef(ctx, &tag); err != nil {
		t.Fatalf("a tag rule may share a branch rule's name: %v", err)
	}
	again := gantry.ProtectedRef{ProjectID: p.ID, Name: "main", PushLevel: gantry.Developer}
	wantErr(t, s.CreateProtectedRef(ctx, &again), gantry.ErrConflict)
	again.ProjectID = 9999
	wantErr(t, s.CreateProtectedRef(ctx, &again), gantry.ErrNotFound)

	branches, err := s.ProtectedRefs(ctx, p.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]gantry.ProtectedRef{main, rel}, branches); diff != "" {
		t.Errorf("protected branches (-want +got):\n%s", diff)
	}
	page, total, err := s.ListProtectedRefs(ctx, p.ID, false, store.Page{Number: 2, Size: 1})
	if err != nil || total != 2 || len(page) != 1 || page[0].Name != "release/*" {
		t.Errorf("page 2 = %+v total %d, %v", page, total, err)
	}
	got, err := s.ProtectedRef(ctx, p.ID, true, "main")
	if err != nil || !got.Tag || got.ID != tag.ID {
		t.Errorf("ProtectedRef(tag main) = %+v, %v", got, err)
	}
	_, err = s.ProtectedRef(ctx, p.ID, false, "release/1") // patterns are looked up, not matched
	wantErr(t, err, gantry.ErrNotFound)

	main.PushLevel, main.AllowForcePush = gantry.Developer, true
	if err := s.UpdateProtectedRef(ctx, main); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ProtectedRef(ctx, p.ID, false, "main")
	if got.PushLevel != gantry.Developer || !got.AllowForcePush || got.MergeLevel != gantry.Developer {
		t.Errorf("after update = %+v", got)
	}
	if err := s.DeleteProtectedRef(ctx, p.ID, false, "main"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteProtectedRef(ctx, p.ID, false, "main"), gantry.ErrNotFound)
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.ListProtectedRefs(ctx, p.ID, true, store.Page{}); total != 0 {
		t.Errorf("protected refs of a deleted project: %d", total)
	}
}
