package forge_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/store/storetest"
)

type env struct {
	svc   *forge.Service
	st    *store.Store
	owner auth.Actor
	top   gantry.Namespace
	sub   gantry.Namespace
	proj  gantry.Project
}

// newEnv builds a forge on a real SQLite store and real repositories:
// groups top and top/sub owned by "owner", and project top/sub/app.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gantry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := forge.New(forge.Config{Store: st, Repos: git.Storage{Root: t.TempDir()}, PasswordCost: 4})
	e := &env{svc: svc, st: st, owner: actor(t, st, "owner", false)}
	ctx := t.Context()
	if e.top, err = svc.CreateGroup(ctx, e.owner, forge.NewGroup{Name: "top", Path: "top"}); err != nil {
		t.Fatal(err)
	}
	if e.sub, err = svc.CreateGroup(ctx, e.owner, forge.NewGroup{Name: "sub", Path: "sub", ParentID: e.top.ID}); err != nil {
		t.Fatal(err)
	}
	if e.proj, err = svc.CreateProject(ctx, e.owner, forge.NewProject{Name: "app", NamespaceID: e.sub.ID}); err != nil {
		t.Fatal(err)
	}
	return e
}

func actor(t *testing.T, st *store.Store, name string, admin bool) auth.Actor {
	t.Helper()
	return auth.Actor{User: storetest.MustUser(t, st, name, admin)}
}

func (e *env) add(t *testing.T, a auth.Actor, target forge.VariableTarget, v gantry.CIVariable) {
	t.Helper()
	if _, err := e.svc.CreateVariable(t.Context(), a, target, v); err != nil {
		t.Fatalf("CreateVariable(%s %s): %v", target.Level, v.Key, err)
	}
}

func TestCIVariables(t *testing.T) {
	e := newEnv(t)
	admin := actor(t, e.st, "admin", true)
	inst := forge.VariableTarget{Level: gantry.InstanceLevel}
	top := forge.VariableTarget{Level: gantry.GroupLevel, IDOrPath: "top"}
	sub := forge.VariableTarget{Level: gantry.GroupLevel, IDOrPath: "top/sub"}
	proj := forge.VariableTarget{Level: gantry.ProjectLevel, IDOrPath: "top/sub/app"}
	e.add(t, admin, inst, gantry.CIVariable{Key: "REGION", Value: "instance"})
	e.add(t, admin, inst, gantry.CIVariable{Key: "DEPLOY_KEY", Value: "instance-secret", Protected: true})
	e.add(t, e.owner, top, gantry.CIVariable{Key: "REGION", Value: "top"})
	e.add(t, e.owner, top, gantry.CIVariable{Key: "DB", Value: "top-prod", EnvironmentScope: "production"})
	e.add(t, e.owner, sub, gantry.CIVariable{Key: "REGION", Value: "sub"})
	e.add(t, e.owner, sub, gantry.CIVariable{Key: "DEPLOY_KEY", Value: "sub-secret", Protected: true})
	e.add(t, e.owner, proj, gantry.CIVariable{Key: "DB", Value: "project-any"})
	e.add(t, e.owner, proj, gantry.CIVariable{Key: "DB", Value: "project-review", EnvironmentScope: "review/*"})
	e.add(t, e.owner, proj, gantry.CIVariable{Key: "TOKEN", Value: "project-secret", Protected: true})

	type row struct{ Level, Key, Scope, Value string }
	rows := func(vs []gantry.CIVariable) []row {
		var out []row
		for _, v := range vs {
			out = append(out, row{string(v.Level), v.Key, v.EnvironmentScope, v.Value})
		}
		return out
	}
	got, err := e.svc.CIVariables(t.Context(), e.proj, false)
	if err != nil {
		t.Fatal(err)
	}
	// Unprotected ref: no protected variables; per key+scope the closest
	// level; farthest level first.
	want := []row{
		{"group", "DB", "production", "top-prod"},
		{"group", "REGION", "*", "sub"},
		{"project", "DB", "*", "project-any"},
		{"project", "DB", "review/*", "project-review"},
	}
	if diff := cmp.Diff(want, rows(got)); diff != "" {
		t.Errorf("unprotected ref (-want +got):\n%s", diff)
	}
	got, err = e.svc.CIVariables(t.Context(), e.proj, true)
	if err != nil {
		t.Fatal(err)
	}
	want = []row{
		{"group", "DB", "production", "top-prod"},
		{"group", "REGION", "*", "sub"},
		{"group", "DEPLOY_KEY", "*", "sub-secret"},
		{"project", "DB", "*", "project-any"},
		{"project", "DB", "review/*", "project-review"},
		{"project", "TOKEN", "*", "project-secret"},
	}
	if diff := cmp.Diff(want, rows(got)); diff != "" {
		t.Errorf("protected ref (-want +got):\n%s", diff)
	}
	// What a job deploying to production gets: the project's "*" DB
	// beats the group's "production" one (closer level wins).
	values := map[string]string{}
	for _, v := range gantry.ForEnvironment(got, "production") {
		values[v.Key] = v.Value
	}
	if diff := cmp.Diff(map[string]string{"DB": "project-any", "DEPLOY_KEY": "sub-secret", "REGION": "sub", "TOKEN": "project-secret"}, values); diff != "" {
		t.Errorf("production job (-want +got):\n%s", diff)
	}
}

