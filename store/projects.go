package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

const projectColumns = "NOT EXISTS (SELECT 1 FROM project_refs r WHERE r.project_id = p.id), p.id, p.name, p.path, p.description, p.visibility, p.default_branch, p.creator_id, p.created_at, p.last_activity_at, " + namespaceColumns

const projectFrom = " FROM projects p JOIN namespaces n ON n.id = p.namespace_id "

func scanProject(row interface{ Scan(...any) error }) (gantry.Project, error) {
	var p gantry.Project
	var vis, kind, nvis string
	var created, activity, ncreated int64
	n := &p.Namespace
	err := row.Scan(&p.Empty, &p.ID, &p.Name, &p.Path, &p.Description, &vis, &p.DefaultBranch, &p.CreatorID, &created, &activity,
		&n.ID, &kind, &n.Name, &n.Path, &n.FullPath, &n.ParentID, &n.OwnerID, &nvis, &n.Description, &ncreated)
	if err != nil {
		return gantry.Project{}, err
	}
	p.Visibility, p.CreatedAt, p.LastActivityAt = gantry.Visibility(vis), fromMicros(created), fromMicros(activity)
	n.Kind, n.Visibility, n.CreatedAt = gantry.NamespaceKind(kind), gantry.Visibility(nvis), fromMicros(ncreated)
	return p, nil
}

