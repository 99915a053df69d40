package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gantry-ci/gantry"
)

// TraceChunkSize is the most bytes one stored piece of a job log holds.
// Small appends top up the last piece, so a log of n bytes is about
// n/64 KiB rows whatever the runner's patch sizes. GitLab uses 128 KiB;
// with SQLite 64 KiB measured faster (trace.BenchmarkAppend: an append
// rewrites less of a partial piece) at the same speed for 1 MiB appends.
const TraceChunkSize = 64 << 10

// Trace is the state of one job's log, without its bytes. See package
// trace for what the fields mean to the log; the store only keeps them
// consistent.
type Trace struct {
	JobID int64
	// Size counts the bytes received from the runner.
	Size int64
	// Stored counts the bytes readable through TraceBytes (or, once
	// Archived, from the blob store); Stored <= Size.
	Stored int64
	// CRC32 is the IEEE CRC32 of the Size bytes received.
	CRC32 uint32
	// HeldMAC and HeldMask describe the Size-Stored bytes held back.
	HeldMAC  []byte
	HeldMask []byte
	// Archived means the bytes moved to the blob store and the chunks are
	// gone.
	Archived bool
}

// Trace returns the state of job's log, or gantry.ErrNotFound if nothing
// was ever appended to it.
func (s *Store) Trace(ctx context.Context, jobID int64) (Trace, error) {
	var tr Trace
	err := s.inRead(ctx, func(t *tx) error {
		var archived int64
		err := t.queryRow(ctx, `SELECT size, stored, crc32, held_mac, held_mask, archived_at FROM traces WHERE job_id = ?`, jobID).
			Scan(&tr.Size, &tr.Stored, &tr.CRC32, &tr.HeldMAC, &tr.HeldMask, &archived)
		tr.JobID, tr.Archived = jobID, archived != 0
		return err
	})
	if err != nil {
		return Trace{}, fmt.Errorf("trace of job %d: %w", jobID, err)
	}
	if len(tr.HeldMAC) == 0 {
		tr.HeldMAC = nil
	}
	if len(tr.HeldMask) == 0 {
		tr.HeldMask = nil
	}
	return tr, nil
}

// AppendTrace writes data at offset prev.Stored of the log and replaces
// the log's state with next, in one transaction. It is a compare-and-set:
// unless the stored log still has prev's Size and Stored and is not
// archived, nothing changes and the error wraps gantry.ErrConflict. A
// zero prev (Size and Stored 0) also matches a log that does not exist yet.
// data must be exactly next.Stored-prev.Stored bytes (gantry.ErrInvalid).
// Log bytes come from the job's runner, so the job's last contact is
// recorded in the same transaction (see TouchJob).
func (s *Store) AppendTrace(ctx context.Context, prev, next Trace, data []byte) error {
	if err := checkTraceStep(prev, next, data); err != nil {
		return fmt.Errorf("append to trace of job %d: %w", prev.JobID, err)
	}
	err := s.inWrite(ctx, func(t *tx) error {
		if prev.Size == 0 && prev.Stored == 0 {
			if _, err := t.exec(ctx, `INSERT INTO traces (job_id, updated_at) VALUES (?, ?)
				ON CONFLICT (job_id) DO NOTHING`, prev.JobID, micros(t.now)); err != nil {
				return err
			}
		}
		err := t.update(ctx, `UPDATE traces SET size = ?, stored = ?, crc32 = ?, held_mac = ?, held_mask = ?, updated_at = ?
			WHERE job_id = ? AND size = ? AND stored = ? AND archived_at = 0`,
			next.Size, next.Stored, int64(next.CRC32), next.HeldMAC, next.HeldMask, micros(t.now),
			prev.JobID, prev.Size, prev.Stored)
		if isNotFound(err) {
			return fmt.Errorf("log changed since it was read, or is archived: %w", gantry.ErrConflict)
		}
		if err != nil {
			return err
		}
		// The job row must still be there: a log written for a deleted job
		// would be storage nothing refers to and nothing collects.
		if err := t.update(ctx, "UPDATE jobs SET last_contact_at = ? WHERE id = ?", micros(t.now), prev.JobID); err != nil {
			if isNotFound(err) {
				return fmt.Errorf("the job was deleted: %w", gantry.ErrNotFound)
			}
			return err
		}
		return t.writeTraceChunks(ctx, prev.JobID, prev.Stored, data)
	})
	if err != nil {
		return fmt.Errorf("append to trace of job %d: %w", prev.JobID, err)
	}
	return nil
}

func checkTraceStep(prev, next Trace, data []byte) error {
	switch {
	case next.JobID != prev.JobID:
		return fmt.Errorf("job id changes from %d to %d: %w", prev.JobID, next.JobID, gantry.ErrInvalid)
	case next.Stored-prev.Stored != int64(len(data)):
		return fmt.Errorf("%d bytes to store but stored length goes from %d to %d: %w",
			len(data), prev.Stored, next.Stored, gantry.ErrInvalid)
	case next.Size < prev.Size || next.Stored > next.Size || next.Archived:
		return fmt.Errorf("impossible next state %d/%d: %w", next.Stored, next.Size, gantry.ErrInvalid)
	}
	return nil
}

