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

// TestFCRAndSurveyReports stores first-contact resolution and survey counters
// for two intervals and reads them back by queue, channel and agent, as JSON
// and CSV, for the tenant that owns them only.
func TestFCRAndSurveyReports(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	madrid, _ := time.LoadLocation("Europe/Madrid")
	tenant, queue, agent := a.tenant["a"].ID, a.ids["queue"], a.users["agent"].ID
	at := func(clock string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", clock, madrid)
		return t.UTC()
	}
	fcr := map[report.Key]*report.FCRCounters{
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimQueue, ID: queue}:           {Resolved: 8, Repeated: 2},
		{TenantID: tenant, Interval: at("2026-03-10 09:15"), Dim: report.DimQueue, ID: queue}:           {Resolved: 2, Repeated: 1},
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimChannel, ID: "chat"}:        {Resolved: 10, Repeated: 3},
		{TenantID: a.tenant["b"].ID, Interval: at("2026-03-10 09:00"), Dim: report.DimQueue, ID: queue}: {Resolved: 99},
	}
	prev, err := a.store.FCRProgress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.FoldFCR(ctx, prev, prev+1, func(report.FCRBook) (map[report.Key]*report.FCRCounters, error) { return fcr, nil }); err != nil {
		t.Fatal(err)
	}
	var csat, nps report.SurveyCounters
	for _, s := range []int{5, 4, 3, 1} {
		csat.CountCSAT(s)
	}
	for _, s := range []int{10, 9, 8, 6, 0} {
		nps.CountNPS(s)
	}
	rows := map[report.Key]*report.Row{
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimAgent, ID: agent}: {Survey: csat},
		{TenantID: tenant, Interval: at("2026-03-10 09:15"), Dim: report.DimAgent, ID: agent}: {Survey: nps},
		// Queue figures without answers: not a line of the survey report.
		{TenantID: tenant, Interval: at("2026-03-10 09:00"), Dim: report.DimQueue, ID: queue}: {Queue: report.QueueCounters{Offered: 3}},
	}
	if err := a.store.SaveStats(ctx, 0, 1, []byte(`{}`), rows); err != nil {
		t.Fatal(err)
	}

	var f reportOut[report.FCRLine]
	if r := a.do("GET", apiPrefix+"/reports/fcr?from=2026-03-10&group=day", a.tokens["supervisor"], nil, nil, &f); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	// The day: 10 resolved, 3 repeated, 7 at first contact: 70 %; long past, so settled.
	if len(f.Lines) != 1 || f.Lines[0].Name != "Soporte" || f.Lines[0].Resolved != 10 || f.Lines[0].FirstContact != 7 || *f.Lines[0].FCR != 0.7 || f.Lines[0].Provisional {
		t.Errorf("fcr by queue %+v", f.Lines)
	}
	var fc reportOut[report.FCRLine]
	a.do("GET", apiPrefix+"/reports/fcr?from=2026-03-10&by=channel&id=chat", a.tokens["planner"], nil, nil, &fc)
	if len(fc.Lines) != 1 || fc.Lines[0].Name != "chat" || fc.Lines[0].Period != "2026-03-10T09:00:00+01:00" || fc.Lines[0].Repeated != 3 {
		t.Errorf("fcr by channel %+v", fc.Lines)
	}

	var sv reportOut[report.SurveyLine]
	a.do("GET", apiPrefix+"/reports/surveys?from=2026-03-10&by=agent&group=total", a.tokens["qa"], nil, nil, &sv)
	// CSAT 2 of 4 = 50 %, mean 13/4; NPS (2 − 2) / 5 = 0 with 1 passive.
	if len(sv.Lines) != 1 || sv.Lines[0].Name != "User agent" || *sv.Lines[0].CSAT != 0.5 || *sv.Lines[0].AverageCSAT != 3.25 ||
		*sv.Lines[0].NPS != 0 || sv.Lines[0].NPSPassives != 1 || sv.Lines[0].NPSAnswers != 5 {
		t.Errorf("surveys by agent %+v", sv.Lines)
	}
	var sq reportOut[report.SurveyLine]
	a.do("GET", apiPrefix+"/reports/surveys?from=2026-03-10", a.tokens["admin"], nil, nil, &sq)
	if len(sq.Lines) != 0 {
		t.Errorf("queue rows without answers: %+v", sq.Lines)
	}

	r := a.do("GET", apiPrefix+"/reports/surveys?from=2026-03-10&by=agent&format=csv", a.tokens["admin"], nil, nil, nil)
	body, _ := io.ReadAll(r.Body)
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][5] != "csat" || recs[1][5] != "0.5000" || recs[2][11] != "0.0000" || recs[2][9] != "1" {
		t.Errorf("csv %q %v", body, err)
	}
	r = a.do("GET", apiPrefix+"/reports/fcr?from=2026-03-10&format=csv", a.tokens["admin"], nil, nil, nil)
	body, _ = io.ReadAll(r.Body)
	if recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err != nil || len(recs) != 3 || recs[1][6] != "0.7500" || recs[1][7] != "false" {
		t.Errorf("fcr csv %q %v", body, err)
	}

	// Tenant B sees only its own; an agent may not read these reports.
	var b reportOut[report.FCRLine]
	a.do("GET", apiPrefix+"/reports/fcr?from=2026-03-10", a.tokens["b-admin"], nil, nil, &b)
	if len(b.Lines) != 1 || b.Lines[0].Resolved != 99 {
		t.Errorf("tenant B %+v", b.Lines)
	}
	var bs reportOut[report.SurveyLine]
	a.do("GET", apiPrefix+"/reports/surveys?from=2026-03-10&by=agent", a.tokens["b-admin"], nil, nil, &bs)
	if len(bs.Lines) != 0 {
		t.Errorf("tenant B surveys %+v", bs.Lines)
	}
	for _, path := range []string{"/reports/fcr", "/reports/surveys"} {
		if r := a.do("GET", apiPrefix+path, a.tokens["agent"], nil, nil, nil); r.StatusCode != 403 {
			t.Errorf("agent %s: %d", path, r.StatusCode)
		}
		for _, bad := range []string{"by=team", "by=channel&id=fax", "id=not-an-id", "group=week"} {
			if r := a.do("GET", apiPrefix+path+"?"+bad, a.tokens["admin"], nil, nil, nil); r.StatusCode != 400 {
				t.Errorf("%s?%s: %d", path, bad, r.StatusCode)
			}
		}
	}
}
