package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

// FCRProgress is the last event the first-contact resolution fold has
// folded; 0 before the first.
func (s *Store) FCRProgress(ctx context.Context) (int64, error) {
	var last int64
	err := s.read("fcr.progress", func() error {
		err := s.wdb.QueryRowContext(ctx, `SELECT last_event_id FROM fcr_progress WHERE id = 1`).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			last = 0
			return nil
		}
		return err
	})
	return last, err
}

// FoldFCR moves the fold's progress from prevID to lastID, runs fold with
// the resolutions of this transaction and adds the counters it returns, all
// in one transaction: a crash repeats nothing and skips nothing. Another
// node that folded the stretch first makes it report.ErrMoved.
func (s *Store) FoldFCR(ctx context.Context, prevID, lastID int64, fold func(report.FCRBook) (map[report.Key]*report.FCRCounters, error)) error {
	return s.write(ctx, "fcr.fold", atende.SystemActor(""), func(tx *tx) error {
		res, err := tx.exec(`UPDATE fcr_progress SET last_event_id = ? WHERE id = 1 AND last_event_id = ?`, lastID, prevID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var got int64
			err := tx.queryRow(`SELECT last_event_id FROM fcr_progress WHERE id = 1`).Scan(&got)
			switch {
			case errors.Is(err, sql.ErrNoRows) && prevID == 0:
				if _, err := tx.exec(`INSERT INTO fcr_progress (id, last_event_id) VALUES (1, ?)`, lastID); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				return report.ErrMoved
			}
		}
		rows, err := fold(fcrBook{tx})
		if err != nil {
			return err
		}
		for k, c := range rows {
			if _, err := tx.exec(`INSERT INTO fcr_stats (tenant_id, dimension, key, interval_start, resolved, repeated) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, dimension, key, interval_start) DO UPDATE SET resolved = fcr_stats.resolved + excluded.resolved, repeated = fcr_stats.repeated + excluded.repeated`,
				k.TenantID, string(k.Dim), k.ID, k.Interval.UTC(), c.Resolved, c.Repeated); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetFCR drops the resolutions that no longer stand and were resolved
// before 'before'.
func (s *Store) ForgetFCR(ctx context.Context, before time.Time) error {
	return s.write(ctx, "fcr.forget", atende.SystemActor(""), func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM fcr_resolutions WHERE standing = ? AND resolved_at < ?`, false, before.UTC())
		return err
	})
}

// fcrBook is report.FCRBook on a write transaction.
type fcrBook struct{ tx *tx }

const fcrCols = `id, tenant_id, conversation_id, contact_id, resolved_at, interval_start, queue_id, agent_id, channel, standing, repeated`

func scanResolution(row interface{ Scan(...any) error }) (*report.Resolution, error) {
	var r report.Resolution
	if err := row.Scan(&r.ID, &r.TenantID, &r.ConversationID, &r.ContactID, &r.ResolvedAt, &r.Interval, &r.QueueID, &r.AgentID, &r.Channel, &r.Standing, &r.Repeated); err != nil {
		return nil, err
	}
	r.ResolvedAt, r.Interval = r.ResolvedAt.UTC(), r.Interval.UTC()
	return &r, nil
}

func (b fcrBook) Standing(tenantID, conversationID string) (*report.Resolution, error) {
	r, err := scanResolution(b.tx.queryRow(`SELECT `+fcrCols+` FROM fcr_resolutions WHERE tenant_id = ? AND conversation_id = ? AND standing = ?`, tenantID, conversationID, true))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

func (b fcrBook) Unrepeated(tenantID, contactID string, since time.Time) ([]report.Resolution, error) {
	rows, err := b.tx.QueryContext(context.Background(), b.tx.s.q(`SELECT `+fcrCols+` FROM fcr_resolutions
		WHERE tenant_id = ? AND contact_id = ? AND resolved_at >= ? AND repeated = ? ORDER BY resolved_at, id`), tenantID, contactID, since.UTC(), false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []report.Resolution
	for rows.Next() {
		r, err := scanResolution(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (b fcrBook) Add(r *report.Resolution) error {
	r.ID = atende.NewID()
	_, err := b.tx.exec(`INSERT INTO fcr_resolutions (`+fcrCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.ConversationID, r.ContactID, r.ResolvedAt.UTC(), r.Interval.UTC(), r.QueueID, r.AgentID, r.Channel, r.Standing, r.Repeated)
	return err
}

func (b fcrBook) Update(r *report.Resolution) error {
	if !r.Standing && r.Repeated {
		// Nothing can count against it any more.
		_, err := b.tx.exec(`DELETE FROM fcr_resolutions WHERE tenant_id = ? AND id = ?`, r.TenantID, r.ID)
		return err
	}
	_, err := b.tx.exec(`UPDATE fcr_resolutions SET standing = ?, repeated = ? WHERE tenant_id = ? AND id = ?`, r.Standing, r.Repeated, r.TenantID, r.ID)
	return err
}

// FCRStats returns a tenant's first-contact resolution counters of one
// dimension with intervals in [from, to), in order of interval then key;
// ids, when given, narrows them to those keys.
func (s *Store) FCRStats(ctx context.Context, tenantID string, dim report.Dimension, from, to time.Time, ids ...string) ([]report.Entry, error) {
	out := []report.Entry{}
	err := s.read("fcr.list", func() error {
		query := `SELECT key, interval_start, resolved, repeated FROM fcr_stats WHERE tenant_id = ? AND dimension = ? AND interval_start >= ? AND interval_start < ?`
		args := []any{tenantID, string(dim), from.UTC(), to.UTC()}
		if len(ids) > 0 {
			query += ` AND key IN (` + placeholders(len(ids)) + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(query+` ORDER BY interval_start, key`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := report.Entry{Dim: dim}
			if err := rows.Scan(&e.ID, &e.Interval, &e.FCR.Resolved, &e.FCR.Repeated); err != nil {
				return err
			}
			e.Interval = e.Interval.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}
