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
