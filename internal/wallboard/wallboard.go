// Package wallboard keeps the supervisors' live picture of a tenant: every
// queue's waiting tasks, longest wait, agents by state and today's figures,
// every agent's state and work in hand, and the queues' alerts.
//
// One Model per tenant listens to the bus and changes only what an event
// touches; today's figures start from the stored interval statistics and go
// on from the same events with the same fold the reports use, so the
// wallboard and a report of today agree. Frames are built at most every
// 500 ms, and only the queues and agents that changed are encoded again.
package wallboard

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
)

// Alert kinds and levels.
const (
	KindServiceLevel = "service_level" // today's service level under the queue's threshold
	KindLongestWait  = "longest_wait"  // a task waiting longer than the queue's threshold
	KindLegalWait    = "legal_wait"    // a task near or past the wait its legal preset allows

	LevelWarning  = "warning"
	LevelCritical = "critical"
)

// Alert is a queue's alert while it lasts.
type Alert struct {
	QueueID   string    `json:"queue_id"`
	Kind      string    `json:"kind"`
	Level     string    `json:"level"`
	Value     float64   `json:"value"`     // the figure that crossed the threshold (percent or seconds)
	Threshold float64   `json:"threshold"` // the threshold it crossed at this level
	Since     time.Time `json:"since"`
}

// Config is the part of a tenant's configuration the wallboard shows.
type Config struct {
	TimeZone string
	Queues   []atende.Queue
	Agents   []AgentConfig
	Teams    []TeamSummary
}

// AgentConfig is an agent with its stored state, as the wallboard starts
// from it.
type AgentConfig struct {
	ID       string
	Name     string
	TeamIDs  []string
	Capacity atende.Capacity
	Status   atende.AgentStatus
	Reason   string
	Since    time.Time
}

// TeamSummary is a team's id and name, for the wallboard's team filter.
type TeamSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TodayStats is what the statistics fold had saved when read: its progress
// and memory, and today's rows of queues and agents, read together.
type TodayStats struct {
	LastEventID int64
	FoldState   []byte
	Queues      []report.Entry
	Agents      []report.Entry
}

// Source is what the wallboard needs from the store.
type Source interface {
	WallboardConfig(ctx context.Context, tenantID string) (*Config, error)
	LiveTasks(ctx context.Context, tenantID string) ([]*routing.Task, error)
	StatsToday(ctx context.Context, tenantID string, from time.Time) (*TodayStats, error)
	Events(ctx context.Context, tenantID string, afterID int64, limit int) ([]atende.Event, error)
	ActiveAlerts(ctx context.Context, tenantID string) ([]Alert, error)
	// RaiseAlert stores an alert that starts or changes level, with its
	// alert.raised event; ClearAlert removes one with its alert.cleared
	// event. Both do nothing when the stored alert already says so (another
	// node was first).
	RaiseAlert(ctx context.Context, tenantID string, a Alert) error
	ClearAlert(ctx context.Context, tenantID string, a Alert) error
}

// HubConfig configures a Hub.
type HubConfig struct {
	Source Source
	Bus    atende.Bus
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// FrameEvery is the least time between two frames (default 500 ms).
	FrameEvery time.Duration
}

// Hub runs one Model per tenant, starting each on first use.
type Hub struct {
	cfg    HubConfig
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	models map[string]*Model
	wg     sync.WaitGroup
}

// NewHub returns a hub; Close stops its models.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FrameEvery <= 0 {
		cfg.FrameEvery = 500 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{cfg: cfg, ctx: ctx, cancel: cancel, models: map[string]*Model{}}
}

// Model returns the tenant's model, starting it when needed. It returns
// once the model has its first state, or with the error that kept it from
// loading.
func (h *Hub) Model(ctx context.Context, tenantID string) (*Model, error) {
	h.mu.Lock()
	if h.ctx.Err() != nil {
		h.mu.Unlock()
		return nil, atende.Errorf(atende.EInternal, "the wallboard is stopped")
	}
	m := h.models[tenantID]
	if m == nil {
		m = newModel(h.cfg, tenantID)
		h.models[tenantID] = m
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			m.run(h.ctx)
		}()
	}
	h.mu.Unlock()
	select {
	case <-m.ready:
		return m, nil
	case <-m.done:
		h.mu.Lock()
		if h.models[tenantID] == m {
			delete(h.models, tenantID) // the next call tries again
		}
		h.mu.Unlock()
		return nil, m.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops every model and waits for them.
func (h *Hub) Close() {
	h.mu.Lock() // no model starts after this
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}
