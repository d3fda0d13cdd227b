package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
)

// State is what a tenant's routing engine starts from.
type State struct {
	Tenant *atende.Tenant
	Queues []atende.Queue
	Agents []AgentSpec
	Tasks  []*Task // not done
}

// Store is what the engine needs from persistence.
type Store interface {
	AcquireLease(ctx context.Context, tenantID, holder string, ttl time.Duration) (int64, error)
	RenewLease(ctx context.Context, tenantID, holder string, epoch int64, ttl time.Duration) error
	ReleaseLease(ctx context.Context, tenantID, holder string, epoch int64) error
	LoadRouting(ctx context.Context, tenantID string) (*State, error)
	RoutingConfig(ctx context.Context, tenantID string) (*State, error)
	SaveRouting(ctx context.Context, tenantID, holder string, epoch int64, changes []Change) error
}

// leaseTTL is how long a node owns a tenant's routing without renewing.
const leaseTTL = 30 * time.Second

// sweepEvery is how often the engine looks for waiting tasks no agent can
// take any more.
const sweepEvery = 30 * time.Second

// maxCommands bounds the commands handled (and saved) in one batch.
const maxCommands = 256

// Engine runs one tenant's Core in a single goroutine. Commands queue on a
// channel; each batch of commands is handled, its decisions saved in one
// transaction, and only then are the callers answered. If a save fails the
// engine rebuilds its state from the store, so memory never runs ahead of
// what is durable.
type Engine struct {
	tenantID string
	holder   string
	st       Store
	bus      atende.Bus
	log      *slog.Logger
	now      func() time.Time
	blending Blending
	metrics  *Metrics

	cmds chan *command
	stop chan struct{}
	done chan struct{}

	// Owned by the loop goroutine.
	core     *Core
	epoch    int64
	gaugedAt time.Time
}

type command struct {
	at    time.Time
	fn    func(c *Core, now time.Time) (any, error)
	out   any
	err   error
	reply chan struct{}
}

// EngineConfig configures an engine.
type EngineConfig struct {
	TenantID string
	Holder   string // this node's name in the lease
	Store    Store
	Bus      atende.Bus // for configuration changes; may be nil
	Logger   *slog.Logger
	Now      func() time.Time
	Blending Blending
	Metrics  *Metrics // nil: not measured
}

// StartEngine takes the tenant's lease, rebuilds its state from the store
// and starts the loop.
func StartEngine(ctx context.Context, cfg EngineConfig) (*Engine, error) {
	e := &Engine{tenantID: cfg.TenantID, holder: cfg.Holder, st: cfg.Store, bus: cfg.Bus, log: cfg.Logger, now: cfg.Now, blending: cfg.Blending, metrics: cfg.Metrics,
		cmds: make(chan *command, maxCommands), stop: make(chan struct{}), done: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = func() time.Time { return time.Now().UTC() }
	}
	epoch, err := e.st.AcquireLease(ctx, e.tenantID, e.holder, leaseTTL)
	if err != nil {
		return nil, fmt.Errorf("routing %s: %w", e.tenantID, err)
	}
	e.epoch = epoch
	var sub <-chan atende.Event
	subCtx, cancelSub := context.WithCancel(context.Background())
	if e.bus != nil {
		// Subscribe before loading, so no configuration change falls between.
		sub = e.bus.Subscribe(subCtx, e.tenantID)
	}
	if err := e.rebuild(ctx); err != nil {
		cancelSub()
		e.st.ReleaseLease(context.WithoutCancel(ctx), e.tenantID, e.holder, epoch)
		return nil, err
	}
	go e.loop(sub, subCtx, cancelSub)
	return e, nil
}

