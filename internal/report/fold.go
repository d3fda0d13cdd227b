package report

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/atende/atende"
)

// Dimension is what a row of interval statistics is about.
type Dimension string

// Dimensions of interval statistics. Teams are the sum of their agents, and
// a tenant's total the sum of its channels, added up when a report asks.
const (
	DimQueue       Dimension = "queue"
	DimChannel     Dimension = "channel"
	DimAgent       Dimension = "agent"
	DimDisposition Dimension = "disposition"
)

// Key names one row: a tenant's interval of one queue, channel, agent or
// disposition.
type Key struct {
	TenantID string
	Interval time.Time // UTC start of the 15-minute interval
	Dim      Dimension
	ID       string // queue, agent or disposition id; channel name
}

// Row is the counters of one key. A queue or channel row uses Queue and
// Survey; an agent row Agent and Survey; a disposition row Count.
type Row struct {
	Queue  QueueCounters  `json:"queue"`
	Agent  AgentCounters  `json:"agent"`
	Survey SurveyCounters `json:"survey"`
	Count  int64          `json:"count,omitempty"` // dispositions set
	// FCR is kept in its own table (see fcr.go) and only joins a row when
	// a report reads it.
	FCR FCRCounters `json:"fcr,omitzero"`
}

// Add folds o into r.
func (r *Row) Add(o *Row) {
	r.Queue.Add(o.Queue)
	r.Agent.Add(o.Agent)
	r.Survey.Add(o.Survey)
	r.Count += o.Count
	r.FCR.Add(o.FCR)
}

// Policy is what the fold needs to know of a tenant's configuration.
type Policy interface {
	// Location is the tenant's time zone.
	Location(tenantID string) *time.Location
	// ServiceLevel is a queue's answer threshold (the T of "80 % in T").
	ServiceLevel(tenantID, queueID string) time.Duration
	// ShortAbandon is the tenant's short-abandon threshold.
	ShortAbandon(tenantID string) time.Duration
}

// Where each counter goes: a task's queue figures (offered, answered,
// abandoned, waits, service level, handle time) go to the interval the
// customer arrived in, so every interval's rates have a consistent
// denominator and forecasting sees arrivals; an agent's figures go to the
// interval the work or the state happened in, split at interval bounds.

// taskSeen is what the fold remembers of a task until it ends. A task is
// counted in its channel once, from its first arrival; and in each queue it
// is transferred to, from its arrival there.
type taskSeen struct {
	TenantID string         `json:"t"`
	Channel  atende.Channel `json:"c"`
	First    time.Time      `json:"f"`            // first arrival
	Answered bool           `json:"fa,omitempty"` // accepted at least once
	QueueID  string         `json:"q"`
	Arrived  time.Time      `json:"a"` // arrival in QueueID
	Handled  bool           `json:"h,omitempty"`
	// Accepted is when the agent now holding it accepted it, so that the
	// work of an agent who transfers it on still counts.
	Accepted *time.Time `json:"ac,omitempty"`
	AgentID  string     `json:"ag,omitempty"`
}

// agentSeen is an agent's state as last announced, and the task whose
// after-contact work the agent may be doing.
type agentSeen struct {
	TenantID string             `json:"t"`
	Status   atende.AgentStatus `json:"s"`
	Reason   string             `json:"r,omitempty"`
	Since    time.Time          `json:"since"`
	Wrap     *taskSeen          `json:"w,omitempty"` // the last task completed, for its wrap-up time
}

// Fold turns stored events into interval statistics, incrementally: Apply
// takes events in id order, Take hands over the rows changed since the last
// Take (deltas to add to what is stored), and the fold's own memory of open
// tasks and agent states is saved with them (State) so that a restart
// continues exactly where it stopped.
type Fold struct {
	policy Policy
	tasks  map[string]*taskSeen
	agents map[string]*agentSeen
	rows   map[Key]*Row
}

// NewFold starts a fold; state is what State returned, or nil.
func NewFold(p Policy, state []byte) (*Fold, error) {
	f := &Fold{policy: p, tasks: map[string]*taskSeen{}, agents: map[string]*agentSeen{}, rows: map[Key]*Row{}}
	if len(state) > 0 {
		var s foldState
		if err := json.Unmarshal(state, &s); err != nil {
			return nil, fmt.Errorf("read statistics state: %w", err)
		}
		if s.Tasks != nil {
			f.tasks = s.Tasks
		}
		if s.Agents != nil {
			f.agents = s.Agents
		}
	}
	return f, nil
}