// CreateProject stores p in p.Namespace (only its ID is read) and fills in
// the rest. A path taken by a project or group is gantry.ErrConflict.
func (s *Store) CreateProject(ctx context.Context, p *gantry.Project) error {
	err := s.inWrite(ctx, func(t *tx) error {
		ns, err := scanNamespace(t.queryRow(ctx, "SELECT "+namespaceColumns+" FROM namespaces n WHERE n.id = ?", p.Namespace.ID))
		if err != nil {
			return fmt.Errorf("namespace %d: %w", p.Namespace.ID, err)
		}
		p.Namespace = ns
		if err := t.checkPathFree(ctx, p.FullPath()); err != nil {
			return err
		}
		p.CreatedAt, p.LastActivityAt, p.Empty = t.now, t.now, true
		p.ID, err = t.insert(ctx, `INSERT INTO projects (namespace_id, name, path, description, visibility, default_branch, creator_id, created_at, last_activity_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ns.ID, p.Name, p.Path, p.Description, string(p.Visibility), p.DefaultBranch,
			p.CreatorID, micros(t.now), micros(t.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("create project %q: %w", p.Path, err)
	}
	return nil
}

// Project returns the project with id.
func (s *Store) Project(ctx context.Context, id int64) (gantry.Project, error) {
	return s.projectWhere(ctx, "p.id = ?", id)
}

// ProjectByPath returns the project at "namespace/path", ignoring case.
func (s *Store) ProjectByPath(ctx context.Context, fullPath string) (gantry.Project, error) {
	ns, path, ok := cutLast(fullPath)
	if !ok {
		return gantry.Project{}, fmt.Errorf("project %q: %w", fullPath, gantry.ErrNotFound)
	}
	return s.projectWhere(ctx, "lower(n.full_path) = ? AND lower(p.path) = ?", strings.ToLower(ns), strings.ToLower(path))
}

func cutLast(s string) (string, string, bool) {
	i := strings.LastIndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func (s *Store) projectWhere(ctx context.Context, cond string, args ...any) (gantry.Project, error) {
	var p gantry.Project
	err := s.inRead(ctx, func(t *tx) (err error) {
		p, err = scanProject(t.queryRow(ctx, "SELECT "+projectColumns+projectFrom+"WHERE "+cond, args...))
		return err
	})
	if err != nil {
		return gantry.Project{}, fmt.Errorf("project %v: %w", args[0], err)
	}
	return p, nil
}

// ProjectFilter narrows ListProjects.
type ProjectFilter struct {
	Viewer       Viewer
	Search       string
	NamespaceID  int64 // only projects directly in this namespace
	Descendants  bool  // with NamespaceID: also projects in its subgroups
	Membership   bool  // only projects the viewer is a member of (directly or by group)
	Owned        bool  // only projects in the viewer's personal namespace
	Visibility   gantry.Visibility
	OrderBy      string // id, name, path, created_at, last_activity_at
	Ascending    bool
	MinAccess    gantry.AccessLevel // with Membership: at least this role
	ProjectIDSet []int64            // only these ids (nil: no restriction)
}

// ListProjects returns a page of the projects the viewer may see, and the total.
func (s *Store) ListProjects(ctx context.Context, f ProjectFilter, p Page) ([]gantry.Project, int, error) {
	now := s.now()
	where, args := projectConditions(f, now)
	order := map[string]string{"id": "p.id", "name": "lower(p.name)", "path": "lower(p.path)",
		"created_at": "p.created_at", "last_activity_at": "p.last_activity_at", "updated_at": "p.last_activity_at"}[f.OrderBy]
	if order == "" {
		order = "p.created_at"
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	var out []gantry.Project
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		cond := strings.Join(where, " AND ")
		if err := t.queryRow(ctx, "SELECT COUNT(*)"+projectFrom+"WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+projectColumns+projectFrom+"WHERE "+cond+" ORDER BY "+order+dir+", p.id"+dir+" LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanProject)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	return out, total, nil
}

func projectConditions(f ProjectFilter, now time.Time) ([]string, []any) {
	where, args := []string{}, []any{}
	member := "(n.owner_id = ? OR " + memberOfAncestor + " OR EXISTS (SELECT 1 FROM members pm WHERE pm.source_kind = 'project' AND pm.source_id = p.id AND pm.user_id = ? AND pm.access_level >= ? AND (pm.expires_at = 0 OR pm.expires_at > ?)))"
	memberArgs := func(min gantry.AccessLevel) []any {
		if min == 0 {
			min = gantry.Guest
		}
		return []any{f.Viewer.UserID, f.Viewer.UserID, int(min), micros(now), f.Viewer.UserID, int(min), micros(now)}
	}
	switch {
	case f.Viewer.Admin:
	case f.Viewer.UserID == 0:
		where = append(where, "p.visibility = 'public'")
	default:
		where = append(where, "(p.visibility IN ('public', 'internal') OR "+member+")")
		args = append(args, memberArgs(gantry.Guest)...)
	}
	if f.Membership {
		where, args = append(where, member), append(args, memberArgs(f.MinAccess)...)
	}
	if f.Owned {
		where, args = append(where, "n.owner_id = ?"), append(args, f.Viewer.UserID)
	}
	if f.NamespaceID != 0 && f.Descendants {
		where, args = append(where, "n.ancestry LIKE ?"), append(args, fmt.Sprintf("%%/%d/%%", f.NamespaceID))
	} else if f.NamespaceID != 0 {
		where, args = append(where, "p.namespace_id = ?"), append(args, f.NamespaceID)
	}
	if f.Visibility != "" {
		where, args = append(where, "p.visibility = ?"), append(args, string(f.Visibility))
	}
	if f.Search != "" {
		like := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		where = append(where, `(lower(p.name) LIKE ? ESCAPE '\' OR lower(p.path) LIKE ? ESCAPE '\' OR lower(p.description) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	if f.ProjectIDSet != nil {
		ids := make([]string, 0, len(f.ProjectIDSet)+1)
		ids = append(ids, "0")
		for _, id := range f.ProjectIDSet {
			ids = append(ids, fmt.Sprint(id))
		}
		where = append(where, "p.id IN ("+strings.Join(ids, ",")+")")
	}
	if len(where) == 0 {
		where = append(where, "1=1")
	}
	return where, args
}

// UpdateProject saves the editable fields of p (name, path, description,
// visibility, default branch).
func (s *Store) UpdateProject(ctx context.Context, p *gantry.Project) error {
	err := s.inWrite(ctx, func(t *tx) error {
		var cur string
		if err := t.queryRow(ctx, "SELECT lower(path) FROM projects WHERE id = ?", p.ID).Scan(&cur); err != nil {
			return err
		}
		if cur != strings.ToLower(p.Path) {
			if err := t.checkPathFree(ctx, p.FullPath()); err != nil {
				return err
			}
		}
		return t.update(ctx, `UPDATE projects SET name = ?, path = ?, description = ?, visibility = ?, default_branch = ?, last_activity_at = ?
			WHERE id = ?`, p.Name, p.Path, p.Description, string(p.Visibility), p.DefaultBranch, micros(t.now), p.ID)
	})
	if err != nil {
		return fmt.Errorf("update project %d: %w", p.ID, err)
	}
	return nil
}

// DeleteProject removes the project row and everything that hangs off it,
// recording the storage its jobs leave behind as garbage (see Garbage).
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, "DELETE FROM members WHERE source_kind = 'project' AND source_id = ?", id); err != nil {
			return err
		}
		// Its pipelines, jobs and artifact records go with it (foreign
		// keys); what they keep outside the database is recorded first.
		if err := t.recordJobsGarbage(ctx, "j.project_id = ?", id); err != nil {
			return err
		}
		return t.update(ctx, "DELETE FROM projects WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete project %d: %w", id, err)
	}
	return nil
}

// TouchProject records activity on the project now.
func (s *Store) TouchProject(ctx context.Context, id int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, "UPDATE projects SET last_activity_at = ? WHERE id = ?", micros(t.now), id)
		return err
	})
}
