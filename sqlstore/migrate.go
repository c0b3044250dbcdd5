package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// ErrSchemaTooNew is returned by Open for a database whose schema was
// written by a newer version of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this package")

type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations returns the dialect's migrations in version order. Each file
// is named NNNN_description.sql; its statements are separated by a
// semicolon at the end of a line.
func migrations(dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, path.Join("migrations", dir))
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %q", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", dir, name))
		if err != nil {
			return nil, err
		}
		m := migration{version: v, name: name}
		for _, s := range strings.Split(string(b), ";\n") {
			var lines []string
			for _, l := range strings.Split(s, "\n") {
				if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				m.stmts = append(m.stmts, strings.Join(lines, "\n"))
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s out of sequence", m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int {
	ms, err := migrations("sqlite")
	if err != nil {
		panic(err) // the embedded files are part of the build
	}
	return len(ms)
}

// migrate applies the migrations newer than the database's version in one
// transaction, serialized against other processes running Open at the
// same time.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.d.migrations)
	if err != nil {
		return err
	}
	return s.retry(ctx, func() error {
		unlock := s.lockWriter()
		defer unlock()
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if s.d.postgres {
			// A fixed advisory lock key for migrations.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7295310265170212641)"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL
)`); err != nil {
			return err
		}
		var cur sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&cur); err != nil {
			return err
		}
		if int(cur.Int64) > len(ms) {
			return fmt.Errorf("%w: version %d, this package knows %d", ErrSchemaTooNew, cur.Int64, len(ms))
		}
		for _, m := range ms[cur.Int64:] {
			for _, st := range m.stmts {
				if _, err := tx.ExecContext(ctx, st); err != nil {
					return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO schema_version (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)"), m.version); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
}
