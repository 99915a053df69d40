// Package sqlite opens Gantry's store on an embedded SQLite database
// (modernc.org/sqlite: pure Go, so the binary stays static).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gantry-ci/gantry/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database file at path, applies
// pending migrations and returns the store. SQLite has one writer at a time,
// so writes go through a single connection that starts its transactions
// IMMEDIATE (no lock upgrades, no deadlocks) while reads use a pool in WAL
// mode and never block on it.
func Open(ctx context.Context, path string) (*store.Store, error) {
	write, err := openPool(path, 1, "immediate")
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, write, migrations, "migrations"); err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	read, err := openPool(path, 8, "deferred")
	if err != nil {
		write.Close()
		return nil, err
	}
	return store.New(write, read, dialect{}), nil
}

func openPool(path string, conns int, txlock string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", txlock)
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

type dialect struct{}

func (dialect) Rebind(q string) string { return q }

func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return strings.Contains(e.Error(), "UNIQUE constraint failed")
}

// Check runs SQLite's integrity check on the database file at path and
// returns an error describing any corruption.
func Check(ctx context.Context, path string) error {
	db, err := openPool(path, 1, "deferred")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("database %s is corrupt: %s", path, strings.Join(problems, "; "))
	}
	return rows.Err()
}
