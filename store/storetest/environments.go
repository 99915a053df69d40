package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

func testEnvironments(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	g := MustGroup(t, s, "g", nil, gantry.Private, owner.ID)
	p := MustProject(t, s, g, "app", gantry.Private)
	other := MustProject(t, s, g, "other", gantry.Private)
	ensure := func(envs ...gantry.Environment) []gantry.Environment {
		t.Helper()
		got, err := s.EnsureEnvironments(ctx, envs)
		if err != nil {
			t.Fatalf("EnsureEnvironments: %v", err)
		}
		return got
	}
	first := ensure(gantry.Environment{ProjectID: p.ID, Name: "review/a", Slug: "review-a-x", Tier: "development"},
		gantry.Environment{ProjectID: p.ID, Name: "production", Slug: "production", ExternalURL: "https://prod", Tier: "production"},
		gantry.Environment{ProjectID: other.ID, Name: "production", Slug: "production", Tier: "production"})
	if len(first) != 3 || first[0].ID == 0 || first[0].State != "available" || first[1].ExternalURL != "https://prod" {
		t.Fatalf("created %+v", first)
	}
	// Again: same rows; a new URL replaces the old one, an empty one keeps it.
	again := ensure(gantry.Environment{ProjectID: p.ID, Name: "review/a", Slug: "review-a-x", ExternalURL: "https://a"},
		gantry.Environment{ProjectID: p.ID, Name: "production", Slug: "production"})
	if again[0].ID != first[0].ID || again[0].ExternalURL != "https://a" || again[1].ExternalURL != "https://prod" {
		t.Errorf("ensured again %+v", again)
	}
	list, total, err := s.Environments(ctx, p.ID, store.EnvironmentFilter{}, store.Page{})
	if err != nil || total != 2 {
		t.Fatalf("Environments = %v, %d, %v", list, total, err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"production", "review/a"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if list, _, _ := s.Environments(ctx, p.ID, store.EnvironmentFilter{Search: "view"}, store.Page{}); len(list) != 1 || list[0].Name != "review/a" {
		t.Errorf("search: %+v", list)
	}
	if e, err := s.Environment(ctx, p.ID, first[1].ID); err != nil || e.Name != "production" {
		t.Errorf("Environment = %+v, %v", e, err)
	}
	_, err = s.Environment(ctx, other.ID, first[1].ID)
	wantErr(t, err, gantry.ErrNotFound)
}
