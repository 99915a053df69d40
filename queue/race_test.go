package queue_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/store/storetest"
)

// pendingJobs stores a pipeline of n pending jobs on a real SQLite store.
func pendingJobs(tb testing.TB, n int) (*store.Store, []int64) {
	tb.Helper()
	return pendingTaggedJobs(tb, make([][]string, n)...)
}

// pendingTaggedJobs stores a pipeline of pending jobs with these tags on a
// real SQLite store.
func pendingTaggedJobs(tb testing.TB, tags ...[]string) (*store.Store, []int64) {
	tb.Helper()
	n := len(tags)
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "gantry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	u := storetest.MustUser(tb, s, "alice", false)
	ns, _ := s.UserNamespace(tb.Context(), u.ID)
	proj := storetest.MustProject(tb, s, ns, "app", gantry.Private)
	jobs := make([]*gantry.Job, n)
	for i := range jobs {
		jobs[i] = &gantry.Job{Name: fmt.Sprintf("job %d", i), Stage: "test", Status: gantry.StatusPending, When: "on_success", Spec: []byte("{}"),
			Tags: tags[i]}
	}
	p := gantry.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "1234567890123456789012345678901234567890", Source: "push", Status: gantry.StatusPending}
	if err := s.CreatePipeline(tb.Context(), &p, jobs, 0); err != nil {
		tb.Fatal(err)
	}
	ids := make([]int64, n)
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return s, ids
}

// TestScanSeesPastJobsNobodyCanTake: 1,100 pending jobs asking for a tag
// no runner has, queued first, do not hide the job after them from a
// runner that scans.
func TestScanSeesPastJobsNobodyCanTake(t *testing.T) {
	tags := make([][]string, 1101)
	for i := range 1100 {
		tags[i] = []string{"nobody"}
	}
	s, ids := pendingTaggedJobs(t, tags...)
	q := queue.New(s)
	runner := gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true, Tags: []string{"docker"}}
	claim := func(ctx context.Context, id int64) (gantry.Job, error) {
		return s.Claim(ctx, id, 1, 0, "h", false, false)
	}
	j, _, err := q.Next(t.Context(), runner, "stale", 0, claim)
	if err != nil || j.ID != ids[1100] {
		t.Errorf("Next = job %d, %v; want the untagged job %d", j.ID, err, ids[1100])
	}
}

// TestEveryJobAssignedOnce: 50 runners race for 500 pending jobs on a real
// SQLite store; every job goes to exactly one of them.
func TestEveryJobAssignedOnce(t *testing.T) {
	s, ids := pendingJobs(t, 500)
	q := queue.New(s)
	runner := gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	for r := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claim := func(ctx context.Context, id int64) (gantry.Job, error) {
				return s.Claim(ctx, id, int64(r+1), 0, fmt.Sprintf("hash-%d-%d", r, id), false, false)
			}
			for {
				j, _, err := q.Next(context.Background(), runner, "", 0, claim)
				if errors.Is(err, queue.ErrNoJob) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != len(ids) {
		t.Fatalf("%d jobs assigned, want %d", len(got), len(ids))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %d assigned %d times", id, n)
		}
	}
}

// TestHeldPollGetsNotifiedJob: a runner holding a long poll on a real
// store gets a job the moment it is queued.
func TestHeldPollGetsNotifiedJob(t *testing.T) {
	s, ids := pendingJobs(t, 1)
	q := queue.New(s)
	runner := gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true}
	claim := func(ctx context.Context, id int64) (gantry.Job, error) {
		return s.Claim(ctx, id, 1, 0, "h", false, false)
	}
	// The runner has "seen" the current version (with nothing for it), so
	// it is held without a scan until the job is announced.
	done := make(chan gantry.Job, 1)
	v := q.Version()
	go func() {
		j, _, _ := q.Next(context.Background(), runner, v, 30*time.Second, claim)
		done <- j
	}()
	waitFor(t, func() bool { return q.Waiting() == 1 })
	qj, err := s.QueuedJobByID(t.Context(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	q.Notify(qj)
	select {
	case j := <-done:
		if j.ID != ids[0] {
			t.Fatalf("got job %d", j.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held poll never got the job")
	}
}
