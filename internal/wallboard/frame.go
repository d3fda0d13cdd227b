package wallboard

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

// QueueView is one queue on the wallboard.
type QueueView struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Channels []atende.Channel `json:"channels"`
	Figures
	SLTargetPct    int     `json:"sl_target_pct"`
	SLThresholdSec int     `json:"sl_threshold_sec"`
	Alerts         []Alert `json:"alerts"`

	teamIDs []string // the teams it is limited to; nil: every team
}

// Figures are a queue's live and today's figures, or a selection's totals.
type Figures struct {
	Waiting             int         `json:"waiting"`
	LongestWaitSec      int         `json:"longest_wait_sec"`
	OfferedToday        int64       `json:"offered_today"`
	HandledToday        int64       `json:"handled_today"`
	AbandonedToday      int64       `json:"abandoned_today"`
	ShortAbandonedToday int64       `json:"short_abandoned_today"`
	ServiceLevelToday   *float64    `json:"service_level_today"` // percent; null with nothing to measure
	ASATodaySec         *float64    `json:"asa_today_sec"`
	AHTTodaySec         *float64    `json:"aht_today_sec"`
	EWTSec              int         `json:"ewt_sec"`
	Agents              AgentCounts `json:"agents"`
}

// AgentCounts counts agents by state.
type AgentCounts struct {
	Available int `json:"available"`
	Busy      int `json:"busy"`
	WrapUp    int `json:"wrap_up"`
	Away      int `json:"away"`
	Offline   int `json:"offline"`
}

func (c *AgentCounts) add(s atende.AgentStatus, n int) {
	switch s {
	case atende.StatusAvailable:
		c.Available += n
	case atende.StatusBusy:
		c.Busy += n
	case atende.StatusWrapUp:
		c.WrapUp += n
	case atende.StatusAway:
		c.Away += n
	default:
		c.Offline += n
	}
}

// AgentView is one agent on the wallboard.
type AgentView struct {
	ID           string                 `json:"id"`
	Name         string                 `json:"name"`
	Status       atende.AgentStatus     `json:"status"`
	ReasonCode   string                 `json:"reason_code"`
	Since        time.Time              `json:"since"`
	Teams        []string               `json:"teams"`
	Queues       []string               `json:"queues"`
	Load         map[atende.Channel]int `json:"load"`
	Tasks        []TaskView             `json:"tasks"`
	HandledToday int64                  `json:"handled_today"`
}

// TaskView is a task an agent is working on.
type TaskView struct {
	ID             string         `json:"id"`
	Channel        atende.Channel `json:"channel"`
	ConversationID string         `json:"conversation_id,omitempty"`
	QueueID        string         `json:"queue_id"`
	AcceptedAt     *time.Time     `json:"accepted_at"`
}

// QueueEntry is a queue in a frame, with its JSON encoded once.
type QueueEntry struct {
	View QueueView
	day  report.QueueCounters
	json []byte
}

// AgentEntry is an agent in a frame, with its JSON encoded once.
type AgentEntry struct {
	View     AgentView
	capacity atende.Capacity
	json     []byte
}

// Frame is the whole wallboard at one moment; it never changes once built,
// and every subscriber reads its own selection of it.
type Frame struct {
	At     time.Time
	Queues []*QueueEntry // by name
	Agents []*AgentEntry // by name
	Teams  []TeamSummary
	seq    uint64

	mu      sync.Mutex
	encoded map[frameKey][]byte // selections already encoded, shared by the sockets that chose them
}

type frameKey struct {
	sel Selection
	typ string
}

// JSON is AppendJSON into a slice of its own, encoded once per selection
// and type however many wallboards show it; the caller must not change it.
func (f *Frame) JSON(sel Selection, typ string) []byte {
	k := frameKey{sel, typ}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.encoded[k]; ok {
		return b
	}
	b := f.AppendJSON(nil, sel, typ)
	if f.encoded == nil {
		f.encoded = map[frameKey][]byte{}
	}
	f.encoded[k] = b
	return b
}

// Newer reports whether f was built after g.
func (f *Frame) Newer(g *Frame) bool { return g == nil || f.seq > g.seq }

// Selection narrows a frame: to a team's agents and the queues it serves,
// a queue and its agents, a channel's queues and the agents who take it.
type Selection struct {
	TeamID  string
	QueueID string
	Channel atende.Channel
}

func (s Selection) queue(e *QueueEntry) bool {
	v := &e.View
	if s.QueueID != "" && v.ID != s.QueueID {
		return false
	}
	if s.Channel != "" && !slices.Contains(v.Channels, s.Channel) {
		return false
	}
	if s.TeamID != "" {
		// A queue limited to teams is served only by them; one that is not
		// is served by every team.
		return e.teams() == nil || slices.Contains(e.teams(), s.TeamID)
	}
	return true
}

