package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the numbered migrations in dir of fsys that db has not
// seen yet, each in its own transaction. Files are named NNNN_what.sql.
// Migrations only expand the schema (new tables, new nullable or defaulted
// columns) so that the previous release keeps working on the new schema;
// contractions wait a release. It returns how many it applied.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) (int, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := migrationFiles(fsys, dir)
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, f := range files {
		done, err := migrationDone(ctx, db, f.version)
		if err != nil {
			return applied, err
		}
		if done {
			continue
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, f.name))
		if err != nil {
			return applied, fmt.Errorf("read migration %s: %w", f.name, err)
		}
		if err := applyMigration(ctx, db, f, string(body)); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

type migrationFile struct {
	version int
	name    string
}

func migrationFiles(fsys fs.FS, dir string) ([]migrationFile, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var files []migrationFile
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		files = append(files, migrationFile{version: v, name: e.Name()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}

func migrationDone(ctx context.Context, db *sql.DB, version int) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = "+strconv.Itoa(version)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	return n > 0, nil
}

func applyMigration(ctx context.Context, db *sql.DB, f migrationFile, body string) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", f.name, err)
	}
	defer func() { _ = t.Rollback() }()
	if _, err := t.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", f.name, err)
	}
	if _, err := t.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES ("+strconv.Itoa(f.version)+", '"+strings.ReplaceAll(f.name, "'", "''")+"')"); err != nil {
		return fmt.Errorf("migration %s: record: %w", f.name, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", f.name, err)
	}
	return nil
}
