package wallboard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
)

// defaultAHT is the handle time assumed for the wait estimate until a queue
// has completed a few tasks today (as the routing engine assumes).
const defaultAHT = 180 * time.Second

// catchUpBatch bounds one read of stored events while the fold catches up.
const catchUpBatch = 1000

// Model is one tenant's live wallboard. A single goroutine owns its state;
// subscribers receive frames built from it.
type Model struct {
	cfg      HubConfig
	tenantID string
	ready    chan struct{}
	done     chan struct{}
	err      error // why the first load failed; read after done

	mu     sync.Mutex
	frame  *Frame // the latest frame, shared by every subscriber
	subs   map[*Subscription]struct{}
	asked  chan chan *Frame
	readyO sync.Once

	// Owned by the run goroutine.
	loc       *time.Location
	day       time.Time // local midnight starting today, UTC
	queues    map[string]*queueState
	agents    map[string]*agentState
	teams     []TeamSummary
	tasks     map[string]*liveTask
	qOrder    []*queueState // by name
	aOrder    []*agentState // by name
	fold      *report.Fold
	statsLast int64
	caught    map[int64]bool // events the fold took from the store while catching up
	dirty     bool
	reload    bool
	lastFrame time.Time
	frames    uint64
}

type queueState struct {
	cfg     atende.Queue
	teamSet map[string]bool
	waiting map[string]*liveTask // tasks waiting here (home or widened)
	counts  map[atende.AgentStatus]int
	slots   int // capacity on the first channel of the members at work
	day     report.QueueCounters
	alerts  map[string]Alert // by kind
	entry   *QueueEntry
	dirty   bool
}

type agentState struct {
	cfg     AgentConfig
	status  atende.AgentStatus
	reason  string
	since   time.Time
	queues  []string             // ids of the queues its teams let it serve
	work    map[string]*liveTask // offered or assigned to it
	handled int64                // accepted today
	entry   *AgentEntry
	dirty   bool
}

// liveTask is what the wallboard keeps of a task not yet finished.
type liveTask struct {
	ID             string
	Channel        atende.Channel
	ConversationID string
	QueueID        string
	ExtraQueueIDs  []string
	State          routing.TaskState
	AgentID        string
	QueuedAt       time.Time
	AcceptedAt     *time.Time
}

func newModel(cfg HubConfig, tenantID string) *Model {
	return &Model{cfg: cfg, tenantID: tenantID, ready: make(chan struct{}), done: make(chan struct{}),
		subs: map[*Subscription]struct{}{}, asked: make(chan chan *Frame)}
}