func (e *QueueEntry) teams() []string { return e.View.teamIDs }

func (s Selection) agent(e *AgentEntry) bool {
	v := &e.View
	if s.TeamID != "" && !slices.Contains(v.Teams, s.TeamID) {
		return false
	}
	if s.QueueID != "" {
		if _, ok := slices.BinarySearch(v.Queues, s.QueueID); !ok {
			return false
		}
	}
	if s.Channel != "" && e.capacity[s.Channel] == 0 {
		return false
	}
	return true
}

// Snapshot is a frame's selection as one value (for tests and callers that
// want the figures rather than JSON).
type Snapshot struct {
	At     time.Time     `json:"at"`
	Queues []QueueView   `json:"queues"`
	Agents []AgentView   `json:"agents"`
	Totals Figures       `json:"totals"`
	Teams  []TeamSummary `json:"teams"`
}

// AppendJSON appends the selection's snapshot as JSON to b; typ, when not
// empty, is added as its "type" (the WebSocket's frames).
func (f *Frame) AppendJSON(b []byte, sel Selection, typ string) []byte {
	b = append(b, '{')
	if typ != "" {
		b = append(b, `"type":`...)
		b, _ = appendString(b, typ)
		b = append(b, ',')
	}
	b = append(b, `"at":`...)
	b = f.At.UTC().AppendFormat(append(b, '"'), time.RFC3339Nano)
	b = append(b, `","queues":[`...)
	var totals Figures
	var day report.QueueCounters
	n := 0
	for _, q := range f.Queues {
		if !sel.queue(q) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, q.json...)
		day.Add(q.day)
		totals.Waiting += q.View.Waiting
		totals.LongestWaitSec = max(totals.LongestWaitSec, q.View.LongestWaitSec)
		totals.EWTSec = max(totals.EWTSec, q.View.EWTSec)
	}
	b = append(b, `],"agents":[`...)
	n = 0
	for _, a := range f.Agents {
		if !sel.agent(a) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, a.json...)
		totals.Agents.add(a.View.Status, 1)
	}
	totals.today(day)
	b = append(b, `],"totals":`...)
	tb, _ := json.Marshal(totals)
	b = append(b, tb...)
	b = append(b, `,"teams":`...)
	teams := f.Teams
	if teams == nil {
		teams = []TeamSummary{}
	}
	tb, _ = json.Marshal(teams)
	b = append(b, tb...)
	return append(b, '}')
}

// Snapshot decodes the selection (a convenience; the API sends AppendJSON).
func (f *Frame) Snapshot(sel Selection) (Snapshot, error) {
	var s Snapshot
	err := json.Unmarshal(f.AppendJSON(nil, sel, ""), &s)
	return s, err
}

func appendString(b []byte, s string) ([]byte, error) {
	j, err := json.Marshal(s)
	return append(b, j...), err
}

// today fills the figures computed from today's counters.
func (f *Figures) today(c report.QueueCounters) {
	f.OfferedToday, f.HandledToday, f.AbandonedToday, f.ShortAbandonedToday = c.Offered, c.Handled, c.Abandoned, c.ShortAbandoned
	f.ServiceLevelToday, f.ASATodaySec, f.AHTTodaySec = nil, nil, nil
	if v, ok := c.ServiceLevel(); ok {
		f.ServiceLevelToday = round1(v * 100)
	}
	if d, ok := c.ASA(); ok {
		f.ASATodaySec = round1(d.Seconds())
	}
	if d, ok := c.AHT(); ok {
		f.AHTTodaySec = round1(d.Seconds())
	}
}

func round1(v float64) *float64 {
	r := math.Round(v*10) / 10
	return &r
}

// build makes a frame from the current state, encoding again only the
// queues and agents that changed since the last frame.
func (m *Model) build() *Frame {
	now := m.cfg.Now()
	f := &Frame{At: now, Teams: m.teams, Queues: make([]*QueueEntry, 0, len(m.qOrder)), Agents: make([]*AgentEntry, 0, len(m.aOrder))}
	for _, q := range m.qOrder {
		if q.dirty || q.entry == nil {
			q.entry = m.queueEntry(q, now)
			q.dirty = false
		}
		f.Queues = append(f.Queues, q.entry)
	}
	for _, a := range m.aOrder {
		if a.dirty || a.entry == nil {
			a.entry = agentEntry(a)
			a.dirty = false
		}
		f.Agents = append(f.Agents, a.entry)
	}
	m.dirty = false
	m.lastFrame = now
	m.frames++
	f.seq = m.frames
	return f
}

