package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

func TestMatches(t *testing.T) {
	job := store.QueuedJob{ID: 1, ProjectID: 7, Tags: []string{"docker"}, Ancestry: "/3/5/"}
	untagged := store.QueuedJob{ID: 2, ProjectID: 7, Ancestry: "/3/5/"}
	protected := store.QueuedJob{ID: 3, ProjectID: 7, Ancestry: "/3/5/", Protected: true}
	inst := gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"docker", "linux"}, RunUntagged: true}
	cases := []struct {
		name string
		r    gantry.Runner
		j    store.QueuedJob
		want bool
	}{
		{"instance runner with the tag", inst, job, true},
		{"instance runner, untagged job", inst, untagged, true},
		{"runner missing a tag", gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"linux"}}, job, false},
		{"untagged job, runner refuses untagged", gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"docker"}}, untagged, false},
		{"paused", gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true, Paused: true}, untagged, false},
		{"group runner of an ancestor", gantry.Runner{Type: gantry.GroupRunner, GroupID: 3, RunUntagged: true}, untagged, true},
		{"group runner of the namespace", gantry.Runner{Type: gantry.GroupRunner, GroupID: 5, RunUntagged: true}, untagged, true},
		{"group runner elsewhere", gantry.Runner{Type: gantry.GroupRunner, GroupID: 35, RunUntagged: true}, untagged, false},
		{"project runner of the project", gantry.Runner{Type: gantry.ProjectRunner, ProjectIDs: []int64{7}, RunUntagged: true}, untagged, true},
		{"project runner of another", gantry.Runner{Type: gantry.ProjectRunner, ProjectIDs: []int64{8}, RunUntagged: true}, untagged, false},
		{"protected-only runner, unprotected ref", gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true, RefProtectedOnly: true}, untagged, false},
		{"protected-only runner, protected ref", gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true, RefProtectedOnly: true}, protected, true},
	}
	for _, c := range cases {
		if got := queue.Matches(c.r, c.j); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

// fakeStore is an in-memory queue of pending jobs.
type fakeStore struct {
	mu   sync.Mutex
	jobs []store.QueuedJob
}

func (f *fakeStore) QueuedJobs(_ context.Context, r gantry.Runner, after int64, limit int) ([]store.QueuedJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.QueuedJob
	for _, j := range f.jobs {
		if j.ID > after && len(out) < limit && queue.Matches(r, j) {
			out = append(out, j)
		}
	}
	return out, nil
}

func (f *fakeStore) QueuedJobByID(_ context.Context, id int64) (store.QueuedJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return store.QueuedJob{}, gantry.ErrNotFound
}

func (f *fakeStore) add(j store.QueuedJob) {
	f.mu.Lock()
	f.jobs = append(f.jobs, j)
	f.mu.Unlock()
}

// claim removes the job from the queue, once.
func (f *fakeStore) claim(_ context.Context, id int64) (gantry.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, j := range f.jobs {
		if j.ID == id {
			f.jobs = append(f.jobs[:i], f.jobs[i+1:]...)
			return gantry.Job{ID: id}, nil
		}
	}
	return gantry.Job{}, gantry.ErrConflict
}

var anyRunner = gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true}

func TestNextWithoutLastUpdateAnswersAtOnce(t *testing.T) {
	fs := &fakeStore{}
	q := queue.New(fs)
	start := time.Now()
	_, v, err := q.Next(t.Context(), anyRunner, "", time.Minute, fs.claim)
	if !errors.Is(err, queue.ErrNoJob) || v == "" {
		t.Fatalf("Next = %q, %v", v, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("held a request that sent no last_update")
	}
	fs.add(store.QueuedJob{ID: 9})
	q.Notify(store.QueuedJob{ID: 9})
	j, _, err := q.Next(t.Context(), anyRunner, v, time.Minute, fs.claim)
	if err != nil || j.ID != 9 {
		t.Fatalf("after the version moved, Next = %v, %v", j, err)
	}
}

// TestHoldWakesOnMatchingJob: a held poll gets a job as soon as one it may
// run is queued, and a job for other runners does not wake it.
func TestHoldWakesOnMatchingJob(t *testing.T) {
	fs := &fakeStore{}
	q := queue.New(fs)
	tagged := gantry.Runner{Type: gantry.InstanceRunner, Tags: []string{"gpu"}}
	v := q.Version()
	got := make(chan gantry.Job, 1)
	go func() {
		j, _, _ := q.Next(context.Background(), tagged, v, time.Minute, fs.claim)
		got <- j
	}()
	waitFor(t, func() bool { return q.Waiting() == 1 })
	other := store.QueuedJob{ID: 1, Tags: []string{"arm"}}
	fs.add(other)
	q.Notify(other)
	gpu := store.QueuedJob{ID: 2, Tags: []string{"gpu"}}
	fs.add(gpu)
	q.Notify(gpu)
	select {
	case j := <-got:
		if j.ID != 2 {
			t.Fatalf("woke with job %d, want 2", j.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held poll never woke")
	}
}

func TestHoldTimesOut(t *testing.T) {
	fs := &fakeStore{}
	q := queue.New(fs)
	_, v2, err := q.Next(t.Context(), anyRunner, q.Version(), 50*time.Millisecond, fs.claim)
	if !errors.Is(err, queue.ErrNoJob) || v2 != q.Version() || q.Waiting() != 0 {
		t.Fatalf("timeout: %q %v, %d waiting", v2, err, q.Waiting())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStalePollHolds: a runner whose last_update is older than the queue
// (it just finished a job, say) gets a scan and, when nothing is there
// for it, is held like a current poll, so that a job queued a moment
// later reaches it at once rather than after check_interval.
func TestStalePollHolds(t *testing.T) {
	fs := &fakeStore{}
	q := queue.New(fs)
	stale := q.Version()
	q.Notify() // the queue moved on since the runner last looked
	got := make(chan gantry.Job, 1)
	go func() {
		j, _, _ := q.Next(context.Background(), anyRunner, stale, time.Minute, fs.claim)
		got <- j
	}()
	waitFor(t, func() bool { return q.Waiting() == 1 })
	fs.add(store.QueuedJob{ID: 7})
	q.Notify(store.QueuedJob{ID: 7})
	select {
	case j := <-got:
		if j.ID != 7 {
			t.Fatalf("held poll got job %d, want 7", j.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held poll never woke")
	}
}
