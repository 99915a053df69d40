package store

import (
	"context"
	"fmt"

	"github.com/gantry-ci/gantry"
)

// Source names what a membership is on: a project or a namespace (group).
type Source struct {
	Kind string // "project" or "namespace"
	ID   int64
}

// ProjectSource and GroupSource build a Source.
func ProjectSource(id int64) Source { return Source{Kind: "project", ID: id} }

// GroupSource is the Source of a group (or any namespace).
func GroupSource(id int64) Source { return Source{Kind: "namespace", ID: id} }

func (t *tx) upsertMember(ctx context.Context, kind string, sourceID, userID int64, level gantry.AccessLevel, expires int64) error {
	_, err := t.exec(ctx, `INSERT INTO members (source_kind, source_id, user_id, access_level, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (source_kind, source_id, user_id) DO UPDATE SET access_level = excluded.access_level, expires_at = excluded.expires_at`,
		kind, sourceID, userID, int(level), expires, micros(t.now))
	return err
}

// AddMember gives a user a role on src. An existing membership is
// gantry.ErrConflict, as in GitLab ("Member already exists").
func (s *Store) AddMember(ctx context.Context, src Source, userID int64, level gantry.AccessLevel, expires int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO members (source_kind, source_id, user_id, access_level, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, src.Kind, src.ID, userID, int(level), expires, micros(t.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("add member %d to %s %d: %w", userID, src.Kind, src.ID, err)
	}
	return nil
}

// UpdateMember changes an existing membership's role.
func (s *Store) UpdateMember(ctx context.Context, src Source, userID int64, level gantry.AccessLevel, expires int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE members SET access_level = ?, expires_at = ? WHERE source_kind = ? AND source_id = ? AND user_id = ?",
			int(level), expires, src.Kind, src.ID, userID)
	})
	if err != nil {
		return fmt.Errorf("update member %d of %s %d: %w", userID, src.Kind, src.ID, err)
	}
	return nil
}

// RemoveMember ends a direct membership.
func (s *Store) RemoveMember(ctx context.Context, src Source, userID int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "DELETE FROM members WHERE source_kind = ? AND source_id = ? AND user_id = ?", src.Kind, src.ID, userID)
	})
	if err != nil {
		return fmt.Errorf("remove member %d of %s %d: %w", userID, src.Kind, src.ID, err)
	}
	return nil
}

func scanMember(row interface{ Scan(...any) error }) (gantry.Member, error) {
	var m gantry.Member
	var level int
	var expires, created, ucreated int64
	var state string
	u := &m.User
	if err := row.Scan(&level, &expires, &created, &m.Inherited,
		&u.ID, &u.Username, &u.Name, &u.Email, &u.Admin, &state, &ucreated); err != nil {
		return gantry.Member{}, err
	}
	m.AccessLevel, m.ExpiresAt, m.CreatedAt = gantry.AccessLevel(level), fromMicros(expires), fromMicros(created)
	u.State, u.CreatedAt = gantry.UserState(state), fromMicros(ucreated)
	return m, nil
}

// ListMembers returns a page of src's members by user id. With inherited,
// members of ancestor groups are included, each user once with their
// highest role (GitLab's /members/all).
func (s *Store) ListMembers(ctx context.Context, src Source, inherited bool, p Page) ([]gantry.Member, int, error) {
	q, args, err := s.memberQuery(ctx, src, inherited)
	if err != nil {
		return nil, 0, err
	}
	var out []gantry.Member
	var total int
	err = s.inRead(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM ("+q+") x", args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, q+" ORDER BY u.id LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanMember)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list members of %s %d: %w", src.Kind, src.ID, err)
	}
	return out, total, nil
}