// Frame returns the current frame, built now if something changed since the
// last one.
func (m *Model) Frame(ctx context.Context) (*Frame, error) {
	reply := make(chan *Frame, 1)
	select {
	case m.asked <- reply:
	case <-m.done:
		return nil, atende.Errorf(atende.EInternal, "the wallboard is stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case f := <-reply:
		return f, nil
	case <-m.done:
		return nil, atende.Errorf(atende.EInternal, "the wallboard is stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Subscribe returns a subscription that receives every new frame (the
// latest only, when the reader is slower than the frames), and the tenant's
// alerts and broadcasts as they happen, until ctx ends.
func (m *Model) Subscribe(ctx context.Context) *Subscription {
	s := &Subscription{notify: make(chan struct{}, 1)}
	m.mu.Lock()
	s.frame = m.frame
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	s.wake()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		delete(m.subs, s)
		m.mu.Unlock()
	})
	return s
}

// run keeps the model until ctx ends: load, then follow the bus; when the
// bus drops the model for falling behind, or the day changes, load again.
func (m *Model) run(ctx context.Context) {
	defer close(m.done)
	backoff := time.Second
	for ctx.Err() == nil {
		subCtx, cancel := context.WithCancel(ctx)
		// Subscribe before loading, so no event falls between the two.
		sub := m.cfg.Bus.Subscribe(subCtx, m.tenantID)
		err := m.load(ctx)
		if err != nil {
			cancel()
			select {
			case <-m.ready:
			default:
				m.err = err // never loaded: the caller hears why
				return
			}
			m.cfg.Logger.Error("wallboard: load failed; retrying", "tenant", m.tenantID, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		m.publish(m.build())
		m.readyO.Do(func() { close(m.ready) })
		m.follow(ctx, sub)
		cancel()
	}
}

// follow applies the bus's events until ctx ends, the bus drops the
// subscription or the day changes (then a fresh load starts today).
func (m *Model) follow(ctx context.Context, sub <-chan atende.Event) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	frameTimer := time.NewTimer(time.Hour)
	frameTimer.Stop()
	armed := false
	arm := func() {
		if armed || !m.dirty {
			return
		}
		wait := max(m.cfg.FrameEvery-m.cfg.Now().Sub(m.lastFrame), 0)
		frameTimer.Reset(wait)
		armed = true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub:
			if !ok {
				return
			}
			m.apply(e)
		drain: // take what else is waiting, then build at most one frame
			for range 256 {
				select {
				case e, ok = <-sub:
					if !ok {
						return
					}
					m.apply(e)
				default:
					break drain
				}
			}
			arm()
		case <-tick.C:
			now := m.cfg.Now()
			if m.dayStart(now) != m.day {
				return // a new day: today's figures start again from the store
			}
			m.tickWaits()
			m.evaluateAlerts(ctx, now)
			arm()
		case <-frameTimer.C:
			armed = false
			if m.reload {
				if err := m.reloadConfig(ctx); err != nil {
					m.cfg.Logger.Error("wallboard: configuration reload failed", "tenant", m.tenantID, "err", err)
				}
			}
			m.evaluateAlerts(ctx, m.cfg.Now())
			if m.dirty {
				m.publish(m.build())
			}
		case reply := <-m.asked:
			if m.reload {
				if err := m.reloadConfig(ctx); err != nil {
					m.cfg.Logger.Error("wallboard: configuration reload failed", "tenant", m.tenantID, "err", err)
				}
			}
			if m.dirty {
				m.publish(m.build())
			}
			m.mu.Lock()
			reply <- m.frame
			m.mu.Unlock()
		}
	}
}

func (m *Model) dayStart(t time.Time) time.Time {
	l := t.In(m.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, m.loc).UTC()
}

// load builds the whole state from the store: configuration, the agents'
// states and the live tasks, today's statistics with the fold that made
// them, and the stored events the fold has not reached yet.
func (m *Model) load(ctx context.Context) error {
	src := m.cfg.Source
	m.queues, m.agents, m.tasks = map[string]*queueState{}, map[string]*agentState{}, map[string]*liveTask{}
	if err := m.reloadConfig(ctx); err != nil {
		return err
	}
	tasks, err := src.LiveTasks(ctx, m.tenantID)
	if err != nil {
		return fmt.Errorf("wallboard %s: live tasks: %w", m.tenantID, err)
	}
	for _, t := range tasks {
		m.setTask(t)
	}
	m.day = m.dayStart(m.cfg.Now())
	st, err := src.StatsToday(ctx, m.tenantID, m.day)
	if err != nil {
		return fmt.Errorf("wallboard %s: statistics: %w", m.tenantID, err)
	}
	if m.fold, err = report.NewFold(policy{m}, st.FoldState); err != nil {
		return fmt.Errorf("wallboard %s: %w", m.tenantID, err)
	}
	m.statsLast = st.LastEventID
	for _, e := range st.Queues {
		if q := m.queues[e.ID]; q != nil {
			q.day.Add(e.Row.Queue)
		}
	}
	for _, e := range st.Agents {
		if a := m.agents[e.ID]; a != nil {
			a.handled += e.Row.Agent.Handled
		}
	}
	m.caught = map[int64]bool{}
	for after := st.LastEventID; ; {
		evs, err := src.Events(ctx, m.tenantID, after, catchUpBatch)
		if err != nil {
			return fmt.Errorf("wallboard %s: events: %w", m.tenantID, err)
		}
		for _, e := range evs {
			m.foldEvent(e)
			m.caught[e.ID] = true
			after = e.ID
		}
		if len(evs) < catchUpBatch {
			break
		}
	}
	alerts, err := src.ActiveAlerts(ctx, m.tenantID)
	if err != nil {
		return fmt.Errorf("wallboard %s: alerts: %w", m.tenantID, err)
	}
	for _, a := range alerts {
		if q := m.queues[a.QueueID]; q != nil {
			q.alerts[a.Kind] = a
		} else {
			m.dropAlerts(ctx, map[string]Alert{a.Kind: a})
		}
	}
	m.dirty = true
	return nil
}

// reloadConfig reads queues, agents and teams again, keeping the live
// state of tasks and today's figures.
func (m *Model) reloadConfig(ctx context.Context) error {
	m.reload = false
	cfg, err := m.cfg.Source.WallboardConfig(ctx, m.tenantID)
	if err != nil {
		return fmt.Errorf("wallboard %s: configuration: %w", m.tenantID, err)
	}
	if m.loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
		m.loc = time.UTC
	}
	seen := map[string]bool{}
	for _, qc := range cfg.Queues {
		seen[qc.ID] = true
		q := m.queues[qc.ID]
		if q == nil {
			q = &queueState{waiting: map[string]*liveTask{}, alerts: map[string]Alert{}}
			m.queues[qc.ID] = q
		}
		q.cfg = qc
		q.teamSet = map[string]bool{}
		for _, t := range qc.TeamIDs {
			q.teamSet[t] = true
		}
		q.dirty = true
	}
	for id, q := range m.queues {
		if !seen[id] {
			m.dropAlerts(ctx, q.alerts) // a deleted queue's alerts end with it
			delete(m.queues, id)
		}
	}
	seen = map[string]bool{}
	for _, ac := range cfg.Agents {
		seen[ac.ID] = true
		a := m.agents[ac.ID]
		if a == nil {
			a = &agentState{status: ac.Status, reason: ac.Reason, since: ac.Since, work: map[string]*liveTask{}}
			if a.status == "" {
				a.status = atende.StatusOffline
			}
			m.agents[ac.ID] = a
		}
		a.cfg = ac
		a.dirty = true
	}
	for id := range m.agents {
		if !seen[id] {
			delete(m.agents, id)
		}
	}
	m.teams = cfg.Teams
	// Tasks count again where they are now: a queue or agent may be new.
	for _, q := range m.queues {
		clear(q.waiting)
	}
	for _, a := range m.agents {
		clear(a.work)
	}
	for _, t := range m.tasks {
		m.track(t)
	}
	// Membership and the counts that follow from it, from scratch: a
	// configuration change is rare.
	for _, q := range m.queues {
		q.counts, q.slots = map[atende.AgentStatus]int{}, 0
	}
	for _, a := range m.agents {
		a.queues = a.queues[:0]
		for id, q := range m.queues {
			if len(q.teamSet) == 0 || slices.ContainsFunc(a.cfg.TeamIDs, func(t string) bool { return q.teamSet[t] }) {
				a.queues = append(a.queues, id)
				q.counts[a.status]++
				if atWork(a.status) {
					q.slots += q.capacity(a)
				}
			}
		}
		slices.Sort(a.queues)
	}
	m.qOrder = m.qOrder[:0]
	for _, q := range m.queues {
		m.qOrder = append(m.qOrder, q)
	}
	slices.SortFunc(m.qOrder, func(a, b *queueState) int {
		return strings.Compare(a.cfg.Name+"\x00"+a.cfg.ID, b.cfg.Name+"\x00"+b.cfg.ID)
	})
	m.aOrder = m.aOrder[:0]
	for _, a := range m.agents {
		m.aOrder = append(m.aOrder, a)
	}
	slices.SortFunc(m.aOrder, func(a, b *agentState) int {
		return strings.Compare(a.cfg.Name+"\x00"+a.cfg.ID, b.cfg.Name+"\x00"+b.cfg.ID)
	})
	m.dirty = true
	return nil
}

// apply takes one live event from the bus.
func (m *Model) apply(e atende.Event) {
	if e.TenantID != m.tenantID {
		return
	}
	if e.ID > m.statsLast && !m.caught[e.ID] {
		m.foldEvent(e)
	}
	switch {
	case strings.HasPrefix(e.Type, "task."):
		var p struct {
			Task *routing.Task `json:"task"`
		}
		if json.Unmarshal(e.Data, &p) == nil && p.Task != nil {
			if e.Type == "task.ended" {
				p.Task.State = routing.TaskDone
			}
			m.setTask(p.Task)
		}
	case e.Type == "agent.state_changed":
		var p struct {
			Agent *routing.AgentSnapshot `json:"agent"`
		}
		if json.Unmarshal(e.Data, &p) == nil && p.Agent != nil {
			m.setAgentState(p.Agent)
		}
	case strings.HasPrefix(e.Type, "queue."), strings.HasPrefix(e.Type, "user."), strings.HasPrefix(e.Type, "team."):
		m.reload, m.dirty = true, true
	case e.Type == "alert.raised", e.Type == "alert.cleared", e.Type == "broadcast.sent":
		m.tell(e)
	}
}

// foldEvent runs an event through today's statistics and adds what it
// changed to today's figures.
func (m *Model) foldEvent(e atende.Event) {
	if err := m.fold.Apply(e); err != nil {
		m.cfg.Logger.Warn("wallboard: event skipped by the statistics", "event", e.ID, "type", e.Type, "err", err)
		return
	}
	rows := m.fold.Take()
	for k, r := range rows {
		if k.TenantID != m.tenantID || k.Interval.Before(m.day) {
			continue
		}
		switch k.Dim {
		case report.DimQueue:
			if q := m.queues[k.ID]; q != nil {
				q.day.Add(r.Queue)
				q.dirty, m.dirty = true, true
			}
		case report.DimAgent:
			if a := m.agents[k.ID]; a != nil && r.Agent.Handled != 0 {
				a.handled += r.Agent.Handled
				a.dirty, m.dirty = true, true
			}
		}
	}
}

// setTask records a task's new state, undoing what its previous state
// counted: only the queues and agents it touches change.
func (m *Model) setTask(t *routing.Task) {
	if old := m.tasks[t.ID]; old != nil {
		m.untrack(old)
		delete(m.tasks, t.ID)
	}
	if t.State == routing.TaskDone || t.State == "" {
		return
	}
	lt := &liveTask{ID: t.ID, Channel: t.Channel, ConversationID: t.ConversationID, QueueID: t.QueueID,
		ExtraQueueIDs: t.ExtraQueueIDs, State: t.State, AgentID: t.AgentID, QueuedAt: t.QueuedAt, AcceptedAt: t.AcceptedAt}
	if lt.QueuedAt.IsZero() {
		lt.QueuedAt = t.EnqueuedAt
	}
	m.tasks[t.ID] = lt
	m.track(lt)
}

func (m *Model) track(t *liveTask) {
	switch t.State {
	case routing.TaskWaiting:
		for _, id := range append([]string{t.QueueID}, t.ExtraQueueIDs...) {
			if q := m.queues[id]; q != nil {
				q.waiting[t.ID] = t
				q.dirty, m.dirty = true, true
			}
		}
	case routing.TaskOffered, routing.TaskAssigned:
		if a := m.agents[t.AgentID]; a != nil {
			a.work[t.ID] = t
			a.dirty, m.dirty = true, true
		}
	}
}

func (m *Model) untrack(t *liveTask) {
	switch t.State {
	case routing.TaskWaiting:
		for _, id := range append([]string{t.QueueID}, t.ExtraQueueIDs...) {
			if q := m.queues[id]; q != nil {
				delete(q.waiting, t.ID)
				q.dirty, m.dirty = true, true
			}
		}
	case routing.TaskOffered, routing.TaskAssigned:
		if a := m.agents[t.AgentID]; a != nil {
			delete(a.work, t.ID)
			a.dirty, m.dirty = true, true
		}
	}
}

// setAgentState records an agent's new state; the agent's queues move it
// from one count to another.
func (m *Model) setAgentState(s *routing.AgentSnapshot) {
	a := m.agents[s.ID]
	if a == nil {
		return
	}
	if a.status != s.Status {
		for _, id := range a.queues {
			if q := m.queues[id]; q != nil {
				q.counts[a.status]--
				q.counts[s.Status]++
				switch was, is := atWork(a.status), atWork(s.Status); {
				case was && !is:
					q.slots -= q.capacity(a)
				case is && !was:
					q.slots += q.capacity(a)
				}
				q.dirty = true
			}
		}
	}
	a.status, a.reason, a.since = s.Status, s.Reason, s.Since
	a.dirty, m.dirty = true, true
}

// tickWaits marks the queues with waiting tasks as changed: their longest
// wait grows by the second without any event.
func (m *Model) tickWaits() {
	for _, q := range m.qOrder {
		if len(q.waiting) > 0 {
			q.dirty, m.dirty = true, true
		}
	}
}

// longestWait is the wait of the task waiting longest in q now.
func (q *queueState) longestWait(now time.Time) time.Duration {
	var oldest time.Time
	for _, t := range q.waiting {
		if oldest.IsZero() || t.QueuedAt.Before(oldest) {
			oldest = t.QueuedAt
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest), 0)
}

// ewt estimates the wait of a task arriving now: the tasks ahead, plus it,
// times today's handle time, shared among the available members' slots on
// the queue's first channel.
func (m *Model) ewt(q *queueState) time.Duration {
	aht := defaultAHT
	if q.day.Completed >= 5 {
		if d, ok := q.day.AHT(); ok {
			aht = d
		}
	}
	return time.Duration(float64(len(q.waiting)+1) * float64(aht) / float64(max(q.slots, 1)))
}

// atWork: an agent in this state counts towards the queues' capacity.
func atWork(s atende.AgentStatus) bool {
	return s == atende.StatusAvailable || s == atende.StatusBusy || s == atende.StatusWrapUp
}

// capacity is an agent's capacity on the queue's first channel.
func (q *queueState) capacity(a *agentState) int {
	if len(q.cfg.Channels) == 0 {
		return 0
	}
	return a.cfg.Capacity[q.cfg.Channels[0]]
}

// tell passes an alert or broadcast event to every subscriber.
func (m *Model) tell(e atende.Event) {
	typ := "broadcast"
	if strings.HasPrefix(e.Type, "alert.") {
		typ = "alert"
	}
	msg := Message{Type: typ, Event: e.Type, Data: e.Data}
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.subs {
		s.add(msg)
	}
}

// publish makes f the current frame and wakes every subscriber.
func (m *Model) publish(f *Frame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frame = f
	for s := range m.subs {
		s.setFrame(f)
	}
}

// policy is the statistics fold's view of the tenant's configuration, from
// the model's memory.
type policy struct{ m *Model }

func (p policy) Location(string) *time.Location { return p.m.loc }

func (p policy) ServiceLevel(_, queueID string) time.Duration {
	if q := p.m.queues[queueID]; q != nil && q.cfg.SLThresholdSec > 0 {
		return time.Duration(q.cfg.SLThresholdSec) * time.Second
	}
	return 20 * time.Second
}

func (p policy) ShortAbandon(string) time.Duration { return report.DefaultShortAbandon }
