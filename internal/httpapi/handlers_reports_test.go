package httpapi

import (
	"context"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende/internal/report"
)

// TestReportsRollIntervalsAndDeriveKPIs stores two intervals of a queue and
// one of an agent, then reads them back by interval, by day (on Madrid's
// clock) and as CSV, with the KPIs computed from the summed counters.
func TestReportsRollIntervalsAndDeriveKPIs(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	madrid, _ := time.LoadLocation("Europe/Madrid")
	tenant, queue, agent := a.tenant["a"].ID, a.ids["queue"], a.users["agent"].ID
	at := func(clock string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", clock, madrid)
		return t.UTC()
	}
	rows := map[report.Key]*report.Row{
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimQueue, ID: queue}: {Queue: report.QueueCounters{
			Offered: 12, Handled: 9, Abandoned: 3, ShortAbandoned: 1, AnsweredInSL: 7, WaitHandledMs: 100_000, LongestWaitMs: 61_000,
			Completed: 6, TalkMs: 1_500_000, HoldMs: 100_000, WrapMs: 350_000}},
		{TenantID: tenant, Interval: at("2026-03-10 09:15"), Dim: report.DimQueue, ID: queue}: {Queue: report.QueueCounters{
			Offered: 8, Handled: 5, Abandoned: 3, ShortAbandoned: 1, AnsweredInSL: 4, WaitHandledMs: 82_000, LongestWaitMs: 30_000,
			Completed: 4, TalkMs: 900_000, HoldMs: 200_000, WrapMs: 250_000}},
		// 00:30 on the 11th in Madrid is still the 10th in UTC: it belongs to the 11th.
		{TenantID: tenant, Interval: at("2026-03-11 00:30"), Dim: report.DimQueue, ID: queue}: {Queue: report.QueueCounters{Offered: 1}},
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimAgent, ID: agent}: {Agent: report.AgentCounters{
			BusyMs: 600_000, WrapUpMs: 150_000, AvailableMs: 150_000, Completed: 3, TalkMs: 540_000, WrapMs: 90_000}},
		// Another tenant's row at the same time: never in tenant A's report.
		{TenantID: a.tenant["b"].ID, Interval: at("2026-03-10 09:00"), Dim: report.DimQueue, ID: queue}: {Queue: report.QueueCounters{Offered: 500}},
	}
	if err := a.store.SaveStats(ctx, 0, 1, []byte(`{}`), rows); err != nil {
		t.Fatal(err)
	}

	var byInterval reportOut[report.QueueLine]
	if r := a.do("GET", apiPrefix+"/reports/queues?from=2026-03-10", a.tokens["supervisor"], nil, nil, &byInterval); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if len(byInterval.Lines) != 2 || byInterval.Group != "interval" || byInterval.TimeZone != "Europe/Madrid" {
		t.Fatalf("report %+v", byInterval)
	}
	if l := byInterval.Lines[0]; l.Period != "2026-03-10T09:00:00+01:00" || l.Name != "Soporte" || l.Offered != 12 {
		t.Errorf("first line %+v", l)
	}
	// The day's total: 20 offered, 2 short abandons, 11 in SL of 18 counted;
	// ASA 182 s / 14; AHT 3,300 s / 10.
	total := byInterval.Totals[len(byInterval.Totals)-1]
	if total.Offered != 20 || *total.ServiceLevel != 11.0/18.0 || *total.ASASec != 13 || *total.AHTSec != 330 || *total.AbandonRate != 4.0/18.0 {
		t.Errorf("total %+v", total)
	}

	var byDay reportOut[report.QueueLine]
	a.do("GET", apiPrefix+"/reports/queues?from=2026-03-10&to=2026-03-11&group=day&queue_id="+queue, a.tokens["planner"], nil, nil, &byDay)
	if len(byDay.Lines) != 2 || byDay.Lines[0].Offered != 20 || byDay.Lines[1].Offered != 1 || byDay.Lines[1].Period != "2026-03-11T00:00:00+01:00" {
		t.Errorf("by day %+v", byDay.Lines)
	}
	// One task offered and not answered: 0 % within the threshold; no ASA.
	if sl := byDay.Lines[1].ServiceLevel; sl == nil || *sl != 0 || byDay.Lines[1].ASASec != nil {
		t.Errorf("the 11th: service level %v, ASA %v", sl, byDay.Lines[1].ASASec)
	}

	var agents reportOut[report.AgentLine]
	a.do("GET", apiPrefix+"/reports/agents?from=2026-03-10&team_id="+a.ids["team"], a.tokens["qa"], nil, nil, &agents)
	if len(agents.Lines) != 1 || *agents.Lines[0].Occupancy != 750.0/900.0 || *agents.Lines[0].AHTSec != 210 || agents.Lines[0].Name != "User agent" {
		t.Errorf("agents %+v", agents.Lines)
	}

	r := a.do("GET", apiPrefix+"/reports/queues?from=2026-03-10&format=csv", a.tokens["admin"], nil, nil, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(r.Body)
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "period" || recs[1][3] != "12" || recs[1][8] != "0.6364" {
		t.Errorf("csv %q %v", body, err)
	}

	// Tenant B sees only its own row; an agent may not read reports.
	var b reportOut[report.QueueLine]
	a.do("GET", apiPrefix+"/reports/queues?from=2026-03-10", a.tokens["b-admin"], nil, nil, &b)
	if len(b.Lines) != 1 || b.Lines[0].Offered != 500 || b.TimeZone != "America/Sao_Paulo" {
		t.Errorf("tenant B %+v", b.Lines)
	}
	if r := a.do("GET", apiPrefix+"/reports/queues", a.tokens["agent"], nil, nil, nil); r.StatusCode != 403 {
		t.Errorf("agent: %d", r.StatusCode)
	}
	for _, bad := range []string{"from=10/03/2026", "from=2026-03-10&to=2026-03-01", "group=week", "format=xml", "from=2020-01-01&to=2026-01-01", "queue_id=not-an-id"} {
		if r := a.do("GET", apiPrefix+"/reports/queues?"+bad, a.tokens["admin"], nil, nil, nil); r.StatusCode != 400 {
			t.Errorf("%s: %d", bad, r.StatusCode)
		}
	}
}
