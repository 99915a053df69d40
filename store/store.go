// Package store persists Gantry's state in SQL. One implementation serves
// every backend: the backend packages (store/sqlite, later store/postgres)
// open the connections, bring their migrations and a Dialect, and the
// contract suite in store/storetest runs against each of them.
//
// Every exported method is one transaction: it opens it, calls private
// helpers that take a *sql.Tx, and commits. Errors wrap the root package's
// sentinels (gantry.ErrNotFound, gantry.ErrConflict, …).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gantry-ci/gantry"
)

// Dialect holds what differs between SQL backends.
type Dialect interface {
	// Rebind rewrites the "?" placeholders the store writes into the
	// backend's own form.
	Rebind(query string) string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation(err error) bool
}

// Store is the persistence of the whole forge. It is safe for concurrent use.
type Store struct {
	write   *sql.DB // serialises writers (SQLite allows one at a time)
	read    *sql.DB // may be the same pool as write
	dialect Dialect
	now     func() time.Time
}

// New returns a Store over already-migrated connections. write and read may
// be the same *sql.DB.
func New(write, read *sql.DB, d Dialect) *Store {
	return &Store{write: write, read: read, dialect: d, now: time.Now}
}

// Close closes both pools.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// SetClock replaces the store's clock; tests use it for stable timestamps.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// tx is a write transaction with the store's dialect at hand.
type tx struct {
	*sql.Tx
	d   Dialect
	now time.Time
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.d.Rebind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, t.d.Rebind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// insert runs an INSERT … RETURNING id and returns the id.
func (t *tx) insert(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, err
}

// update runs q and reports gantry.ErrNotFound when no row matched.
func (t *tx) update(ctx context.Context, q string, args ...any) error {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return gantry.ErrNotFound
	}
	return nil
}

// inWrite runs fn in a write transaction and commits it when fn succeeds.
func (s *Store) inWrite(ctx context.Context, fn func(*tx) error) error {
	return s.in(ctx, s.write, fn)
}

// inRead runs fn in a read transaction, so that it sees one snapshot.
func (s *Store) inRead(ctx context.Context, fn func(*tx) error) error {
	return s.in(ctx, s.read, fn)
}

func (s *Store) in(ctx context.Context, db *sql.DB, fn func(*tx) error) error {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{Tx: sqlTx, d: s.dialect, now: s.now().UTC().Truncate(time.Microsecond)}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return s.mapErr(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return s.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// mapErr turns driver errors into the root package's sentinels.
func (s *Store) mapErr(err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", gantry.ErrNotFound, err)
	case s.dialect.IsUniqueViolation(err):
		return fmt.Errorf("%w: %w", gantry.ErrConflict, err)
	}
	return err
}

// micros stores times as Unix microseconds: portable across backends,
// sortable, and as precise as GitLab's API shows them. Zero stays zero.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// Page selects a window of a listing; pages count from 1.
type Page struct {
	Number int
	Size   int
}

func (p Page) limitOffset() (int, int) {
	return p.size(), p.Offset()
}

func (p Page) size() int {
	if p.Size <= 0 {
		return 20
	}
	return p.Size
}

// Offset is how many items come before the page (a Size of 0 or less
// counts as 20, a Number below 1 as 1). It saturates at math.MaxInt
// instead of overflowing, so an absurd page number is past the end of any
// listing rather than a negative offset. Every offset of a Page, in SQL
// or in memory, is computed here.
func (p Page) Offset() int {
	size, n := p.size(), max(p.Number, 1)
	if n-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (n - 1) * size
}

func isNotFound(err error) bool { return errors.Is(err, gantry.ErrNotFound) }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
