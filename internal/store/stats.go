package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

// StatsProgress is where the statistics fold stopped: the last event folded
// and the fold's memory. Zero and nil before the first fold.
func (s *Store) StatsProgress(ctx context.Context) (int64, []byte, error) {
	var last int64
	var state string
	err := s.read("stats.progress", func() error {
		err := s.wdb.QueryRowContext(ctx, `SELECT last_event_id, state FROM stats_progress WHERE id = 1`).Scan(&last, &state)
		if errors.Is(err, sql.ErrNoRows) {
			last, state = 0, ""
			return nil
		}
		return err
	})
	if state == "" {
		return last, nil, err
	}
	return last, []byte(state), err
}

// EventsSince returns every tenant's events with id greater than afterID and
// stored before 'before', in id order, at most limit. The statistics fold
// reads a little behind the present (before = now − a lag) so that an event
// whose transaction committed after one with a higher id is not passed over.
func (s *Store) EventsSince(ctx context.Context, afterID int64, before time.Time, limit int) ([]atende.Event, error) {
	return s.events(ctx, "event.since", `WHERE id > ? AND at < ?`, afterID, before.UTC(), limit)
}

// SaveStats adds the rows' counters to the stored ones and moves the fold's
// progress from prevID to lastID with its new memory, in one transaction.
// Several nodes may fold; the first to save a stretch wins and the others
// get report.ErrMoved.
func (s *Store) SaveStats(ctx context.Context, prevID, lastID int64, state []byte, rows map[report.Key]*report.Row) error {
	return s.write(ctx, "stats.save", atende.SystemActor(""), func(tx *tx) error {
		res, err := tx.exec(`UPDATE stats_progress SET last_event_id = ?, state = ?, updated_at = ? WHERE id = 1 AND last_event_id = ?`,
			lastID, string(state), tx.now, prevID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if prevID != 0 {
				return report.ErrMoved
			}
			if _, err := tx.exec(`INSERT INTO stats_progress (id, last_event_id, state, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				lastID, string(state), tx.now); err != nil {
				return err
			}
			var got int64
			if err := tx.queryRow(`SELECT last_event_id FROM stats_progress WHERE id = 1`).Scan(&got); err != nil {
				return err
			}
			if got != lastID {
				return report.ErrMoved
			}
		}
		return tx.addStats(rows)
	})
}

// addStats adds rows to the stored counters, a hundred rows per statement:
// one read of the rows already there, one multi-row upsert.
func (tx *tx) addStats(rows map[report.Key]*report.Row) error {
	keyOf := func(tenant, dim, id string, at time.Time) string {
		return tenant + "|" + dim + "|" + id + "|" + strconv.FormatInt(at.UnixNano(), 10)
	}
	keys := make([]report.Key, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += rowsPerStatement {
		batch := keys[start:min(start+rowsPerStatement, len(keys))]
		var cond strings.Builder
		var args []any
		for i, k := range batch {
			if i > 0 {
				cond.WriteString(" OR ")
			}
			cond.WriteString("(tenant_id = ? AND dimension = ? AND key = ? AND interval_start = ?)")
			args = append(args, k.TenantID, string(k.Dim), k.ID, k.Interval.UTC())
		}
		stored := map[string]string{}
		res, err := tx.QueryContext(context.Background(), tx.s.q(`SELECT tenant_id, dimension, key, interval_start, data FROM interval_stats WHERE `+cond.String()), args...)
		if err != nil {
			return err
		}
		for res.Next() {
			var tenant, dim, id, data string
			var at time.Time
			if err := res.Scan(&tenant, &dim, &id, &at, &data); err != nil {
				res.Close()
				return err
			}
			stored[keyOf(tenant, dim, id, at)] = data
		}
		res.Close()
		if err := res.Err(); err != nil {
			return err
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO interval_stats (tenant_id, dimension, key, interval_start, data) VALUES `)
		args = args[:0]
		for i, k := range batch {
			var cur report.Row
			if data, ok := stored[keyOf(k.TenantID, string(k.Dim), k.ID, k.Interval)]; ok {
				if err := decodeRow([]byte(data), &cur); err != nil {
					return fmt.Errorf("interval stats %v: %w", k, err)
				}
			}
			cur.Add(rows[k])
			b, err := json.Marshal(&cur)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, k.TenantID, string(k.Dim), k.ID, k.Interval.UTC(), string(b))
		}
		q.WriteString(` ON CONFLICT (tenant_id, dimension, key, interval_start) DO UPDATE SET data = excluded.data`)
		if _, err := tx.exec(q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// IntervalStats returns a tenant's rows of one dimension with intervals in
// [from, to), in order of interval then key; ids, when given, narrows them to
// those keys.
func (s *Store) IntervalStats(ctx context.Context, tenantID string, dim report.Dimension, from, to time.Time, ids ...string) ([]report.Entry, error) {
	out, err := s.intervalStats(ctx, tenantID, dim, from, to, ids, s.dialect == SQLite)
	if errors.Is(err, errTimeText) {
		out, err = s.intervalStats(ctx, tenantID, dim, from, to, ids, false)
	}
	return out, err
}

// errTimeText is a stored time in a form intervalStats does not read.
var errTimeText = errors.New("interval start not in the SQLite driver's format")

// intervalStats reads the rows. With timeText (SQLite), interval starts are
// read as the stored text and parsed once per interval, not once per row as
// the driver would: rows come in order of interval, some 10^5 of them in a
// month's report, and parsing was a sixth of its time.
func (s *Store) intervalStats(ctx context.Context, tenantID string, dim report.Dimension, from, to time.Time, ids []string, timeText bool) ([]report.Entry, error) {
	out := []report.Entry{}
	err := s.read("stats.list", func() error {
		query, args := intervalStatsQuery(tenantID, dim, from, to, ids)
		if timeText {
			query = strings.Replace(query, `SELECT key, interval_start,`, `SELECT key, CAST(interval_start AS TEXT),`, 1)
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var data, atText sql.RawBytes
		var lastText []byte
		var last time.Time
		sized := false
		for rows.Next() {
			r := report.Entry{Dim: dim}
			if timeText {
				if err := rows.Scan(&r.ID, &atText, &data); err != nil {
					return err
				}
				if lastText == nil || !bytes.Equal(atText, lastText) {
					t, err := parseSQLiteTime(string(atText))
					if err != nil {
						return err
					}
					lastText, last = append(lastText[:0], atText...), t
				}
				r.Interval = last
			} else if err := rows.Scan(&r.ID, &r.Interval, &data); err != nil {
				return err
			}
			if err := decodeRow(data, &r.Row); err != nil {
				return fmt.Errorf("interval stats %s %s: %w", dim, r.ID, err)
			}
			r.Interval = r.Interval.UTC()
			if !sized && len(out) > 0 && !r.Interval.Equal(out[0].Interval) {
				sized = true
				// The first interval's keys, times the intervals in the
				// range: the room for a month of rows, allocated once
				// rather than grown by copying (some 50 MB of them).
				room := len(out) * int(to.Sub(from)/report.IntervalSize+1)
				out = append(make([]report.Entry, 0, min(room, 1<<20)), out...)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// parseSQLiteTime reads a time as the SQLite driver writes it
// ("2006-01-02 15:04:05.999999999-07:00"); anything else is errTimeText,
// and the driver reads it.
func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errTimeText
}

func intervalStatsQuery(tenantID string, dim report.Dimension, from, to time.Time, ids []string) (string, []any) {
	query := `SELECT key, interval_start, data FROM interval_stats WHERE tenant_id = ? AND dimension = ? AND interval_start >= ? AND interval_start < ?`
	args := []any{tenantID, string(dim), from.UTC(), to.UTC()}
	if dim == report.DimQueue || dim == report.DimChannel {
		// A literal, so that the planner may read the partial index of
		// queue and channel rows (migration 0018), which a parameter cannot
		// be proved to match. dim is one of these two constants.
		query = `SELECT key, interval_start, data FROM interval_stats WHERE tenant_id = ? AND dimension = '` + string(dim) + `' AND interval_start >= ? AND interval_start < ?`
		args = []any{tenantID, from.UTC(), to.UTC()}
	}
	if len(ids) > 0 {
		query += ` AND key IN (` + placeholders(len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	return query + ` ORDER BY interval_start, key`, args
}
