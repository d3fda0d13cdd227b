package routing

import (
	"slices"
	"time"

	"github.com/atende/atende"
)

// defaultAHT is the handle time assumed for wait estimates until a queue has
// handled enough tasks to know its own.
const defaultAHT = 180 * time.Second

// Position is where a waiting task stands in its queue.
type Position struct {
	Position int           `json:"position"` // 1: next
	Waiting  int           `json:"waiting"`  // tasks waiting in the queue
	EWT      time.Duration `json:"-"`
	EWTSec   int           `json:"ewt_sec"` // estimated wait from now, seconds
}

// Position returns a waiting task's place in its home queue and an estimate
// of its wait: the tasks ahead times the queue's handle time, shared among
// the slots of the logged-in agents who can serve it.
func (c *Core) Position(taskID string) (Position, bool) {
	t := c.tasks[taskID]
	if t == nil || t.State != TaskWaiting || len(t.groups) == 0 {
		return Position{}, false
	}
	q := t.groups[0].q
	ahead := 0
	for _, g := range q.groups {
		g.tasks.AscendLessThan(t, func(*Task) bool { ahead++; return true })
	}
	p := Position{Position: ahead + 1, Waiting: q.waiting}
	p.EWT = c.estimate(q, t.Channel, ahead)
	p.EWTSec = int(p.EWT.Round(time.Second) / time.Second)
	return p, true
}

func (c *Core) estimate(q *queue, ch atende.Channel, ahead int) time.Duration {
	aht := defaultAHT
	if q.handled >= 5 {
		aht = time.Duration(q.ahtEWMA * float64(time.Second))
	}
	slots := 0
	for _, a := range q.members {
		if a.Presence == atende.StatusAvailable {
			slots += a.Capacity[ch]
		}
	}
	if slots == 0 {
		slots = 1
	}
	return time.Duration(float64(ahead+1) * float64(aht) / float64(slots))
}

// QueueStats is a queue's live picture.
type QueueStats struct {
	QueueID        string `json:"queue_id"`
	Name           string `json:"name"`
	Waiting        int    `json:"waiting"`
	Offered        int    `json:"offered"`  // offers open now
	Assigned       int    `json:"assigned"` // tasks being worked now
	LongestWaitSec int    `json:"longest_wait_sec"`
	AgentsLoggedIn int    `json:"agents_logged_in"` // members not offline
	AgentsReady    int    `json:"agents_ready"`     // members who could be offered work now
	AgentsBusy     int    `json:"agents_busy"`
	EWTSec         int    `json:"ewt_sec"` // estimate for a task arriving now
}

// Stats returns every queue's live picture, by name. One pass over the
// live tasks: the engine makes no decision while it runs.
func (c *Core) Stats(now time.Time) []QueueStats {
	type acc struct {
		offered, assigned int
		oldest            time.Time
	}
	per := make(map[*queue]*acc, len(c.queues))
	get := func(q *queue) *acc {
		x := per[q]
		if x == nil {
			x = &acc{}
			per[q] = x
		}
		return x
	}
	for _, t := range c.tasks {
		switch t.State {
		case TaskWaiting:
			for _, g := range t.groups {
				if x := get(g.q); x.oldest.IsZero() || t.QueuedAt.Before(x.oldest) {
					x.oldest = t.QueuedAt
				}
			}
		case TaskOffered, TaskAssigned:
			q := c.queues[t.QueueID]
			if q == nil {
				continue
			}
			if t.State == TaskOffered {
				get(q).offered++
			} else {
				get(q).assigned++
			}
		}
	}
	out := make([]QueueStats, 0, len(c.queues))
	for _, q := range c.queues {
		s := QueueStats{QueueID: q.cfg.ID, Name: q.cfg.Name, Waiting: q.waiting}
		if x := per[q]; x != nil {
			s.Offered, s.Assigned = x.offered, x.assigned
			if !x.oldest.IsZero() {
				s.LongestWaitSec = int(now.Sub(x.oldest) / time.Second)
			}
		}
		for _, a := range q.members {
			if a.Presence != atende.StatusOffline || len(a.tasks) > 0 {
				s.AgentsLoggedIn++
			}
			if a.Status == atende.StatusBusy {
				s.AgentsBusy++
			}
			if a.takeMask != 0 {
				s.AgentsReady++
			}
		}
		if len(q.cfg.Channels) > 0 {
			s.EWTSec = int(c.estimate(q, q.cfg.Channels[0], q.waiting).Round(time.Second) / time.Second)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b QueueStats) int { return cmpString(a.Name+a.QueueID, b.Name+b.QueueID) })
	return out
}

// Agents returns every agent's live routing state, by id.
func (c *Core) Agents() []AgentSnapshot {
	out := make([]AgentSnapshot, 0, len(c.agents))
	for _, a := range sortedAgents(c.agents) {
		out = append(out, *c.snapshot(a))
	}
	return out
}

// Task returns a copy of a live task.
func (c *Core) Task(id string) (*Task, bool) {
	t := c.tasks[id]
	if t == nil {
		return nil, false
	}
	return t.clone(), true
}

// Agent returns one agent's live routing state.
func (c *Core) Agent(id string) (AgentSnapshot, bool) {
	a := c.agents[id]
	if a == nil {
		return AgentSnapshot{}, false
	}
	return *c.snapshot(a), true
}

// waitingTasks counts the tasks waiting in every queue (a task widened to
// several queues counts once).
func (c *Core) waitingTasks() int {
	n := 0
	for _, t := range c.tasks {
		if t.State == TaskWaiting {
			n++
		}
	}
	return n
}

// SweepUnmatchable finds waiting tasks that no agent of the tenant could
// take any more (their only capable agent left, lost a skill or a team) and
// applies their queue's no-match action, or reports them once when the action
// is to keep waiting. It checks each group of requirements once, not each
// task; the engine calls it periodically.
func (c *Core) SweepUnmatchable(now time.Time) {
	c.now = now
	var stuck []*Task
	for _, q := range c.queues {
		for _, g := range q.groups {
			if g.tasks.Len() == 0 || c.groupServable(g) {
				continue
			}
			g.tasks.Ascend(func(t *Task) bool {
				if t.QueueID == q.cfg.ID && len(t.groups) == 1 && !t.Unmatchable {
					stuck = append(stuck, t)
				}
				return true
			})
		}
	}
	slices.SortFunc(stuck, func(a, b *Task) int { return cmpString(a.ID, b.ID) })
	for _, t := range stuck {
		q := c.queues[t.QueueID]
		if q.cfg.Routing.NoMatchAction.Type == atende.ActionKeep {
			t.Unmatchable = true
			c.emit("task.unmatchable", t, map[string]any{"queue_id": q.cfg.ID})
			continue
		}
		c.unqueue(t)
		c.act(t, q, q.cfg.Routing.NoMatchAction, "no_match")
	}
}

// groupServable reports whether some member of the group's queue, logged in
// or not, could take its tasks.
func (c *Core) groupServable(g *group) bool {
	for _, a := range g.agents { // the members that meet g's requirements
		if a.Capacity[g.ch] > 0 {
			return true
		}
	}
	return false
}
