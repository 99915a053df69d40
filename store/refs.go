package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/gantry-ci/gantry"
)

// Push says who made a push and what it asked for, to attribute the ref
// updates it caused.
type Push struct {
	UserID int64
	// Refs maps each ref the push's commands changed to the object they
	// sent, gantry.ZeroSHA for a deletion.
	Refs map[string]string
}

// SyncRefs compares a project's actual branch and tag tips (ref name →
// sha) with the last recorded ones and, in one transaction, records a
// RefUpdate per difference and the new tips. Calling it again with the same
// tips records nothing, so it is safe to run after every push and at
// start-up: a crash between git and the database loses no event.
//
// A difference is recorded as push.UserID's only when push.Refs holds that
// very change: another push may have moved other refs (or the same ref
// since), and its changes must not run as this pusher's. Every other
// difference is recorded with user 0 (unknown).
func (s *Store) SyncRefs(ctx context.Context, projectID int64, tips map[string]string, push Push) ([]gantry.RefUpdate, error) {
	var out []gantry.RefUpdate
	err := s.inWrite(ctx, func(t *tx) error {
		known, err := t.projectRefs(ctx, projectID)
		if err != nil {
			return err
		}
		out = diffRefs(projectID, known, tips)
		for i := range out {
			u := &out[i]
			if sent, ok := push.Refs[u.Ref]; ok && sent == u.After {
				u.UserID = push.UserID
			}
			u.CreatedAt = t.now
			u.ID, err = t.insert(ctx, `INSERT INTO ref_updates (project_id, user_id, ref, before_sha, after_sha, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, projectID, u.UserID, u.Ref, u.Before, u.After, micros(t.now))
			if err != nil {
				return err
			}
			if u.After == gantry.ZeroSHA {
				_, err = t.exec(ctx, "DELETE FROM project_refs WHERE project_id = ? AND ref = ?", projectID, u.Ref)
			} else {
				_, err = t.exec(ctx, `INSERT INTO project_refs (project_id, ref, sha) VALUES (?, ?, ?)
					ON CONFLICT (project_id, ref) DO UPDATE SET sha = excluded.sha`, projectID, u.Ref, u.After)
			}
			if err != nil {
				return err
			}
		}
		if len(out) > 0 {
			_, err = t.exec(ctx, "UPDATE projects SET last_activity_at = ? WHERE id = ?", micros(t.now), projectID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync refs of project %d: %w", projectID, err)
	}
	return out, nil
}

func (t *tx) projectRefs(ctx context.Context, projectID int64) (map[string]string, error) {
	rows, err := t.query(ctx, "SELECT ref, sha FROM project_refs WHERE project_id = ?", projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[string]string{}
	for rows.Next() {
		var ref, sha string
		if err := rows.Scan(&ref, &sha); err != nil {
			return nil, err
		}
		known[ref] = sha
	}
	return known, rows.Err()
}

// diffRefs lists the changes from known to tips, ordered by ref name so
// that events come out in a stable order.
func diffRefs(projectID int64, known, tips map[string]string) []gantry.RefUpdate {
	var out []gantry.RefUpdate
	for ref, sha := range tips {
		if before, ok := known[ref]; !ok || before != sha {
			if !ok {
				before = gantry.ZeroSHA
			}
			out = append(out, gantry.RefUpdate{ProjectID: projectID, Ref: ref, Before: before, After: sha})
		}
	}
	for ref, sha := range known {
		if _, ok := tips[ref]; !ok {
			out = append(out, gantry.RefUpdate{ProjectID: projectID, Ref: ref, Before: sha, After: gantry.ZeroSHA})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// RefUpdatesAfter returns up to limit ref updates with id > after, oldest first.
func (s *Store) RefUpdatesAfter(ctx context.Context, after int64, limit int) ([]gantry.RefUpdate, error) {
	var out []gantry.RefUpdate
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT id, project_id, user_id, ref, before_sha, after_sha, created_at
			FROM ref_updates WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(r interface{ Scan(...any) error }) (gantry.RefUpdate, error) {
			var u gantry.RefUpdate
			var created int64
			err := r.Scan(&u.ID, &u.ProjectID, &u.UserID, &u.Ref, &u.Before, &u.After, &created)
			u.CreatedAt = fromMicros(created)
			return u, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ref updates after %d: %w", after, err)
	}
	return out, nil
}

// Cursor returns the last event id a consumer handled (0 if none).
func (s *Store) Cursor(ctx context.Context, consumer string) (int64, error) {
	var id int64
	err := s.inRead(ctx, func(t *tx) error {
		err := t.queryRow(ctx, "SELECT last_id FROM event_cursors WHERE consumer = ?", consumer).Scan(&id)
		if isNoRows(err) {
			return nil
		}
		return err
	})
	return id, err
}

// SetCursor records that a consumer handled every event up to id.
func (s *Store) SetCursor(ctx context.Context, consumer string, id int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO event_cursors (consumer, last_id) VALUES (?, ?)
			ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id`, consumer, id)
		return err
	})
}

// Setting returns an instance setting, or def when unset.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	v := def
	err := s.inRead(ctx, func(t *tx) error {
		err := t.queryRow(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
		if isNoRows(err) {
			return nil
		}
		return err
	})
	return v, err
}

// SetSetting stores an instance setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}
