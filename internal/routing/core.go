package routing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/atende/atende"
)

// Change is one decision of the core, to persist and announce.
type Change struct {
	Event string // e.g. task.offered
	// Audience is the agent the change is about, when one is (the agent
	// offered or holding the task, or who just lost the offer): agents'
	// event streams carry only their own routing events.
	Audience string
	// StatusChanged: the agent's status began anew (not only what the agent
	// chose while busy), so its state history gets a new interval.
	StatusChanged bool
	Task          *Task          // a copy of the task after the change, when about a task
	Agent         *AgentSnapshot // when an agent's state changed
	Info          map[string]any // details such as the escalation applied
}

// AgentSnapshot is an agent's routing state after a change.
type AgentSnapshot struct {
	ID             string                 `json:"id"`
	Status         atende.AgentStatus     `json:"status"`
	Reason         string                 `json:"reason_code,omitempty"`
	Since          time.Time              `json:"since"`
	Presence       atende.AgentStatus     `json:"presence"`
	PresenceReason string                 `json:"presence_reason,omitempty"`
	Load           map[atende.Channel]int `json:"load"`
	Handled        int                    `json:"handled_today"`
}

// Core holds one tenant's routing state and makes its decisions. It is not
// safe for concurrent use: one goroutine owns it.
type Core struct {
	loc      *time.Location
	blending Blending
	queues   map[string]*queue
	agents   map[string]*Agent
	tasks    map[string]*Task // not done
	timers   timerHeap
	seq      uint64 // timers
	taskSeq  uint64 // tasks' entry order
	changes  []Change
	rng      *rand.Rand
	now      time.Time
}

// NewCore returns an empty core for a tenant in time zone loc.
func NewCore(loc *time.Location, b Blending) *Core {
	return &Core{loc: loc, blending: b, queues: map[string]*queue{}, agents: map[string]*Agent{}, tasks: map[string]*Task{},
		rng: rand.New(rand.NewPCG(1, 2))}
}

// Flush returns the changes made since the last Flush.
func (c *Core) Flush() []Change {
	out := c.changes
	c.changes = nil
	return out
}

func (c *Core) emit(event string, t *Task, info map[string]any) {
	c.emitTo(event, t, info, t.AgentID)
}

func (c *Core) emitTo(event string, t *Task, info map[string]any, audience string) {
	c.changes = append(c.changes, Change{Event: event, Task: t.clone(), Info: info, Audience: audience})
}

// SetQueue adds or replaces a queue's configuration. Waiting tasks stay, in
// their order; they are regrouped under the new requirements.
func (c *Core) SetQueue(cfg atende.Queue, now time.Time) {
	c.now = now
	q := c.queues[cfg.ID]
	if q == nil {
		q = &queue{groups: map[string]*group{}, members: map[string]*Agent{}}
		c.queues[cfg.ID] = q
	}
	q.cfg = cfg
	q.teamSet = map[string]bool{}
	for _, t := range cfg.TeamIDs {
		q.teamSet[t] = true
	}
	// Regroup waiting tasks: requirements may have changed.
	var waiting []*Task
	for _, g := range q.groups {
		g.tasks.Ascend(func(t *Task) bool { waiting = append(waiting, t); return true })
	}
	for _, t := range waiting {
		c.unqueue(t)
	}
	q.groups = map[string]*group{}
	q.members = map[string]*Agent{}
	q.baseReq = requirements(&q.cfg, &Task{})
	q.baseKey = map[atende.Channel]string{}
	for _, ch := range cfg.Channels {
		q.baseKey[ch] = signature(ch, q.baseReq)
	}
	for _, a := range c.agents {
		unlink(a, func(g *group) bool { return g.q == q }) // the old groups are gone
		if memberOf(q, a) {
			q.members[a.ID] = a
			a.queues[cfg.ID] = q
		} else {
			delete(a.queues, cfg.ID)
		}
	}
	for _, t := range waiting {
		c.enqueue(t)
	}
	c.matchAll()
}

// RemoveQueue drops a queue; its waiting tasks are cancelled.
func (c *Core) RemoveQueue(id string, now time.Time) {
	c.now = now
	q := c.queues[id]
	if q == nil {
		return
	}
	for _, t := range c.tasks {
		if t.QueueID == id && t.State == TaskWaiting {
			c.finish(t, OutcomeCancelled)
		}
	}
	delete(c.queues, id)
	for _, a := range c.agents {
		delete(a.queues, id)
		unlink(a, func(g *group) bool { return g.q == q })
	}
}

