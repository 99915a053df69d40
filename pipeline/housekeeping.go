package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/gantry-ci/gantry/store"
)

// Objects deletes files of the blob store (artifacts); package blob's
// stores implement it. Deleting a missing object is not an error.
type Objects interface {
	Delete(ctx context.Context, key string) error
}

// Logs deletes job logs wherever they are; *trace.Service implements it.
// Deleting a missing log is not an error.
type Logs interface {
	Delete(ctx context.Context, jobID int64) error
}

// Delete deletes a pipeline and its jobs, then what they keep outside the
// database (artifact files, logs, the pipeline's refs/pipelines ref), and
// lets jobs of other pipelines that wait for a resource group it held go
// on. Storage a failure leaves behind is deleted by a later round of Run.
func (s *Service) Delete(ctx context.Context, pipelineID int64) error {
	p, err := s.store.Pipeline(ctx, pipelineID)
	if err != nil {
		return err
	}
	held, err := s.store.DeletePipeline(ctx, pipelineID)
	if err != nil {
		return err
	}
	s.log.Info("pipeline deleted", "project", p.ProjectID, "pipeline", p.ID)
	ctx = context.WithoutCancel(ctx) // the rows are gone: finish the rest
	if err := s.forge.Repos().Repo(p.ProjectID).UpdateRef(ctx, pipelineRef(p.ID), ""); err != nil {
		s.log.Warn("delete pipeline ref", "pipeline", p.ID, "err", err)
	}
	for _, g := range held {
		s.wakeWaiting(ctx, p.ProjectID, g)
	}
	if err := s.collectGarbage(ctx); err != nil {
		s.log.Warn("delete storage of deleted pipeline", "pipeline", p.ID, "err", err)
	}
	return nil
}

// housekeep deletes expired artifacts, then the storage that deleted
// rows left behind.
func (s *Service) housekeep(ctx context.Context) error {
	return errors.Join(s.expireArtifacts(ctx), s.collectGarbage(ctx))
}

// expireArtifacts deletes the records of artifacts whose expire_in has
// passed (their files become garbage). Unlike GitLab by default, it does
// not keep the latest artifacts of each ref.
func (s *Service) expireArtifacts(ctx context.Context) error {
	for {
		n, err := s.store.ExpireArtifacts(ctx, s.now(), 100)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.Info("artifacts expired", "count", n)
		}
		if n < 100 {
			return nil
		}
	}
}

// garbagePerRound bounds one round of collectGarbage, so that a deleted
// big project never holds up the loop's other work (or an API request
// that deleted a pipeline) for long; the next round goes on.
const garbagePerRound = 1000

// collectGarbage deletes the storage that deleted rows left behind (see
// store.Garbage) and forgets what it deleted; what fails to go is kept for
// the next round and never stops the rest. Without Objects and Logs it
// leaves everything recorded.
func (s *Service) collectGarbage(ctx context.Context) error {
	if s.cfg.Objects == nil || s.cfg.Logs == nil {
		return nil
	}
	var failed error
	for after, seen := int64(0), 0; seen < garbagePerRound; {
		garbage, err := s.store.Garbage(ctx, after, min(100, garbagePerRound-seen))
		if err != nil || len(garbage) == 0 {
			return errors.Join(failed, err)
		}
		var done []int64
		for _, g := range garbage {
			if err := s.deleteGarbage(ctx, g); err != nil {
				failed = err
				continue
			}
			done = append(done, g.ID)
		}
		if err := s.store.DropGarbage(ctx, done...); err != nil {
			return err
		}
		after, seen = garbage[len(garbage)-1].ID, seen+len(garbage)
	}
	return failed
}

func (s *Service) deleteGarbage(ctx context.Context, g store.Garbage) error {
	switch g.Kind {
	case store.GarbageBlob:
		if err := s.cfg.Objects.Delete(ctx, g.Key); err != nil {
			return fmt.Errorf("delete object %s: %w", g.Key, err)
		}
	case store.GarbageTrace:
		if err := s.cfg.Logs.Delete(ctx, g.JobID()); err != nil {
			return fmt.Errorf("delete log of job %s: %w", g.Key, err)
		}
	default:
		s.log.Warn("unknown kind of storage garbage; dropping it", "kind", g.Kind, "key", g.Key)
	}
	return nil
}
