// Package storetest opens real stores for the tests of packages built on
// the store: SQLite in a temporary directory always, and PostgreSQL on a
// fresh schema when the test server answers (ATENDE_TEST_POSTGRES, default
// the local server), with a clear skip line when it does not.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// PostgresURL is the PostgreSQL server tests use when it answers.
func PostgresURL() string {
	if u := os.Getenv("ATENDE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

func pgAvailable() error {
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	return pgErr
}

// PostgresDSN creates a fresh schema, dropped when the test ends, and
// returns a DSN that uses it; it skips the test when no server answers.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if err := pgAvailable(); err != nil {
		t.Skipf("skipped: no PostgreSQL at %s (%v)", PostgresURL(), err)
	}
	schema := fmt.Sprintf("t_%d_%s", time.Now().UnixNano(), strings.ReplaceAll(atende.NewID()[24:], "-", ""))
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	sep := "?"
	if strings.Contains(PostgresURL(), "?") {
		sep = "&"
	}
	return PostgresURL() + sep + "search_path=" + schema
}

// Open opens and migrates a store with cfg, closed when the test ends.
func Open(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// ForEach runs fn on a fresh SQLite store, and on a fresh PostgreSQL schema
// when the server answers; cfg supplies the bus, clock and so on.
func ForEach(t *testing.T, cfg store.Config, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		c := cfg
		c.DSN, c.DataDir = "", t.TempDir()
		fn(t, Open(t, c))
	})
	t.Run("postgres", func(t *testing.T) {
		c := cfg
		c.DSN = PostgresDSN(t)
		fn(t, Open(t, c))
	})
}