// SetAgent adds or updates an agent's skills, capacity, teams and presence.
func (c *Core) SetAgent(s AgentSpec, now time.Time) {
	c.now = now
	a := c.agents[s.ID]
	if a == nil {
		a = &Agent{ID: s.ID, Load: map[atende.Channel]int{}, tasks: map[string]*Task{}, reserved: map[string]*Task{},
			queues: map[string]*queue{}, Status: atende.StatusOffline, Since: now, Idle: now}
		if s.Status != "" && !s.Since.IsZero() {
			a.Status, a.Since, a.Idle = s.Status, s.Since, s.Since
			a.savedPresence, a.savedReason = s.Presence, s.Reason
			if s.Status == atende.StatusAway {
				a.statusReason = s.Reason
			}
		}
		c.agents[s.ID] = a
	}
	a.Skills = map[string]int{}
	for _, sk := range s.Skills {
		a.Skills[sk.SkillID] = sk.Proficiency
	}
	a.Capacity = s.Capacity
	a.TeamIDs = slices.Clone(s.TeamIDs)
	if a.eligible == nil {
		a.eligible = map[*group]bool{}
	}
	unlink(a, func(*group) bool { return true })
	if s.Presence != "" {
		a.Presence, a.Reason = s.Presence, s.Reason
	}
	if a.Presence == "" {
		a.Presence = atende.StatusOffline
	}
	c.placeAgent(a)
	for _, q := range a.queues {
		for _, g := range q.groups {
			link(a, g)
		}
	}
	c.refreshAgent(a)
	c.matchAgent(a)
}

// RemoveAgent forgets an agent (deactivated); offered tasks go back.
func (c *Core) RemoveAgent(id string, now time.Time) {
	c.now = now
	a := c.agents[id]
	if a == nil {
		return
	}
	a.Presence = atende.StatusOffline
	for _, t := range sortedTasks(a.tasks) {
		if t.State == TaskOffered {
			c.returnOffer(t, "task.offer_withdrawn")
		}
	}
	c.refreshAgent(a)
	if len(a.tasks) == 0 {
		for _, q := range a.queues {
			delete(q.members, id)
		}
		unlink(a, func(*group) bool { return true })
		delete(c.agents, id)
	}
}

// SetPresence records what an agent chose: available, away (with a reason)
// or offline. Work in hand goes on; the agent's status follows the work.
func (c *Core) SetPresence(agentID string, presence atende.AgentStatus, reason string, now time.Time) error {
	c.now = now
	a := c.agents[agentID]
	if a == nil {
		return atende.Errorf(atende.ENotFound, "agent not found")
	}
	switch presence {
	case atende.StatusAvailable, atende.StatusOffline, atende.StatusAway:
	default:
		return atende.FieldError("status", "agents choose available, away or offline; busy and wrap_up follow their work")
	}
	if presence == atende.StatusAvailable && a.Presence != atende.StatusAvailable && len(a.tasks) == 0 {
		a.Idle = now // logging in is becoming free
	}
	a.Presence, a.Reason = presence, reason
	if presence == atende.StatusAvailable && a.WrapEnd != nil {
		// Choosing available ends after-contact work early.
		a.WrapEnd = nil
		a.wrapGen++
		a.Idle = now
	}
	if presence != atende.StatusAvailable {
		// Offers not yet answered go back to their queues.
		for _, t := range sortedTasks(a.tasks) {
			if t.State == TaskOffered {
				c.returnOffer(t, "task.offer_withdrawn")
			}
		}
	}
	c.refreshAgent(a)
	c.matchAgent(a)
	return nil
}

// placeAgent records which queues the agent's teams let it serve.
func (c *Core) placeAgent(a *Agent) {
	for id, q := range c.queues {
		if memberOf(q, a) {
			q.members[a.ID] = a
			a.queues[id] = q
		} else {
			delete(q.members, a.ID)
			delete(a.queues, id)
		}
	}
}

// canTake reports whether the agent may be offered a task on channel ch now.
// It reads the mask refreshAgent keeps: every change of load, presence,
// wrap-up or capacity ends in refreshAgent.
func (c *Core) canTake(a *Agent, ch atende.Channel) bool { return a.takeMask&chBit(ch) != 0 }

// computeCanTake is canTake from the agent's state.
func (c *Core) computeCanTake(a *Agent, ch atende.Channel) bool {
	if a.Presence != atende.StatusAvailable || a.WrapEnd != nil {
		return false
	}
	if a.Load[ch] >= a.Capacity[ch] {
		return false
	}
	if c.blending.VoiceExclusive {
		if a.Load[atende.ChannelVoice] > 0 {
			return false
		}
		if ch == atende.ChannelVoice && a.totalLoad() > 0 {
			return false
		}
	}
	if c.blending.EmailWhenChatIdle && ch == atende.ChannelEmail && a.Load[atende.ChannelChat] > 0 {
		return false
	}
	return true
}

