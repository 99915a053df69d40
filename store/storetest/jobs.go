package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// MustPipeline stores a pipeline of p with jobs (pending unless a job says
// otherwise) or fails the test.
func MustPipeline(tb testing.TB, s *store.Store, p gantry.Project, jobs ...*gantry.Job) gantry.Pipeline {
	tb.Helper()
	pl := gantry.Pipeline{ProjectID: p.ID, Ref: "main", SHA: "0123456789abcdef0123456789abcdef01234567", Source: "push",
		Status: gantry.StatusPending}
	for i, j := range jobs {
		if j.Name == "" {
			j.Name = "job" + string(rune('a'+i))
		}
		if j.Stage == "" {
			j.Stage, j.When, j.Spec = "test", "on_success", []byte("{}")
		}
		if j.Status == "" {
			j.Status = gantry.StatusPending
		}
	}
	if err := s.CreatePipeline(tb.Context(), &pl, jobs, 0); err != nil {
		tb.Fatalf("CreatePipeline: %v", err)
	}
	return pl
}

// testJobMasks: what a job's log masks is recorded with the claim, kept
// when the job ends (a log request may be under way) and forgotten when
// the job is given back or erased.
func testJobMasks(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	g := MustGroup(t, s, "g", nil, gantry.Private, owner.ID)
	p := MustProject(t, s, g, "app", gantry.Private)
	a, b := &gantry.Job{}, &gantry.Job{}
	pl := MustPipeline(t, s, p, a, b)
	masks := func(id int64) ([]string, bool) {
		t.Helper()
		v, ok, err := s.JobMasks(ctx, id)
		if err != nil {
			t.Fatalf("JobMasks(%d): %v", id, err)
		}
		return v, ok
	}
	if _, ok := masks(a.ID); ok {
		t.Error("a job no runner took has masks recorded")
	}
	if err := s.RecordJobMasks(ctx, a.ID, []string{"x"}); err == nil {
		t.Error("RecordJobMasks of an unclaimed job succeeded")
	}
	for _, j := range []*gantry.Job{a, b} {
		if _, err := s.Claim(ctx, j.ID, 1, 0, "hash"+j.Name, true, false); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok := masks(a.ID); !ok || len(v) != 0 {
		t.Errorf("after the claim: %v, %v; want recorded, none", v, ok)
	}
	for _, j := range []*gantry.Job{a, b} {
		if err := s.RecordJobMasks(ctx, j.ID, []string{"s3cr3t", "other"}); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok := masks(a.ID); !ok || !cmp.Equal(v, []string{"s3cr3t", "other"}) {
		t.Errorf("recorded: %v, %v", v, ok)
	}
	if err := s.Unclaim(ctx, a.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, ok := masks(a.ID); ok {
		t.Errorf("after Unclaim: %v", v)
	}
	err := s.UpdatePipeline(ctx, pl.ID, func(st *store.PipelineState) error {
		for _, j := range st.Jobs {
			if j.ID == b.ID {
				j.Status = gantry.StatusFailed
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := masks(b.ID); !ok || !cmp.Equal(v, []string{"s3cr3t", "other"}) {
		t.Errorf("after the job ended: %v, %v; want still recorded", v, ok)
	}
	err = s.UpdatePipeline(ctx, pl.ID, func(st *store.PipelineState) error {
		for _, j := range st.Jobs {
			if j.ID == b.ID {
				j.ErasedAt = time.Now()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := masks(b.ID); ok {
		t.Errorf("after the job was erased: %v", v)
	}
}
