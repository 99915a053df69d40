package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

const pipelineColumns = `pl.id, pl.iid, pl.project_id, pl.ref, pl.tag, pl.sha, pl.before_sha, pl.source, pl.status, pl.protected,
	pl.user_id, pl.name, pl.yaml_errors, pl.failure_reason, pl.variables, pl.created_at, pl.updated_at, pl.started_at, pl.finished_at`

func scanPipeline(row interface{ Scan(...any) error }) (gantry.Pipeline, error) {
	var p gantry.Pipeline
	var status, vars string
	var created, updated, started, finished int64
	err := row.Scan(&p.ID, &p.IID, &p.ProjectID, &p.Ref, &p.Tag, &p.SHA, &p.BeforeSHA, &p.Source, &status, &p.Protected,
		&p.UserID, &p.Name, &p.YAMLErrors, &p.FailureReason, &vars, &created, &updated, &started, &finished)
	if err != nil {
		return gantry.Pipeline{}, err
	}
	p.Status = gantry.Status(status)
	p.CreatedAt, p.UpdatedAt, p.StartedAt, p.FinishedAt = fromMicros(created), fromMicros(updated), fromMicros(started), fromMicros(finished)
	if err := json.Unmarshal([]byte(vars), &p.Variables); err != nil {
		return gantry.Pipeline{}, fmt.Errorf("pipeline %d variables: %w", p.ID, err)
	}
	return p, nil
}

// CreatePipeline stores a pipeline and its jobs in one transaction,
// numbering it (IID) within its project. refUpdateID, when not 0, ties the
// pipeline to the push event that caused it: a second pipeline for the
// same event is gantry.ErrConflict, so replaying events is safe.
func (s *Store) CreatePipeline(ctx context.Context, p *gantry.Pipeline, jobs []*gantry.Job, refUpdateID int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COALESCE(MAX(iid), 0) + 1 FROM pipelines WHERE project_id = ?", p.ProjectID).Scan(&p.IID); err != nil {
			return err
		}
		vars, err := json.Marshal(orEmpty(p.Variables))
		if err != nil {
			return err
		}
		var ru any
		if refUpdateID != 0 {
			ru = refUpdateID
		}
		p.CreatedAt, p.UpdatedAt = t.now, t.now
		p.ID, err = t.insert(ctx, `INSERT INTO pipelines (project_id, iid, ref, tag, sha, before_sha, source, status, protected, user_id,
			name, yaml_errors, failure_reason, variables, ref_update_id, created_at, updated_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ProjectID, p.IID, p.Ref, p.Tag, p.SHA, p.BeforeSHA, p.Source, string(p.Status), p.Protected, p.UserID,
			p.Name, p.YAMLErrors, p.FailureReason, string(vars), ru, micros(t.now), micros(t.now), micros(p.FinishedAt))
		if err != nil {
			return err
		}
		for _, j := range jobs {
			j.PipelineID, j.ProjectID = p.ID, p.ProjectID
			if err := t.insertJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create pipeline for %s: %w", p.Ref, err)
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Pipeline returns the pipeline with id.
func (s *Store) Pipeline(ctx context.Context, id int64) (gantry.Pipeline, error) {
	var p gantry.Pipeline
	err := s.inRead(ctx, func(t *tx) (err error) {
		p, err = scanPipeline(t.queryRow(ctx, "SELECT "+pipelineColumns+" FROM pipelines pl WHERE pl.id = ?", id))
		return err
	})
	if err != nil {
		return gantry.Pipeline{}, fmt.Errorf("pipeline %d: %w", id, err)
	}
	return p, nil
}

// PipelineFilter narrows ListPipelines.
type PipelineFilter struct {
	ProjectID int64
	Ref       string
	SHA       string
	Status    string
	Source    string
	Statuses  []gantry.Status // any of these
	OrderBy   string          // id, status, ref, updated_at
	Ascending bool
}

// ListPipelines returns a page of pipelines and the total.
func (s *Store) ListPipelines(ctx context.Context, f PipelineFilter, p Page) ([]gantry.Pipeline, int, error) {
	where, args := []string{"1=1"}, []any{}
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.ProjectID != 0 {
		add("pl.project_id = ?", f.ProjectID)
	}
	if f.Ref != "" {
		add("pl.ref = ?", f.Ref)
	}
	if f.SHA != "" {
		add("pl.sha = ?", f.SHA)
	}
	if f.Status != "" {
		add("pl.status = ?", f.Status)
	}
	if f.Source != "" {
		add("pl.source = ?", f.Source)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "pl.status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	order := map[string]string{"id": "pl.id", "status": "pl.status", "ref": "pl.ref", "updated_at": "pl.updated_at"}[f.OrderBy]
	if order == "" {
		order = "pl.id"
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	var out []gantry.Pipeline
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		cond := strings.Join(where, " AND ")
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM pipelines pl WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+pipelineColumns+" FROM pipelines pl WHERE "+cond+" ORDER BY "+order+dir+", pl.id"+dir+" LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanPipeline)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list pipelines: %w", err)
	}
	return out, total, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// DeletePipeline removes a pipeline and its jobs, recording their
// artifacts and logs as garbage (see Garbage), and returns the resource
// groups its jobs held, which jobs of other pipelines may be waiting for.
func (s *Store) DeletePipeline(ctx context.Context, id int64) (held []string, err error) {
	err = s.inWrite(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT DISTINCT resource_group FROM jobs WHERE pipeline_id = ? AND resource_group <> ''
			AND status IN ('pending', 'running', 'canceling')`, id)
		if err != nil {
			return err
		}
		if held, err = collect(rows, scanString); err != nil {
			return err
		}
		if err := t.recordJobsGarbage(ctx, "j.pipeline_id = ?", id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM jobs WHERE pipeline_id = ?", id); err != nil {
			return err
		}
		return t.update(ctx, "DELETE FROM pipelines WHERE id = ?", id)
	})
	if err != nil {
		return nil, fmt.Errorf("delete pipeline %d: %w", id, err)
	}
	return held, nil
}

