package report

import (
	"math"
	"testing"
	"time"
)

// A hand-computed interval: 20 tasks offered; 14 answered (11 of them within
// the 20 s threshold) with waits summing to 182 s; 6 abandoned, 2 of them
// short (< 5 s); 10 completed with 2,400 s talk, 300 s hold and 600 s wrap-up.
func handQueue() QueueCounters {
	return QueueCounters{
		Offered: 20, Handled: 14, Abandoned: 6, ShortAbandoned: 2, AnsweredInSL: 11,
		WaitHandledMs: 182_000, WaitAbandonedMs: 90_000, LongestWaitMs: 61_000,
		Completed: 10, TalkMs: 2_400_000, HoldMs: 300_000, WrapMs: 600_000, Transferred: 2,
	}
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func TestQueueKPIsOnAHandComputedInterval(t *testing.T) {
	c := handQueue()
	// Abandon rate: (6 − 2) / (20 − 2) = 4/18.
	got, ok := c.AbandonRate()
	if !ok {
		t.Fatal("abandon rate: no data")
	}
	near(t, "abandon rate", got, 4.0/18.0)
	// Service level: 11 / (20 − 2) = 61.1 %.
	got, _ = c.ServiceLevel()
	near(t, "service level", got, 11.0/18.0)
	// ASA: 182 s / 14 = 13 s.
	if asa, _ := c.ASA(); asa != 13*time.Second {
		t.Errorf("ASA = %v, want 13s", asa)
	}
	// AHT: (2,400 + 300 + 600) s / 10 = 330 s.
	if aht, _ := c.AHT(); aht != 330*time.Second {
		t.Errorf("AHT = %v, want 5m30s", aht)
	}
	// Average time to abandon: 90 s / 6 = 15 s.
	if ata, _ := c.AverageAbandonTime(); ata != 15*time.Second {
		t.Errorf("time to abandon = %v, want 15s", ata)
	}
	got, _ = c.TransferRate()
	near(t, "transfer rate", got, 2.0/14.0)
}

func TestKPIsWithNothingToMeasureAreNoData(t *testing.T) {
	var c QueueCounters
	for name, f := range map[string]func() (float64, bool){
		"abandon rate": c.AbandonRate, "service level": c.ServiceLevel, "transfer rate": c.TransferRate,
	} {
		if _, ok := f(); ok {
			t.Errorf("%s of an empty interval reports data", name)
		}
	}
	if _, ok := c.ASA(); ok {
		t.Error("ASA of an empty interval reports data")
	}
	// Only short abandons: nothing counted, no rate (not a division by zero).
	c = QueueCounters{Offered: 3, Abandoned: 3, ShortAbandoned: 3}
	if _, ok := c.ServiceLevel(); ok {
		t.Error("service level with only short abandons reports data")
	}
	var s SurveyCounters
	if _, ok := s.NPS(); ok {
		t.Error("NPS with no answers reports data")
	}
	var a AgentCounters
	if _, ok := a.Occupancy(); ok {
		t.Error("occupancy with no time reports data")
	}
}

func TestIntervalsAddUp(t *testing.T) {
	// Two halves of the hand interval sum to it; the longest wait is the max.
	a := QueueCounters{Offered: 12, Handled: 9, Abandoned: 3, ShortAbandoned: 1, AnsweredInSL: 7,
		WaitHandledMs: 100_000, WaitAbandonedMs: 40_000, LongestWaitMs: 61_000,
		Completed: 6, TalkMs: 1_500_000, HoldMs: 100_000, WrapMs: 350_000, Transferred: 1}
	b := QueueCounters{Offered: 8, Handled: 5, Abandoned: 3, ShortAbandoned: 1, AnsweredInSL: 4,
		WaitHandledMs: 82_000, WaitAbandonedMs: 50_000, LongestWaitMs: 30_000,
		Completed: 4, TalkMs: 900_000, HoldMs: 200_000, WrapMs: 250_000, Transferred: 1}
	var sum QueueCounters
	sum.Add(a)
	sum.Add(b)
	if sum != handQueue() {
		t.Fatalf("sum = %+v\nwant  %+v", sum, handQueue())
	}
}

func TestAgentKPIs(t *testing.T) {
	// An 8-hour day: 5 h busy, 1 h wrap-up, 1 h available, 1 h away (30 min
	// lunch, 30 min training).
	h := int64(time.Hour / time.Millisecond)
	c := AgentCounters{BusyMs: 5 * h, WrapUpMs: h, AvailableMs: h, AwayMs: h,
		StateByReason: map[string]int64{"lunch": h / 2, "training": h / 2},
		Completed:     40, TalkMs: 4 * h, HoldMs: h / 2, WrapMs: h}
	// Occupancy: (5 + 1) / (5 + 1 + 1) = 6/7.
	got, _ := c.Occupancy()
	near(t, "occupancy", got, 6.0/7.0)
	// Utilisation: (5 + 1) / 8 = 75 %.
	got, _ = c.Utilisation()
	near(t, "utilisation", got, 0.75)
	// AHT: (4 + 0.5 + 1) h / 40 = 8 min 15 s.
	if aht, _ := c.AHT(); aht != 8*time.Minute+15*time.Second {
		t.Errorf("AHT = %v, want 8m15s", aht)
	}
	var team AgentCounters
	team.Add(c)
	team.Add(AgentCounters{AwayMs: h, StateByReason: map[string]int64{"lunch": h}})
	if team.StateByReason["lunch"] != 3*h/2 || team.StateByReason["training"] != h/2 || team.LoggedInMs() != 9*h {
		t.Errorf("team = %+v", team)
	}
}

func TestSurveyKPIs(t *testing.T) {
	var s SurveyCounters
	// CSAT answers 5, 4, 3, 1, 5: satisfied 3 of 5 = 60 %; mean 18/5 = 3.6.
	for _, score := range []int{5, 4, 3, 1, 5} {
		s.CountCSAT(score)
	}
	got, _ := s.CSAT()
	near(t, "CSAT", got, 0.6)
	got, _ = s.AverageCSAT()
	near(t, "mean CSAT", got, 3.6)
	// NPS answers 10, 9, 9, 8, 7, 6, 0, 10: promoters 4, passives 2,
	// detractors 2 of 8: 50 % − 25 % = 25.
	for _, score := range []int{10, 9, 9, 8, 7, 6, 0, 10} {
		s.CountNPS(score)
	}
	got, _ = s.NPS()
	near(t, "NPS", got, 25)
}

func TestFCR(t *testing.T) {
	got, ok := FCR(40, 34)
	if !ok {
		t.Fatal("no data")
	}
	near(t, "FCR", got, 0.85)
	if _, ok := FCR(0, 0); ok {
		t.Error("FCR with nothing resolved reports data")
	}
}

func TestIntervalStartFollowsTheLocalClock(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	kathmandu, _ := time.LoadLocation("Asia/Kathmandu")
	for _, tc := range []struct {
		loc       *time.Location
		at, start string // UTC
	}{
		{madrid, "2026-03-10T09:07:59Z", "2026-03-10T09:00:00Z"},
		{madrid, "2026-03-10T09:15:00Z", "2026-03-10T09:15:00Z"},
		// +05:30: 09:07 UTC is 14:37 local, interval 14:30 local = 09:00 UTC.
		{kolkata, "2026-03-10T09:07:00Z", "2026-03-10T09:00:00Z"},
		// +05:45: 09:07 UTC is 14:52 local, interval 14:45 local = 09:00 UTC;
		// 09:16 UTC is 15:01 local, interval 15:00 local = 09:15 UTC.
		{kathmandu, "2026-03-10T09:07:00Z", "2026-03-10T09:00:00Z"},
		{kathmandu, "2026-03-10T09:16:00Z", "2026-03-10T09:15:00Z"},
		// Madrid goes back at 01:00 UTC on 2026-10-25: 02:00-03:00 local
		// happens twice; each gets its own intervals.
		{madrid, "2026-10-25T00:20:00Z", "2026-10-25T00:15:00Z"},
		{madrid, "2026-10-25T01:20:00Z", "2026-10-25T01:15:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		want, _ := time.Parse(time.RFC3339, tc.start)
		if got := IntervalStart(at, tc.loc); !got.Equal(want) {
			t.Errorf("%s in %s: %v, want %v", tc.at, tc.loc, got, want)
		}
	}
	// Kathmandu intervals start at :00/:15/:30/:45 on the local clock.
	for _, s := range Intervals(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC), kathmandu) {
		if m := s.In(kathmandu).Minute(); m%15 != 0 {
			t.Fatalf("interval at %v local", s.In(kathmandu))
		}
	}
	// A day in Madrid has 96 intervals; the day clocks go back has 100.
	day := func(y int, m time.Month, d int) int {
		from := time.Date(y, m, d, 0, 0, 0, 0, madrid)
		return len(Intervals(from, from.AddDate(0, 0, 1), madrid))
	}
	if n := day(2026, 3, 10); n != 96 {
		t.Errorf("ordinary day: %d intervals", n)
	}
	if n := day(2026, 10, 25); n != 100 {
		t.Errorf("day clocks go back: %d intervals", n)
	}
	if n := day(2026, 3, 29); n != 92 {
		t.Errorf("day clocks go forward: %d intervals", n)
	}
}