func TestVariableRules(t *testing.T) {
	e := newEnv(t)
	proj := forge.VariableTarget{Level: gantry.ProjectLevel, IDOrPath: "top/sub/app"}
	cases := []struct {
		name  string
		v     gantry.CIVariable
		field string // "" means valid
	}{
		{"plain", gantry.CIVariable{Key: "OK_1", Value: "anything goes\nhere $X"}, ""},
		{"masked base64 and @:.~", gantry.CIVariable{Key: "M1", Value: "aB3+/=_-@:.~", Masked: true}, ""},
		{"masked too short", gantry.CIVariable{Key: "M2", Value: "short", Masked: true}, "value"},
		{"masked with space", gantry.CIVariable{Key: "M3", Value: "has a space in it", Masked: true}, "value"},
		{"masked multi-line", gantry.CIVariable{Key: "M4", Value: "line-one\nline-two", Masked: true}, "value"},
		{"masked with $", gantry.CIVariable{Key: "M5", Value: "pa$$word123", Masked: true}, "value"},
		{"masked raw allows $ and !", gantry.CIVariable{Key: "M6", Value: "pa$$word!!", Masked: true, Raw: true}, ""},
		{"masked raw refuses spaces", gantry.CIVariable{Key: "M7", Value: "pa$$ word!!", Masked: true, Raw: true}, "value"},
		{"hidden is masked", gantry.CIVariable{Key: "H1", Value: "short", Hidden: true}, "value"},
		{"empty key", gantry.CIVariable{Key: "", Value: "x"}, "key"},
		{"key with dash", gantry.CIVariable{Key: "MY-KEY", Value: "x"}, "key"},
		{"key too long", gantry.CIVariable{Key: strings.Repeat("K", 256), Value: "x"}, "key"},
		{"value too long", gantry.CIVariable{Key: "BIG", Value: strings.Repeat("v", 10001)}, "value"},
		{"bad scope", gantry.CIVariable{Key: "S", Value: "x", EnvironmentScope: "prod;rm"}, "environment_scope"},
		{"scope with wildcard", gantry.CIVariable{Key: "S2", Value: "x", EnvironmentScope: "review/*"}, ""},
		{"description too long", gantry.CIVariable{Key: "D", Value: "x", Description: strings.Repeat("d", 256)}, "description"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.CreateVariable(t.Context(), e.owner, proj, c.v)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *forge.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, gantry.ErrInvalid) {
				t.Fatalf("error = %v, want a field error on %s", err, c.field)
			}
		})
	}
	// The same key twice in one scope is GitLab's "has already been taken".
	_, err := e.svc.CreateVariable(t.Context(), e.owner, proj, gantry.CIVariable{Key: "OK_1", Value: "again"})
	var fe *forge.FieldError
	if !errors.As(err, &fe) || fe.Field != "key" || fe.Message != "(OK_1) has already been taken" {
		t.Errorf("duplicate = %v", err)
	}
}

func TestVariableAccess(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dev, maint, stranger := actor(t, e.st, "dev", false), actor(t, e.st, "maint", false), actor(t, e.st, "stranger", false)
	for _, m := range []struct {
		a     auth.Actor
		level gantry.AccessLevel
	}{{dev, gantry.Developer}, {maint, gantry.Maintainer}} {
		if err := e.st.AddMember(ctx, store.GroupSource(e.top.ID), m.a.User.ID, m.level, 0); err != nil {
			t.Fatal(err)
		}
	}
	proj := forge.VariableTarget{Level: gantry.ProjectLevel, IDOrPath: "top/sub/app"}
	group := forge.VariableTarget{Level: gantry.GroupLevel, IDOrPath: "top/sub"}
	inst := forge.VariableTarget{Level: gantry.InstanceLevel}
	cases := []struct {
		name   string
		a      auth.Actor
		target forge.VariableTarget
		want   error // nil: allowed
	}{
		{"developer, project", dev, proj, gantry.ErrForbidden},
		{"maintainer, project", maint, proj, nil},
		{"stranger, private project", stranger, proj, gantry.ErrNotFound},
		{"anonymous, project", auth.Actor{}, proj, gantry.ErrUnauthorized},
		{"maintainer, group", maint, group, gantry.ErrForbidden},
		{"owner, group", e.owner, group, nil},
		{"owner, instance", e.owner, inst, gantry.ErrForbidden},
		{"anonymous, instance", auth.Actor{}, inst, gantry.ErrUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.svc.ListVariables(ctx, c.a, c.target, store.Page{})
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("list: error = %v, want %v", err, c.want)
			}
			_, err = e.svc.CreateVariable(ctx, c.a, c.target, gantry.CIVariable{Key: "K_" + strings.ReplaceAll(c.name[:3], " ", "_"), Value: "v"})
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("create: error = %v, want %v", err, c.want)
			}
		})
	}
}

func TestRefProtected(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.svc.ProtectRef(ctx, e.owner, "top/sub/app", gantry.ProtectedRef{Tag: true, Name: "v*", PushLevel: gantry.Maintainer}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref  string
		tag  bool
		want bool
	}{
		{"main", false, true}, // the default branch is protected on creation
		{"refs/heads/main", false, true},
		{"feature", false, false},
		{"v1.0", true, true},
		{"refs/tags/v1.0", true, true},
		{"main", true, false},
		{"v1.0", false, false},
	}
	for _, c := range cases {
		got, err := e.svc.RefProtected(ctx, e.proj.ID, c.ref, c.tag)
		if err != nil || got != c.want {
			t.Errorf("RefProtected(%q, tag %v) = %v, %v; want %v", c.ref, c.tag, got, err, c.want)
		}
	}
}
