package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

const namespaceColumns = "n.id, n.kind, n.name, n.path, n.full_path, COALESCE(n.parent_id, 0), COALESCE(n.owner_id, 0), n.visibility, n.description, n.created_at"

func scanNamespace(row interface{ Scan(...any) error }) (gantry.Namespace, error) {
	var n gantry.Namespace
	var kind, vis string
	var created int64
	if err := row.Scan(&n.ID, &kind, &n.Name, &n.Path, &n.FullPath, &n.ParentID, &n.OwnerID, &vis, &n.Description, &created); err != nil {
		return gantry.Namespace{}, err
	}
	n.Kind, n.Visibility, n.CreatedAt = gantry.NamespaceKind(kind), gantry.Visibility(vis), fromMicros(created)
	return n, nil
}

// Viewer is who a listing is for: it decides which private and internal
// things appear. The zero Viewer is anonymous.
type Viewer struct {
	UserID int64
	Admin  bool
}

// insertNamespace stores ns below parent (nil for top level), computing
// its full path and ancestry.
func (t *tx) insertNamespace(ctx context.Context, ns *gantry.Namespace, parent *gantry.Namespace) error {
	ns.FullPath, ns.CreatedAt = ns.Path, t.now
	ancestry := "/"
	var parentID, ownerID any
	if parent != nil {
		ns.FullPath, ns.ParentID, parentID = parent.FullPath+"/"+ns.Path, parent.ID, parent.ID
		if err := t.queryRow(ctx, "SELECT ancestry FROM namespaces WHERE id = ?", parent.ID).Scan(&ancestry); err != nil {
			return fmt.Errorf("parent namespace %d: %w", parent.ID, err)
		}
	}
	if ns.OwnerID != 0 {
		ownerID = ns.OwnerID
	}
	if err := t.checkPathFree(ctx, ns.FullPath); err != nil {
		return err
	}
	id, err := t.insert(ctx, `INSERT INTO namespaces (kind, name, path, full_path, parent_id, owner_id, visibility, description, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, string(ns.Kind), ns.Name, ns.Path, ns.FullPath, parentID, ownerID,
		string(ns.Visibility), ns.Description, micros(t.now))
	if err != nil {
		return err
	}
	ns.ID = id
	_, err = t.exec(ctx, "UPDATE namespaces SET ancestry = ? WHERE id = ?", ancestry+strconv.FormatInt(id, 10)+"/", id)
	return err
}

// checkPathFree refuses a namespace or project path that another namespace
// or project already uses, so that "a/b" names exactly one thing.
func (t *tx) checkPathFree(ctx context.Context, fullPath string) error {
	var n int
	err := t.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM namespaces WHERE lower(full_path) = ?)
		+ (SELECT COUNT(*) FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id WHERE lower(pn.full_path || '/' || p.path) = ?)`,
		strings.ToLower(fullPath), strings.ToLower(fullPath)).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: path %q has already been taken", gantry.ErrConflict, fullPath)
	}
	return nil
}

// CreateGroup stores a group below parent (nil: top level) and makes
// creator its owner. It fills in g's ID, FullPath and CreatedAt.
func (s *Store) CreateGroup(ctx context.Context, g *gantry.Namespace, parent *gantry.Namespace, creatorID int64) error {
	g.Kind = gantry.GroupNamespace
	err := s.inWrite(ctx, func(t *tx) error {
		if err := t.insertNamespace(ctx, g, parent); err != nil {
			return err
		}
		if creatorID == 0 {
			return nil
		}
		return t.upsertMember(ctx, "namespace", g.ID, creatorID, gantry.Owner, 0)
	})
	if err != nil {
		return fmt.Errorf("create group %q: %w", g.Path, err)
	}
	return nil
}

// Namespace returns the namespace with id.
func (s *Store) Namespace(ctx context.Context, id int64) (gantry.Namespace, error) {
	return s.namespaceWhere(ctx, "n.id = ?", id)
}

// NamespaceByPath returns the namespace whose full path matches, ignoring case.
func (s *Store) NamespaceByPath(ctx context.Context, fullPath string) (gantry.Namespace, error) {
	return s.namespaceWhere(ctx, "lower(n.full_path) = ?", strings.ToLower(fullPath))
}