// refreshAgent recomputes the agent's status and readiness and announces a
// status change.
func (c *Core) refreshAgent(a *Agent) {
	a.takeMask = 0
	for i, ch := range atende.Channels {
		if c.computeCanTake(a, ch) {
			a.takeMask |= 1 << i
		}
	}
	status, reason := a.Presence, a.Reason
	switch {
	case hasAssigned(a):
		status = atende.StatusBusy
	case a.WrapEnd != nil:
		status = atende.StatusWrapUp
	}
	if status != atende.StatusAway {
		reason = ""
	}
	statusChanged := status != a.Status || reason != a.statusReason
	if statusChanged {
		a.Status, a.statusReason, a.Since = status, reason, c.now
	}
	if statusChanged || a.Presence != a.savedPresence || a.Reason != a.savedReason {
		a.savedPresence, a.savedReason = a.Presence, a.Reason
		c.changes = append(c.changes, Change{Event: "agent.state_changed", Agent: c.snapshot(a), Audience: a.ID, StatusChanged: statusChanged})
	}
}

func hasAssigned(a *Agent) bool {
	for _, t := range a.tasks {
		if t.State == TaskAssigned {
			return true
		}
	}
	return false
}

func (c *Core) snapshot(a *Agent) *AgentSnapshot {
	load := make(map[atende.Channel]int, len(a.Load))
	for k, v := range a.Load {
		if v > 0 {
			load[k] = v
		}
	}
	return &AgentSnapshot{ID: a.ID, Status: a.Status, Reason: a.statusReason, Since: a.Since, Presence: a.Presence,
		PresenceReason: a.Reason, Load: load, Handled: a.Handled}
}

// TaskSpec is a new task as a channel or integration submits it.
type TaskSpec struct {
	ID             string
	ConversationID string
	Channel        atende.Channel
	QueueID        string
	Requirements   []atende.RequiredSkill
	Priority       int
	Language       string
	Segment        string
	PreferredAgent string
	LastAgent      string
	Attributes     map[string]string
	ExpiresAt      *time.Time
	// EnqueuedAt keeps an earlier place in queue (a callback, a restore);
	// zero means now.
	EnqueuedAt time.Time
}

// Restore puts back the tasks that were live when the engine last stopped,
// without admitting them again: waiting ones in their original order,
// assigned ones with their agents. An offer that was open goes back to
// waiting in its place (the agent's screen lost it). Then free agents get
// work as usual.
func (c *Core) Restore(tasks []*Task, now time.Time) {
	c.now = now
	sorted := slices.Clone(tasks)
	slices.SortFunc(sorted, func(a, b *Task) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return cmpString(a.ID, b.ID)
	})
	for _, t := range sorted {
		if t.State == TaskDone || c.tasks[t.ID] != nil {
			continue
		}
		t.groups = nil
		c.taskSeq = max(c.taskSeq, t.Seq)
		c.tasks[t.ID] = t
		a := c.agents[t.AgentID]
		if t.State == TaskOffered || (t.State == TaskAssigned && a == nil) {
			t.State, t.AgentID, t.OfferedAt, t.OfferDeadline, t.AcceptedAt = TaskWaiting, "", nil, nil, nil
			c.emit("task.requeued", t, map[string]any{"reason": "restart"})
		}
		if t.State == TaskAssigned {
			a.Load[t.Channel]++
			a.tasks[t.ID] = t
			continue
		}
		q := c.queues[t.QueueID]
		if q == nil {
			c.finish(t, OutcomeCancelled)
			continue
		}
		if who := t.ReservedFor; who != "" {
			until := t.ReservedUntil
			c.unreserve(t)
			if until != nil && until.After(now) {
				c.reserve(t, who, *until)
			}
		}
		c.scheduleTaskTimers(t, q)
		c.enqueue(t)
	}
	for _, a := range sortedAgents(c.agents) {
		c.refreshAgent(a)
	}
	c.matchAll()
}

// AddTask accepts a new task into its queue: closed hours, a full queue or a
// task no agent could ever take follow the queue's actions; otherwise it is
// offered at once or waits.
func (c *Core) AddTask(s TaskSpec, now time.Time) (*Task, error) {
	c.now = now
	q := c.queues[s.QueueID]
	if q == nil {
		return nil, atende.FieldError("queue_id", "is not a queue of this tenant")
	}
	if !slices.Contains(q.cfg.Channels, s.Channel) {
		return nil, atende.FieldError("channel", "queue %s does not take %s", q.cfg.Name, s.Channel)
	}
	if s.ID == "" {
		s.ID = atende.NewID()
	}
	if _, dup := c.tasks[s.ID]; dup {
		return nil, atende.Errorf(atende.EConflict, "task %s exists", s.ID)
	}
	enq := s.EnqueuedAt
	if enq.IsZero() || enq.After(now) {
		enq = now
	}
	t := &Task{
		ID: s.ID, ConversationID: s.ConversationID, Channel: s.Channel, QueueID: s.QueueID, Requirements: s.Requirements,
		Priority: s.Priority, Language: s.Language, Segment: s.Segment, PreferredAgent: s.PreferredAgent, LastAgent: s.LastAgent,
		Attributes: s.Attributes, CreatedAt: now, EnqueuedAt: enq, ExpiresAt: s.ExpiresAt, State: TaskWaiting,
	}
	c.tasks[t.ID] = t
	c.emit("task.created", t, nil)
	c.admit(t, q)
	return t.clone(), nil
}

