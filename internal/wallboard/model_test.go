package wallboard

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
)

// fakeSource is the store as the model sees it, in memory.
type fakeSource struct {
	mu     sync.Mutex
	cfg    Config
	tasks  []*routing.Task
	stats  TodayStats
	events []atende.Event
	raised []Alert
}

func (f *fakeSource) WallboardConfig(context.Context, string) (*Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cfg
	return &c, nil
}
func (f *fakeSource) LiveTasks(context.Context, string) ([]*routing.Task, error) { return f.tasks, nil }
func (f *fakeSource) StatsToday(context.Context, string, time.Time) (*TodayStats, error) {
	s := f.stats
	return &s, nil
}
func (f *fakeSource) Events(_ context.Context, _ string, after int64, limit int) ([]atende.Event, error) {
	var out []atende.Event
	for _, e := range f.events {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}
func (f *fakeSource) ActiveAlerts(context.Context, string) ([]Alert, error) { return nil, nil }
func (f *fakeSource) RaiseAlert(_ context.Context, _ string, a Alert) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raised = append(f.raised, a)
	return nil
}
func (f *fakeSource) ClearAlert(context.Context, string, Alert) error { return nil }

const tenant = "00000000-0000-7000-8000-00000000000a"

func agentID(i int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", 1000+i) }
func queueID(i int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", 2000+i) }

// newSource is a tenant with n agents and one chat queue everyone serves.
func newSource(n int) *fakeSource {
	f := &fakeSource{cfg: Config{TimeZone: "Europe/Madrid", Teams: []TeamSummary{}}}
	q := atende.Queue{ID: queueID(0), Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat}, SLTargetPct: 80, SLThresholdSec: 20}
	f.cfg.Queues = []atende.Queue{q}
	for i := range n {
		f.cfg.Agents = append(f.cfg.Agents, AgentConfig{ID: agentID(i), Name: fmt.Sprintf("Agent %04d", i), Capacity: atende.Capacity{atende.ChannelChat: 2},
			Status: atende.StatusOffline})
	}
	return f
}

func agentEvent(id int64, agent string, s atende.AgentStatus, at time.Time) atende.Event {
	b, _ := json.Marshal(map[string]any{"agent": routing.AgentSnapshot{ID: agent, Status: s, Since: at}})
	return atende.Event{ID: id, TenantID: tenant, Type: "agent.state_changed", Subject: agent, Data: b, At: at}
}

func taskEvent(id int64, typ string, t routing.Task, at time.Time) atende.Event {
	b, _ := json.Marshal(map[string]any{"task": t})
	return atende.Event{ID: id, TenantID: tenant, Type: typ, Subject: t.ID, Data: b, At: at}
}

func startHub(t *testing.T, src Source, b atende.Bus) (*Hub, *Model) {
	t.Helper()
	h := NewHub(HubConfig{Source: src, Bus: b})
	t.Cleanup(h.Close)
	m, err := h.Model(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return h, m
}

// nextFrame waits for a frame newer than prev.
func nextFrame(t *testing.T, s *Subscription, prev *Frame) *Frame {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case <-s.C():
			if f, _ := s.Next(); f != nil && f.Newer(prev) {
				return f
			}
		case <-timeout:
			t.Fatal("no new frame")
		}
	}
}

