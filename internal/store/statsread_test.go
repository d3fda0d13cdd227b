package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

func TestIntervalStatsReadsOneTenantsRowsInOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, _ := newTenant(t, s, "Read A")
		b, _ := newTenant(t, s, "Read B")
		day := time.Date(2026, 9, 1, 3, 0, 0, 0, time.UTC)
		q1, q2 := "b"+atende.NewID()[1:], "a"+atende.NewID()[1:] // q2 sorts first
		rows := map[report.Key]*report.Row{}
		for i := range 8 {
			at := day.Add(time.Duration(i) * report.IntervalSize)
			rows[report.Key{TenantID: a.ID, Interval: at, Dim: report.DimQueue, ID: q1}] = &report.Row{Queue: report.QueueCounters{Offered: int64(i + 1)}}
			rows[report.Key{TenantID: a.ID, Interval: at, Dim: report.DimQueue, ID: q2}] = &report.Row{Queue: report.QueueCounters{Offered: 100}}
			rows[report.Key{TenantID: a.ID, Interval: at, Dim: report.DimAgent, ID: "ag"}] = &report.Row{Agent: report.AgentCounters{AwayMs: 5, StateByReason: map[string]int64{"lunch": 5}}}
			rows[report.Key{TenantID: b.ID, Interval: at, Dim: report.DimQueue, ID: q1}] = &report.Row{Queue: report.QueueCounters{Offered: 9}}
		}
		if err := s.SaveStats(ctx, 0, 1, []byte(`{}`), rows); err != nil {
			t.Fatal(err)
		}
		got, err := s.IntervalStats(ctx, a.ID, report.DimQueue, day.Add(report.IntervalSize), day.Add(7*report.IntervalSize))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 12 {
			t.Fatalf("%d rows, want 6 intervals of 2 queues", len(got))
		}
		for i, e := range got {
			wantID, wantOffered := q2, int64(100)
			if i%2 == 1 {
				wantID, wantOffered = q1, int64(i/2+2)
			}
			if e.ID != wantID || e.Queue.Offered != wantOffered || !e.Interval.Equal(day.Add(time.Duration(i/2+1)*report.IntervalSize)) || e.Interval.Location() != time.UTC {
				t.Fatalf("row %d: %s %v offered %d", i, e.ID, e.Interval, e.Queue.Offered)
			}
		}
		only, err := s.IntervalStats(ctx, a.ID, report.DimQueue, day, day.Add(time.Hour), q1)
		if err != nil || len(only) != 4 || only[0].ID != q1 {
			t.Fatalf("narrowed to one queue: %d rows, %v", len(only), err)
		}
		agents, err := s.IntervalStats(ctx, a.ID, report.DimAgent, day, day.Add(time.Hour))
		if err != nil || len(agents) != 4 || agents[0].Agent.StateByReason["lunch"] != 5 {
			t.Fatalf("agent rows: %+v, %v", agents, err)
		}
	})
}

// The queue report's read must come from the partial index of queue rows,
// in order, not from one table page per row and a sort.
func TestQueueRowsAreReadFromTheirIndex(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		from := time.Date(2026, 9, 1, 3, 0, 0, 0, time.UTC)
		query, args := intervalStatsQuery("t", report.DimQueue, from, from.AddDate(0, 1, 0), nil)
		conn, err := s.rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := `EXPLAIN QUERY PLAN `
		if s.dialect == Postgres {
			// An empty table is best read whole; say it is not.
			if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			defer conn.ExecContext(ctx, `RESET enable_seqscan`)
			explain = `EXPLAIN `
		}
		rows, err := conn.QueryContext(ctx, s.q(explain+query), args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var plan strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(any)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				plan.WriteString(strings.TrimSpace(toString(*v.(*any))) + " ")
			}
			plan.WriteString("\n")
		}
		p := plan.String()
		if !strings.Contains(p, "interval_stats_queue_rows") || strings.Contains(strings.ToUpper(p), "SORT") || strings.Contains(p, "TEMP B-TREE") {
			t.Fatalf("plan:\n%s", p)
		}
	})
}

func toString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

// A stored time in another form than the driver writes is still read (by
// the driver), not misread.
func TestIntervalStatsReadsTimesInOtherForms(t *testing.T) {
	s := openTestSQLite(t)
	ctx := context.Background()
	a, _ := newTenant(t, s, "Times")
	if _, err := s.wdb.ExecContext(ctx, `INSERT INTO interval_stats (tenant_id, dimension, key, interval_start, data) VALUES (?, 'queue', 'q', '2026-09-01 03:15:00Z', '{"queue":{"offered":2}}')`, a.ID); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 9, 1, 3, 0, 0, 0, time.UTC)
	got, err := s.IntervalStats(ctx, a.ID, report.DimQueue, from, from.Add(time.Hour))
	if err != nil || len(got) != 1 || !got[0].Interval.Equal(from.Add(15*time.Minute)) || got[0].Queue.Offered != 2 {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := parseSQLiteTime("2026-09-01 03:15:00Z"); err != errTimeText {
		t.Fatalf("the Z form should go to the driver, got %v", err)
	}
	if at, err := parseSQLiteTime("2026-09-01 03:15:00.5+00:00"); err != nil || !at.Equal(from.Add(15*time.Minute+500*time.Millisecond)) {
		t.Fatalf("%v %v", at, err)
	}
}