// admit runs a task's entry into queue q: hours, size, reservations, timers.
func (c *Core) admit(t *Task, q *queue) {
	t.QueuedAt = c.now
	r := q.cfg.Routing
	if !r.Hours.Open(c.now, c.loc) {
		c.act(t, q, r.ClosedAction, "closed")
		return
	}
	if r.MaxSize > 0 && q.waiting >= r.MaxSize {
		c.act(t, q, r.FullAction, "full")
		return
	}
	if r.NoMatchAction.Type != atende.ActionKeep && !c.anyAgentCouldTake(t, q) {
		c.act(t, q, r.NoMatchAction, "no_match")
		return
	}
	// Wait first for the preferred or last agent, when one is set and known.
	if who := firstNonEmpty(t.PreferredAgent, t.LastAgent); who != "" && r.StickySec > 0 && t.ReservedFor == "" && t.Offers == 0 {
		if _, ok := c.agents[who]; ok {
			c.reserve(t, who, c.now.Add(time.Duration(r.StickySec)*time.Second))
		}
	}
	c.scheduleTaskTimers(t, q)
	c.enqueue(t)
	c.emit("task.queued", t, nil)
	c.matchTask(t)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// scheduleTaskTimers arms the max-wait, expiry and escalation timers of a
// task in its home queue, counted from its entry into that queue.
func (c *Core) scheduleTaskTimers(t *Task, q *queue) {
	if q.cfg.MaxWaitSec > 0 {
		c.schedule(t.QueuedAt.Add(time.Duration(q.cfg.MaxWaitSec)*time.Second), timerMaxWait, t.ID, 0)
	}
	if t.ExpiresAt != nil {
		c.schedule(*t.ExpiresAt, timerExpiry, t.ID, 0)
	}
	if t.Escalations < len(q.cfg.Routing.Escalations) {
		e := q.cfg.Routing.Escalations[t.Escalations]
		c.schedule(t.QueuedAt.Add(time.Duration(e.AfterSec)*time.Second), timerEscalation, t.ID, t.Escalations)
	}
}

// anyAgentCouldTake reports whether some agent of the queue, logged in or
// not, has the skills the task needs.
func (c *Core) anyAgentCouldTake(t *Task, q *queue) bool {
	reqs := requirements(&q.cfg, t)
	for _, a := range q.members {
		if a.Capacity[t.Channel] > 0 && a.satisfies(reqs) {
			return true
		}
	}
	return false
}

// act applies a queue action to a task that cannot wait where it is.
func (c *Core) act(t *Task, q *queue, a atende.QueueAction, why string) {
	info := map[string]any{"reason": why, "queue_id": q.cfg.ID, "action": a.Type}
	switch a.Type {
	case atende.ActionKeep:
		c.emit("task.kept", t, info)
	case atende.ActionOverflow:
		target := c.queues[a.QueueID]
		if target == nil || !slices.Contains(target.cfg.Channels, t.Channel) || t.Offers > 1000 {
			c.emit("task.overflow_failed", t, info)
			c.finish(t, OutcomeRejected)
			return
		}
		c.unqueue(t)
		t.QueueID, t.ExtraQueueIDs, t.Relaxed, t.Escalations = target.cfg.ID, nil, nil, 0
		c.unreserve(t)
		info["to_queue_id"] = target.cfg.ID
		c.emit("task.overflowed", t, info)
		t.Offers++ // bounds overflow chains even if a cycle slipped past validation
		c.admit(t, target)
	case atende.ActionCallback:
		// The channel offers the callback; the task keeps its place meanwhile.
		c.emit("task.callback_offered", t, info)
		if t.State == TaskDone {
			return
		}
		if !c.inQueue(t) && why != "max_wait" {
			c.enqueue(t)
			c.matchTask(t)
		}
	case atende.ActionVoicemail:
		c.emit("task.voicemail", t, info)
		c.finish(t, OutcomeVoicemail)
	default:
		c.emit("task.refused", t, info)
		c.finish(t, OutcomeRejected)
	}
}

func (c *Core) inQueue(t *Task) bool { return len(t.groups) > 0 }

// enqueue puts a waiting task into the groups of its queues.
func (c *Core) enqueue(t *Task) {
	if t.State != TaskWaiting || len(t.groups) > 0 {
		return
	}
	home := c.queues[t.QueueID]
	if home == nil {
		return
	}
	if t.Seq == 0 {
		c.taskSeq++
		t.Seq = c.taskSeq
	}
	aging := float64(home.cfg.Routing.AgingSec)
	if aging <= 0 {
		aging = 60
	}
	// Priority with aging: each AgingSec of waiting is worth one point, so
	// comparing p1 + (now−t1)/aging with p2 + (now−t2)/aging reduces to a
	// key that does not change while tasks wait.
	t.score = float64(t.Priority+home.cfg.Priority) - float64(t.EnqueuedAt.UnixMicro())/1e6/aging
	for _, qid := range t.queueIDs() {
		q := c.queues[qid]
		if q == nil {
			continue
		}
		var reqs []atende.RequiredSkill
		key, base := q.baseKey[t.Channel]
		if base && len(t.Requirements) == 0 && (len(t.Relaxed) == 0 || qid != t.QueueID) {
			reqs = q.baseReq
		} else {
			reqs = requirements(&q.cfg, t)
			key = signature(t.Channel, reqs)
		}
		g := q.groups[key]
		if g == nil {
			g = newGroup(q, key, t.Channel, reqs)
			q.groups[key] = g
			for _, a := range q.members {
				link(a, g)
			}
		}
		g.tasks.ReplaceOrInsert(t)
		t.groups = append(t.groups, g)
		q.waiting++
	}
}

// unqueue takes a task out of every group it waits in.
func (c *Core) unqueue(t *Task) {
	for _, g := range t.groups {
		g.tasks.Delete(t)
		g.q.waiting--
	}
	t.groups = nil
}

// matchTask offers a waiting task to the best free agent, if any. Among the
// candidates of all the task's queues, the home queue's strategy decides.
func (c *Core) matchTask(t *Task) {
	if t.State != TaskWaiting || len(t.groups) == 0 {
		return
	}
	home := t.groups[0]
	if t.ReservedFor != "" {
		a := c.agents[t.ReservedFor]
		for _, g := range t.groups {
			if a != nil && a.canServe(g) && c.canTake(a, t.Channel) {
				c.offer(t, a, g.q)
				return
			}
		}
		return
	}
	var cands []candidate
	var seen map[string]bool // an agent in several of the task's queues counts once
	if len(t.groups) > 1 {
		seen = map[string]bool{}
	}
	for _, g := range t.groups { // the home queue first
		for _, a := range g.agents {
			if !seen[a.ID] && c.canTake(a, t.Channel) && !declined(t, a.ID) {
				cands = append(cands, candidate{a, g})
				if seen != nil {
					seen[a.ID] = true
				}
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	best := c.choose(home.q.cfg.Routing.Strategy, cands)
	c.offer(t, best.a, best.g.q)
}

type candidate struct {
	a *Agent
	g *group
}

// choose picks the agent a strategy prefers; ties go to the lower agent id,
// so the same state always gives the same choice.
func (c *Core) choose(s atende.Strategy, cands []candidate) candidate {
	if s == atende.StrategyWeightedRandom {
		slices.SortFunc(cands, func(x, y candidate) int { return cmpString(x.a.ID, y.a.ID) })
		total := 0.0
		for _, k := range cands {
			total += float64(1 + k.a.proficiency(k.g.reqs))
		}
		r := c.rng.Float64() * total
		for _, k := range cands {
			r -= float64(1 + k.a.proficiency(k.g.reqs))
			if r < 0 {
				return k
			}
		}
		return cands[len(cands)-1]
	}
	best := cands[0]
	for _, k := range cands[1:] {
		if c.better(s, k, best) {
			best = k
		}
	}
	return best
}

func declined(t *Task, agentID string) bool { return slices.Contains(t.DeclinedBy, agentID) }

// better reports whether candidate x beats y under strategy s; ties go to
// the agent free for longest, then to the lower agent id.
func (c *Core) better(s atende.Strategy, x, y candidate) bool {
	a, b := x.a, y.a
	switch s {
	case atende.StrategyLeastOccupied:
		if oa, ob := a.occupancy(), b.occupancy(); oa != ob {
			return oa < ob
		}
	case atende.StrategyFewestToday:
		if ha, hb := c.handledToday(a), c.handledToday(b); ha != hb {
			return ha < hb
		}
	case atende.StrategyRoundRobin:
		if !a.LastOffr.Equal(b.LastOffr) {
			return a.LastOffr.Before(b.LastOffr)
		}
	case atende.StrategyBestProficiency:
		if pa, pb := a.proficiency(x.g.reqs), b.proficiency(y.g.reqs); pa != pb {
			return pa > pb
		}
	}
	// Longest idle, also the tie-break of the others: fewer contacts in
	// hand first (an agent with one chat is less idle than one with none),
	// then the longest time since the agent was last free.
	if la, lb := a.totalLoad(), b.totalLoad(); la != lb {
		return la < lb
	}
	if !a.Idle.Equal(b.Idle) {
		return a.Idle.Before(b.Idle)
	}
	return a.ID < b.ID
}

func (c *Core) handledToday(a *Agent) int {
	if a.day != c.now.In(c.loc).Format(time.DateOnly) {
		return 0
	}
	return a.Handled
}

// matchAgent fills an agent's free capacity with the best waiting tasks.
func (c *Core) matchAgent(a *Agent) {
	for {
		t, q := c.bestTaskFor(a)
		if t == nil {
			return
		}
		c.offer(t, a, q)
	}
}

// scanLimit bounds how far past declined or reserved tasks an agent looks
// in one group.
const scanLimit = 64

// bestTaskFor finds the waiting task an agent should get next: a task held
// for it first, else the best head among the groups of its queues that it
// can serve.
func (c *Core) bestTaskFor(a *Agent) (*Task, *queue) {
	if a.Presence != atende.StatusAvailable || a.WrapEnd != nil {
		return nil, nil
	}
	var best *Task
	var bestQ *queue
	for _, t := range a.reserved {
		if t.State != TaskWaiting || !c.canTake(a, t.Channel) || (best != nil && !taskLess(t, best)) {
			continue
		}
		for _, g := range t.groups {
			if a.queues[g.q.cfg.ID] != nil && a.canServe(g) {
				best, bestQ = t, g.q
				break
			}
		}
	}
	if best != nil {
		return best, bestQ
	}
	for _, g := range a.groups {
		if g.tasks.Len() == 0 || !c.canTake(a, g.ch) {
			continue
		}
		n := 0
		g.tasks.Ascend(func(t *Task) bool {
			n++
			if t.ReservedFor != "" || declined(t, a.ID) {
				return n < scanLimit
			}
			switch {
			case best == nil || taskLess(t, best):
				best, bestQ = t, g.q
			case t == best && t.QueueID == g.q.cfg.ID:
				bestQ = g.q // found through several queues: offer from its own
			}
			return false
		})
	}
	return best, bestQ
}

// reserve holds a waiting task for one agent until a time.
func (c *Core) reserve(t *Task, agentID string, until time.Time) {
	c.unreserve(t)
	a := c.agents[agentID]
	if a == nil {
		return
	}
	t.ReservedFor, t.ReservedUntil = agentID, ptr(until)
	a.reserved[t.ID] = t
	c.schedule(until, timerReservation, t.ID, 0)
}

// unreserve opens a held task to every agent.
func (c *Core) unreserve(t *Task) {
	if a := c.agents[t.ReservedFor]; a != nil {
		delete(a.reserved, t.ID)
	}
	t.ReservedFor, t.ReservedUntil = "", nil
}

// offer gives a task to an agent, holding the agent's capacity for it.
func (c *Core) offer(t *Task, a *Agent, q *queue) {
	c.unqueue(t)
	t.Unmatchable = false
	t.State, t.AgentID = TaskOffered, a.ID
	t.OfferedAt = ptr(c.now)
	t.OfferDeadline = ptr(c.now.Add(time.Duration(q.cfg.Routing.OfferTimeoutSec) * time.Second))
	t.Offers++
	a.Load[t.Channel]++
	a.tasks[t.ID] = t
	a.LastOffr = c.now
	c.schedule(*t.OfferDeadline, timerOffer, t.ID, t.Offers)
	c.emit("task.offered", t, map[string]any{"queue_id": q.cfg.ID})
	c.refreshAgent(a)
}

// Accept turns an offer into an assignment.
func (c *Core) Accept(taskID, agentID string, now time.Time) (*Task, error) {
	c.now = now
	t, err := c.offered(taskID, agentID)
	if err != nil {
		return nil, err
	}
	t.State, t.AcceptedAt, t.OfferDeadline = TaskAssigned, ptr(now), nil
	c.unreserve(t)
	c.emit("task.accepted", t, nil)
	c.refreshAgent(c.agents[agentID])
	return t.clone(), nil
}

func (c *Core) offered(taskID, agentID string) (*Task, error) {
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	if t.State != TaskOffered || t.AgentID != agentID {
		return nil, atende.Errorf(atende.EConflict, "the task is not offered to this agent (it is %s)", t.State)
	}
	return t, nil
}

// Reject declines an offer: the task goes back to its place in queue and is
// not offered to this agent again while others can take it.
func (c *Core) Reject(taskID, agentID string, now time.Time) error {
	c.now = now
	t, err := c.offered(taskID, agentID)
	if err != nil {
		return err
	}
	c.returnOffer(t, "task.rejected")
	c.matchAgent(c.agents[agentID])
	return nil
}

// returnOffer puts an offered task back in its queue, in its original place.
func (c *Core) returnOffer(t *Task, event string) {
	a := c.agents[t.AgentID]
	if a != nil {
		a.Load[t.Channel]--
		delete(a.tasks, t.ID)
		if !declined(t, a.ID) {
			t.DeclinedBy = append(t.DeclinedBy, a.ID)
		}
	}
	from := t.AgentID
	t.State, t.AgentID, t.OfferedAt, t.OfferDeadline = TaskWaiting, "", nil, nil
	if a != nil && t.ReservedFor == a.ID {
		c.unreserve(t)
	}
	c.emitTo(event, t, map[string]any{"agent_id": from}, from) // the agent's screen drops the offer
	c.enqueue(t)
	if a != nil {
		c.refreshAgent(a)
	}
	c.rematch(t)
}

// rematch offers a task that some agents declined; when everyone who could
// take it has declined, they may all be offered it again.
func (c *Core) rematch(t *Task) {
	c.matchTask(t)
	if t.State == TaskWaiting && len(t.DeclinedBy) > 0 && c.allEligibleDeclined(t) {
		t.DeclinedBy = nil
		c.matchTask(t)
	}
}

func (c *Core) allEligibleDeclined(t *Task) bool {
	for _, g := range t.groups {
		for _, a := range g.agents {
			if a.Capacity[t.Channel] > 0 && !declined(t, a.ID) {
				return false
			}
		}
	}
	return true
}

// Complete ends a task an agent worked; the agent goes into wrap-up.
func (c *Core) Complete(taskID string, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	if t.State != TaskAssigned {
		return nil, atende.Errorf(atende.EConflict, "only an assigned task can be completed (it is %s)", t.State)
	}
	out := t.clone()
	c.finish(t, OutcomeHandled)
	out.State, out.Outcome, out.EndedAt = TaskDone, OutcomeHandled, ptr(now)
	return out, nil
}

// Cancel ends a task whose customer left or that an integration withdraws.
// A task an agent is working on completes instead.
func (c *Core) Cancel(taskID string, abandoned bool, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	out := t.clone()
	outcome := OutcomeCancelled
	switch {
	case t.State == TaskAssigned:
		outcome = OutcomeHandled
	case abandoned:
		outcome = OutcomeAbandoned
	}
	c.finish(t, outcome)
	out.State, out.Outcome, out.EndedAt = TaskDone, outcome, ptr(now)
	return out, nil
}

// finish ends a task, frees its agent and starts the agent's wrap-up.
func (c *Core) finish(t *Task, outcome string) {
	c.unqueue(t)
	c.unreserve(t)
	prev := t.State
	t.State, t.Outcome, t.EndedAt = TaskDone, outcome, ptr(c.now)
	delete(c.tasks, t.ID)
	if q := c.queues[t.QueueID]; q != nil && outcome == OutcomeHandled && t.AcceptedAt != nil {
		// Handle time for wait estimates, as an exponentially weighted mean.
		d := c.now.Sub(*t.AcceptedAt).Seconds()
		if q.handled == 0 {
			q.ahtEWMA = d
		} else {
			q.ahtEWMA = 0.9*q.ahtEWMA + 0.1*d
		}
		q.handled++
	}
	c.emit("task.ended", t, map[string]any{"outcome": outcome})
	a := c.agents[t.AgentID]
	if a == nil || (prev != TaskOffered && prev != TaskAssigned) {
		return
	}
	a.Load[t.Channel]--
	delete(a.tasks, t.ID)
	if prev == TaskAssigned && outcome == OutcomeHandled {
		day := c.now.In(c.loc).Format(time.DateOnly)
		if a.day != day {
			a.day, a.Handled = day, 0
		}
		a.Handled++
		if q := c.queues[t.QueueID]; q != nil && q.cfg.Routing.WrapUpSec > 0 && len(a.tasks) == 0 {
			a.WrapEnd = ptr(c.now.Add(time.Duration(q.cfg.Routing.WrapUpSec) * time.Second))
			a.wrapGen++
			c.schedule(*a.WrapEnd, timerWrapUp, a.ID, a.wrapGen)
		}
	}
	if len(a.tasks) == 0 && a.WrapEnd == nil {
		a.Idle = c.now
	}
	c.refreshAgent(a)
	c.matchAgent(a)
}

// EndWrapUp ends an agent's after-contact work now.
func (c *Core) EndWrapUp(agentID string, now time.Time) error {
	c.now = now
	a := c.agents[agentID]
	if a == nil {
		return atende.Errorf(atende.ENotFound, "agent not found")
	}
	if a.WrapEnd == nil {
		return nil
	}
	a.WrapEnd, a.Idle = nil, now
	a.wrapGen++
	c.refreshAgent(a)
	c.matchAgent(a)
	return nil
}

// Target of a transfer: an agent or a queue.
type Target struct {
	AgentID      string
	QueueID      string
	KeepPriority bool // keep the task's place and priority in the new queue
}

// Transfer moves a task to another agent or queue. The transferring agent
// is freed without wrap-up; a transfer to an agent waits for that agent for
// the target queue's sticky time before opening to the queue.
func (c *Core) Transfer(taskID string, to Target, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	qid := firstNonEmpty(to.QueueID, t.QueueID)
	q := c.queues[qid]
	if q == nil {
		return nil, atende.FieldError("queue_id", "is not a queue of this tenant")
	}
	if !slices.Contains(q.cfg.Channels, t.Channel) {
		return nil, atende.FieldError("queue_id", "queue %s does not take %s", q.cfg.Name, t.Channel)
	}
	if to.AgentID != "" {
		if _, ok := c.agents[to.AgentID]; !ok {
			return nil, atende.FieldError("agent_id", "is not an agent of this tenant")
		}
		if to.AgentID == t.AgentID {
			return nil, atende.FieldError("agent_id", "the task is already with this agent")
		}
	}
	from := t.AgentID
	c.release(t)
	t.QueueID, t.ExtraQueueIDs, t.Relaxed, t.Escalations, t.DeclinedBy = qid, nil, nil, 0, nil
	t.QueuedAt = now
	if !to.KeepPriority {
		t.EnqueuedAt, t.Priority, t.Seq = now, 0, 0
	}
	c.unreserve(t)
	if to.AgentID != "" {
		hold := max(q.cfg.Routing.StickySec, q.cfg.Routing.OfferTimeoutSec)
		c.reserve(t, to.AgentID, now.Add(time.Duration(hold)*time.Second))
	}
	c.emit("task.transferred", t, map[string]any{"from_agent_id": from, "to_agent_id": to.AgentID, "to_queue_id": qid})
	c.scheduleTaskTimers(t, q)
	c.enqueue(t)
	c.matchTask(t)
	if fromAgent := c.agents[from]; fromAgent != nil {
		c.matchAgent(fromAgent)
	}
	return t.clone(), nil
}

// Takeover gives a live task to an agent at once, with no offer: a
// supervisor takes a conversation over. The agent who held it is freed
// without wrap-up (and told, by a task.transferred addressed to them); the
// new holder may go past their capacity, as a takeover is deliberate.
func (c *Core) Takeover(taskID, agentID string, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	a := c.agents[agentID]
	if a == nil {
		return nil, atende.Errorf(atende.EConflict, "only an agent can hold a task: the user taking it over needs the agent role")
	}
	if t.AgentID == agentID && t.State == TaskAssigned {
		return nil, atende.Errorf(atende.EConflict, "the task is already yours")
	}
	from := t.AgentID
	c.release(t)
	c.unreserve(t)
	t.State, t.AgentID, t.OfferedAt, t.OfferDeadline, t.AcceptedAt = TaskAssigned, agentID, ptr(now), nil, ptr(now)
	a.Load[t.Channel]++
	a.tasks[t.ID] = t
	a.LastOffr = now
	if from != "" {
		c.emitTo("task.transferred", t, map[string]any{"from_agent_id": from, "to_agent_id": agentID, "to_queue_id": t.QueueID, "takeover": true}, from)
	}
	c.emit("task.accepted", t, map[string]any{"takeover": true, "from_agent_id": from})
	c.refreshAgent(a)
	if fromAgent := c.agents[from]; fromAgent != nil {
		c.matchAgent(fromAgent)
	}
	return t.clone(), nil
}

// Requeue puts an offered or assigned task back in its queue, in its place;
// the agent who had it is passed over while anyone else can take it.
func (c *Core) Requeue(taskID string, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	if t.State == TaskWaiting {
		return t.clone(), nil
	}
	from := t.AgentID
	c.release(t)
	if !declined(t, from) {
		t.DeclinedBy = append(t.DeclinedBy, from)
	}
	c.emit("task.requeued", t, map[string]any{"from_agent_id": from})
	c.enqueue(t)
	c.rematch(t)
	if a := c.agents[from]; a != nil {
		c.matchAgent(a)
	}
	return t.clone(), nil
}

// release detaches a task from its agent without ending it.
func (c *Core) release(t *Task) {
	c.unqueue(t)
	if a := c.agents[t.AgentID]; a != nil && (t.State == TaskOffered || t.State == TaskAssigned) {
		a.Load[t.Channel]--
		delete(a.tasks, t.ID)
		if len(a.tasks) == 0 {
			a.Idle = c.now
		}
		c.refreshAgent(a)
	}
	t.State, t.AgentID, t.OfferedAt, t.OfferDeadline, t.AcceptedAt = TaskWaiting, "", nil, nil, nil
}

// SetCallback marks a waiting task as a callback: the customer hung up and
// keeps the place; the agent who gets it calls back.
func (c *Core) SetCallback(taskID string, now time.Time) (*Task, error) {
	c.now = now
	t := c.tasks[taskID]
	if t == nil {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	if t.State != TaskWaiting {
		return nil, atende.Errorf(atende.EConflict, "only a waiting task can become a callback")
	}
	t.Callback = true
	c.emit("task.callback_requested", t, nil)
	return t.clone(), nil
}

// matchAll offers what can be offered, after a configuration change.
func (c *Core) matchAll() {
	for _, a := range sortedAgents(c.agents) {
		c.matchAgent(a)
	}
}

func sortedAgents(m map[string]*Agent) []*Agent {
	out := make([]*Agent, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *Agent) int { return cmpString(a.ID, b.ID) })
	return out
}

func sortedTasks(m map[string]*Task) []*Task {
	out := make([]*Task, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Task) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String describes the core for debugging.
func (c *Core) String() string {
	return fmt.Sprintf("core: %d queues, %d agents, %d live tasks", len(c.queues), len(c.agents), len(c.tasks))
}
