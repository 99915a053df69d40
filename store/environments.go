package store

import (
	"context"
	"fmt"

	"github.com/gantry-ci/gantry"
)

const environmentColumns = "id, project_id, name, slug, external_url, tier, state, created_at, updated_at"

func scanEnvironment(row interface{ Scan(...any) error }) (gantry.Environment, error) {
	var e gantry.Environment
	var created, updated int64
	err := row.Scan(&e.ID, &e.ProjectID, &e.Name, &e.Slug, &e.ExternalURL, &e.Tier, &e.State, &created, &updated)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, err
}

// EnsureEnvironments creates the environments of a project that do not
// exist yet, by name; an existing one takes a non-empty external URL. It
// returns them as stored.
func (s *Store) EnsureEnvironments(ctx context.Context, envs []gantry.Environment) ([]gantry.Environment, error) {
	out := make([]gantry.Environment, 0, len(envs))
	err := s.inWrite(ctx, func(t *tx) error {
		out = out[:0]
		for _, e := range envs {
			_, err := t.exec(ctx, `INSERT INTO environments (project_id, name, slug, external_url, tier, state, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'available', ?, ?)
				ON CONFLICT (project_id, name) DO UPDATE SET
					external_url = CASE WHEN excluded.external_url = '' THEN external_url ELSE excluded.external_url END,
					updated_at = CASE WHEN excluded.external_url = '' OR excluded.external_url = external_url THEN updated_at ELSE excluded.updated_at END`,
				e.ProjectID, e.Name, e.Slug, e.ExternalURL, e.Tier, micros(t.now), micros(t.now))
			if err != nil {
				return err
			}
			got, err := scanEnvironment(t.queryRow(ctx, "SELECT "+environmentColumns+" FROM environments WHERE project_id = ? AND name = ?", e.ProjectID, e.Name))
			if err != nil {
				return err
			}
			out = append(out, got)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ensure environments: %w", err)
	}
	return out, nil
}

// EnvironmentFilter narrows Environments; zero fields match everything.
type EnvironmentFilter struct {
	Name   string // exact name
	Search string // part of the name
	State  string
}

// Environments lists a project's environments by name, and how many match.
func (s *Store) Environments(ctx context.Context, projectID int64, f EnvironmentFilter, p Page) ([]gantry.Environment, int, error) {
	where, args := "project_id = ?", []any{projectID}
	if f.Name != "" {
		where, args = where+" AND name = ?", append(args, f.Name)
	}
	if f.Search != "" {
		where, args = where+" AND instr(name, ?) > 0", append(args, f.Search)
	}
	if f.State != "" {
		where, args = where+" AND state = ?", append(args, f.State)
	}
	var out []gantry.Environment
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM environments WHERE "+where, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+environmentColumns+" FROM environments WHERE "+where+" ORDER BY name LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanEnvironment)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list environments: %w", err)
	}
	return out, total, nil
}

// Environment returns one environment of a project, or gantry.ErrNotFound.
func (s *Store) Environment(ctx context.Context, projectID, id int64) (gantry.Environment, error) {
	var e gantry.Environment
	err := s.inRead(ctx, func(t *tx) (err error) {
		e, err = scanEnvironment(t.queryRow(ctx, "SELECT "+environmentColumns+" FROM environments WHERE project_id = ? AND id = ?", projectID, id))
		return err
	})
	if err != nil {
		return gantry.Environment{}, fmt.Errorf("environment %d: %w", id, err)
	}
	return e, nil
}
