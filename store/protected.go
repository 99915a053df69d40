package store

import (
	"context"
	"fmt"
	"math"

	"github.com/gantry-ci/gantry"
)

const protectedRefColumns = "id, project_id, tag, name, push_level, merge_level, allow_force_push, created_at"

func scanProtectedRef(row interface{ Scan(...any) error }) (gantry.ProtectedRef, error) {
	var r gantry.ProtectedRef
	var push, merge int
	var created int64
	if err := row.Scan(&r.ID, &r.ProjectID, &r.Tag, &r.Name, &push, &merge, &r.AllowForcePush, &created); err != nil {
		return gantry.ProtectedRef{}, err
	}
	r.PushLevel, r.MergeLevel, r.CreatedAt = gantry.AccessLevel(push), gantry.AccessLevel(merge), fromMicros(created)
	return r, nil
}

func kindOf(tag bool) string {
	if tag {
		return "tag"
	}
	return "branch"
}

// CreateProtectedRef protects a branch or tag name (or pattern) in r's
// project and fills in r's ID and CreatedAt. The same name protected
// already is gantry.ErrConflict; a project that does not exist is
// gantry.ErrNotFound.
func (s *Store) CreateProtectedRef(ctx context.Context, r *gantry.ProtectedRef) error {
	err := s.inWrite(ctx, func(t *tx) error {
		if err := t.ownerExists(ctx, VariableOwner{Level: gantry.ProjectLevel, ID: r.ProjectID}); err != nil {
			return err
		}
		id, err := t.insert(ctx, `INSERT INTO protected_refs (project_id, tag, name, push_level, merge_level, allow_force_push, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ProjectID, r.Tag, r.Name, int(r.PushLevel), int(r.MergeLevel), r.AllowForcePush, micros(t.now))
		r.ID, r.CreatedAt = id, t.now
		return err
	})
	if err != nil {
		return fmt.Errorf("protect %s %q of project %d: %w", kindOf(r.Tag), r.Name, r.ProjectID, err)
	}
	return nil
}

// ProtectedRefs returns every protected branch (tag=false) or tag rule of
// a project, by name; enforcement reads them all at once.
func (s *Store) ProtectedRefs(ctx context.Context, projectID int64, tag bool) ([]gantry.ProtectedRef, error) {
	out, _, err := s.ListProtectedRefs(ctx, projectID, tag, Page{Number: 1, Size: -1})
	return out, err
}

// ListProtectedRefs returns a page of a project's protected branches or
// tags by name, and their total. A page Size below 0 means all.
func (s *Store) ListProtectedRefs(ctx context.Context, projectID int64, tag bool, p Page) ([]gantry.ProtectedRef, int, error) {
	var out []gantry.ProtectedRef
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM protected_refs WHERE project_id = ? AND tag = ?", projectID, tag).Scan(&total); err != nil {
			return err
		}
		limit, offset := math.MaxInt32, 0 // portable "no limit"
		if p.Size >= 0 {
			limit, offset = p.limitOffset()
		}
		rows, err := t.query(ctx, "SELECT "+protectedRefColumns+" FROM protected_refs WHERE project_id = ? AND tag = ? ORDER BY name, id LIMIT ? OFFSET ?",
			projectID, tag, limit, offset)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanProtectedRef)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list protected %ss of project %d: %w", kindOf(tag), projectID, err)
	}
	return out, total, nil
}

// ProtectedRef returns the rule protecting exactly name (a pattern is
// looked up by its own text, not matched).
func (s *Store) ProtectedRef(ctx context.Context, projectID int64, tag bool, name string) (gantry.ProtectedRef, error) {
	var r gantry.ProtectedRef
	err := s.inRead(ctx, func(t *tx) (err error) {
		r, err = scanProtectedRef(t.queryRow(ctx, "SELECT "+protectedRefColumns+" FROM protected_refs WHERE project_id = ? AND tag = ? AND name = ?",
			projectID, tag, name))
		return err
	})
	if err != nil {
		return gantry.ProtectedRef{}, fmt.Errorf("protected %s %q of project %d: %w", kindOf(tag), name, projectID, err)
	}
	return r, nil
}

// UpdateProtectedRef saves r's levels and force-push setting (found by
// r.ID; name and kind don't change).
func (s *Store) UpdateProtectedRef(ctx context.Context, r gantry.ProtectedRef) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE protected_refs SET push_level = ?, merge_level = ?, allow_force_push = ? WHERE id = ?",
			int(r.PushLevel), int(r.MergeLevel), r.AllowForcePush, r.ID)
	})
	if err != nil {
		return fmt.Errorf("update protected %s %q: %w", kindOf(r.Tag), r.Name, err)
	}
	return nil
}

// DeleteProtectedRef lifts the protection of name; not protected is
// gantry.ErrNotFound.
func (s *Store) DeleteProtectedRef(ctx context.Context, projectID int64, tag bool, name string) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "DELETE FROM protected_refs WHERE project_id = ? AND tag = ? AND name = ?", projectID, tag, name)
	})
	if err != nil {
		return fmt.Errorf("unprotect %s %q of project %d: %w", kindOf(tag), name, projectID, err)
	}
	return nil
}
