// Package bus carries atende's domain events from the store, which publishes
// them once committed, to whoever streams them live: agent desktops,
// wallboards, the reporting aggregator, webhook delivery.
//
// Memory is the in-process implementation for a single node. A bus never
// holds up the publisher: a subscriber that cannot keep up is dropped (its
// channel closed) and must catch up from the store, where every event is kept
// with an increasing id.
package bus

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/atende/atende"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBufferSize is how many events a subscriber may fall behind before it
// is dropped, when MemoryConfig.BufferSize is not set.
const DefaultBufferSize = 1024

// MemoryConfig tunes an in-process bus. The zero value is usable.
type MemoryConfig struct {
	// BufferSize is the capacity of each subscriber's channel; 0 means
	// DefaultBufferSize.
	BufferSize int
	// Logger receives a warning when a slow subscriber is dropped.
	Logger *slog.Logger
	// Metrics, when set, receives the bus's counters and gauges.
	Metrics prometheus.Registerer
}

// Memory is an atende.Bus inside one process. Subscribers are grouped by
// tenant so that a publish only ever looks at the subscribers of the event's
// tenant.
type Memory struct {
	size int
	log  *slog.Logger

	mu     sync.RWMutex
	topics map[string]*topic // tenant id -> its subscribers
	closed bool

	published   atomic.Uint64
	dropped     atomic.Uint64
	subscribers atomic.Int64
}

// topic holds one tenant's subscribers. Its mutex serialises publishes to the
// tenant, so every subscriber sees the tenant's events in one order: the
// order of the Publish calls.
type topic struct {
	mu   sync.Mutex
	subs []*subscription
}

type subscription struct {
	ch   chan atende.Event
	stop func() bool // cancels the context.AfterFunc that removes it
	done bool        // channel closed; guarded by the topic's mutex
}

var _ atende.Bus = (*Memory)(nil)

// NewMemory returns an empty in-process bus.
func NewMemory(cfg MemoryConfig) *Memory {
	b := &Memory{size: cfg.BufferSize, log: cfg.Logger, topics: map[string]*topic{}}
	if b.size <= 0 {
		b.size = DefaultBufferSize
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "atende_bus_events_published_total",
				Help: "Events published on the in-process bus.",
			}, func() float64 { return float64(b.published.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "atende_bus_subscribers_dropped_total",
				Help: "Subscribers dropped because they fell more than the buffer size behind.",
			}, func() float64 { return float64(b.dropped.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "atende_bus_subscribers",
				Help: "Current subscribers of the in-process bus.",
			}, func() float64 { return float64(b.subscribers.Load()) }),
		)
	}
	return b
}

// Publish hands events to the current subscribers of each event's tenant. It
// never blocks: a subscriber whose buffer is full is removed and its channel
// closed.
func (b *Memory) Publish(_ context.Context, events ...atende.Event) {
	var emptied []string
	b.mu.RLock()
	for i := 0; i < len(events); {
		// Deliver each run of events of one tenant under one lock.
		j := i + 1
		for j < len(events) && events[j].TenantID == events[i].TenantID {
			j++
		}
		if t := b.topics[events[i].TenantID]; t != nil && b.deliver(t, events[i:j]) {
			emptied = append(emptied, events[i].TenantID)
		}
		i = j
	}
	b.mu.RUnlock()
	b.published.Add(uint64(len(events)))
	for _, tenantID := range emptied {
		b.prune(tenantID)
	}
}

// deliver sends events to t's subscribers, dropping the ones that are full.
// It reports whether t was left without subscribers.
func (b *Memory) deliver(t *topic, events []atende.Event) (emptied bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.subs[:0]
	for _, s := range t.subs {
		if b.offer(s, events) {
			kept = append(kept, s)
			continue
		}
		s.stop()
		b.end(s)
		b.dropped.Add(1)
		b.log.Warn("bus: dropped a slow subscriber; it must resume from the store",
			"tenant_id", events[0].TenantID, "buffer", b.size)
	}
	clear(t.subs[len(kept):])
	t.subs = kept
	return len(kept) == 0
}

// offer sends events to s without blocking; false means s is full.
func (b *Memory) offer(s *subscription, events []atende.Event) bool {
	for _, e := range events {
		select {
		case s.ch <- e:
		default:
			return false
		}
	}
	return true
}

// end closes s's channel once. The caller holds the topic's mutex.
func (b *Memory) end(s *subscription) {
	if !s.done {
		s.done = true
		close(s.ch)
		b.subscribers.Add(-1)
	}
}

// Subscribe returns a channel of every event of tenantID published from now
// on, in publish order. The channel is closed when ctx ends, when the
// subscriber falls BufferSize events behind, or when the bus is closed.
func (b *Memory) Subscribe(ctx context.Context, tenantID string) <-chan atende.Event {
	s := &subscription{ch: make(chan atende.Event, b.size)}
	if ctx.Err() != nil {
		close(s.ch)
		return s.ch
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	t := b.topics[tenantID]
	if t == nil {
		t = &topic{}
		b.topics[tenantID] = t
	}
	t.mu.Lock()
	t.subs = append(t.subs, s)
	b.subscribers.Add(1)
	// Set stop while holding the topic's mutex so deliver never sees it nil.
	s.stop = context.AfterFunc(ctx, func() { b.unsubscribe(tenantID, s) })
	t.mu.Unlock()
	b.mu.Unlock()
	return s.ch
}

// unsubscribe removes s when its context ends.
func (b *Memory) unsubscribe(tenantID string, s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[tenantID]
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := slices.Index(t.subs, s); i >= 0 {
		t.subs = slices.Delete(t.subs, i, i+1)
		b.end(s)
	}
	if len(t.subs) == 0 {
		delete(b.topics, tenantID)
	}
}

// prune forgets a tenant's topic once it has no subscribers left.
func (b *Memory) prune(tenantID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[tenantID]; t != nil {
		t.mu.Lock()
		if len(t.subs) == 0 {
			delete(b.topics, tenantID)
		}
		t.mu.Unlock()
	}
}

// Subscribers returns how many subscribers tenantID has now.
func (b *Memory) Subscribers(tenantID string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t := b.topics[tenantID]
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs)
}

// Close ends every subscription; later subscriptions get a closed channel and
// later publishes reach no one. Use it at shutdown so live streams finish.
func (b *Memory) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for id, t := range b.topics {
		t.mu.Lock()
		for _, s := range t.subs {
			s.stop()
			b.end(s)
		}
		t.subs = nil
		t.mu.Unlock()
		delete(b.topics, id)
	}
}