// rebuild loads the tenant's state into a new core and saves what the
// restore decided (offers that were open go back to waiting).
func (e *Engine) rebuild(ctx context.Context) error {
	st, err := e.st.LoadRouting(ctx, e.tenantID)
	if err != nil {
		return fmt.Errorf("routing %s: load: %w", e.tenantID, err)
	}
	loc, err := time.LoadLocation(st.Tenant.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := e.now()
	c := NewCore(loc, e.blending)
	for _, q := range st.Queues {
		c.SetQueue(q, now)
	}
	for _, a := range st.Agents {
		c.SetAgent(a, now)
	}
	c.Restore(st.Tasks, now)
	if ch := c.Flush(); len(ch) > 0 {
		if err := e.st.SaveRouting(ctx, e.tenantID, e.holder, e.epoch, ch); err != nil {
			return fmt.Errorf("routing %s: save restore: %w", e.tenantID, err)
		}
	}
	e.core = c
	return nil
}

// Do runs fn on the engine's goroutine and returns once its decisions are
// durable.
func (e *Engine) Do(ctx context.Context, fn func(c *Core, now time.Time) (any, error)) (any, error) {
	cmd := &command{at: time.Now(), fn: fn, reply: make(chan struct{})}
	select {
	case e.cmds <- cmd:
	case <-e.done:
		return nil, errStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-cmd.reply:
		return cmd.out, cmd.err
	case <-e.done:
		return nil, errStopped
	}
}

var errStopped = atende.Errorf(atende.EInternal, "routing engine stopped")

// Stop ends the loop and gives the lease up.
func (e *Engine) Stop() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	<-e.done
}

// Done is closed when the engine has stopped (Stop, or a lost lease).
func (e *Engine) Done() <-chan struct{} { return e.done }

func (e *Engine) loop(sub <-chan atende.Event, subCtx context.Context, cancelSub context.CancelFunc) {
	defer close(e.done)
	defer cancelSub()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	renew := time.NewTicker(leaseTTL / 3)
	defer renew.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	ctx := context.Background()
	batch := make([]*command, 0, maxCommands)
	for {
		if at, ok := e.core.NextDeadline(); ok {
			timer.Reset(max(time.Until(at), 0))
		} else {
			timer.Reset(time.Hour)
		}
		batch = batch[:0]
		select {
		case <-e.stop:
			e.st.ReleaseLease(ctx, e.tenantID, e.holder, e.epoch)
			return
		case <-renew.C:
			if err := e.st.RenewLease(ctx, e.tenantID, e.holder, e.epoch, leaseTTL); err != nil {
				e.log.Error("routing lease lost; stopping", "tenant", e.tenantID, "err", err)
				return
			}
			continue
		case <-timer.C:
		case <-sweep.C:
			e.core.SweepUnmatchable(e.now())
		case ev, ok := <-sub:
			// Take every event waiting now, so a busy engine keeps up with
			// the bus, and reload the configuration at most once for them.
			reload := !ok || isConfigEvent(ev)
		events:
			for ok {
				select {
				case ev, ok = <-sub:
					reload = reload || !ok || isConfigEvent(ev)
				default:
					break events
				}
			}
			if !ok {
				// Dropped for falling behind: listen again, reload everything.
				sub = e.bus.Subscribe(subCtx, e.tenantID)
			}
			if reload {
				e.reloadConfig(ctx)
			}
		case cmd := <-e.cmds:
			batch = append(batch, cmd)
		drain:
			for len(batch) < maxCommands {
				select {
				case cmd := <-e.cmds:
					batch = append(batch, cmd)
				default:
					break drain
				}
			}
		}
		now := e.now()
		e.core.Advance(now)
		for _, cmd := range batch {
			cmd.out, cmd.err = cmd.fn(e.core, now)
		}
		if err := e.save(ctx); err != nil {
			for _, cmd := range batch {
				cmd.out, cmd.err = nil, err
			}
			if errors.Is(err, errLeaseLost) {
				e.answer(batch)
				return
			}
		}
		e.answer(batch)
	}
}

func (e *Engine) answer(batch []*command) {
	if m := e.metrics; m != nil && len(batch) > 0 {
		m.batch.Observe(float64(len(batch)))
		if time.Since(e.gaugedAt) > time.Second {
			// Counting is linear in the live tasks: once a second is enough.
			m.waiting.WithLabelValues(e.tenantID).Set(float64(e.core.waitingTasks()))
			e.gaugedAt = time.Now()
		}
	}
	for _, cmd := range batch {
		if e.metrics != nil {
			e.metrics.command.Observe(time.Since(cmd.at).Seconds())
		}
		close(cmd.reply)
	}
}

