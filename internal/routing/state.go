package routing

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/google/btree"
)

// Agent is what the core knows of an agent.
type Agent struct {
	ID       string
	Presence atende.AgentStatus // what the agent chose: available, away or offline
	Reason   string             // the away reason the agent chose
	Skills   map[string]int     // skill id -> proficiency
	Capacity atende.Capacity
	TeamIDs  []string
	Load     map[atende.Channel]int // offered + assigned, per channel
	Status   atende.AgentStatus     // what the agent is doing: presence, or busy/wrap_up from work
	Since    time.Time              // when Status began
	Handled  int                    // contacts handled on day
	WrapEnd  *time.Time             // end of after-contact work
	Idle     time.Time              // when the agent last became free
	LastOffr time.Time              // when the agent was last offered work

	statusReason string
	// What was last announced of Presence and Reason.
	savedPresence atende.AgentStatus
	savedReason   string
	day           string            // tenant-local day Handled counts
	tasks         map[string]*Task  // offered or assigned
	reserved      map[string]*Task  // waiting tasks held for this agent
	queues        map[string]*queue // queues the agent's teams let it serve
	wrapGen       int               // invalidates older wrap-up timers
	eligible      map[*group]bool   // groups of its queues whose requirements it meets
	groups        []*group          // the same, to iterate
	takeMask      uint8             // channels it may be offered now, by index in atende.Channels; set by refreshAgent
}

// chBit is channel ch's bit in Agent.takeMask.
func chBit(ch atende.Channel) uint8 {
	for i, c := range atende.Channels {
		if c == ch {
			return 1 << i
		}
	}
	return 0
}

// AgentSpec is an agent's configuration as the store holds it.
type AgentSpec struct {
	ID       string
	Presence atende.AgentStatus
	Reason   string
	// Status and Since restore what the agent was doing when the engine
	// last stopped; they are read only when the agent is first added.
	Status   atende.AgentStatus
	Since    time.Time
	Skills   []atende.AgentSkill
	Capacity atende.Capacity
	TeamIDs  []string
}

// Blending says how channels mix in one agent's work.
type Blending struct {
	// VoiceExclusive: a call blocks every other offer, and any other work
	// blocks calls.
	VoiceExclusive bool `json:"voice_exclusive"`
	// EmailWhenChatIdle: emails are offered only to agents with no chat.
	EmailWhenChatIdle bool `json:"email_when_chat_idle"`
}

// DefaultBlending is what most centers do.
func DefaultBlending() Blending { return Blending{VoiceExclusive: true, EmailWhenChatIdle: true} }

// queue is a queue's configuration and its waiting tasks, grouped by what
// they require so an agent checks one head per group.
type queue struct {
	cfg     atende.Queue
	groups  map[string]*group         // by requirement signature; kept when empty
	members map[string]*Agent         // agents whose teams may serve the queue
	baseKey map[atende.Channel]string // group key of tasks with no requirements of their own
	baseReq []atende.RequiredSkill
	waiting int
	ahtEWMA float64 // seconds, for wait estimates
	handled int
	teamSet map[string]bool
}

// group holds the waiting tasks of one queue with one channel and one set of
// requirements, best first.
type group struct {
	q      *queue
	key    string
	ch     atende.Channel
	reqs   []atende.RequiredSkill
	tasks  *btree.BTreeG[*Task]
	agents []*Agent // members of q that meet reqs
}

func taskLess(a, b *Task) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.Seq < b.Seq
}

func newGroup(q *queue, key string, ch atende.Channel, reqs []atende.RequiredSkill) *group {
	return &group{q: q, key: key, ch: ch, reqs: reqs, tasks: btree.NewG(16, taskLess)}
}

// requirements merges a queue's skills with a task's own and its relaxations:
// the highest minimum per skill, then relaxed minimums (0 drops the skill).
func requirements(q *atende.Queue, t *Task) []atende.RequiredSkill {
	min := map[string]int{}
	for _, r := range q.Skills {
		min[r.SkillID] = max(min[r.SkillID], r.MinProficiency)
	}
	for _, r := range t.Requirements {
		min[r.SkillID] = max(min[r.SkillID], r.MinProficiency)
	}
	if t.QueueID == q.ID {
		for s, m := range t.Relaxed {
			if _, ok := min[s]; ok {
				if m <= 0 {
					delete(min, s)
				} else {
					min[s] = m
				}
			}
		}
	}
	out := make([]atende.RequiredSkill, 0, len(min))
	for s, m := range min {
		out = append(out, atende.RequiredSkill{SkillID: s, MinProficiency: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SkillID < out[j].SkillID })
	return out
}

func signature(ch atende.Channel, reqs []atende.RequiredSkill) string {
	var b strings.Builder
	b.WriteString(string(ch))
	for _, r := range reqs {
		b.WriteByte('|')
		b.WriteString(r.SkillID)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(r.MinProficiency))
	}
	return b.String()
}

// satisfies reports whether an agent holds every requirement.
func (a *Agent) satisfies(reqs []atende.RequiredSkill) bool {
	for _, r := range reqs {
		if a.Skills[r.SkillID] < r.MinProficiency {
			return false
		}
	}
	return true
}

// canServe reports whether the agent may serve group g.
func (a *Agent) canServe(g *group) bool { return a.eligible[g] }

// link records that a may serve g, when it meets g's requirements.
func link(a *Agent, g *group) {
	if !a.eligible[g] && a.satisfies(g.reqs) {
		a.eligible[g] = true
		a.groups = append(a.groups, g)
		g.agents = append(g.agents, a)
	}
}

// unlink forgets the groups a may serve that drop selects.
func unlink(a *Agent, drop func(g *group) bool) {
	kept := a.groups[:0]
	for _, g := range a.groups {
		if drop(g) {
			delete(a.eligible, g)
			g.agents = slices.DeleteFunc(g.agents, func(b *Agent) bool { return b == a })
		} else {
			kept = append(kept, g)
		}
	}
	clear(a.groups[len(kept):])
	a.groups = kept
}

// totalLoad is the agent's work across channels.
func (a *Agent) totalLoad() int {
	n := 0
	for _, v := range a.Load {
		n += v
	}
	return n
}

// occupancy is the share of the agent's capacity in use, for least_occupied.
func (a *Agent) occupancy() float64 {
	capTotal := 0
	for _, v := range a.Capacity {
		capTotal += v
	}
	if capTotal == 0 {
		return 1
	}
	return float64(a.totalLoad()) / float64(capTotal)
}

// proficiency sums the agent's proficiency on a queue's skills.
func (a *Agent) proficiency(reqs []atende.RequiredSkill) int {
	n := 0
	for _, r := range reqs {
		n += a.Skills[r.SkillID]
	}
	return n
}

func memberOf(q *queue, a *Agent) bool {
	if len(q.teamSet) == 0 {
		return true
	}
	return slices.ContainsFunc(a.TeamIDs, func(t string) bool { return q.teamSet[t] })
}
