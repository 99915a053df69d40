package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/store/storetest"
)

// MustOpen opens a fresh database in a temporary directory.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "gantry.db"))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, MustOpen) }

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gantry.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustUser(t, s, "alice", false)
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountUsers(t.Context()); err != nil || n != 1 {
		t.Fatalf("users after reopen = %d, %v", n, err)
	}
}

// TestJobTagsBackfill: the migration that adds job_tags fills it for the
// jobs already queued, so the queue still finds them by tag.
func TestJobTagsBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gantry.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	owner := storetest.MustUser(t, s, "alice", false)
	g := storetest.MustGroup(t, s, "g", nil, gantry.Private, owner.ID)
	tagged, done := &gantry.Job{Tags: []string{"docker", "linux"}}, &gantry.Job{Tags: []string{"docker"}, Status: gantry.StatusSuccess}
	// A skipped job comes back on its own row when an earlier one is
	// retried, so the backfill must cover it too.
	skipped := &gantry.Job{Tags: []string{"docker"}, Status: gantry.StatusSkipped}
	pl := storetest.MustPipeline(t, s, storetest.MustProject(t, s, g, "app", gantry.Private), tagged, done, skipped)
	s.Close()

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DROP TABLE job_tags; DELETE FROM schema_migrations WHERE name LIKE '%job_tags%'"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.UpdatePipeline(t.Context(), pl.ID, func(st *store.PipelineState) error {
		for _, j := range st.Jobs {
			if j.ID == skipped.ID {
				j.Status, j.QueuedAt = gantry.StatusPending, time.Now()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		runner gantry.Runner
		want   int
	}{
		{gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"linux", "docker"}}, 2},
		{gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"docker"}}, 1},
		{gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"ruby"}, RunUntagged: true}, 0},
	} {
		if jobs, err := s.QueuedJobs(t.Context(), c.runner, 0, 10); err != nil || len(jobs) != c.want {
			t.Errorf("QueuedJobs(%v) = %v, %v; want %d jobs", c.runner.Tags, jobs, err, c.want)
		}
	}
}
