package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// TestJustClaimedJobIsSkipped: a job this process just claimed is not
// tried again by a request that read the pending list before the claim
// (here: a store that keeps listing it), so racing requests do not each
// spend a write transaction losing the same race.
func TestJustClaimedJobIsSkipped(t *testing.T) {
	fs := &fakeStore{}
	fs.add(store.QueuedJob{ID: 1})
	fs.add(store.QueuedJob{ID: 2})
	q := queue.New(fs)
	keepListed := func(ctx context.Context, id int64) (gantry.Job, error) { return gantry.Job{ID: id}, nil }
	j, _, err := q.Next(t.Context(), anyRunner, "", time.Minute, keepListed)
	if err != nil || j.ID != 1 {
		t.Fatalf("first claim: %v %v", j, err)
	}
	var tried []int64
	record := func(ctx context.Context, id int64) (gantry.Job, error) {
		tried = append(tried, id)
		return gantry.Job{ID: id}, nil
	}
	j, _, err = q.Next(t.Context(), anyRunner, "", time.Minute, record)
	if err != nil || j.ID != 2 || len(tried) != 1 {
		t.Fatalf("second request got %v (%v) after trying %v; want job 2 at the first try", j, err, tried)
	}
}

// TestFailedClaimIsTriedAgain: a claim that failed does not keep the job
// from the next request.
func TestFailedClaimIsTriedAgain(t *testing.T) {
	fs := &fakeStore{}
	fs.add(store.QueuedJob{ID: 7})
	q := queue.New(fs)
	broken := errors.New("database is locked")
	fail := func(ctx context.Context, id int64) (gantry.Job, error) { return gantry.Job{}, broken }
	if _, _, err := q.Next(t.Context(), anyRunner, "", time.Minute, fail); !errors.Is(err, broken) {
		t.Fatalf("Next = %v, want the claim's error", err)
	}
	j, _, err := q.Next(t.Context(), anyRunner, "", time.Minute, fs.claim)
	if err != nil || j.ID != 7 {
		t.Fatalf("after a failed claim, Next = %v, %v", j, err)
	}
}

// TestJobPendingAgainIsClaimable: a claim given back (the runner never
// confirmed) makes the job pending again; announced, it is handed out at
// once, though this process claimed it a moment ago.
func TestJobPendingAgainIsClaimable(t *testing.T) {
	fs := &fakeStore{}
	fs.add(store.QueuedJob{ID: 5})
	q := queue.New(fs)
	if j, _, err := q.Next(t.Context(), anyRunner, "", time.Minute, fs.claim); err != nil || j.ID != 5 {
		t.Fatalf("claim: %v %v", j, err)
	}
	v := q.Version()
	got := make(chan gantry.Job, 1)
	go func() {
		j, _, _ := q.Next(context.Background(), anyRunner, v, time.Minute, fs.claim)
		got <- j
	}()
	waitFor(t, func() bool { return q.Waiting() == 1 })
	fs.add(store.QueuedJob{ID: 5}) // unclaimed
	q.Notify(store.QueuedJob{ID: 5})
	select {
	case j := <-got:
		if j.ID != 5 {
			t.Fatalf("held poll got %v", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job given back never reached the held poll")
	}
}
