package store

import (
	"context"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/wallboard"
)

// TestAlertsAreAnnouncedOnce: an alert is stored with one alert.raised event
// however many times (or nodes) raise it at one level, again when its level
// changes, and with one alert.cleared when it ends; another tenant sees none.
func TestAlertsAreAnnouncedOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, _ := newTenant(t, s, "Alerts A")
		b, _ := newTenant(t, s, "Alerts B")
		since := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		al := wallboard.Alert{QueueID: atende.NewID(), Kind: wallboard.KindLongestWait, Level: wallboard.LevelWarning, Value: 61, Threshold: 60, Since: since}
		for range 2 {
			if err := s.RaiseAlert(ctx, a.ID, al); err != nil {
				t.Fatal(err)
			}
		}
		al.Level, al.Value = wallboard.LevelCritical, 121
		if err := s.RaiseAlert(ctx, a.ID, al); err != nil {
			t.Fatal(err)
		}
		got, err := s.ActiveAlerts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Level != wallboard.LevelCritical || got[0].Value != 121 || !got[0].Since.Equal(since) || got[0].QueueID != al.QueueID {
			t.Fatalf("active alerts: %+v", got)
		}
		if other, _ := s.ActiveAlerts(ctx, b.ID); len(other) != 0 {
			t.Fatalf("tenant B sees %+v", other)
		}
		for range 2 {
			if err := s.ClearAlert(ctx, a.ID, al); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.ActiveAlerts(ctx, a.ID); len(got) != 0 {
			t.Fatalf("after clearing: %+v", got)
		}
		evs, err := s.Events(ctx, a.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range evs {
			if e.Type == "alert.raised" || e.Type == "alert.cleared" {
				if e.Perm != atende.PermWallboardRead || e.Subject != al.QueueID {
					t.Errorf("%s: perm %s subject %s", e.Type, e.Perm, e.Subject)
				}
				seen = append(seen, e.Type)
			}
		}
		if len(seen) != 3 || seen[0] != "alert.raised" || seen[1] != "alert.raised" || seen[2] != "alert.cleared" {
			t.Fatalf("events: %v", seen)
		}
		if evs, _ := s.Events(ctx, b.ID, 0, 100); len(evs) != 0 {
			for _, e := range evs {
				if e.Type == "alert.raised" {
					t.Fatalf("tenant B got %s", e.Type)
				}
			}
		}
	})
}

// TestStatsTodayReadsTheFoldConsistently: today's rows of one tenant with
// the fold's progress and memory saved with them.
func TestStatsTodayReadsTheFoldConsistently(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, _ := newTenant(t, s, "Stats A")
		b, _ := newTenant(t, s, "Stats B")
		day := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC) // midnight in Madrid
		q := atende.NewID()
		rows := map[report.Key]*report.Row{
			{TenantID: a.ID, Interval: day.Add(-15 * time.Minute), Dim: report.DimQueue, ID: q}: {Queue: report.QueueCounters{Offered: 5}},
			{TenantID: a.ID, Interval: day, Dim: report.DimQueue, ID: q}:                        {Queue: report.QueueCounters{Offered: 2, Handled: 1}},
			{TenantID: a.ID, Interval: day.Add(time.Hour), Dim: report.DimAgent, ID: "ag"}:      {Agent: report.AgentCounters{Handled: 1}},
			{TenantID: b.ID, Interval: day, Dim: report.DimQueue, ID: q}:                        {Queue: report.QueueCounters{Offered: 9}},
		}
		if err := s.SaveStats(ctx, 0, 42, []byte(`{"tasks":{}}`), rows); err != nil {
			t.Fatal(err)
		}
		st, err := s.StatsToday(ctx, a.ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if st.LastEventID != 42 || string(st.FoldState) != `{"tasks":{}}` {
			t.Fatalf("progress %d %s", st.LastEventID, st.FoldState)
		}
		if len(st.Queues) != 1 || st.Queues[0].Row.Queue.Offered != 2 || len(st.Agents) != 1 || st.Agents[0].ID != "ag" {
			t.Fatalf("today's rows: %+v %+v", st.Queues, st.Agents)
		}
	})
}

// TestWallboardConfigNamesAgentsAndTeams: the wallboard's configuration has
// the active agents with their names, teams and stored state.
func TestWallboardConfigNamesAgentsAndTeams(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tn, a := newTenant(t, s, "Config A")
		ag := &atende.User{Email: "ana@example.com", Name: "Ana", Roles: []atende.Role{atende.RoleAgent}, Active: true}
		sup := &atende.User{Email: "sup@example.com", Name: "Sup", Roles: []atende.Role{atende.RoleSupervisor}, Active: true}
		for _, u := range []*atende.User{ag, sup} {
			if err := s.CreateUser(ctx, a, u, ""); err != nil {
				t.Fatal(err)
			}
		}
		team := &atende.Team{Name: "Norte", MemberIDs: []string{ag.ID}}
		if err := s.CreateTeam(ctx, a, team); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateQueue(ctx, a, &atende.Queue{Name: "Q", Channels: []atende.Channel{atende.ChannelChat}}); err != nil {
			t.Fatal(err)
		}
		cfg, err := s.WallboardConfig(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TimeZone != "Europe/Madrid" || len(cfg.Queues) != 1 || len(cfg.Teams) != 1 || cfg.Teams[0].Name != "Norte" {
			t.Fatalf("config: %+v", cfg)
		}
		if len(cfg.Agents) != 1 || cfg.Agents[0].Name != "Ana" || len(cfg.Agents[0].TeamIDs) != 1 || cfg.Agents[0].TeamIDs[0] != team.ID ||
			cfg.Agents[0].Status != atende.StatusOffline {
			t.Fatalf("agents: %+v", cfg.Agents)
		}
		if tasks, err := s.LiveTasks(ctx, tn.ID); err != nil || len(tasks) != 0 {
			t.Fatalf("live tasks: %v %v", tasks, err)
		}
	})
}
