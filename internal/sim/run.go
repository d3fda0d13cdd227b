package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
)

// Simulation events. At equal times they run in the order they were
// scheduled, after the core's own timers.
type eventKind uint8

const (
	evArrival    eventKind = iota + 1 // a queue's next Poisson arrival
	evReplay                          // the next replayed arrival
	evAccept                          // an agent answers an offer
	evComplete                        // an agent finishes a task
	evAbandon                         // a customer runs out of patience
	evShiftStart                      // an agent logs in
	evShiftEnd                        // an agent logs out
)

type event struct {
	at    time.Duration
	seq   uint64
	kind  eventKind
	gen   int // evAccept: the offer it answers
	queue *queueState
	task  *task
	agent *agentState
}

// eventHeap is a binary min-heap on (at, seq), written out rather than
// through container/heap to avoid boxing every event.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = event{}
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.less(l, m) {
			m = l
		}
		if r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// taskState is the simulator's view of a task, kept in step with the core's
// changes.
type taskState uint8

const (
	taskWaiting taskState = iota
	taskOffered
	taskAssigned
	taskDone
)

type task struct {
	id       string
	queue    *queueState // where it arrived; its results count there
	arrived  time.Duration
	handle   time.Duration
	patience time.Duration // < 0: never abandons
	state    taskState
	agent    *agentState
	gen      int // the core's offer count when last offered
	accepted time.Duration
	callback bool // the customer took a callback: no abandoning any more
	measured bool // arrived after the warm-up
	interval int  // index of its arrival interval, when reporting intervals
}

type queueState struct {
	*queueModel
	arrivals *rand.Rand // inter-arrival times
	people   *rand.Rand // handle times and patience
	total    counts
	byIntvl  []counts
}

type agentState struct {
	*agentModel
	status   atende.AgentStatus
	since    time.Duration
	time     [5]time.Duration // by statusIndex, after the warm-up
	handled  int
	lastDone *task // the task completed last, whose wrap-up may follow
	wrapTask *task // the task the current wrap-up belongs to
}

// engine runs one simulation.
type engine struct {
	m       *model
	core    *routing.Core
	now     time.Duration
	events  eventHeap
	seq     uint64
	queues  []*queueState
	agents  map[string]*agentState
	order   []*agentState
	tasks   map[string]*task
	live    int // tasks not done
	nextID  int
	replay  int // next replayed arrival
	arrived []Arrival
	record  bool // keep the arrivals, for WriteArrivals
	ignored int  // replayed arrivals after the end of the run
	steps   int
}

// Run simulates cfg and returns its results.
func Run(cfg Config) (*Result, error) {
	r, _, err := run(cfg, false)
	return r, err
}

// RunRecorded simulates cfg and also returns every arrival with the handle
// time and patience it drew, to save with WriteArrivals and replay.
func RunRecorded(cfg Config) (*Result, []Arrival, error) {
	return run(cfg, true)
}

func run(cfg Config, record bool) (*Result, []Arrival, error) {
	m, err := build(cfg)
	if err != nil {
		return nil, nil, err
	}
	blending := routing.DefaultBlending()
	if cfg.Blending != nil {
		blending = *cfg.Blending
	}
	e := &engine{
		m: m, core: routing.NewCore(m.loc, blending),
		agents: map[string]*agentState{}, tasks: map[string]*task{}, record: record,
	}
	e.setUp()
	if err := e.loop(); err != nil {
		return nil, nil, fmt.Errorf("at %s: %w", e.clock(e.now), err)
	}
	return e.result(), e.arrived, nil
}

func (e *engine) abs(d time.Duration) time.Time { return e.m.start.Add(d) }

func (e *engine) clock(d time.Duration) string {
	return fmt.Sprintf("day %d %s", d/day+1, time.Time{}.Add(d%day).Format("15:04:05.000"))
}

func (e *engine) push(ev event) {
	e.seq++
	ev.seq = e.seq
	e.events.push(ev)
}