var errLeaseLost = errors.New("routing lease lost")

// save makes the core's pending decisions durable; on failure it rebuilds
// the core from the store, dropping what was not saved.
func (e *Engine) save(ctx context.Context) error {
	changes := e.core.Flush()
	if len(changes) == 0 {
		return nil
	}
	start := time.Now()
	err := e.st.SaveRouting(ctx, e.tenantID, e.holder, e.epoch, changes)
	if err == nil {
		if m := e.metrics; m != nil {
			m.save.Observe(time.Since(start).Seconds())
			for _, ch := range changes {
				m.decisions.WithLabelValues(ch.Event).Inc()
			}
		}
		return nil
	}
	e.log.Error("routing save failed; rebuilding from the store", "tenant", e.tenantID, "err", err)
	if strings.Contains(err.Error(), "lease lost") {
		return fmt.Errorf("%w: %v", errLeaseLost, err)
	}
	if rerr := e.rebuild(ctx); rerr != nil {
		e.log.Error("routing rebuild failed", "tenant", e.tenantID, "err", rerr)
	}
	return atende.Errorf(atende.EInternal, "the routing decision could not be saved")
}

// isConfigEvent tells configuration changes made through the API, which the
// engine follows, from everything else on the bus.
func isConfigEvent(ev atende.Event) bool {
	return strings.HasPrefix(ev.Type, "queue.") || strings.HasPrefix(ev.Type, "user.") ||
		strings.HasPrefix(ev.Type, "team.") || strings.HasPrefix(ev.Type, "skill.")
}

// reloadConfig reads queues and agents again and applies them to the core;
// tasks and the agents' work in hand are kept.
func (e *Engine) reloadConfig(ctx context.Context) {
	st, err := e.st.RoutingConfig(ctx, e.tenantID)
	if err != nil {
		e.log.Error("routing config reload failed", "tenant", e.tenantID, "err", err)
		return
	}
	now := e.now()
	seenQ := map[string]bool{}
	for _, q := range st.Queues {
		seenQ[q.ID] = true
		if cur := e.core.queues[q.ID]; cur == nil || cur.cfg.Version != q.Version {
			e.core.SetQueue(q, now)
		}
	}
	for id := range e.core.queues {
		if !seenQ[id] {
			e.core.RemoveQueue(id, now)
		}
	}
	seenA := map[string]bool{}
	for _, a := range st.Agents {
		seenA[a.ID] = true
		a.Presence, a.Reason = "", "" // the engine knows better what the agent chose
		e.core.SetAgent(a, now)
	}
	for id := range e.core.agents {
		if !seenA[id] {
			e.core.RemoveAgent(id, now)
		}
	}
	if err := e.save(ctx); err != nil {
		e.log.Error("routing save after config reload failed", "tenant", e.tenantID, "err", err)
	}
}

// Router runs an engine per tenant on this node, starting each on first use.
type Router struct {
	cfg     EngineConfig
	mu      sync.Mutex
	engines map[string]*Engine
	closed  bool
}

// NewRouter returns a router; cfg.TenantID is ignored.
func NewRouter(cfg EngineConfig) *Router {
	return &Router{cfg: cfg, engines: map[string]*Engine{}}
}

// Engine returns the tenant's engine, starting it when needed.
func (r *Router) Engine(ctx context.Context, tenantID string) (*Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errStopped
	}
	if e := r.engines[tenantID]; e != nil {
		select {
		case <-e.Done():
		default:
			return e, nil
		}
	}
	cfg := r.cfg
	cfg.TenantID = tenantID
	e, err := StartEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.engines[tenantID] = e
	return e, nil
}

// Close stops every engine.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, e := range r.engines {
		e.Stop()
		delete(r.engines, id)
	}
}
