package storetest

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// traceLog appends to one job's log through the store the way package
// trace does, keeping the expected bytes beside it.
type traceLog struct {
	tb    testing.TB
	s     *store.Store
	state store.Trace
	bytes []byte
}

func (l *traceLog) append(data []byte, held int) {
	l.tb.Helper()
	next := l.state
	next.Size += int64(len(data) + held)
	next.Stored += int64(len(data))
	next.CRC32 = crc32.Update(l.state.CRC32, crc32.IEEETable, data)
	next.HeldMAC, next.HeldMask = nil, nil
	if held > 0 {
		next.HeldMAC, next.HeldMask = []byte("mac"), []byte("[MA")
	}
	if err := l.s.AppendTrace(l.tb.Context(), l.state, next, data); err != nil {
		l.tb.Fatalf("AppendTrace of %d bytes at %d: %v", len(data), l.state.Stored, err)
	}
	l.state = next
	l.bytes = append(l.bytes, data...)
}

// logBytes is a log of n bytes whose every 8-byte group names its offset,
// so a misplaced piece shows.
func logBytes(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i += 8 {
		b = fmt.Appendf(b, "%07x\n", i)
	}
	return b[:n]
}

func testTraces(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	g := MustGroup(t, s, "g", nil, gantry.Private, owner.ID)
	one, two := &gantry.Job{}, &gantry.Job{}
	MustPipeline(t, s, MustProject(t, s, g, "app", gantry.Private), one, two)
	if one.ID != 1 || two.ID != 2 {
		t.Fatalf("the first jobs of a new store are %d and %d; this test needs 1 and 2", one.ID, two.ID)
	}
	// A log for a job that is not there (deleted meanwhile) is refused
	// whole: nothing would ever collect it.
	wantErr(t, s.AppendTrace(ctx, store.Trace{JobID: 99}, store.Trace{JobID: 99, Size: 1, Stored: 1}, []byte("x")), gantry.ErrNotFound)
	_, err := s.Trace(ctx, 99)
	wantErr(t, err, gantry.ErrNotFound)
	_, err = s.Trace(ctx, 1)
	wantErr(t, err, gantry.ErrNotFound)
	if got, err := s.TraceBytes(ctx, 1, 0, 100); err != nil || len(got) != 0 {
		t.Fatalf("TraceBytes of a missing log = %q, %v", got, err)
	}

	l := &traceLog{tb: t, s: s, state: store.Trace{JobID: 1}}
	all := logBytes(6*store.TraceChunkSize + 100_123)
	// Sizes that start, top up, cross and exactly fill chunks.
	for _, n := range []int{1, 1000, store.TraceChunkSize - 1001, 3, store.TraceChunkSize*2 + 7, 0, 100_000, store.TraceChunkSize} {
		l.append(all[len(l.bytes):len(l.bytes)+n], 0)
	}
	l.append(all[len(l.bytes):], 2)
	got, err := s.Trace(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l.state, got); diff != "" {
		t.Errorf("Trace (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		offset int64
		limit  int
	}{
		{0, len(all) + 10}, {0, 1}, {5, 100}, {store.TraceChunkSize - 1, 2}, {store.TraceChunkSize, store.TraceChunkSize},
		{300_000, 200_000}, {int64(len(all)) - 1, 10}, {int64(len(all)), 10}, {int64(len(all)) + 5, 10}, {7, 0},
	} {
		want := all[min(int(c.offset), len(all)):min(int(c.offset)+c.limit, len(all))]
		got, err := s.TraceBytes(ctx, 1, c.offset, c.limit)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("TraceBytes(%d, %d) = %d bytes (%v), want %d", c.offset, c.limit, len(got), err, len(want))
		}
	}
	testTraceConflicts(t, s, l)
	testTraceArchive(t, s, l)
}

func testTraceConflicts(t *testing.T, s *store.Store, l *traceLog) {
	ctx := t.Context()
	stale := l.state
	stale.Size--
	next := l.state
	next.Size += 4
	next.Stored += 4
	wantErr(t, s.AppendTrace(ctx, stale, next, []byte("lost")), gantry.ErrConflict)
	wantErr(t, s.AppendTrace(ctx, l.state, next, []byte("wrong length")), gantry.ErrInvalid)
	wantErr(t, s.AppendTrace(ctx, store.Trace{JobID: 1}, store.Trace{JobID: 1, Size: 1, Stored: 1}, []byte("x")), gantry.ErrConflict)
	if got, _ := s.TraceBytes(ctx, 1, 0, len(l.bytes)+100); !bytes.Equal(got, l.bytes) {
		t.Error("refused appends changed the log")
	}
	other := &traceLog{tb: t, s: s, state: store.Trace{JobID: 2}}
	other.append([]byte("job two\n"), 0)
	if got, _ := s.TraceBytes(ctx, 2, 0, 100); string(got) != "job two\n" {
		t.Errorf("second job's log = %q", got)
	}
}

func testTraceArchive(t *testing.T, s *store.Store, l *traceLog) {
	ctx := t.Context()
	wantErr(t, s.ArchiveTrace(ctx, 1), gantry.ErrConflict) // bytes held back
	wantErr(t, s.ArchiveTrace(ctx, 99), gantry.ErrNotFound)
	flushed := l.state
	flushed.Stored = flushed.Size
	flushed.HeldMAC, flushed.HeldMask = nil, nil
	if err := s.AppendTrace(ctx, l.state, flushed, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.ArchiveTrace(ctx, 1); err != nil {
			t.Fatalf("ArchiveTrace: %v", err)
		}
	}
	got, err := s.Trace(ctx, 1)
	flushed.Archived = true
	if err != nil || !cmp.Equal(got, flushed) {
		t.Errorf("archived Trace = %+v, %v; want %+v", got, err, flushed)
	}
	if b, err := s.TraceBytes(ctx, 1, 0, 100); err != nil || len(b) != 0 {
		t.Errorf("TraceBytes after archive = %d bytes, %v", len(b), err)
	}
	prev := flushed
	prev.Archived = false
	next := prev
	next.Size++
	next.Stored++
	wantErr(t, s.AppendTrace(ctx, prev, next, []byte("x")), gantry.ErrConflict)

	for _, job := range []int64{1, 2, 99} {
		if err := s.DeleteTrace(ctx, job); err != nil {
			t.Errorf("DeleteTrace(%d): %v", job, err)
		}
		_, err := s.Trace(ctx, job)
		wantErr(t, err, gantry.ErrNotFound)
	}
	if b, _ := s.TraceBytes(ctx, 2, 0, 100); len(b) != 0 {
		t.Errorf("deleted log still readable: %q", b)
	}
}