func (e *engine) setUp() {
	m := e.m
	nIntervals := 0
	if m.interval > 0 {
		nIntervals = int((m.end + m.interval - 1) / m.interval)
	}
	for _, qm := range m.queues {
		qs := &queueState{
			queueModel: qm,
			arrivals:   stream(m.cfg.Seed, qm.spec.Name, "arrivals"),
			people:     stream(m.cfg.Seed, qm.spec.Name, "customers"),
			byIntvl:    make([]counts, nIntervals),
		}
		e.queues = append(e.queues, qs)
		e.core.SetQueue(qm.spec.Queue, e.abs(0))
		if len(m.arrivals) == 0 {
			if at, ok := qm.nextArrival(qs.arrivals, 0, m.end); ok {
				e.push(event{at: at, kind: evArrival, queue: qs})
			}
		}
	}
	for _, am := range m.agents {
		a := &agentState{agentModel: am, status: atende.StatusOffline}
		e.agents[am.spec.ID] = a
		e.order = append(e.order, a)
		e.core.SetAgent(am.spec, e.abs(0))
		// The shifts of every day of the run and its drain. The first day
		// has no overnight shift from the day before: the center starts
		// empty.
		stop := m.end + m.drain
		for d := time.Duration(0); d < stop; d += day {
			for _, s := range am.shifts {
				if d+s.Start.Std() < stop {
					e.push(event{at: d + s.Start.Std(), kind: evShiftStart, agent: a})
					e.push(event{at: d + s.End.Std(), kind: evShiftEnd, agent: a})
				}
			}
		}
	}
	if len(m.arrivals) > 0 && m.arrivals[0].At < m.end {
		e.push(event{at: m.arrivals[0].At, kind: evReplay})
	}
	for _, a := range m.arrivals {
		if a.At >= m.end {
			e.ignored++
		}
	}
	e.core.Flush()
}

// loop runs events and the core's timers in time order until arrivals have
// stopped and every task has ended, or the drain time is over.
func (e *engine) loop() error {
	stop := e.m.end + e.m.drain
	for {
		next, ok := e.core.NextDeadline()
		evNext := len(e.events) > 0
		if evNext && (!ok || e.events[0].at < next.Sub(e.m.start)) {
			next, ok = e.abs(e.events[0].at), true
		}
		if !ok {
			break
		}
		at := max(next.Sub(e.m.start), e.now) // a timer set in the past fires now
		if at >= e.m.end && e.live == 0 {
			break
		}
		if at > stop {
			e.now = stop
			break
		}
		e.now = at
		e.core.Advance(e.abs(at))
		if err := e.react(); err != nil {
			return err
		}
		// Every simulation event due now, each followed by what the core
		// decided on it.
		for len(e.events) > 0 && e.events[0].at <= at {
			ev := e.events.pop()
			if err := e.handle(ev); err != nil {
				return err
			}
			if err := e.react(); err != nil {
				return err
			}
		}
	}
	if e.now < e.m.end {
		e.now = e.m.end
	}
	return nil
}

