package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Garbage is storage outside the database that deleted rows left behind:
// an artifact file (Kind GarbageBlob, Key its blob key) or a job log
// (GarbageTrace, Key the job id). Deleting rows records their garbage in
// the same transaction; the caller of Garbage deletes the storage and
// then DropGarbage.
type Garbage struct {
	ID   int64
	Kind string
	Key  string
}

// Kinds of Garbage.
const (
	GarbageBlob  = "blob"
	GarbageTrace = "trace"
)

// JobID is the job of a GarbageTrace.
func (g Garbage) JobID() int64 {
	id, _ := strconv.ParseInt(g.Key, 10, 64)
	return id
}

// recordJobsGarbage records the artifacts and logs of the jobs that
// jobsCond (a condition on jobs j) selects, before they are deleted.
func (t *tx) recordJobsGarbage(ctx context.Context, jobsCond string, args ...any) error {
	_, err := t.exec(ctx, `INSERT INTO storage_garbage (kind, key, created_at)
		SELECT 'blob', a.blob_key, ? FROM job_artifacts a JOIN jobs j ON j.id = a.job_id WHERE `+jobsCond,
		append([]any{micros(t.now)}, args...)...)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO storage_garbage (kind, key, created_at)
		SELECT 'trace', CAST(j.id AS TEXT), ? FROM jobs j WHERE `+jobsCond, append([]any{micros(t.now)}, args...)...)
	return err
}

// Garbage returns up to limit pieces of garbage recorded after the one
// with id after, oldest first.
func (s *Store) Garbage(ctx context.Context, after int64, limit int) ([]Garbage, error) {
	var out []Garbage
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT id, kind, key FROM storage_garbage WHERE id > ? ORDER BY id LIMIT ?", after, limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(r interface{ Scan(...any) error }) (Garbage, error) {
			var g Garbage
			return g, r.Scan(&g.ID, &g.Kind, &g.Key)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list storage garbage: %w", err)
	}
	return out, nil
}

// DropGarbage forgets garbage whose storage is gone.
func (s *Store) DropGarbage(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, "DELETE FROM storage_garbage WHERE id IN ("+placeholders(len(ids))+")", idArgs(ids)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop storage garbage: %w", err)
	}
	return nil
}

// ExpireArtifacts deletes the records of up to limit artifacts whose
// expire_at is before now, recording their files as garbage, and returns
// how many it deleted.
func (s *Store) ExpireArtifacts(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.inWrite(ctx, func(t *tx) error {
		const expired = "SELECT id FROM job_artifacts WHERE expire_at > 0 AND expire_at < ? ORDER BY expire_at, id LIMIT ?"
		if _, err := t.exec(ctx, `INSERT INTO storage_garbage (kind, key, created_at)
			SELECT 'blob', blob_key, ? FROM job_artifacts WHERE id IN (`+expired+`)`, micros(t.now), micros(now), limit); err != nil {
			return err
		}
		res, err := t.exec(ctx, "DELETE FROM job_artifacts WHERE id IN ("+expired+")", micros(now), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire artifacts: %w", err)
	}
	return int(n), nil
}