func scanString(r interface{ Scan(...any) error }) (string, error) {
	var v string
	return v, r.Scan(&v)
}

// PipelineState is a pipeline and its current jobs, loaded in a write
// transaction for UpdatePipeline's function to change in memory.
type PipelineState struct {
	Pipeline *gantry.Pipeline
	// Jobs are the latest attempts (retried ones excluded), by id.
	Jobs []*gantry.Job
	// BusyResourceGroups are the resource groups that jobs of the
	// project's other pipelines hold (pending, running or canceling).
	BusyResourceGroups map[string]bool
	// New collects jobs to insert (retries). Add them to Jobs too, with
	// ID 0, so that processing sees them; saving inserts them once.
	New []*gantry.Job
}

// UpdatePipeline runs fn on the pipeline's state inside one write
// transaction and saves what fn changed: pipeline fields, job fields, and
// the jobs fn appended to New. Nothing is saved if fn fails. This is how
// every status transition happens, so a crash leaves either the old state
// or the new one, never a mix.
func (s *Store) UpdatePipeline(ctx context.Context, id int64, fn func(*PipelineState) error) error {
	err := s.inWrite(ctx, func(t *tx) error {
		st, before, err := t.loadPipelineState(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		return t.savePipelineState(ctx, st, before)
	})
	if err != nil {
		return fmt.Errorf("update pipeline %d: %w", id, err)
	}
	return nil
}

func (t *tx) loadPipelineState(ctx context.Context, id int64) (*PipelineState, *PipelineState, error) {
	p, err := scanPipeline(t.queryRow(ctx, "SELECT "+pipelineColumns+" FROM pipelines pl WHERE pl.id = ?", id))
	if err != nil {
		return nil, nil, err
	}
	rows, err := t.query(ctx, "SELECT "+jobColumns+" FROM jobs j WHERE j.pipeline_id = ? AND j.retried = 0 ORDER BY j.stage_index, j.id", id)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := collect(rows, scanJob)
	if err != nil {
		return nil, nil, err
	}
	busy := map[string]bool{}
	rows, err = t.query(ctx, `SELECT DISTINCT resource_group FROM jobs WHERE project_id = ? AND pipeline_id <> ? AND resource_group <> ''
		AND status IN ('pending', 'running', 'canceling')`, p.ProjectID, id)
	if err != nil {
		return nil, nil, err
	}
	groups, err := collect(rows, scanString)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range groups {
		busy[g] = true
	}
	before := &PipelineState{Pipeline: new(gantry.Pipeline)}
	*before.Pipeline = p
	st := &PipelineState{Pipeline: &p, BusyResourceGroups: busy}
	for i := range jobs {
		j, copyJ := jobs[i], jobs[i]
		st.Jobs = append(st.Jobs, &j)
		before.Jobs = append(before.Jobs, &copyJ)
	}
	return st, before, nil
}

func (t *tx) savePipelineState(ctx context.Context, st, before *PipelineState) error {
	p := st.Pipeline
	if !pipelineEqual(*p, *before.Pipeline) {
		p.UpdatedAt = t.now
		err := t.update(ctx, `UPDATE pipelines SET status = ?, started_at = ?, finished_at = ?, failure_reason = ?, yaml_errors = ?, updated_at = ?
			WHERE id = ?`, string(p.Status), micros(p.StartedAt), micros(p.FinishedAt), p.FailureReason, p.YAMLErrors, micros(t.now), p.ID)
		if err != nil {
			return err
		}
	}
	old := make(map[int64]*gantry.Job, len(before.Jobs))
	for _, j := range before.Jobs {
		old[j.ID] = j
	}
	for _, j := range st.Jobs {
		if o, ok := old[j.ID]; ok && !jobEqual(*j, *o) {
			if err := t.updateJob(ctx, j); err != nil {
				return err
			}
		}
	}
	for _, j := range st.New {
		j.PipelineID, j.ProjectID = p.ID, p.ProjectID
		if err := t.insertJob(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

func pipelineEqual(a, b gantry.Pipeline) bool {
	return a.Status == b.Status && a.StartedAt.Equal(b.StartedAt) && a.FinishedAt.Equal(b.FinishedAt) &&
		a.FailureReason == b.FailureReason && a.YAMLErrors == b.YAMLErrors
}

// UnfinishedPipelines returns the pipelines that are not in a final
// status, oldest first, for reconciliation at start-up.
func (s *Store) UnfinishedPipelines(ctx context.Context) ([]gantry.Pipeline, error) {
	return s.unfinishedPipelines(ctx, "")
}

// StalledPipelines returns the pipelines still in status created that
// were created before t, oldest first: pipelines whose start (keeping
// their commit, the first advance) an error interrupted.
func (s *Store) StalledPipelines(ctx context.Context, createdBefore time.Time) ([]gantry.Pipeline, error) {
	return s.unfinishedPipelines(ctx, " AND pl.status = 'created' AND pl.created_at < ?", micros(createdBefore))
}

// unfinishedPipelines lists unfinished pipelines matching a further
// condition; the status condition is written as the partial index's.
func (s *Store) unfinishedPipelines(ctx context.Context, cond string, args ...any) ([]gantry.Pipeline, error) {
	var out []gantry.Pipeline
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+pipelineColumns+` FROM pipelines pl
			WHERE pl.status NOT IN ('success', 'failed', 'canceled', 'skipped')`+cond+" ORDER BY pl.id", args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanPipeline)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("unfinished pipelines: %w", err)
	}
	return out, nil
}