// TestFramesReencodeOnlyWhatChangedAndCoalesce: a burst of changes to one
// agent among 500 makes at most a frame per 500 ms, and only that agent and
// its queue are encoded again; every other entry is the previous frame's.
func TestFramesReencodeOnlyWhatChangedAndCoalesce(t *testing.T) {
	src := newSource(500)
	b := bus.NewMemory(bus.MemoryConfig{})
	_, m := startHub(t, src, b)
	sub := m.Subscribe(t.Context())
	first := nextFrame(t, sub, nil)
	if len(first.Agents) != 500 || len(first.Queues) != 1 || first.Queues[0].View.Agents.Offline != 500 {
		t.Fatalf("first frame: %d agents, queue %+v", len(first.Agents), first.Queues[0].View)
	}
	now := time.Now()
	start := time.Now()
	statuses := []atende.AgentStatus{atende.StatusAvailable, atende.StatusAway, atende.StatusBusy}
	for i := range 90 {
		b.Publish(context.Background(), agentEvent(int64(100+i), agentID(7), statuses[i%3], now))
	}
	frames := 0
	var last *Frame
	for f := first; ; {
		f = nextFrame(t, sub, f)
		frames++
		last = f
		if v := f.Agents[7].View; v.Status == atende.StatusBusy && f.Queues[0].View.Agents.Busy == 1 {
			break // the last of the burst: event 89 is busy
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the burst showed after %v", d)
	}
	if frames > 3 {
		t.Errorf("%d frames for one burst", frames)
	}
	for i, a := range last.Agents {
		if same := a == first.Agents[i]; same == (i == 7) {
			t.Fatalf("agent %d: entry reused %v", i, same)
		}
	}
	if last.Queues[0] == first.Queues[0] || last.Queues[0].View.Agents.Offline != 499 {
		t.Fatalf("queue counts: %+v", last.Queues[0].View.Agents)
	}
}

// TestTodayStartsFromTheStatisticsAndFoldsOn: today's figures are the
// stored rows plus the events after the fold's progress; an event the stored
// statistics already hold is not counted twice.
func TestTodayStartsFromTheStatisticsAndFoldsOn(t *testing.T) {
	src := newSource(1)
	madrid, _ := time.LoadLocation("Europe/Madrid")
	now := time.Now()
	l := now.In(madrid)
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, madrid).UTC()
	src.stats = TodayStats{LastEventID: 10, Queues: []report.Entry{{ID: queueID(0), Interval: midnight, Dim: report.DimQueue,
		Row: report.Row{Queue: report.QueueCounters{Offered: 3, Handled: 2, AnsweredInSL: 2}}}}}
	// Stored after the fold's progress: a task arrived (caught up from the store).
	t1 := routing.Task{ID: "t1", Channel: atende.ChannelChat, QueueID: queueID(0), EnqueuedAt: now, QueuedAt: now, State: routing.TaskWaiting}
	src.events = []atende.Event{taskEvent(11, "task.created", t1, now)}
	src.tasks = []*routing.Task{&t1}
	b := bus.NewMemory(bus.MemoryConfig{})
	_, m := startHub(t, src, b)
	f, err := m.Frame(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	q := f.Queues[0].View
	if q.OfferedToday != 4 || q.HandledToday != 2 || q.Waiting != 1 || q.ServiceLevelToday == nil || *q.ServiceLevelToday != 50 {
		t.Fatalf("seeded: %+v", q.Figures)
	}
	sub := m.Subscribe(t.Context())
	// The bus repeats event 11 (caught up already) and one the statistics
	// held (9); then a new arrival.
	t2 := t1
	t2.ID = "t2"
	b.Publish(context.Background(), taskEvent(9, "task.created", t2, now), taskEvent(11, "task.created", t1, now),
		taskEvent(12, "task.created", routing.Task{ID: "t3", Channel: atende.ChannelChat, QueueID: queueID(0), EnqueuedAt: now, QueuedAt: now, State: routing.TaskWaiting}, now))
	for f := nextFrame(t, sub, f); ; f = nextFrame(t, sub, f) {
		if q := f.Queues[0].View; q.OfferedToday == 5 && q.Waiting == 3 {
			break
		} else if q.OfferedToday > 5 {
			t.Fatalf("counted twice: %+v", q.Figures)
		}
	}
}

// TestAlertsFollowTheThresholds: a queue whose task waits past the
// threshold raises a longest-wait alert, through the store.
func TestAlertsFollowTheThresholds(t *testing.T) {
	src := newSource(1)
	src.cfg.Queues[0].Routing.Alerts.LongestWaitAboveSec = 1
	src.cfg.Queues[0].Routing.Preset = atende.PresetSpain
	old := time.Now().Add(-150 * time.Second) // past 80 % of Spain's 3 minutes
	src.tasks = []*routing.Task{{ID: "t1", Channel: atende.ChannelChat, QueueID: queueID(0), EnqueuedAt: old, QueuedAt: old, State: routing.TaskWaiting}}
	_, m := startHub(t, src, bus.NewMemory(bus.MemoryConfig{}))
	deadline := time.Now().Add(3 * time.Second)
	for {
		src.mu.Lock()
		raised := append([]Alert(nil), src.raised...)
		src.mu.Unlock()
		if len(raised) == 2 {
			kinds := map[string]string{}
			for _, a := range raised {
				kinds[a.Kind] = a.Level
			}
			if kinds[KindLongestWait] != LevelCritical || kinds[KindLegalWait] != LevelWarning {
				t.Fatalf("raised %+v", raised)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("raised %+v", raised)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, _ := m.Frame(t.Context())
	if len(f.Queues[0].View.Alerts) != 2 {
		t.Fatalf("alerts on the queue: %+v", f.Queues[0].View.Alerts)
	}
}

// TestHubStops: Close ends every model; the hub starts no more.
func TestHubStops(t *testing.T) {
	h := NewHub(HubConfig{Source: newSource(1), Bus: bus.NewMemory(bus.MemoryConfig{})})
	m, err := h.Model(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-m.done:
	default:
		t.Fatal("the model still runs")
	}
	if _, err := h.Model(t.Context(), tenant); err == nil {
		t.Fatal("a closed hub started a model")
	}
}
