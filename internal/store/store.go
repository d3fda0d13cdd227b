// Package store keeps atende's domain in SQLite (the default, embedded) or
// PostgreSQL (to scale out). One implementation serves both: the SQL is
// written once with "?" placeholders and rewritten for PostgreSQL, and the
// schema differs only in a couple of type names.
//
// Every write runs in one transaction together with the domain events it
// causes (the outbox) and the audit entry, so an acknowledged change, its
// event and its audit trail are durable together or not at all.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
	"github.com/prometheus/client_golang/prometheus"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where the store lives.
type Config struct {
	// DSN is a postgres:// URL, or empty for SQLite in DataDir.
	DSN     string
	DataDir string
	Bus     atende.Bus   // where committed events are published; may be nil
	Clock   atende.Clock // nil: the system clock
	Logger  *slog.Logger
	// Metrics, when set, receives the store's query metrics.
	Metrics prometheus.Registerer
}

// Store is the SQL implementation of atende's persistence.
type Store struct {
	dialect Dialect
	wdb     *sql.DB // writes; a single connection on SQLite
	rdb     *sql.DB // reads
	bus     atende.Bus
	clock   atende.Clock
	log     *slog.Logger

	rebound   sync.Map // query text -> rewritten for the dialect
	closeOnce sync.Once

	opDuration *prometheus.HistogramVec
	opErrors   *prometheus.CounterVec
	batchSize  prometheus.Histogram

	// Group commit (SQLite): writes queue here for the committer.
	writes        chan *writeReq
	stopWrites    chan struct{}
	committerDone chan struct{}
}

// Open connects to the database named by cfg, creating the SQLite file and
// its directory when needed. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{bus: cfg.Bus, clock: cfg.Clock, log: cfg.Logger}
	if s.clock == nil {
		s.clock = atende.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	switch {
	case strings.HasPrefix(cfg.DSN, "postgres://") || strings.HasPrefix(cfg.DSN, "postgresql://"):
		s.dialect = Postgres
		s.wdb, err = sql.Open("pgx", cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.wdb.SetMaxOpenConns(32)
		s.wdb.SetMaxIdleConns(32)
		s.wdb.SetConnMaxIdleTime(5 * time.Minute)
		s.rdb = s.wdb
	case cfg.DSN == "" || strings.HasPrefix(cfg.DSN, "sqlite:") || strings.HasPrefix(cfg.DSN, "file:"):
		s.dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(cfg.DSN, "sqlite:"), "file:")
		if path == "" {
			if cfg.DataDir == "" {
				return nil, errors.New("open sqlite: no data directory")
			}
			if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
			path = filepath.Join(cfg.DataDir, "atende.db")
		}
		if s.wdb, err = openSQLite(path, false); err != nil {
			return nil, err
		}
		// One writer: SQLite serialises writes anyway, and one connection
		// means no SQLITE_BUSY between our own goroutines.
		s.wdb.SetMaxOpenConns(1)
		if s.rdb, err = openSQLite(path, true); err != nil {
			s.wdb.Close()
			return nil, err
		}
		s.rdb.SetMaxOpenConns(8)
		// As many kept idle as may be open: database/sql keeps 2 by
		// default, so under concurrent reads it closed and reopened
		// SQLite connections (schema parse, pragmas, empty statement
		// cache) all the time.
		s.rdb.SetMaxIdleConns(8)
	default:
		return nil, fmt.Errorf("open store: DSN must be empty (SQLite in the data directory), sqlite:PATH or postgres://...; got scheme %q", schemeOf(cfg.DSN))
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.initMetrics(cfg.Metrics)
	if s.dialect == SQLite {
		s.startCommitter()
	}
	return s, nil
}

func schemeOf(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Scheme
	}
	return "none"
}

func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	// WAL lets readers run beside the writer; synchronous=FULL makes every
	// commit durable on disk before it returns (fsync of the WAL).
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_time_format", "sqlite")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	}
	db, err := sql.Open(sqliteDriverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// boolLiteral writes a boolean constant the dialect understands.
func (s *Store) boolLiteral(b bool) string {
	switch {
	case s.dialect == Postgres && b:
		return "TRUE"
	case s.dialect == Postgres:
		return "FALSE"
	case b:
		return "1"
	}
	return "0"
}

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close stops the committer, answering queued writes, and closes the
// database connections.
func (s *Store) Close() error {
	if s.writes != nil {
		s.closeOnce.Do(func() { close(s.stopWrites) })
		<-s.committerDone
	}
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// now returns the store's clock truncated to microseconds, the precision both
// databases keep, so a value read back equals the value written.
func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// q rewrites a query written with "?" placeholders for the store's dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
}

func (s *Store) initMetrics(reg prometheus.Registerer) {
	s.opDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atende_store_operation_duration_seconds",
		Help:    "Duration of store operations (one transaction or query).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"kind"})
	s.opErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atende_store_operation_errors_total",
		Help: "Store operations that failed with an internal error.",
	}, []string{"kind"})
	s.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "atende_store_group_commit_writes",
		Help:    "Writes committed together in one SQLite transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	if reg != nil {
		reg.MustRegister(s.opDuration, s.opErrors, s.batchSize)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "atende_store_open_connections",
			Help: "Open database connections.",
		}, func() float64 { return float64(s.wdb.Stats().OpenConnections) }))
	}
}

func (s *Store) observe(kind string, start time.Time, err error) {
	s.opDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if err != nil && atende.ErrorCode(err) == atende.EInternal {
		s.opErrors.WithLabelValues(kind).Inc()
	}
}
