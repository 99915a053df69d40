package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// ErrNoJob means no job for the runner now (or within the wait).
var ErrNoJob = errors.New("no job")

// Store is what the queue reads.
type Store interface {
	// QueuedJobs returns up to limit pending, unclaimed jobs with an id
	// above after that r may run (by Matches), by id.
	QueuedJobs(ctx context.Context, r gantry.Runner, after int64, limit int) ([]store.QueuedJob, error)
	QueuedJobByID(ctx context.Context, id int64) (store.QueuedJob, error)
}

// ClaimFunc takes one job for the runner, atomically; a job someone else
// took first is gantry.ErrConflict.
type ClaimFunc func(ctx context.Context, jobID int64) (gantry.Job, error)

// Queue hands pending jobs to runners. It is safe for concurrent use.
type Queue struct {
	store Store

	mu      sync.Mutex
	version uint64
	waiters []*waiter // oldest first: the longest-waiting runner is served first
	// busy holds jobs a request of this process is claiming or has just
	// claimed (id → when), so that requests scanning at the same time try
	// other jobs rather than losing the same race in a write transaction
	// each. Entries outlive the claim by busyFor: the pending lists other
	// requests read just before still show the job.
	busy map[int64]time.Time
}

// busyFor is how long a claimed job is skipped without asking the store.
const busyFor = 2 * time.Second

type waiter struct {
	runner gantry.Runner
	ch     chan int64 // receives one job id
}

// New returns a Queue over a store.
func New(s Store) *Queue {
	return &Queue{store: s, version: uint64(time.Now().UnixNano()), busy: map[int64]time.Time{}}
}

// reserve marks job id as being claimed by the caller; false means
// another request of this process is on it (or just took it).
func (q *Queue) reserve(id int64) bool {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if at, ok := q.busy[id]; ok && now.Sub(at) < busyFor {
		return false
	}
	if len(q.busy) > 4096 {
		for k, at := range q.busy {
			if now.Sub(at) >= busyFor {
				delete(q.busy, k)
			}
		}
	}
	q.busy[id] = now
	return true
}

// release ends a reservation: at once when the claim failed, so others
// may try; after busyFor when it succeeded.
func (q *Queue) release(id int64, claimed bool) {
	if claimed {
		return // the entry expires by itself
	}
	q.mu.Lock()
	delete(q.busy, id)
	q.mu.Unlock()
}

// claim claims job id unless another request of this process is on it,
// which counts as gantry.ErrConflict.
func (q *Queue) claim(ctx context.Context, id int64, claim ClaimFunc) (gantry.Job, error) {
	if !q.reserve(id) {
		return gantry.Job{}, fmt.Errorf("job %d is being claimed: %w", id, gantry.ErrConflict)
	}
	j, err := claim(ctx, id)
	q.release(id, err == nil)
	return j, err
}

// Version is the queue's current version as the opaque
// X-GitLab-Last-Update value runners send back.
func (q *Queue) Version() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return strconv.FormatUint(q.version, 16)
}

// Waiting returns how many requests are held in a long poll.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiters)
}

// Next finds a job for runner r and claims it. When there is none and the
// runner long-polls (it sent a lastUpdate), Next holds the request up to
// wait for a matching job to become pending. A runner whose lastUpdate is
// the current version has seen the queue as it is and is held at once;
// one with an older version gets a scan first. It returns ErrNoJob with
// the version to report; see Held for when an ErrNoJob answer was held.
func (q *Queue) Next(ctx context.Context, r gantry.Runner, lastUpdate string, wait time.Duration, claim ClaimFunc) (gantry.Job, string, error) {
	q.mu.Lock()
	v := q.version
	q.mu.Unlock()
	if lastUpdate != strconv.FormatUint(v, 16) {
		j, err := q.scan(ctx, r, claim)
		if !errors.Is(err, ErrNoJob) || !Held(lastUpdate, wait) {
			return j, q.Version(), err
		}
		// Nothing for it now: hold from the version the scan started
		// at, so that a job queued during the scan is not missed. Runners
		// that just finished a job thus get the next one as it is queued,
		// not check_interval later.
	}
	if wait <= 0 {
		return gantry.Job{}, q.Version(), ErrNoJob
	}
	return q.hold(ctx, r, v, wait, claim)
}

