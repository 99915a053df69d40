package storetest

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// testGarbage: deleting pipelines and projects and expiring artifacts
// record the storage the rows leave behind, in the same transaction.
func testGarbage(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	g := MustGroup(t, s, "g", nil, gantry.Private, owner.ID)
	p := MustProject(t, s, g, "app", gantry.Private)
	other := MustProject(t, s, g, "other", gantry.Private)
	artifact := func(j *gantry.Job, typ string, expire time.Time) string {
		t.Helper()
		a := store.Artifact{JobID: j.ID, FileType: typ, Format: "zip", Filename: typ + ".zip", Size: 1,
			BlobKey: "artifacts/" + strconv.FormatInt(j.ID, 10) + "/" + typ, ExpireAt: expire}
		if _, err := s.PutArtifact(ctx, &a); err != nil {
			t.Fatal(err)
		}
		return a.BlobKey
	}
	garbage := func() []string {
		t.Helper()
		list, err := s.Garbage(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		var ids []int64
		for _, g := range list {
			out, ids = append(out, g.Kind+":"+g.Key), append(ids, g.ID)
			if g.Kind == store.GarbageTrace && strconv.FormatInt(g.JobID(), 10) != g.Key {
				t.Errorf("JobID of %+v = %d", g, g.JobID())
			}
		}
		if err := s.DropGarbage(ctx, ids...); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	trace := func(j *gantry.Job) string { return store.GarbageTrace + ":" + strconv.FormatInt(j.ID, 10) }
	blob := func(key string) string { return store.GarbageBlob + ":" + key }

	// A pipeline: its artifacts and logs, and the resource groups it held.
	holder, waiter, done := &gantry.Job{ResourceGroup: "prod"}, &gantry.Job{ResourceGroup: "staging", Status: gantry.StatusWaitingForResource},
		&gantry.Job{ResourceGroup: "qa", Status: gantry.StatusSuccess}
	pl := MustPipeline(t, s, p, holder, waiter, done)
	key := artifact(done, "archive", time.Time{})
	kept := MustPipeline(t, s, p, &gantry.Job{})
	held, err := s.DeletePipeline(ctx, pl.ID)
	if err != nil || !cmp.Equal(held, []string{"prod"}) {
		t.Errorf("DeletePipeline = %v, %v; want the group its pending job held", held, err)
	}
	want := []string{blob(key), trace(done), trace(holder), trace(waiter)}
	slices.Sort(want)
	if got := garbage(); !cmp.Equal(got, want) {
		t.Errorf("garbage after DeletePipeline:\n%s", cmp.Diff(want, got))
	}
	if got := garbage(); len(got) != 0 {
		t.Errorf("garbage after DropGarbage: %v", got)
	}
	if _, err := s.DeletePipeline(ctx, pl.ID); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("second DeletePipeline = %v", err)
	}

	// Expiry: only artifacts past their time, not those without one.
	j := &gantry.Job{}
	MustPipeline(t, s, other, j)
	now := time.Now()
	old, fresh, forever := artifact(j, "archive", now.Add(-time.Minute)), artifact(j, "junit", now.Add(time.Hour)), artifact(j, "dotenv", time.Time{})
	if n, err := s.ExpireArtifacts(ctx, now, 100); err != nil || n != 1 {
		t.Errorf("ExpireArtifacts = %d, %v; want 1", n, err)
	}
	if got := garbage(); !cmp.Equal(got, []string{blob(old)}) {
		t.Errorf("garbage after expiry = %v", got)
	}
	arts, _ := s.Artifacts(ctx, j.ID)
	if len(arts) != 2 || arts[0].BlobKey != fresh || arts[1].BlobKey != forever {
		t.Errorf("artifacts left: %+v", arts)
	}

	// A project: everything of all its pipelines.
	if err := s.DeleteProject(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	want = []string{blob(forever), blob(fresh), trace(j)}
	slices.Sort(want)
	if got := garbage(); !cmp.Equal(got, want) {
		t.Errorf("garbage after DeleteProject:\n%s", cmp.Diff(want, got))
	}
	if _, err := s.Pipeline(ctx, kept.ID); err != nil {
		t.Errorf("a pipeline of another project: %v", err)
	}
}