func (e *engine) handle(ev event) error {
	e.steps++
	now := e.abs(e.now)
	switch ev.kind {
	case evArrival:
		qs := ev.queue
		handle, _ := qs.handle.sample(qs.people)
		patience, ok := qs.patience.sample(qs.people)
		if !ok {
			patience = -1
		}
		if err := e.arrive(qs, qs.channel, handle, patience); err != nil {
			return err
		}
		if at, ok := qs.nextArrival(qs.arrivals, e.now, e.m.end); ok {
			e.push(event{at: at, kind: evArrival, queue: qs})
		}
	case evReplay:
		a := e.m.arrivals[e.replay]
		e.replay++
		if e.replay < len(e.m.arrivals) && e.m.arrivals[e.replay].At < e.m.end {
			e.push(event{at: e.m.arrivals[e.replay].At, kind: evReplay})
		}
		qs := e.queues[e.m.queueByName[a.Queue].idx]
		// Draw both, given or not, so that a column filled in on some
		// lines leaves the others' draws where they were.
		handle, _ := qs.handle.sample(qs.people)
		patience, ok := qs.patience.sample(qs.people)
		if !ok {
			patience = -1
		}
		if a.HasHandle {
			handle = a.Handle
		}
		if a.HasPatience {
			patience = a.Patience
			if a.NoPatience {
				patience = -1
			}
		}
		if err := e.arrive(qs, a.Channel, handle, patience); err != nil {
			return err
		}
	case evAccept:
		t := ev.task
		if t.state != taskOffered || t.gen != ev.gen {
			return nil // the offer went back, or the customer left
		}
		if _, err := e.core.Accept(t.id, t.agent.spec.ID, now); err != nil {
			return fmt.Errorf("accept task %s for %s: %w", t.id, t.agent.spec.ID, err)
		}
	case evComplete:
		t := ev.task
		if t.state != taskAssigned {
			return nil
		}
		if _, err := e.core.Complete(t.id, now); err != nil {
			return fmt.Errorf("complete task %s: %w", t.id, err)
		}
	case evAbandon:
		t := ev.task
		if t.callback || (t.state != taskWaiting && t.state != taskOffered) {
			return nil
		}
		if _, err := e.core.Cancel(t.id, true, now); err != nil {
			return fmt.Errorf("abandon task %s: %w", t.id, err)
		}
	case evShiftStart:
		if err := e.core.SetPresence(ev.agent.spec.ID, atende.StatusAvailable, "", now); err != nil {
			return err
		}
	case evShiftEnd:
		if err := e.core.SetPresence(ev.agent.spec.ID, atende.StatusOffline, "", now); err != nil {
			return err
		}
	}
	return nil
}

// arrive gives the core a new task.
func (e *engine) arrive(qs *queueState, ch atende.Channel, handle, patience time.Duration) error {
	e.nextID++
	t := &task{
		id: "t" + strconv.Itoa(e.nextID), queue: qs, arrived: e.now, handle: handle, patience: patience,
		measured: e.now >= e.m.warmUp, interval: -1,
	}
	if e.m.interval > 0 {
		t.interval = int(e.now / e.m.interval)
	}
	e.tasks[t.id] = t
	e.live++
	if e.record {
		a := Arrival{At: e.now, Queue: qs.spec.Name, Channel: ch, HasHandle: true, Handle: handle, HasPatience: true, Patience: patience}
		if patience < 0 {
			a.Patience, a.NoPatience = 0, true
		}
		e.arrived = append(e.arrived, a)
	}
	e.count(t, func(c *counts) { c.Offered++ })
	if _, err := e.core.AddTask(routing.TaskSpec{ID: t.id, Channel: ch, QueueID: qs.spec.ID}, e.abs(e.now)); err != nil {
		return fmt.Errorf("add task to queue %q: %w", qs.spec.Name, err)
	}
	if patience >= 0 {
		e.push(event{at: e.now + patience, kind: evAbandon, task: t})
	}
	return nil
}

// count applies f to the task's queue totals and interval, when measured.
func (e *engine) count(t *task, f func(c *counts)) {
	if !t.measured {
		return
	}
	f(&t.queue.total)
	if t.interval >= 0 && t.interval < len(t.queue.byIntvl) {
		f(&t.queue.byIntvl[t.interval])
	}
}

