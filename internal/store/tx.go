package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// tx is one write transaction with the events and audit entries it carries.
type tx struct {
	*sql.Tx
	s      *Store
	actor  atende.Actor
	now    time.Time
	events []atende.Event
}

// write runs fn in a transaction on behalf of a, commits, then publishes the
// events fn emitted. Nothing is published if anything fails. On SQLite the
// transaction is shared with other writes of the moment (group commit).
func (s *Store) write(ctx context.Context, kind string, a atende.Actor, fn func(*tx) error) (err error) {
	if s.writes != nil {
		return s.groupWrite(ctx, kind, a, fn)
	}
	start := time.Now()
	defer func() { s.observe(kind, start, err) }()
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", kind, mapErr(err))
	}
	t := &tx{Tx: sqlTx, s: s, actor: a, now: s.now()}
	defer func() {
		if err != nil {
			t.Rollback()
		}
	}()
	if err = fn(t); err != nil {
		return mapErr(err)
	}
	if err = t.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", kind, mapErr(err))
	}
	if s.bus != nil && len(t.events) > 0 {
		s.bus.Publish(context.WithoutCancel(ctx), t.events...)
	}
	return nil
}

// read runs a read-only query function and records its metrics.
func (s *Store) read(kind string, fn func() error) (err error) {
	start := time.Now()
	defer func() { s.observe(kind, start, err) }()
	return mapErr(fn())
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), t.s.q(query), args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	return t.QueryRowContext(context.Background(), t.s.q(query), args...)
}

// execOne runs an UPDATE or DELETE that must touch exactly one row; zero rows
// means the row is gone (not found) or its version moved on (precondition).
func (t *tx) execOne(notFound error, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return notFound
	}
	return nil
}

// emit stores a domain event in the outbox; it is published after commit.
func (t *tx) emit(typ, subject string, perm atende.Permission, data any) error {
	return t.emitTo(typ, subject, perm, "", data)
}

// emitTo stores a personal event: see atende.Event.Audience.
func (t *tx) emitTo(typ, subject string, perm atende.Permission, audience string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", typ, err)
	}
	e := atende.Event{TenantID: t.actor.TenantID, Type: typ, Subject: subject, Perm: perm, Audience: audience, Data: b, At: t.now}
	if err := t.queryRow(`INSERT INTO events (tenant_id, type, subject, perm, audience, data, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.TenantID, e.Type, e.Subject, string(e.Perm), e.Audience, string(e.Data), e.At).Scan(&e.ID); err != nil {
		return fmt.Errorf("store event %s: %w", typ, err)
	}
	t.events = append(t.events, e)
	return nil
}

// audit records an administrative change with the state before and after.
func (t *tx) audit(action, entity, entityID string, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return err
	}
	a, err := enc(after)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO audit_log (id, tenant_id, actor_kind, actor_id, actor_name, ip, action, entity, entity_id, before_json, after_json, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		atende.NewID(), t.actor.TenantID, t.actor.Kind, t.actor.UserID, t.actor.Name, t.actor.IP, action, entity, entityID, b, a, t.now)
	return err
}

// change audits and emits one administrative change in one call: the audit
// action and the event type share a name, such as "queue.updated".
func (t *tx) change(action, entity, id string, perm atende.Permission, before, after any) error {
	if err := t.audit(action, entity, id, before, after); err != nil {
		return err
	}
	return t.emit(action, id, perm, after)
}

// mapErr turns database errors callers decide on into domain errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *atende.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return atende.Errorf(atende.ENotFound, "not found")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &atende.Error{Code: atende.EConflict, Message: "already exists", Field: uniqueField(pe.ConstraintName)}
		case "23503":
			return atende.Errorf(atende.EInvalid, "refers to something that does not exist")
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &atende.Error{Code: atende.EConflict, Message: "already exists", Field: uniqueField(se.Error())}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return atende.Errorf(atende.EInvalid, "refers to something that does not exist")
		}
	}
	return err
}

// uniqueField guesses the input field a unique violation is about from the
// constraint name (PostgreSQL) or message (SQLite).
func uniqueField(s string) string {
	for _, f := range []string{"slug", "email", "protocol", "code", "key", "name", "value", "client_id"} {
		if strings.Contains(s, f) {
			if f == "value" {
				return "identities.value"
			}
			return f
		}
	}
	return ""
}

// jsonText encodes v for a JSON TEXT column.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // only our own types reach here
	}
	return string(b)
}

// fromJSON decodes a JSON TEXT column into v.
func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode column: %w", err)
	}
	return nil
}

// nullTime converts an optional time for a nullable column.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// timePtr converts a scanned nullable time.
func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// tenantHas reports whether table holds a row with id in the actor's tenant.
// table is always one of ours, never input.
func (t *tx) tenantHas(table, id string) (bool, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? AND id = ?`, t.actor.TenantID, id).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// rowLock locks the rows a change reads on PostgreSQL, so two concurrent
// updates serialise and the second sees the first's version. SQLite needs
// none: its write transactions start with an immediate lock.
func (t *tx) rowLock() string {
	if t.s.dialect == Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// removed audits and announces a deletion: the audit keeps the state before;
// the event carries it too, so subscribers know what went away.
func (t *tx) removed(action, entity, id string, before any) error {
	if err := t.audit(action, entity, id, before, nil); err != nil {
		return err
	}
	return t.emit(action, id, atende.PermConfigRead, before)
}