// Member returns one user's membership of src (with inherited, the highest
// role from src or its ancestors).
func (s *Store) Member(ctx context.Context, src Source, userID int64, inherited bool) (gantry.Member, error) {
	q, args, err := s.memberQuery(ctx, src, inherited)
	if err != nil {
		return gantry.Member{}, err
	}
	var m gantry.Member
	err = s.inRead(ctx, func(t *tx) (err error) {
		m, err = scanMember(t.queryRow(ctx, "SELECT * FROM ("+q+") x WHERE x.id = ?", append(args, userID)...))
		return err
	})
	if err != nil {
		return gantry.Member{}, fmt.Errorf("member %d of %s %d: %w", userID, src.Kind, src.ID, err)
	}
	return m, nil
}

// memberQuery selects (level, expires, created, inherited, user columns)
// for the direct and, optionally, inherited members of src.
func (s *Store) memberQuery(ctx context.Context, src Source, inherited bool) (string, []any, error) {
	now := micros(s.now())
	direct := `SELECT m.access_level AS level, m.expires_at, m.created_at, 0 AS inherited, ` + userColumns + `
		FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.source_kind = ? AND m.source_id = ? AND (m.expires_at = 0 OR m.expires_at > ?)`
	args := []any{src.Kind, src.ID, now}
	if !inherited {
		return direct, args, nil
	}
	ancestry, err := s.sourceAncestry(ctx, src)
	if err != nil {
		return "", nil, err
	}
	// Each user once, with their highest role across src and its ancestors.
	q := `SELECT MAX(level) AS level, MIN(expires_at) AS expires_at, MIN(created_at) AS created_at, MIN(inherited) AS inherited,
		id, username, name, email, admin, state, created_at_u FROM (
		SELECT m.access_level AS level, m.expires_at, m.created_at, CASE WHEN m.source_kind = ? AND m.source_id = ? THEN 0 ELSE 1 END AS inherited,
			u.id, u.username, u.name, u.email, u.admin, u.state, u.created_at AS created_at_u
		FROM members m JOIN users u ON u.id = m.user_id
		WHERE (m.expires_at = 0 OR m.expires_at > ?) AND ((m.source_kind = ? AND m.source_id = ?)
			OR (m.source_kind = 'namespace' AND ? LIKE '%/' || m.source_id || '/%'))
		) all_members GROUP BY id, username, name, email, admin, state, created_at_u`
	// Re-alias so that ORDER BY u.id and x.id work on the outer query.
	q = "SELECT level, expires_at, created_at, inherited, id, username, name, email, admin, state, created_at_u FROM (" + q + ") u"
	return q, []any{src.Kind, src.ID, now, src.Kind, src.ID, ancestry}, nil
}

// sourceAncestry returns the ancestry string of the namespace src lives in
// (the namespace itself for groups).
func (s *Store) sourceAncestry(ctx context.Context, src Source) (string, error) {
	q := "SELECT ancestry FROM namespaces WHERE id = ?"
	if src.Kind == "project" {
		q = "SELECT n.ancestry FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE p.id = ?"
	}
	var a string
	err := s.inRead(ctx, func(t *tx) error { return t.queryRow(ctx, q, src.ID).Scan(&a) })
	if err != nil {
		return "", fmt.Errorf("%s %d: %w", src.Kind, src.ID, err)
	}
	return a, nil
}

// AccessLevel returns a user's effective role on a project: the highest of
// a direct membership, a membership of any ancestor group, and ownership of
// the personal namespace the project lives in. NoAccess if none.
func (s *Store) AccessLevel(ctx context.Context, userID int64, src Source) (gantry.AccessLevel, error) {
	if userID == 0 {
		return gantry.NoAccess, nil
	}
	m, err := s.Member(ctx, src, userID, true)
	level := m.AccessLevel
	if err != nil {
		if !isNotFound(err) {
			return 0, err
		}
		level = gantry.NoAccess
	}
	if src.Kind == "project" && level < gantry.Owner {
		var owner int64
		err := s.inRead(ctx, func(t *tx) error {
			return t.queryRow(ctx, "SELECT COALESCE(n.owner_id, 0) FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE p.id = ?", src.ID).Scan(&owner)
		})
		if err != nil {
			return 0, fmt.Errorf("project %d: %w", src.ID, s.mapErr(err))
		}
		if owner == userID {
			level = gantry.Owner
		}
	}
	return level, nil
}