type foldState struct {
	Tasks  map[string]*taskSeen  `json:"tasks"`
	Agents map[string]*agentSeen `json:"agents"`
}

// State is the fold's memory, to save with the rows Take returned.
func (f *Fold) State() ([]byte, error) {
	return json.Marshal(foldState{Tasks: f.tasks, Agents: f.agents})
}

// Take returns the rows changed since the last Take and forgets them.
func (f *Fold) Take() map[Key]*Row {
	out := f.rows
	f.rows = map[Key]*Row{}
	return out
}

func (f *Fold) row(tenantID string, at time.Time, dim Dimension, id string) *Row {
	k := Key{TenantID: tenantID, Interval: IntervalStart(at, f.policy.Location(tenantID)), Dim: dim, ID: id}
	r := f.rows[k]
	if r == nil {
		r = &Row{}
		f.rows[k] = r
	}
	return r
}

// counters does one change to a task's queue row (the interval of its
// arrival in that queue) and, when channelToo, to its channel row (the
// interval of its first arrival).
func (f *Fold) counters(ts *taskSeen, channelToo bool, do func(c *QueueCounters)) {
	do(&f.row(ts.TenantID, ts.Arrived, DimQueue, ts.QueueID).Queue)
	if channelToo {
		do(&f.row(ts.TenantID, ts.First, DimChannel, string(ts.Channel)).Queue)
	}
}

// both does a change that depends on the arrival time to the queue row and
// the channel row, each measured from its own arrival.
func (f *Fold) both(ts *taskSeen, queue, channel bool, do func(c *QueueCounters, arrived time.Time)) {
	if queue {
		do(&f.row(ts.TenantID, ts.Arrived, DimQueue, ts.QueueID).Queue, ts.Arrived)
	}
	if channel {
		do(&f.row(ts.TenantID, ts.First, DimChannel, string(ts.Channel)).Queue, ts.First)
	}
}

// eventTask is the part of a routing event's payload the fold reads.
type eventTask struct {
	ID         string         `json:"id"`
	Channel    atende.Channel `json:"channel"`
	QueueID    string         `json:"queue_id"`
	EnqueuedAt time.Time      `json:"enqueued_at"`
	AgentID    string         `json:"agent_id"`
	AcceptedAt *time.Time     `json:"accepted_at"`
	EndedAt    *time.Time     `json:"ended_at"`
	Outcome    string         `json:"outcome"`
}

type eventAgent struct {
	ID     string             `json:"id"`
	Status atende.AgentStatus `json:"status"`
	Reason string             `json:"reason_code"`
	Since  time.Time          `json:"since"`
}

type routingPayload struct {
	Task  *eventTask      `json:"task"`
	Agent *eventAgent     `json:"agent"`
	Info  json.RawMessage `json:"info"`
}