// UserNamespace returns the personal namespace of a user.
func (s *Store) UserNamespace(ctx context.Context, userID int64) (gantry.Namespace, error) {
	return s.namespaceWhere(ctx, "n.owner_id = ? AND n.kind = 'user'", userID)
}

func (s *Store) namespaceWhere(ctx context.Context, cond string, args ...any) (gantry.Namespace, error) {
	var n gantry.Namespace
	err := s.inRead(ctx, func(t *tx) (err error) {
		n, err = scanNamespace(t.queryRow(ctx, "SELECT "+namespaceColumns+" FROM namespaces n WHERE "+cond, args...))
		return err
	})
	if err != nil {
		return gantry.Namespace{}, fmt.Errorf("namespace %v: %w", args[0], err)
	}
	return n, nil
}

// GroupFilter narrows ListGroups.
type GroupFilter struct {
	Viewer   Viewer
	Search   string
	ParentID int64 // only direct children of this group
	TopLevel bool  // only groups without a parent
	Owned    bool  // only groups the viewer owns
}

// ListGroups returns a page of the groups the viewer may see, by full path.
func (s *Store) ListGroups(ctx context.Context, f GroupFilter, p Page) ([]gantry.Namespace, int, error) {
	where := []string{"n.kind = 'group'"}
	args := []any{}
	vis, vargs := namespaceVisible(f.Viewer, s.now())
	where, args = append(where, vis), append(args, vargs...)
	if f.Search != "" {
		where = append(where, `(lower(n.name) LIKE ? ESCAPE '\' OR lower(n.full_path) LIKE ? ESCAPE '\')`)
		like := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		args = append(args, like, like)
	}
	if f.ParentID != 0 {
		where, args = append(where, "n.parent_id = ?"), append(args, f.ParentID)
	}
	if f.TopLevel {
		where = append(where, "n.parent_id IS NULL")
	}
	if f.Owned {
		where = append(where, "EXISTS (SELECT 1 FROM members m WHERE m.source_kind = 'namespace' AND m.source_id = n.id AND m.user_id = ? AND m.access_level >= 50)")
		args = append(args, f.Viewer.UserID)
	}
	var out []gantry.Namespace
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		cond := strings.Join(where, " AND ")
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM namespaces n WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+namespaceColumns+" FROM namespaces n WHERE "+cond+" ORDER BY lower(n.full_path), n.id LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanNamespace)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	return out, total, nil
}

// memberOfAncestor is the SQL condition "the user (first arg) is a current
// member of namespace n or of one of its ancestors, at level ≥ min (second
// arg)"; the caller appends now as the third arg.
const memberOfAncestor = `EXISTS (SELECT 1 FROM members m WHERE m.source_kind = 'namespace' AND m.user_id = ?
	AND m.access_level >= ? AND (m.expires_at = 0 OR m.expires_at > ?)
	AND n.ancestry LIKE '%/' || m.source_id || '/%')`

func namespaceVisible(v Viewer, now time.Time) (string, []any) {
	switch {
	case v.Admin:
		return "1=1", nil
	case v.UserID == 0:
		return "n.visibility = 'public'", nil
	}
	return "(n.visibility IN ('public', 'internal') OR n.owner_id = ? OR " + memberOfAncestor + ")",
		[]any{v.UserID, v.UserID, int(gantry.Guest), micros(now)}
}

// DeleteGroup removes an empty group. A group that still holds projects or
// subgroups is gantry.ErrConflict.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		var n int
		if err := t.queryRow(ctx, "SELECT (SELECT COUNT(*) FROM namespaces WHERE parent_id = ?) + (SELECT COUNT(*) FROM projects WHERE namespace_id = ?)", id, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: group still has projects or subgroups", gantry.ErrConflict)
		}
		if _, err := t.exec(ctx, "DELETE FROM members WHERE source_kind = 'namespace' AND source_id = ?", id); err != nil {
			return err
		}
		return t.update(ctx, "DELETE FROM namespaces WHERE id = ? AND kind = 'group'", id)
	})
	if err != nil {
		return fmt.Errorf("delete group %d: %w", id, err)
	}
	return nil
}
