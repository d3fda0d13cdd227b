package routing

import (
	"container/heap"
	"slices"
	"time"

	"github.com/atende/atende"
)

type timerKind uint8

const (
	timerOffer       timerKind = iota + 1 // an offer's answer is due (RONA)
	timerMaxWait                          // the queue's maximum wait
	timerExpiry                           // the task's own expiry
	timerEscalation                       // the next escalation step
	timerReservation                      // a hold for one agent ends
	timerWrapUp                           // an agent's after-contact work ends
)

// timer is a deadline; gen tells a stale timer (the offer, step or wrap-up
// it was set for has passed) from a live one, so nothing is ever removed
// from the heap early.
type timer struct {
	at   time.Time
	kind timerKind
	id   string
	gen  int
	seq  uint64
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (c *Core) schedule(at time.Time, kind timerKind, id string, gen int) {
	c.seq++
	heap.Push(&c.timers, timer{at: at, kind: kind, id: id, gen: gen, seq: c.seq})
}

// NextDeadline returns when Advance next has work, or false when nothing is due.
func (c *Core) NextDeadline() (time.Time, bool) {
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// Advance fires every timer due at now, in order.
func (c *Core) Advance(now time.Time) {
	for len(c.timers) > 0 && !c.timers[0].at.After(now) {
		tm := heap.Pop(&c.timers).(timer)
		c.now = tm.at
		c.fire(tm)
	}
	c.now = now
}

func (c *Core) fire(tm timer) {
	if tm.kind == timerWrapUp {
		a := c.agents[tm.id]
		if a != nil && a.wrapGen == tm.gen && a.WrapEnd != nil {
			a.WrapEnd, a.Idle = nil, c.now
			c.refreshAgent(a)
			c.matchAgent(a)
		}
		return
	}
	t := c.tasks[tm.id]
	if t == nil {
		return
	}
	switch tm.kind {
	case timerOffer:
		if t.State != TaskOffered || t.Offers != tm.gen {
			return
		}
		a := c.agents[t.AgentID]
		q := c.queues[t.QueueID]
		c.returnOffer(t, "task.offer_timeout")
		// Redirection on no answer: the agent is probably not at the desk.
		if a != nil && q != nil && q.cfg.Routing.RONAStatus != atende.StatusAvailable {
			_ = c.SetPresence(a.ID, q.cfg.Routing.RONAStatus, q.cfg.Routing.RONAReason, c.now)
		}
	case timerMaxWait:
		q := c.queues[t.QueueID]
		if t.State != TaskWaiting || q == nil || q.cfg.MaxWaitSec == 0 || c.now.Sub(t.QueuedAt) < time.Duration(q.cfg.MaxWaitSec)*time.Second {
			return
		}
		c.act(t, q, q.cfg.Routing.MaxWaitAction, "max_wait")
	case timerExpiry:
		if t.State == TaskWaiting || t.State == TaskOffered {
			c.emit("task.expired", t, nil)
			c.finish(t, OutcomeExpired)
		}
	case timerEscalation:
		if t.Escalations != tm.gen {
			return
		}
		if t.State != TaskWaiting {
			// Offered right now: look again when the offer is settled.
			c.schedule(c.now.Add(time.Second), timerEscalation, t.ID, tm.gen)
			return
		}
		c.escalate(t)
	case timerReservation:
		if t.ReservedFor != "" && t.ReservedUntil != nil && !t.ReservedUntil.After(c.now) && t.State == TaskWaiting {
			c.unreserve(t)
			c.emit("task.reservation_ended", t, nil)
			c.matchTask(t)
		}
	}
}

// escalate applies the task's next escalation step of its home queue.
func (c *Core) escalate(t *Task) {
	q := c.queues[t.QueueID]
	if q == nil || t.Escalations >= len(q.cfg.Routing.Escalations) {
		return
	}
	e := q.cfg.Routing.Escalations[t.Escalations]
	t.Escalations++
	info := map[string]any{"step": t.Escalations, "type": e.Type}
	switch e.Type {
	case atende.EscalateRelaxSkill:
		c.unqueue(t)
		if t.Relaxed == nil {
			t.Relaxed = map[string]int{}
		}
		t.Relaxed[e.SkillID] = e.MinProficiency
		c.enqueue(t)
		info["skill_id"], info["min_proficiency"] = e.SkillID, e.MinProficiency
	case atende.EscalateAddQueue:
		if target := c.queues[e.QueueID]; target != nil && !slices.Contains(t.ExtraQueueIDs, e.QueueID) {
			c.unqueue(t)
			t.ExtraQueueIDs = append(t.ExtraQueueIDs, e.QueueID)
			c.enqueue(t)
		}
		info["queue_id"] = e.QueueID
	case atende.EscalateRaisePriority:
		c.unqueue(t)
		t.Priority = min(t.Priority+e.Priority, atende.MaxPriority)
		c.enqueue(t)
		info["priority"] = t.Priority
	case atende.EscalateCallback:
		c.emit("task.callback_offered", t, map[string]any{"reason": "escalation", "queue_id": q.cfg.ID})
	case atende.EscalateVoicemail:
		c.emit("task.escalated", t, info)
		c.act(t, q, atende.QueueAction{Type: atende.ActionVoicemail}, "escalation")
		return
	}
	c.emit("task.escalated", t, info)
	if t.Escalations < len(q.cfg.Routing.Escalations) {
		next := q.cfg.Routing.Escalations[t.Escalations]
		c.schedule(t.QueuedAt.Add(time.Duration(next.AfterSec)*time.Second), timerEscalation, t.ID, t.Escalations)
	}
	c.matchTask(t)
}