// Held reports whether Next holds a request with this lastUpdate and wait
// when no job is there: only long-polling runners (they send the version
// they last saw) are held.
func Held(lastUpdate string, wait time.Duration) bool {
	return lastUpdate != "" && wait > 0
}

// scan claims the oldest pending job r may run. The store returns only
// jobs r may run, so jobs no runner can take cost a scan nothing however
// many there are; the pages go on only while other runners win the races.
func (q *Queue) scan(ctx context.Context, r gantry.Runner, claim ClaimFunc) (gantry.Job, error) {
	var after int64
	// The first look is short: the job a runner gets is nearly always
	// among the oldest few.
	for page := 16; ; page = 100 {
		jobs, err := q.store.QueuedJobs(ctx, r, after, page)
		if err != nil {
			return gantry.Job{}, fmt.Errorf("list pending jobs: %w", err)
		}
		for _, qj := range jobs {
			after = qj.ID
			if !Matches(r, qj) {
				continue // the store disagrees with Matches: never hand the job out
			}
			switch j, err := q.claim(ctx, qj.ID, claim); {
			case errors.Is(err, gantry.ErrConflict):
				continue // another runner won this one
			case err != nil:
				return gantry.Job{}, fmt.Errorf("claim job %d: %w", qj.ID, err)
			default:
				return j, nil
			}
		}
		if len(jobs) < page {
			return gantry.Job{}, ErrNoJob
		}
	}
}

// hold waits for Notify to hand this runner a job, until the wait ends.
// v is the version the caller last saw: if it moved before the waiter is
// registered, a job may have been missed, so hold scans first.
func (q *Queue) hold(ctx context.Context, r gantry.Runner, v uint64, wait time.Duration, claim ClaimFunc) (gantry.Job, string, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		w := &waiter{runner: r, ch: make(chan int64, 1)}
		q.mu.Lock()
		missed := q.version != v
		if !missed {
			q.waiters = append(q.waiters, w)
		}
		v = q.version
		q.mu.Unlock()
		if missed {
			if j, err := q.scan(ctx, r, claim); !errors.Is(err, ErrNoJob) {
				return j, q.Version(), err
			}
			continue
		}
		select {
		case id := <-w.ch:
			j, err := q.claim(ctx, id, claim)
			if err == nil {
				return j, q.Version(), nil
			}
			if !errors.Is(err, gantry.ErrConflict) {
				return gantry.Job{}, q.Version(), err
			}
			// Taken meanwhile by a runner that polled: wait on.
		case <-timer.C:
			q.forget(w)
			return gantry.Job{}, q.Version(), ErrNoJob
		case <-ctx.Done():
			q.forget(w)
			return gantry.Job{}, q.Version(), ctx.Err()
		}
	}
}

// forget removes a waiter that stops waiting; a job handed to it in the
// meantime goes to the next runner that can take it.
func (q *Queue) forget(w *waiter) {
	q.mu.Lock()
	for i, o := range q.waiters {
		if o == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			break
		}
	}
	q.mu.Unlock()
	select {
	case id := <-w.ch:
		q.handOff(id)
	default:
	}
}

func (q *Queue) handOff(id int64) {
	if qj, err := q.store.QueuedJobByID(context.Background(), id); err == nil {
		q.Notify(qj)
	}
}

// Notify tells the queue that jobs became pending: the version moves (so
// polling runners scan again) and each job is handed to the
// longest-waiting runner that may run it.
func (q *Queue) Notify(jobs ...store.QueuedJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.version++
	for _, j := range jobs {
		delete(q.busy, j.ID) // pending again (a claim given back): claimable at once
		for i, w := range q.waiters {
			if Matches(w.runner, j) {
				w.ch <- j.ID
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				break
			}
		}
	}
}
