package trace

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// memChunks keeps logs in memory with the same compare-and-set rules as
// store.Store (whose own contract suite checks them), so that the fuzz
// target runs thousands of logs a second.
type memChunks struct {
	mu     sync.Mutex
	traces map[int64]store.Trace
	data   map[int64][]byte
}

var _ Chunks = (*memChunks)(nil)

func newMemChunks() *memChunks {
	return &memChunks{traces: map[int64]store.Trace{}, data: map[int64][]byte{}}
}

func (m *memChunks) Trace(ctx context.Context, jobID int64) (store.Trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tr, ok := m.traces[jobID]
	if !ok {
		return store.Trace{}, gantry.ErrNotFound
	}
	return tr, nil
}

func (m *memChunks) AppendTrace(ctx context.Context, prev, next store.Trace, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.traces[prev.JobID]
	if !ok {
		cur = store.Trace{JobID: prev.JobID}
	}
	switch {
	case next.Stored-prev.Stored != int64(len(data)) || next.JobID != prev.JobID:
		return fmt.Errorf("bad step: %w", gantry.ErrInvalid)
	case cur.Size != prev.Size || cur.Stored != prev.Stored || cur.Archived:
		return fmt.Errorf("changed: %w", gantry.ErrConflict)
	}
	next.HeldMAC, next.HeldMask = bytes.Clone(next.HeldMAC), bytes.Clone(next.HeldMask)
	m.traces[prev.JobID] = next
	m.data[prev.JobID] = append(m.data[prev.JobID], data...)
	return nil
}

func (m *memChunks) TraceBytes(ctx context.Context, jobID, offset int64, limit int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.data[jobID]
	if offset >= int64(len(d)) {
		return nil, nil
	}
	return bytes.Clone(d[offset:min(int64(len(d)), offset+int64(limit))]), nil
}

func (m *memChunks) ArchiveTrace(ctx context.Context, jobID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tr, ok := m.traces[jobID]
	switch {
	case !ok:
		return gantry.ErrNotFound
	case tr.Size != tr.Stored:
		return gantry.ErrConflict
	}
	tr.Archived, tr.HeldMAC, tr.HeldMask = true, nil, nil
	m.traces[jobID] = tr
	delete(m.data, jobID)
	return nil
}

func (m *memChunks) DeleteTrace(ctx context.Context, jobID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.traces, jobID)
	delete(m.data, jobID)
	return nil
}

// memObjects is an object store in memory whose readers cannot seek, so
// that Reader's skip-by-reading path runs too.
type memObjects struct {
	mu      sync.Mutex
	objects map[string][]byte
	putErr  error // when set, Put reads the whole object, then fails
}

func newMemObjects() *memObjects { return &memObjects{objects: map[string][]byte{}} }

func (m *memObjects) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.putErr != nil {
		return 0, m.putErr
	}
	m.objects[key] = data
	return int64(len(data)), nil
}

func (m *memObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[key]
	if !ok {
		return nil, gantry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memObjects) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

func (m *memObjects) object(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.objects[key]
	return d, ok
}
