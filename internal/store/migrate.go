package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

var (
	reTimestamptz = regexp.MustCompile(`\bTIMESTAMPTZ\b`)
	reIdentity    = regexp.MustCompile(`\bIDENTITY\b`)
)

// forDialect rewrites the common schema text for one database.
func forDialect(d Dialect, sql string) string {
	if d == SQLite {
		// The driver reads TIMESTAMP columns back as time.Time.
		sql = reTimestamptz.ReplaceAllString(sql, "TIMESTAMP")
		return reIdentity.ReplaceAllString(sql, "INTEGER PRIMARY KEY AUTOINCREMENT")
	}
	return reIdentity.ReplaceAllString(sql, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
}

// Migrate applies every migration not yet applied, each in its own
// transaction, and reports how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	all, err := migrations()
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range all {
		n, err := s.applyMigration(ctx, m)
		if err != nil {
			return applied, err
		}
		applied += n
	}
	return applied, nil
}

func (s *Store) applyMigration(ctx context.Context, m migration) (int, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		// Two nodes starting at once must not both migrate.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7420051)`); err != nil {
			return 0, fmt.Errorf("lock migrations: %w", err)
		}
	}
	var exists int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&exists); err != nil {
		return 0, err
	}
	if exists > 0 {
		return 0, nil
	}
	for _, stmt := range splitStatements(forDialect(s.dialect, m.sql)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return 0, fmt.Errorf("migration %s: %w\n%s", m.name, err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`), m.version, m.name); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit migration %s: %w", m.name, err)
	}
	return 1, nil
}

// SchemaVersion returns the highest applied migration, 0 when none is.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// splitStatements splits a migration on semicolons at line ends, dropping
// comments. Migrations hold no semicolons inside literals.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(line, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}
