// Package routing is atende's automatic contact distributor: it matches
// tasks (calls, chats, emails, messages, callbacks) waiting in queues to the
// best available agent by skills, capacity, priority and the queue's
// strategy, with offers, escalations and overflows on timers.
//
// The Core is a deterministic state machine with no I/O and no goroutines:
// every input carries the time, and every decision comes out as a Change.
// The Engine runs one Core per tenant in a single-writer loop and makes each
// batch of changes durable before anyone hears of it; the simulator runs the
// same Core on a virtual clock.
package routing

import (
	"time"

	"github.com/atende/atende"
)

// TaskState is where a task is in its life.
type TaskState string

// Task states.
const (
	TaskWaiting  TaskState = "waiting"  // in a queue, not offered
	TaskOffered  TaskState = "offered"  // offered to one agent, who has not answered
	TaskAssigned TaskState = "assigned" // an agent is working on it
	TaskDone     TaskState = "done"     // finished; Outcome says how
)

// Outcomes of finished tasks.
const (
	OutcomeHandled   = "handled"   // an agent worked it to the end
	OutcomeAbandoned = "abandoned" // the customer left before an agent accepted
	OutcomeCancelled = "cancelled" // withdrawn by the system or an integration
	OutcomeExpired   = "expired"   // its expiry passed while waiting
	OutcomeRejected  = "rejected"  // the queue refused it (full, closed) with reject
	OutcomeVoicemail = "voicemail" // sent to voicemail or the offline form
)

// Task is a unit of routable work.
type Task struct {
	ID             string                 `json:"id"`
	ConversationID string                 `json:"conversation_id,omitempty"`
	Channel        atende.Channel         `json:"channel"`
	QueueID        string                 `json:"queue_id"`
	ExtraQueueIDs  []string               `json:"extra_queue_ids,omitempty"` // widened by escalation
	Requirements   []atende.RequiredSkill `json:"requirements,omitempty"`    // beyond the queue's own
	Relaxed        map[string]int         `json:"relaxed,omitempty"`         // skill -> lowered minimum (0 drops it)
	Priority       int                    `json:"priority"`
	Language       string                 `json:"language,omitempty"`
	Segment        string                 `json:"segment,omitempty"`            // e.g. vip
	PreferredAgent string                 `json:"preferred_agent_id,omitempty"` // wait for this agent first
	LastAgent      string                 `json:"last_agent_id,omitempty"`      // sticky routing
	Attributes     map[string]string      `json:"attributes,omitempty"`         // what an integration attached
	CreatedAt      time.Time              `json:"created_at"`
	EnqueuedAt     time.Time              `json:"enqueued_at"` // the place in queue; kept across offers and overflows
	QueuedAt       time.Time              `json:"queued_at"`   // entry into the current queue; its timers count from here
	ExpiresAt      *time.Time             `json:"expires_at,omitempty"`
	State          TaskState              `json:"state"`
	AgentID        string                 `json:"agent_id,omitempty"` // offered to or assigned to
	OfferedAt      *time.Time             `json:"offered_at,omitempty"`
	OfferDeadline  *time.Time             `json:"offer_deadline,omitempty"`
	AcceptedAt     *time.Time             `json:"accepted_at,omitempty"`
	EndedAt        *time.Time             `json:"ended_at,omitempty"`
	Outcome        string                 `json:"outcome,omitempty"`
	Offers         int                    `json:"offers"`                // offers made so far
	DeclinedBy     []string               `json:"declined_by,omitempty"` // agents who rejected or let it time out
	Callback       bool                   `json:"callback"`              // the customer waits off-line for a call back
	Escalations    int                    `json:"escalations"`           // escalation steps applied
	ReservedFor    string                 `json:"reserved_for,omitempty"`
	ReservedUntil  *time.Time             `json:"reserved_until,omitempty"`
	Seq            uint64                 `json:"seq"`                   // order of entry into the queue, to break ties; kept across restarts
	Unmatchable    bool                   `json:"unmatchable,omitempty"` // no agent of the tenant could take it when last checked

	score  float64  // priority with aging; higher goes first
	groups []*group // where the task waits now
}

// clone returns a copy safe to hand out of the core.
func (t *Task) clone() *Task {
	c := *t
	c.ExtraQueueIDs = append([]string(nil), t.ExtraQueueIDs...)
	c.Requirements = append([]atende.RequiredSkill(nil), t.Requirements...)
	c.DeclinedBy = append([]string(nil), t.DeclinedBy...)
	if t.Relaxed != nil {
		c.Relaxed = make(map[string]int, len(t.Relaxed))
		for k, v := range t.Relaxed {
			c.Relaxed[k] = v
		}
	}
	if t.Attributes != nil {
		c.Attributes = make(map[string]string, len(t.Attributes))
		for k, v := range t.Attributes {
			c.Attributes[k] = v
		}
	}
	c.groups = nil
	return &c
}

// queueIDs lists every queue the task waits in: its own, then widened ones.
func (t *Task) queueIDs() []string {
	return append([]string{t.QueueID}, t.ExtraQueueIDs...)
}

func ptr(t time.Time) *time.Time { return &t }