// writeTraceChunks stores data at offset at: first it tops up the last
// piece if that is short, then adds pieces of TraceChunkSize. It does not
// rely on where earlier pieces start, so changing TraceChunkSize needs no
// migration.
func (t *tx) writeTraceChunks(ctx context.Context, jobID, at int64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var start, size int64
	err := t.queryRow(ctx, "SELECT start, length(data) FROM trace_chunks WHERE job_id = ? ORDER BY start DESC LIMIT 1", jobID).Scan(&start, &size)
	switch {
	case err == nil && start+size != at:
		return fmt.Errorf("chunks end at %d, want %d", start+size, at)
	case err == nil && size < TraceChunkSize:
		var last []byte
		if err := t.queryRow(ctx, "SELECT data FROM trace_chunks WHERE job_id = ? AND start = ?", jobID, start).Scan(&last); err != nil {
			return fmt.Errorf("read chunk at %d: %w", start, err)
		}
		n := min(TraceChunkSize-len(last), len(data))
		if _, err := t.exec(ctx, "UPDATE trace_chunks SET data = ? WHERE job_id = ? AND start = ?",
			append(last, data[:n]...), jobID, start); err != nil {
			return err
		}
		at, data = at+int64(n), data[n:]
	case err != nil && !isNoRows(err):
		return err
	case err != nil && at != 0:
		return fmt.Errorf("no chunks, want data up to %d", at)
	}
	for len(data) > 0 {
		n := min(TraceChunkSize, len(data))
		if _, err := t.exec(ctx, "INSERT INTO trace_chunks (job_id, start, data) VALUES (?, ?, ?)", jobID, at, data[:n]); err != nil {
			return err
		}
		at, data = at+int64(n), data[n:]
	}
	return nil
}

// TraceBytes returns up to limit readable bytes of job's log from offset
// on, as one snapshot. It returns fewer at the end of what is stored and
// none past it, or once the log is archived or deleted.
func (s *Store) TraceBytes(ctx context.Context, jobID, offset int64, limit int) ([]byte, error) {
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("read trace of job %d at %d: %w", jobID, offset, gantry.ErrInvalid)
	}
	out := make([]byte, 0, min(limit, 2*TraceChunkSize))
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT start, data FROM trace_chunks WHERE job_id = ?
			AND start >= (SELECT COALESCE(MAX(start), 0) FROM trace_chunks WHERE job_id = ? AND start <= ?)
			AND start < ? ORDER BY start`,
			jobID, jobID, offset, offset+int64(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var start int64
			var data []byte
			if err := rows.Scan(&start, &data); err != nil {
				return err
			}
			if from := offset + int64(len(out)); start <= from && from < start+int64(len(data)) {
				piece := data[from-start:]
				out = append(out, piece[:min(len(piece), limit-len(out))]...)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read trace of job %d at %d: %w", jobID, offset, err)
	}
	return out, nil
}

// ArchiveTrace records that job's log now lives in the blob store and
// drops its chunks. The log must have nothing held back (Size == Stored),
// else gantry.ErrConflict; a log never written is gantry.ErrNotFound.
// Archiving an archived log does nothing.
func (s *Store) ArchiveTrace(ctx context.Context, jobID int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		var size, stored, archived int64
		err := t.queryRow(ctx, "SELECT size, stored, archived_at FROM traces WHERE job_id = ?", jobID).Scan(&size, &stored, &archived)
		switch {
		case err != nil:
			return err
		case archived != 0:
			return nil
		case size != stored:
			return fmt.Errorf("%d bytes still held back: %w", size-stored, gantry.ErrConflict)
		}
		if _, err := t.exec(ctx, "UPDATE traces SET archived_at = ?, held_mac = NULL, held_mask = NULL, updated_at = ? WHERE job_id = ?",
			micros(t.now), micros(t.now), jobID); err != nil {
			return err
		}
		_, err = t.exec(ctx, "DELETE FROM trace_chunks WHERE job_id = ?", jobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive trace of job %d: %w", jobID, err)
	}
	return nil
}

// DeleteTrace forgets job's log entirely; a missing log is not an error.
// The archived copy in the blob store is the caller's to delete.
func (s *Store) DeleteTrace(ctx context.Context, jobID int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, "DELETE FROM trace_chunks WHERE job_id = ?", jobID); err != nil {
			return err
		}
		_, err := t.exec(ctx, "DELETE FROM traces WHERE job_id = ?", jobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete trace of job %d: %w", jobID, err)
	}
	return nil
}

// UnarchivedTraces returns up to limit jobs that ended before `before`
// and whose logs were never archived (their runner never sent the final
// update: canceled hard, silent, lost).
func (s *Store) UnarchivedTraces(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	var ids []int64
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT tr.job_id FROM traces tr JOIN jobs j ON j.id = tr.job_id
			WHERE tr.archived_at = 0 AND j.status IN ('success', 'failed', 'canceled', 'skipped')
			AND j.finished_at > 0 AND j.finished_at < ? ORDER BY tr.job_id LIMIT ?`, micros(before), limit)
		if err != nil {
			return err
		}
		ids, err = collect(rows, scanInt64)
		return err
	})
	return ids, err
}
