package trace

import (
	"context"
	"errors"
	"fmt"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// Archive moves job's log to the blob store at ObjectKey(jobID) once the
// job has ended: it releases the held-back bytes, writes the whole log as
// one object, then drops the chunks. secrets are those given to Append;
// they matter only if the process restarted since the last append (see
// the package doc). Later Appends fail with gantry.ErrConflict.
//
// A crash or error at any point leaves a readable log, and calling
// Archive again completes the move: every step can be repeated. A log
// that was never written has nothing to archive.
func (s *Service) Archive(ctx context.Context, jobID int64, secrets []string) error {
	mu := s.lock(jobID)
	mu.Lock()
	defer mu.Unlock()
	st, err := s.chunks.Trace(ctx, jobID)
	switch {
	case errors.Is(err, gantry.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("archive log of job %d: %w", jobID, err)
	case st.Archived:
		return nil
	}
	if st, err = s.flush(ctx, st, secrets); err != nil {
		return fmt.Errorf("archive log of job %d: %w", jobID, err)
	}
	if err := s.upload(ctx, st); err != nil {
		return fmt.Errorf("archive log of job %d: %w", jobID, err)
	}
	if err := s.chunks.ArchiveTrace(ctx, jobID); err != nil {
		return fmt.Errorf("archive log of job %d: %w", jobID, err)
	}
	return nil
}

// flush stores the held-back bytes: the log ended, so whatever of a
// secret they began will never be completed.
func (s *Service) flush(ctx context.Context, st store.Trace, secrets []string) (store.Trace, error) {
	if st.Size == st.Stored {
		return st, nil
	}
	st, err := s.write(ctx, st, newSecretSet(secrets), nil, true)
	if err != nil {
		return st, fmt.Errorf("release held-back bytes: %w", err)
	}
	return st, nil
}

// upload writes the stored log to the blob store. Put is atomic, so a
// failure leaves no partial object, and repeating it rewrites the same
// bytes.
func (s *Service) upload(ctx context.Context, st store.Trace) error {
	r := &chunkReader{ctx: ctx, chunks: s.chunks, jobID: st.JobID, end: st.Stored}
	n, err := s.objects.Put(ctx, ObjectKey(st.JobID), r)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if n != st.Stored {
		return fmt.Errorf("upload: wrote %d bytes of %d", n, st.Stored)
	}
	return nil
}

// Delete erases job's log wherever it is (GitLab's job erase). Deleting a
// missing log is not an error.
func (s *Service) Delete(ctx context.Context, jobID int64) error {
	mu := s.lock(jobID)
	mu.Lock()
	defer mu.Unlock()
	// The object first: if the second step fails, the log still exists
	// and a retry finds and deletes everything.
	if err := s.objects.Delete(ctx, ObjectKey(jobID)); err != nil {
		return fmt.Errorf("delete log of job %d: %w", jobID, err)
	}
	if err := s.chunks.DeleteTrace(ctx, jobID); err != nil {
		return fmt.Errorf("delete log of job %d: %w", jobID, err)
	}
	return nil
}