// Apply folds one event. Events the statistics do not use are ignored.
func (f *Fold) Apply(e atende.Event) error {
	switch e.Type {
	case "task.created", "task.accepted", "task.ended", "task.transferred", "agent.state_changed":
		var p routingPayload
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return fmt.Errorf("event %d %s: %w", e.ID, e.Type, err)
		}
		if p.Agent != nil {
			f.agentState(e.TenantID, p.Agent)
			return nil
		}
		if e.Type == "agent.state_changed" {
			// A state written outside the routing engine (before a
			// tenant's engine runs): the flat form.
			var st struct {
				UserID string             `json:"user_id"`
				Status atende.AgentStatus `json:"status"`
				Reason string             `json:"reason_code"`
				Since  time.Time          `json:"since"`
			}
			if err := json.Unmarshal(e.Data, &st); err != nil {
				return fmt.Errorf("event %d %s: %w", e.ID, e.Type, err)
			}
			if st.UserID != "" {
				f.agentState(e.TenantID, &eventAgent{ID: st.UserID, Status: st.Status, Reason: st.Reason, Since: st.Since})
			}
			return nil
		}
		if p.Task == nil {
			return nil
		}
		return f.task(e, p.Task, p.Info)
	case "survey.answered":
		var sv struct {
			AgentID string         `json:"agent_id"`
			QueueID string         `json:"queue_id"`
			Channel atende.Channel `json:"channel"`
			Kind    string         `json:"kind"`
			Score   int            `json:"score"`
			At      time.Time      `json:"at"`
		}
		if err := json.Unmarshal(e.Data, &sv); err != nil {
			return fmt.Errorf("event %d %s: %w", e.ID, e.Type, err)
		}
		count := func(s *SurveyCounters) {
			if sv.Kind == "nps" {
				s.CountNPS(sv.Score)
			} else {
				s.CountCSAT(sv.Score)
			}
		}
		count(&f.row(e.TenantID, sv.At, DimChannel, string(sv.Channel)).Survey)
		if sv.AgentID != "" {
			count(&f.row(e.TenantID, sv.At, DimAgent, sv.AgentID).Survey)
		}
		if sv.QueueID != "" {
			count(&f.row(e.TenantID, sv.At, DimQueue, sv.QueueID).Survey)
		}
	case "conversation.event_appended":
		var te struct {
			Kind      atende.EventKind `json:"kind"`
			CreatedAt time.Time        `json:"created_at"`
			Data      struct {
				DispositionID string `json:"disposition_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(e.Data, &te); err != nil {
			return fmt.Errorf("event %d %s: %w", e.ID, e.Type, err)
		}
		if te.Kind == atende.KindDisposition && te.Data.DispositionID != "" {
			f.row(e.TenantID, te.CreatedAt, DimDisposition, te.Data.DispositionID).Count++
		}
	}
	return nil
}

func (f *Fold) task(e atende.Event, t *eventTask, info json.RawMessage) error {
	ts := f.tasks[t.ID]
	switch e.Type {
	case "task.created":
		if ts != nil {
			return nil // seen already (a replay)
		}
		ts = &taskSeen{TenantID: e.TenantID, Channel: t.Channel, First: t.EnqueuedAt, QueueID: t.QueueID, Arrived: t.EnqueuedAt}
		f.tasks[t.ID] = ts
		f.counters(ts, true, func(c *QueueCounters) { c.Offered++ })
	case "task.transferred":
		if ts == nil {
			return nil
		}
		var in struct {
			ToQueueID string `json:"to_queue_id"`
		}
		if len(info) > 0 {
			if err := json.Unmarshal(info, &in); err != nil {
				return fmt.Errorf("event %d %s: %w", e.ID, e.Type, err)
			}
		}
		f.counters(ts, true, func(c *QueueCounters) { c.Transferred++ })
		if ts.Accepted != nil {
			// The transferring agent's part of the work.
			talk := e.At.Sub(*ts.Accepted).Milliseconds()
			f.counters(ts, true, func(c *QueueCounters) { c.TalkMs += talk })
			f.row(e.TenantID, e.At, DimAgent, ts.AgentID).Agent.TalkMs += talk
			ts.Accepted, ts.AgentID = nil, ""
		}
		if in.ToQueueID != "" && in.ToQueueID != ts.QueueID {
			// Offered anew to the queue it was sent to, counted from now.
			ts.QueueID, ts.Arrived, ts.Handled = in.ToQueueID, e.At, false
			f.counters(ts, false, func(c *QueueCounters) { c.Offered++ })
		}
	case "task.accepted":
		if ts == nil || t.AcceptedAt == nil {
			return nil
		}
		f.row(e.TenantID, *t.AcceptedAt, DimAgent, t.AgentID).Agent.Handled++
		sl := f.policy.ServiceLevel(e.TenantID, ts.QueueID)
		f.both(ts, !ts.Handled, !ts.Answered, func(c *QueueCounters, arrived time.Time) {
			wait := t.AcceptedAt.Sub(arrived)
			c.Handled++
			c.WaitHandledMs += wait.Milliseconds()
			c.LongestWaitMs = max(c.LongestWaitMs, wait.Milliseconds())
			if wait <= sl {
				c.AnsweredInSL++
			}
		})
		ts.Handled, ts.Answered = true, true
		ts.Accepted, ts.AgentID = t.AcceptedAt, t.AgentID
	case "task.ended":
		if ts == nil || t.EndedAt == nil {
			return nil
		}
		delete(f.tasks, t.ID)
		switch {
		case t.Outcome == "handled" && t.AcceptedAt != nil:
			talk := t.EndedAt.Sub(*t.AcceptedAt).Milliseconds()
			f.counters(ts, true, func(c *QueueCounters) {
				c.Completed++
				c.TalkMs += talk
			})
			ar := &f.row(e.TenantID, *t.EndedAt, DimAgent, t.AgentID).Agent
			ar.Completed++
			ar.TalkMs += talk
			if a := f.agents[t.AgentID]; a != nil {
				a.Wrap = ts
			}
		case t.Outcome == "abandoned":
			short, sl := f.policy.ShortAbandon(e.TenantID), f.policy.ServiceLevel(e.TenantID, ts.QueueID)
			f.both(ts, !ts.Handled, !ts.Answered, func(c *QueueCounters, arrived time.Time) {
				wait := t.EndedAt.Sub(arrived)
				c.Abandoned++
				c.WaitAbandonedMs += wait.Milliseconds()
				c.LongestWaitMs = max(c.LongestWaitMs, wait.Milliseconds())
				if wait < short {
					c.ShortAbandoned++
				} else if wait <= sl {
					c.AbandonedInSL++
				}
			})
		}
	}
	return nil
}

// agentState closes the agent's previous state at the new one's start and
// adds its time, split at interval bounds, to the agent's rows; the end of
// after-contact work adds its length to the handle time of the task it
// followed.
func (f *Fold) agentState(tenantID string, a *eventAgent) {
	prev := f.agents[a.ID]
	if prev != nil && prev.Status == a.Status && prev.Reason == a.Reason {
		return // the same state announced again (say, presence chosen while busy)
	}
	var wrap *taskSeen
	if prev != nil {
		if a.Since.Before(prev.Since) {
			// The state changed before the time Close already counted the
			// previous one up to: give that stretch back.
			f.stateTime(a.ID, &agentSeen{TenantID: prev.TenantID, Status: prev.Status, Reason: prev.Reason, Since: a.Since, Wrap: prev.Wrap}, prev.Since, -1)
		} else {
			f.stateTime(a.ID, prev, a.Since, 1)
		}
		if prev.Status != atende.StatusWrapUp {
			wrap = prev.Wrap // completed while busy: wrap-up may follow
		}
	}
	f.agents[a.ID] = &agentSeen{TenantID: tenantID, Status: a.Status, Reason: a.Reason, Since: a.Since, Wrap: wrap}
}

// Close adds the time of every agent's current state up to now, as if the
// state ended then (it goes on from now): reports of the current day then
// include the time agents have spent in their state so far.
func (f *Fold) Close(now time.Time) {
	for id, a := range f.agents {
		if now.After(a.Since) {
			f.stateTime(id, a, now, 1)
			a.Since = now
		}
	}
}

// stateTime adds (sign 1) or takes back (sign −1) the time from s.Since to
// until in s's state.
func (f *Fold) stateTime(agentID string, s *agentSeen, until time.Time, sign int64) {
	if s.Status == atende.StatusOffline || !until.After(s.Since) {
		return
	}
	loc := f.policy.Location(s.TenantID)
	total := sign * until.Sub(s.Since).Milliseconds()
	for from := s.Since; from.Before(until); {
		end := IntervalStart(from, loc).Add(IntervalSize)
		if end.After(until) {
			end = until
		}
		ms := sign * end.Sub(from).Milliseconds()
		r := &f.row(s.TenantID, from, DimAgent, agentID).Agent
		switch s.Status {
		case atende.StatusAvailable:
			r.AvailableMs += ms
		case atende.StatusBusy:
			r.BusyMs += ms
		case atende.StatusWrapUp:
			r.WrapUpMs += ms
			if s.Wrap != nil {
				r.WrapMs += ms // after-contact work of a task: handle time
			}
		default:
			r.AwayMs += ms
			if r.StateByReason == nil {
				r.StateByReason = map[string]int64{}
			}
			r.StateByReason[s.Reason] += ms
		}
		from = end
	}
	if s.Status == atende.StatusWrapUp && s.Wrap != nil {
		// After-contact work counts in the handle time of the task it
		// followed, in that task's interval.
		f.counters(s.Wrap, true, func(c *QueueCounters) { c.WrapMs += total })
	}
}
