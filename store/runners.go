package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

const runnerColumns = `r.id, r.runner_type, COALESCE(r.group_id, 0), r.description, r.maintenance_note, r.tags, r.run_untagged,
	r.locked, r.ref_protected_only, r.paused, r.maximum_timeout, r.creator_id, r.created_at, r.contacted_at, r.token_expires_at`

func scanRunner(row interface{ Scan(...any) error }) (gantry.Runner, error) {
	var r gantry.Runner
	var typ, tags string
	var created, contacted, expires int64
	err := row.Scan(&r.ID, &typ, &r.GroupID, &r.Description, &r.MaintenanceNote, &tags, &r.RunUntagged, &r.Locked,
		&r.RefProtectedOnly, &r.Paused, &r.MaximumTimeout, &r.CreatorID, &created, &contacted, &expires)
	if err != nil {
		return gantry.Runner{}, err
	}
	r.Type = gantry.RunnerType(typ)
	r.CreatedAt, r.ContactedAt, r.TokenExpiresAt = fromMicros(created), fromMicros(contacted), fromMicros(expires)
	return r, json.Unmarshal([]byte(tags), &r.Tags)
}

// CreateRunner stores a runner with the hash of its authentication token
// and fills in its id. legacy marks runners registered with a
// registration token.
func (s *Store) CreateRunner(ctx context.Context, r *gantry.Runner, tokenHash string, legacy bool) error {
	tags, err := json.Marshal(orEmpty(r.Tags))
	if err != nil {
		return err
	}
	err = s.inWrite(ctx, func(t *tx) (err error) {
		r.CreatedAt = t.now
		r.ID, err = t.insert(ctx, `INSERT INTO runners (token_hash, runner_type, group_id, description, maintenance_note, tags,
			run_untagged, locked, ref_protected_only, paused, maximum_timeout, creator_id, legacy, created_at, token_expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tokenHash, string(r.Type), nullID(r.GroupID), r.Description,
			r.MaintenanceNote, string(tags), r.RunUntagged, r.Locked, r.RefProtectedOnly, r.Paused, r.MaximumTimeout, r.CreatorID,
			legacy, micros(t.now), micros(r.TokenExpiresAt))
		if err != nil {
			return err
		}
		for _, pid := range r.ProjectIDs {
			if _, err := t.exec(ctx, "INSERT INTO runner_projects (runner_id, project_id) VALUES (?, ?)", r.ID, pid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create runner: %w", err)
	}
	return nil
}

// Runner returns the runner with id, with its projects.
func (s *Store) Runner(ctx context.Context, id int64) (gantry.Runner, error) {
	return s.runnerWhere(ctx, "r.id = ?", id)
}

// RunnerByTokenHash returns the runner whose token hashes to hash.
func (s *Store) RunnerByTokenHash(ctx context.Context, hash string) (gantry.Runner, error) {
	return s.runnerWhere(ctx, "r.token_hash = ?", hash)
}

func (s *Store) runnerWhere(ctx context.Context, cond string, arg any) (gantry.Runner, error) {
	var r gantry.Runner
	err := s.inRead(ctx, func(t *tx) (err error) {
		if r, err = scanRunner(t.queryRow(ctx, "SELECT "+runnerColumns+" FROM runners r WHERE "+cond, arg)); err != nil {
			return err
		}
		r.ProjectIDs, err = t.runnerProjects(ctx, r.ID)
		return err
	})
	if err != nil {
		return gantry.Runner{}, fmt.Errorf("runner: %w", err)
	}
	return r, nil
}

func (t *tx) runnerProjects(ctx context.Context, id int64) ([]int64, error) {
	rows, err := t.query(ctx, "SELECT project_id FROM runner_projects WHERE runner_id = ? ORDER BY project_id", id)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanInt64)
}

// RunnerFilter narrows ListRunners.
type RunnerFilter struct {
	Type      gantry.RunnerType
	Paused    *bool
	TagList   []string // runners having all these tags
	ProjectID int64    // runners assigned to this project
	GroupIDs  []int64  // group runners of these groups
	IDs       []int64  // restrict to these runners (nil: no restriction)
	// ContactedSince keeps runners heard from since then (zero: all).
	ContactedSince time.Time
}

// ListRunners returns a page of runners by id and the total.
func (s *Store) ListRunners(ctx context.Context, f RunnerFilter, p Page) ([]gantry.Runner, int, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Type != "" {
		where, args = append(where, "r.runner_type = ?"), append(args, string(f.Type))
	}
	if f.Paused != nil {
		where, args = append(where, "r.paused = ?"), append(args, *f.Paused)
	}
	if f.ProjectID != 0 {
		where, args = append(where, "r.id IN (SELECT runner_id FROM runner_projects WHERE project_id = ?)"), append(args, f.ProjectID)
	}
	if f.GroupIDs != nil {
		where = append(where, "r.group_id IN ("+placeholders(max(len(f.GroupIDs), 1))+")")
		args = append(args, idArgs(f.GroupIDs)...)
	}
	if f.IDs != nil {
		where = append(where, "r.id IN ("+placeholders(max(len(f.IDs), 1))+")")
		args = append(args, idArgs(f.IDs)...)
	}
	if !f.ContactedSince.IsZero() {
		where, args = append(where, "r.contacted_at >= ?"), append(args, micros(f.ContactedSince))
	}
	var out []gantry.Runner
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+runnerColumns+" FROM runners r WHERE "+strings.Join(where, " AND ")+" ORDER BY r.id", args...)
		if err != nil {
			return err
		}
		all, err := collect(rows, scanRunner)
		if err != nil {
			return err
		}
		all = filterTags(all, f.TagList)
		total = len(all)
		limit, offset := p.limitOffset()
		for i := offset; i < len(all) && i < offset+limit; i++ {
			if all[i].ProjectIDs, err = t.runnerProjects(ctx, all[i].ID); err != nil {
				return err
			}
			out = append(out, all[i])
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list runners: %w", err)
	}
	return out, total, nil
}

func idArgs(ids []int64) []any {
	if len(ids) == 0 {
		return []any{int64(-1)}
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func filterTags(rs []gantry.Runner, want []string) []gantry.Runner {
	if len(want) == 0 {
		return rs
	}
	var out []gantry.Runner
outer:
	for _, r := range rs {
		for _, w := range want {
			found := false
			for _, t := range r.Tags {
				found = found || t == w
			}
			if !found {
				continue outer
			}
		}
		out = append(out, r)
	}
	return out
}

// UpdateRunner saves a runner's settings.
func (s *Store) UpdateRunner(ctx context.Context, r *gantry.Runner) error {
	tags, err := json.Marshal(orEmpty(r.Tags))
	if err != nil {
		return err
	}
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, `UPDATE runners SET description = ?, maintenance_note = ?, tags = ?, run_untagged = ?, locked = ?,
			ref_protected_only = ?, paused = ?, maximum_timeout = ? WHERE id = ?`, r.Description, r.MaintenanceNote, string(tags),
			r.RunUntagged, r.Locked, r.RefProtectedOnly, r.Paused, r.MaximumTimeout, r.ID)
	})
}

// DeleteRunner removes a runner, its managers and project assignments.
func (s *Store) DeleteRunner(ctx context.Context, id int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		for _, q := range []string{"DELETE FROM runner_managers WHERE runner_id = ?", "DELETE FROM runner_projects WHERE runner_id = ?"} {
			if _, err := t.exec(ctx, q, id); err != nil {
				return err
			}
		}
		return t.update(ctx, "DELETE FROM runners WHERE id = ?", id)
	})
}

// SetRunnerToken replaces a runner's token hash and expiry.
func (s *Store) SetRunnerToken(ctx context.Context, id int64, hash string, expires time.Time) error {
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE runners SET token_hash = ?, token_expires_at = ? WHERE id = ?", hash, micros(expires), id)
	})
}

// SeenRunner records that a runner manager (one machine, by system id)
// called now, with what it reported about itself. It writes at most
// every few seconds per manager so that polling stays cheap.
func (s *Store) SeenRunner(ctx context.Context, m gantry.RunnerManager) (gantry.RunnerManager, error) {
	err := s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO runner_managers (runner_id, system_id, version, revision, platform, architecture, executor,
			ip_address, created_at, contacted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (runner_id, system_id) DO UPDATE SET version = excluded.version, revision = excluded.revision,
			platform = excluded.platform, architecture = excluded.architecture, executor = excluded.executor,
			ip_address = excluded.ip_address, contacted_at = excluded.contacted_at`,
			m.RunnerID, m.SystemID, m.Version, m.Revision, m.Platform, m.Architecture, m.Executor, m.IPAddress, micros(t.now), micros(t.now))
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE runners SET contacted_at = ? WHERE id = ?", micros(t.now), m.RunnerID); err != nil {
			return err
		}
		var created, contacted int64
		err = t.queryRow(ctx, "SELECT id, created_at, contacted_at FROM runner_managers WHERE runner_id = ? AND system_id = ?",
			m.RunnerID, m.SystemID).Scan(&m.ID, &created, &contacted)
		m.CreatedAt, m.ContactedAt = fromMicros(created), fromMicros(contacted)
		return err
	})
	if err != nil {
		return gantry.RunnerManager{}, fmt.Errorf("record runner %d manager %q: %w", m.RunnerID, m.SystemID, err)
	}
	return m, nil
}

// RunnerManagers lists the machines that used a runner's token.
func (s *Store) RunnerManagers(ctx context.Context, runnerID int64) ([]gantry.RunnerManager, error) {
	var out []gantry.RunnerManager
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT id, runner_id, system_id, version, revision, platform, architecture, executor, ip_address,
			created_at, contacted_at FROM runner_managers WHERE runner_id = ? ORDER BY id`, runnerID)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(r interface{ Scan(...any) error }) (gantry.RunnerManager, error) {
			var m gantry.RunnerManager
			var created, contacted int64
			err := r.Scan(&m.ID, &m.RunnerID, &m.SystemID, &m.Version, &m.Revision, &m.Platform, &m.Architecture, &m.Executor,
				&m.IPAddress, &created, &contacted)
			m.CreatedAt, m.ContactedAt = fromMicros(created), fromMicros(contacted)
			return m, err
		})
		return err
	})
	return out, err
}

// DeleteRunnerManager removes one machine of a runner.
func (s *Store) DeleteRunnerManager(ctx context.Context, runnerID int64, systemID string) error {
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "DELETE FROM runner_managers WHERE runner_id = ? AND system_id = ?", runnerID, systemID)
	})
}