func (m *Model) queueEntry(q *queueState, now time.Time) *QueueEntry {
	v := QueueView{ID: q.cfg.ID, Name: q.cfg.Name, Channels: q.cfg.Channels, SLTargetPct: q.cfg.SLTargetPct, SLThresholdSec: q.cfg.SLThresholdSec,
		Alerts: make([]Alert, 0, len(q.alerts)), teamIDs: q.cfg.TeamIDs}
	if v.Channels == nil {
		v.Channels = []atende.Channel{}
	}
	if len(v.teamIDs) == 0 {
		v.teamIDs = nil
	}
	v.Waiting = len(q.waiting)
	v.LongestWaitSec = int(q.longestWait(now) / time.Second)
	v.EWTSec = int(m.ewt(q).Round(time.Second) / time.Second)
	v.today(q.day)
	for s, n := range q.counts {
		v.Agents.add(s, n)
	}
	for _, kind := range []string{KindServiceLevel, KindLongestWait, KindLegalWait} {
		if a, ok := q.alerts[kind]; ok {
			v.Alerts = append(v.Alerts, a)
		}
	}
	b, _ := json.Marshal(&v)
	return &QueueEntry{View: v, day: q.day, json: b}
}

func agentEntry(a *agentState) *AgentEntry {
	v := AgentView{ID: a.cfg.ID, Name: a.cfg.Name, Status: a.status, ReasonCode: a.reason, Since: a.since, Teams: a.cfg.TeamIDs,
		Queues: slices.Clone(a.queues), Load: map[atende.Channel]int{}, Tasks: []TaskView{}, HandledToday: a.handled}
	if v.Teams == nil {
		v.Teams = []string{}
	}
	if v.Queues == nil {
		v.Queues = []string{}
	}
	for _, t := range a.work {
		v.Load[t.Channel]++
		if t.State == "assigned" {
			v.Tasks = append(v.Tasks, TaskView{ID: t.ID, Channel: t.Channel, ConversationID: t.ConversationID, QueueID: t.QueueID, AcceptedAt: t.AcceptedAt})
		}
	}
	slices.SortFunc(v.Tasks, func(x, y TaskView) int {
		switch {
		case x.AcceptedAt != nil && y.AcceptedAt != nil && !x.AcceptedAt.Equal(*y.AcceptedAt):
			return x.AcceptedAt.Compare(*y.AcceptedAt)
		}
		return bytes.Compare([]byte(x.ID), []byte(y.ID))
	})
	b, _ := json.Marshal(&v)
	return &AgentEntry{View: v, capacity: a.cfg.Capacity, json: b}
}

// Message is an alert or a broadcast passed on to subscribers as it happens.
type Message struct {
	Type  string          // alert, broadcast
	Event string          // alert.raised, alert.cleared, broadcast.sent
	Data  json.RawMessage // the stored event's data
}

// JSON is the message as the WebSocket sends it: the event's data with
// "type" and "event" added.
func (m Message) JSON() []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(m.Data, &fields) != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fields["type"], _ = json.Marshal(m.Type)
	fields["event"], _ = json.Marshal(m.Event)
	b, _ := json.Marshal(fields)
	return b
}

// QueueID is the queue an alert message is about ("" for a broadcast).
func (m Message) QueueID() string {
	var v struct {
		QueueID string `json:"queue_id"`
	}
	json.Unmarshal(m.Data, &v)
	return v.QueueID
}

// maxPending bounds the alerts and broadcasts a subscriber may leave unread.
const maxPending = 256

// Subscription receives a model's frames and messages.
type Subscription struct {
	notify chan struct{}

	mu    sync.Mutex
	frame *Frame // the latest frame, nil once taken
	msgs  []Message
}

// C is signalled when a new frame or message is waiting.
func (s *Subscription) C() <-chan struct{} { return s.notify }

// Next takes what is waiting: the latest frame (nil when none is new) and
// the messages in order.
func (s *Subscription) Next() (*Frame, []Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, msgs := s.frame, s.msgs
	s.frame, s.msgs = nil, nil
	return f, msgs
}

func (s *Subscription) setFrame(f *Frame) {
	s.mu.Lock()
	s.frame = f
	s.mu.Unlock()
	s.wake()
}

func (s *Subscription) add(m Message) {
	s.mu.Lock()
	if len(s.msgs) < maxPending {
		s.msgs = append(s.msgs, m)
	}
	s.mu.Unlock()
	s.wake()
}

func (s *Subscription) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
