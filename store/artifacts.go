package store

import (
	"context"
	"fmt"
	"time"
)

// Artifact is one file a job uploaded: its archive or a report.
type Artifact struct {
	ID       int64
	JobID    int64
	FileType string // archive, junit, dotenv, …
	Format   string // zip, gzip, raw
	Filename string
	Size     int64
	BlobKey  string
	ExpireAt time.Time // zero: never
	Created  time.Time
}

const artifactColumns = "id, job_id, file_type, file_format, filename, size, blob_key, expire_at, created_at"

func scanArtifact(row interface{ Scan(...any) error }) (Artifact, error) {
	var a Artifact
	var expire, created int64
	err := row.Scan(&a.ID, &a.JobID, &a.FileType, &a.Format, &a.Filename, &a.Size, &a.BlobKey, &expire, &created)
	a.ExpireAt, a.Created = fromMicros(expire), fromMicros(created)
	return a, err
}

// PutArtifact records a job's artifact of a type, replacing an earlier one
// of the same type, and returns the blob key it replaced ("" if none) so
// that the caller can delete that object.
func (s *Store) PutArtifact(ctx context.Context, a *Artifact) (replaced string, err error) {
	err = s.inWrite(ctx, func(t *tx) error {
		old, err := scanArtifact(t.queryRow(ctx, "SELECT "+artifactColumns+" FROM job_artifacts WHERE job_id = ? AND file_type = ?", a.JobID, a.FileType))
		if err == nil {
			replaced = old.BlobKey
			if _, err := t.exec(ctx, "DELETE FROM job_artifacts WHERE id = ?", old.ID); err != nil {
				return err
			}
		} else if !isNoRows(err) {
			return err
		}
		a.Created = t.now
		a.ID, err = t.insert(ctx, `INSERT INTO job_artifacts (job_id, file_type, file_format, filename, size, blob_key, expire_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.JobID, a.FileType, a.Format, a.Filename, a.Size, a.BlobKey, micros(a.ExpireAt), micros(t.now))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record artifact of job %d: %w", a.JobID, err)
	}
	return replaced, nil
}

// Artifact returns a job's artifact of a type.
func (s *Store) Artifact(ctx context.Context, jobID int64, fileType string) (Artifact, error) {
	var a Artifact
	err := s.inRead(ctx, func(t *tx) (err error) {
		a, err = scanArtifact(t.queryRow(ctx, "SELECT "+artifactColumns+" FROM job_artifacts WHERE job_id = ? AND file_type = ?", jobID, fileType))
		return err
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact %s of job %d: %w", fileType, jobID, err)
	}
	return a, nil
}

// Artifacts lists a job's artifacts.
func (s *Store) Artifacts(ctx context.Context, jobID int64) ([]Artifact, error) {
	var out []Artifact
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+artifactColumns+" FROM job_artifacts WHERE job_id = ? ORDER BY id", jobID)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanArtifact)
		return err
	})
	return out, err
}

// DeleteArtifacts removes a job's artifact records and returns their blob
// keys for the caller to delete.
func (s *Store) DeleteArtifacts(ctx context.Context, jobID int64) ([]string, error) {
	arts, err := s.Artifacts(ctx, jobID)
	if err != nil {
		return nil, err
	}
	err = s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, "DELETE FROM job_artifacts WHERE job_id = ?", jobID)
		return err
	})
	keys := make([]string, len(arts))
	for i, a := range arts {
		keys[i] = a.BlobKey
	}
	return keys, err
}
