package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry"
)

const userColumns = "u.id, u.username, u.name, u.email, u.admin, u.state, u.created_at"

func scanUser(row interface{ Scan(...any) error }) (gantry.User, error) {
	var u gantry.User
	var created int64
	var state string
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Admin, &state, &created); err != nil {
		return gantry.User{}, err
	}
	u.State = gantry.UserState(state)
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// CreateUser stores u with its password hash and creates the user's
// personal namespace (path = username). It fills in u.ID and u.CreatedAt.
// A taken username, email or namespace path is gantry.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *gantry.User, passwordHash string) error {
	return s.inWrite(ctx, func(t *tx) error {
		if u.State == "" {
			u.State = gantry.UserActive
		}
		u.CreatedAt = t.now
		id, err := t.insert(ctx, `INSERT INTO users (username, name, email, password_hash, admin, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Username, u.Name, u.Email, passwordHash, u.Admin, string(u.State), micros(t.now))
		if err != nil {
			return fmt.Errorf("insert user %q: %w", u.Username, err)
		}
		u.ID = id
		ns := gantry.Namespace{Kind: gantry.UserNamespace, Name: u.Name, Path: u.Username, OwnerID: id, Visibility: gantry.Public}
		if err := t.insertNamespace(ctx, &ns, nil); err != nil {
			return fmt.Errorf("create namespace of %q: %w", u.Username, err)
		}
		return nil
	})
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id int64) (gantry.User, error) {
	var u gantry.User
	err := s.inRead(ctx, func(t *tx) (err error) {
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", id))
		return err
	})
	if err != nil {
		return gantry.User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UserByUsername returns the user whose username matches, ignoring case.
func (s *Store) UserByUsername(ctx context.Context, username string) (gantry.User, error) {
	var u gantry.User
	err := s.inRead(ctx, func(t *tx) (err error) {
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE lower(u.username) = ?", strings.ToLower(username)))
		return err
	})
	if err != nil {
		return gantry.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// UserLogin returns the user whose username or email is login, with the
// stored password hash, for password authentication.
func (s *Store) UserLogin(ctx context.Context, login string) (gantry.User, string, error) {
	var u gantry.User
	var hash string
	err := s.inRead(ctx, func(t *tx) error {
		row := t.queryRow(ctx, "SELECT "+userColumns+", u.password_hash FROM users u WHERE lower(u.username) = ? OR lower(u.email) = ?",
			strings.ToLower(login), strings.ToLower(login))
		var created int64
		var state string
		if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Admin, &state, &created, &hash); err != nil {
			return err
		}
		u.State, u.CreatedAt = gantry.UserState(state), fromMicros(created)
		return nil
	})
	if err != nil {
		return gantry.User{}, "", fmt.Errorf("user %q: %w", login, err)
	}
	return u, hash, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Username string // exact, case-insensitive
	Search   string // substring of username or name (and email, with SearchEmail)
	// SearchEmail makes Search match email addresses too. Addresses are
	// private: only administrators may search them (as in GitLab).
	SearchEmail bool
	Active      bool
	Blocked     bool
}

// ListUsers returns one page of users ordered by id, and the total count.
func (s *Store) ListUsers(ctx context.Context, f UserFilter, p Page) ([]gantry.User, int, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Username != "" {
		where, args = append(where, "lower(u.username) = ?"), append(args, strings.ToLower(f.Username))
	}
	if f.Search != "" {
		like := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		match := `lower(u.username) LIKE ? ESCAPE '\' OR lower(u.name) LIKE ? ESCAPE '\'`
		args = append(args, like, like)
		if f.SearchEmail {
			match += ` OR lower(u.email) LIKE ? ESCAPE '\'`
			args = append(args, like)
		}
		where = append(where, "("+match+")")
	}
	if f.Active {
		where = append(where, "u.state = 'active'")
	}
	if f.Blocked {
		where = append(where, "u.state = 'blocked'")
	}
	var users []gantry.User
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		cond := strings.Join(where, " AND ")
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM users u WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+userColumns+" FROM users u WHERE "+cond+" ORDER BY u.id LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		users, err = collect(rows, scanUser)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// SetUserPassword replaces the user's password hash.
func (s *Store) SetUserPassword(ctx context.Context, id int64, hash string) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, id)
	})
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", id, err)
	}
	return nil
}

// SetUserState blocks or unblocks a user. A missing user is
// gantry.ErrNotFound.
func (s *Store) SetUserState(ctx context.Context, id int64, state gantry.UserState) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE users SET state = ? WHERE id = ?", string(state), id)
	})
	if err != nil {
		return fmt.Errorf("set state of user %d: %w", id, err)
	}
	return nil
}

// CountUsers returns how many users exist (zero on a fresh install).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.inRead(ctx, func(t *tx) error {
		return t.queryRow(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
	})
	return n, err
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanInt64 reads a row of one integer column (ids), for collect.
func scanInt64(r interface{ Scan(...any) error }) (int64, error) {
	var n int64
	return n, r.Scan(&n)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
