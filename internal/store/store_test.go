package store

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
)

// pgURL is the PostgreSQL server store tests use when it answers.
func pgURL() string {
	if u := os.Getenv("ATENDE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

// pgAvailable reports whether the test PostgreSQL answers, once per run.
func pgAvailable() error {
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", pgURL())
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

// OpenTestPostgres returns a store on a fresh schema of the test PostgreSQL,
// or skips the test with a clear line when no server answers.
func openTestPostgres(t testing.TB) *Store {
	t.Helper()
	if err := pgAvailable(); err != nil {
		t.Skipf("skipped: no PostgreSQL at %s (%v)", pgURL(), err)
	}
	schema := fmt.Sprintf("t_%d_%s", time.Now().UnixNano(), strings.ReplaceAll(atende.NewID()[24:], "-", ""))
	admin, err := sql.Open("pgx", pgURL())
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
	if strings.Contains(pgURL(), "?") {
		sep = "&"
	}
	s, err := Open(context.Background(), Config{DSN: pgURL() + sep + "search_path=" + schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func openTestSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// forEachStore runs fn against SQLite, and against PostgreSQL when reachable.
func forEachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openTestSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, openTestPostgres(t)) })
}

// newTenant creates a tenant for a test and returns an admin-like actor in it.
func newTenant(t *testing.T, s *Store, name string) (*atende.Tenant, atende.Actor) {
	t.Helper()
	tn := &atende.Tenant{Name: name, Locale: "es-ES", TimeZone: "Europe/Madrid"}
	if err := s.CreateTenant(context.Background(), atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	return tn, atende.SystemActor(tn.ID)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := atende.ErrorCode(err); got != code || err == nil {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		n, err := s.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second Migrate applied %d migrations, want 0", n)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("SchemaVersion = %d, %v", v, err)
		}
	})
}

func TestTenantCreateUpdateVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tn, a := newTenant(t, s, "Acme Telecom")
		if tn.Slug != "acme-telecom" || tn.Language != "es" {
			t.Fatalf("defaults: slug %q language %q", tn.Slug, tn.Language)
		}
		got, err := s.Tenant(ctx, tn.ID)
		if err != nil || got.Name != "Acme Telecom" || !got.CreatedAt.Equal(tn.CreatedAt) {
			t.Fatalf("Tenant = %+v, %v", got, err)
		}
		up, err := s.UpdateTenant(ctx, a, 1, func(t *atende.Tenant) error { t.Name = "Acme"; return nil })
		if err != nil || up.Version != 2 || up.Name != "Acme" {
			t.Fatalf("UpdateTenant = %+v, %v", up, err)
		}
		_, err = s.UpdateTenant(ctx, a, 1, func(t *atende.Tenant) error { t.Name = "Stale"; return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		_, err = s.UpdateTenant(ctx, a, 0, func(t *atende.Tenant) error { t.TimeZone = "Mars/Olympus"; return nil })
		wantCode(t, err, atende.EInvalid)
		dup := &atende.Tenant{Name: "Other", Slug: "acme-telecom"}
		wantCode(t, s.CreateTenant(ctx, atende.SystemActor(""), dup), atende.EConflict)
	})
}
