// Package storetest is the contract suite every store backend runs. A
// backend's test calls Run with a function that opens a fresh, empty,
// migrated store.
package storetest

import (
	"errors"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// Run runs the whole suite; open must return a fresh store for each call.
func Run(t *testing.T, open func(testing.TB) *store.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, open(t)) })
	t.Run("Visibility", func(t *testing.T) { testVisibility(t, open(t)) })
	t.Run("Members", func(t *testing.T) { testMembers(t, open(t)) })
	t.Run("Refs", func(t *testing.T) { testRefs(t, open(t)) })
	t.Run("Variables", func(t *testing.T) { testVariables(t, open(t)) })
	t.Run("ProtectedRefs", func(t *testing.T) { testProtectedRefs(t, open(t)) })
	t.Run("Traces", func(t *testing.T) { testTraces(t, open(t)) })
	t.Run("Environments", func(t *testing.T) { testEnvironments(t, open(t)) })
	t.Run("JobMasks", func(t *testing.T) { testJobMasks(t, open(t)) })
	t.Run("Garbage", func(t *testing.T) { testGarbage(t, open(t)) })
	t.Run("QueuedJobs", func(t *testing.T) { testQueuedJobs(t, open(t)) })
}

// MustUser creates a user or fails the test.
func MustUser(tb testing.TB, s *store.Store, username string, admin bool) gantry.User {
	tb.Helper()
	u := gantry.User{Username: username, Name: username, Email: username + "@example.com", Admin: admin}
	if err := s.CreateUser(tb.Context(), &u, "hash"); err != nil {
		tb.Fatalf("CreateUser(%s): %v", username, err)
	}
	return u
}

// MustGroup creates a group (below parent if not nil) or fails the test.
func MustGroup(tb testing.TB, s *store.Store, path string, parent *gantry.Namespace, vis gantry.Visibility, owner int64) gantry.Namespace {
	tb.Helper()
	g := gantry.Namespace{Name: path, Path: path, Visibility: vis}
	if err := s.CreateGroup(tb.Context(), &g, parent, owner); err != nil {
		tb.Fatalf("CreateGroup(%s): %v", path, err)
	}
	return g
}

// MustProject creates a project in ns or fails the test.
func MustProject(tb testing.TB, s *store.Store, ns gantry.Namespace, path string, vis gantry.Visibility) gantry.Project {
	tb.Helper()
	p := gantry.Project{Namespace: ns, Name: path, Path: path, Visibility: vis, DefaultBranch: "main"}
	if err := s.CreateProject(tb.Context(), &p); err != nil {
		tb.Fatalf("CreateProject(%s): %v", path, err)
	}
	return p
}

func wantErr(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("error = %v, want %v", err, target)
	}
}