// react follows the core's decisions: answers offers, times completions
// and keeps the books.
func (e *engine) react() error {
	for {
		changes := e.core.Flush()
		if len(changes) == 0 {
			return nil
		}
		for _, ch := range changes {
			if ch.Agent != nil {
				e.agentChanged(ch.Agent)
				continue
			}
			if ch.Task == nil {
				continue
			}
			t := e.tasks[ch.Task.ID]
			if t == nil {
				continue
			}
			switch ch.Event {
			case "task.offered":
				a := e.agents[ch.Task.AgentID]
				if a == nil {
					return fmt.Errorf("task %s offered to unknown agent %s", t.id, ch.Task.AgentID)
				}
				t.state, t.agent, t.gen = taskOffered, a, ch.Task.Offers
				e.push(event{at: e.now + a.delay, kind: evAccept, task: t, gen: t.gen})
			case "task.offer_timeout", "task.offer_withdrawn", "task.rejected", "task.requeued", "task.transferred":
				t.state, t.agent = taskWaiting, nil
			case "task.accepted":
				t.state, t.accepted = taskAssigned, e.now
				e.push(event{at: e.now + t.handle, kind: evComplete, task: t})
				wait := e.now - t.arrived
				thr := time.Duration(t.queue.spec.SLThresholdSec) * time.Second
				e.count(t, func(c *counts) {
					c.Handled++
					c.WaitSum += wait
					c.LongestWait = max(c.LongestWait, wait)
					if wait > 0 {
						c.Waited++
					}
					if wait <= thr {
						c.InSL++
					}
				})
			case "task.callback_offered":
				// The simulated customer takes the callback: the place is
				// kept and nobody hangs up any more.
				if !t.callback && t.state != taskDone {
					t.callback = true
					e.count(t, func(c *counts) { c.Callbacks++ })
					// The core marks only waiting tasks; one offered since
					// keeps the customer's choice on the simulator's side.
					_, _ = e.core.SetCallback(t.id, e.abs(e.now))
				}
			case "task.overflowed":
				e.count(t, func(c *counts) { c.Overflowed++ })
			case "task.ended":
				e.ended(t, ch)
			}
		}
	}
}

// ended books a task's end by its outcome.
func (e *engine) ended(t *task, ch routing.Change) {
	prev := t.state
	t.state = taskDone
	e.live--
	delete(e.tasks, t.id)
	outcome, _ := ch.Info["outcome"].(string)
	wait := e.now - t.arrived
	switch {
	case outcome == routing.OutcomeHandled && prev == taskAssigned:
		talk := e.now - t.accepted
		e.count(t, func(c *counts) { c.Completed++; c.TalkSum += talk })
		t.agent.handled++
		t.agent.lastDone = t
	case outcome == routing.OutcomeAbandoned:
		short := wait < e.m.shortAbandon
		e.count(t, func(c *counts) {
			c.Abandoned++
			if short {
				c.ShortAbandons++
			}
			c.LongestWait = max(c.LongestWait, wait)
		})
	default:
		// voicemail, rejected (closed or full queue), expired, cancelled
		e.count(t, func(c *counts) {
			c.Other++
			c.LongestWait = max(c.LongestWait, wait)
		})
	}
}

// statusIndex numbers agent statuses for time keeping.
func statusIndex(s atende.AgentStatus) int {
	switch s {
	case atende.StatusAvailable:
		return 1
	case atende.StatusAway:
		return 2
	case atende.StatusBusy:
		return 3
	case atende.StatusWrapUp:
		return 4
	}
	return 0 // offline
}

// agentChanged books the time an agent spent in its last status.
func (e *engine) agentChanged(s *routing.AgentSnapshot) {
	a := e.agents[s.ID]
	if a == nil {
		return
	}
	since := s.Since.Sub(e.m.start)
	e.bookAgent(a, since)
	if a.status == atende.StatusWrapUp {
		a.wrapTask = nil
	}
	a.status, a.since = s.Status, since
	if s.Status == atende.StatusWrapUp {
		// Wrap-up follows the completion that freed the agent.
		a.wrapTask, a.lastDone = a.lastDone, nil
	}
}

// bookAgent adds the time from a.since to until to the agent's status, and
// a wrap-up's time to the task it follows.
func (e *engine) bookAgent(a *agentState, until time.Duration) {
	from := max(a.since, e.m.warmUp)
	if until <= from {
		return
	}
	d := until - from
	a.time[statusIndex(a.status)] += d
	if a.status == atende.StatusWrapUp && a.wrapTask != nil {
		e.count(a.wrapTask, func(c *counts) { c.WrapSum += d })
	}
}
