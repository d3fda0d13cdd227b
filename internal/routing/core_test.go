package routing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/atende/atende"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t    *testing.T
	c    *Core
	now  time.Time
	ids  map[string]string // short name -> id
	name map[string]string // id -> short name
}

func newFixture(t *testing.T) *fixture {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	return &fixture{t: t, c: NewCore(madrid, DefaultBlending()), now: t0, ids: map[string]string{}, name: map[string]string{}}
}

// id returns a stable id for a short name.
func (f *fixture) id(n string) string {
	if id, ok := f.ids[n]; ok {
		return id
	}
	id := fmt.Sprintf("00000000-0000-7000-8000-%012d", len(f.ids)+1)
	f.ids[n], f.name[id] = id, n
	return id
}

func (f *fixture) queue(n string, mod func(q *atende.Queue)) {
	q := atende.Queue{ID: f.id(n), Name: n, Channels: atende.Channels, Routing: atende.DefaultQueueRouting()}
	q.Routing.WrapUpSec = 0
	if mod != nil {
		mod(&q)
	}
	if err := q.Validate(); err != nil {
		f.t.Fatalf("queue %s: %v", n, err)
	}
	f.c.SetQueue(q, f.now)
}

func (f *fixture) agent(n string, skills map[string]int, capacity atende.Capacity) {
	var sk []atende.AgentSkill
	for s, p := range skills {
		sk = append(sk, atende.AgentSkill{SkillID: f.id(s), Proficiency: p})
	}
	if capacity == nil {
		capacity = atende.DefaultCapacity()
	}
	f.c.SetAgent(AgentSpec{ID: f.id(n), Presence: atende.StatusAvailable, Skills: sk, Capacity: capacity}, f.now)
}

func (f *fixture) task(n, queue string, ch atende.Channel, mod func(s *TaskSpec)) *Task {
	s := TaskSpec{ID: f.id(n), QueueID: f.id(queue), Channel: ch}
	if mod != nil {
		mod(&s)
	}
	t, err := f.c.AddTask(s, f.now)
	if err != nil {
		f.t.Fatalf("task %s: %v", n, err)
	}
	return t
}

func (f *fixture) advance(d time.Duration) {
	f.now = f.now.Add(d)
	f.c.Advance(f.now)
}

// state returns a task's state and agent by short names ("done" when gone).
func (f *fixture) state(n string) string {
	t := f.c.tasks[f.id(n)]
	if t == nil {
		return "done"
	}
	if t.AgentID != "" {
		return string(t.State) + ":" + f.name[t.AgentID]
	}
	return string(t.State)
}

func (f *fixture) want(n, state string) {
	f.t.Helper()
	if got := f.state(n); got != state {
		f.t.Fatalf("task %s is %s, want %s", n, got, state)
	}
}

func (f *fixture) accept(task, agent string) {
	f.t.Helper()
	if _, err := f.c.Accept(f.id(task), f.id(agent), f.now); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) complete(task string) {
	f.t.Helper()
	if _, err := f.c.Complete(f.id(task), f.now); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) events() []string {
	var out []string
	for _, ch := range f.c.Flush() {
		who := ""
		if ch.Task != nil {
			who = f.name[ch.Task.ID]
		} else {
			who = f.name[ch.Agent.ID] + "=" + string(ch.Agent.Status)
		}
		out = append(out, ch.Event+"("+who+")")
	}
	return out
}

func TestOfferAcceptCompleteWrapUp(t *testing.T) {
	f := newFixture(t)
	f.queue("support", func(q *atende.Queue) { q.Routing.WrapUpSec = 30 })
	f.agent("ana", nil, nil)
	f.task("t1", "support", atende.ChannelChat, nil)
	f.want("t1", "offered:ana")
	f.accept("t1", "ana")
	f.want("t1", "assigned:ana")
	if f.c.agents[f.id("ana")].Status != atende.StatusBusy {
		t.Fatalf("agent status %s, want busy", f.c.agents[f.id("ana")].Status)
	}
	f.complete("t1")
	f.want("t1", "done")
	if a := f.c.agents[f.id("ana")]; a.Status != atende.StatusWrapUp || a.Handled != 1 {
		t.Fatalf("after complete: %s handled %d", a.Status, a.Handled)
	}
	f.task("t2", "support", atende.ChannelChat, nil)
	f.want("t2", "waiting") // no offers during wrap-up
	f.advance(29 * time.Second)
	f.want("t2", "waiting")
	f.advance(time.Second)
	f.want("t2", "offered:ana")
}

func TestCapacityIsNeverExceededAndNoDoubleOffers(t *testing.T) {
	f := newFixture(t)
	f.queue("chat", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 2})
	f.agent("bea", nil, atende.Capacity{atende.ChannelChat: 1})
	for i := range 6 {
		f.task(fmt.Sprintf("t%d", i), "chat", atende.ChannelChat, nil)
	}
	offered := map[string]int{}
	for i := range 6 {
		if s := f.state(fmt.Sprintf("t%d", i)); s != "waiting" {
			offered[s]++
		}
	}
	if offered["offered:ana"] != 2 || offered["offered:bea"] != 1 || len(offered) != 2 {
		t.Fatalf("offers %v, want ana 2 and bea 1", offered)
	}
	// The first three arrivals got the offers; the rest wait in order.
	f.want("t3", "waiting")
	f.want("t5", "waiting")
}

func TestRONAKeepsPlaceAndMovesAgent(t *testing.T) {
	f := newFixture(t)
	f.queue("voice", func(q *atende.Queue) {
		q.Routing.OfferTimeoutSec = 15
		q.Routing.RONAStatus, q.Routing.RONAReason = atende.StatusAway, "missed"
	})
	f.agent("ana", nil, nil)
	f.task("first", "voice", atende.ChannelVoice, nil)
	f.advance(time.Second)
	f.task("second", "voice", atende.ChannelVoice, nil)
	f.want("first", "offered:ana")
	f.advance(15 * time.Second)
	f.want("first", "waiting")
	a := f.c.agents[f.id("ana")]
	if a.Status != atende.StatusAway || a.statusReason != "missed" {
		t.Fatalf("after RONA agent is %s/%s", a.Status, a.statusReason)
	}
	f.agent("bea", nil, nil)
	f.want("first", "offered:bea") // its original place: ahead of "second"
	f.want("second", "waiting")
}

func TestRejectGoesToAnotherAgentThenBack(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.task("t", "q", atende.ChannelChat, nil)
	f.want("t", "offered:ana")
	if err := f.c.Reject(f.id("t"), f.id("ana"), f.now); err != nil {
		t.Fatal(err)
	}
	// Nobody else can take it: everyone declined, so it comes back to ana.
	f.want("t", "offered:ana")
	f.agent("bea", nil, atende.Capacity{atende.ChannelChat: 1})
	if err := f.c.Reject(f.id("t"), f.id("ana"), f.now); err != nil {
		t.Fatal(err)
	}
	f.want("t", "offered:bea")
	if err := f.c.Reject(f.id("t"), f.id("ana"), f.now); atende.ErrorCode(err) != atende.EConflict {
		t.Fatalf("reject by the wrong agent: %v", err)
	}
}

func TestPriorityWithAging(t *testing.T) {
	f := newFixture(t)
	f.queue("q", func(q *atende.Queue) { q.Routing.AgingSec = 10 })
	f.task("old-low", "q", atende.ChannelChat, nil)
	f.advance(25 * time.Second)
	f.task("new-high", "q", atende.ChannelChat, func(s *TaskSpec) { s.Priority = 2 })
	f.task("new-higher", "q", atende.ChannelChat, func(s *TaskSpec) { s.Priority = 3 })
	// old-low has aged 2.5 points: above new-high (2), below new-higher (3).
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.want("new-higher", "offered:ana")
	f.accept("new-higher", "ana")
	f.complete("new-higher")
	f.want("old-low", "offered:ana")
}

func TestSkillsAndRelaxEscalation(t *testing.T) {
	f := newFixture(t)
	f.queue("billing", func(q *atende.Queue) {
		q.Skills = []atende.RequiredSkill{{SkillID: f.id("billing"), MinProficiency: 7}}
		q.Routing.Escalations = []atende.Escalation{{AfterSec: 60, Type: atende.EscalateRelaxSkill, SkillID: f.id("billing"), MinProficiency: 3}}
	})
	f.agent("junior", map[string]int{"billing": 4}, nil)
	f.task("t", "billing", atende.ChannelChat, nil)
	f.want("t", "waiting")
	f.advance(59 * time.Second)
	f.want("t", "waiting")
	f.advance(time.Second)
	f.want("t", "offered:junior")
	// A task's own requirement adds to the queue's.
	f.agent("senior", map[string]int{"billing": 9}, nil)
	f.task("t2", "billing", atende.ChannelChat, func(s *TaskSpec) {
		s.Requirements = []atende.RequiredSkill{{SkillID: f.id("english"), MinProficiency: 5}}
	})
	f.want("t2", "waiting") // nobody speaks English yet
	f.agent("bilingual", map[string]int{"billing": 8, "english": 6}, nil)
	f.want("t2", "offered:bilingual")
}

func TestStrategies(t *testing.T) {
	for _, c := range []struct {
		strategy atende.Strategy
		want     string
		setup    func(f *fixture)
	}{
		{atende.StrategyLongestIdle, "bea", func(f *fixture) {}},
		{atende.StrategyBestProficiency, "cai", func(f *fixture) {}},
		{atende.StrategyLeastOccupied, "cai", func(f *fixture) {
			// ana and bea each have a chat in hand; cai has none.
			f.c.agents[f.id("ana")].Load[atende.ChannelChat] = 1
			f.c.agents[f.id("bea")].Load[atende.ChannelChat] = 1
		}},
		{atende.StrategyFewestToday, "ana", func(f *fixture) {
			day := f.now.In(f.c.loc).Format(time.DateOnly)
			f.c.agents[f.id("bea")].Handled, f.c.agents[f.id("bea")].day = 5, day
			f.c.agents[f.id("cai")].Handled, f.c.agents[f.id("cai")].day = 3, day
		}},
		{atende.StrategyRoundRobin, "cai", func(f *fixture) {
			f.c.agents[f.id("ana")].LastOffr = t0.Add(time.Minute)
			f.c.agents[f.id("bea")].LastOffr = t0.Add(2 * time.Minute)
		}},
	} {
		t.Run(string(c.strategy), func(t *testing.T) {
			f := newFixture(t)
			f.queue("q", func(q *atende.Queue) {
				q.Routing.Strategy = c.strategy
				q.Skills = []atende.RequiredSkill{{SkillID: f.id("s"), MinProficiency: 1}}
			})
			f.agent("ana", map[string]int{"s": 5}, nil)
			f.advance(-time.Minute) // bea has been idle longest
			f.agent("bea", map[string]int{"s": 3}, nil)
			f.advance(2 * time.Minute)
			f.agent("cai", map[string]int{"s": 9}, nil)
			c.setup(f)
			f.task("t", "q", atende.ChannelChat, nil)
			f.want("t", "offered:"+c.want)
		})
	}
}

func TestWeightedRandomFollowsProficiency(t *testing.T) {
	f := newFixture(t)
	f.queue("q", func(q *atende.Queue) {
		q.Routing.Strategy = atende.StrategyWeightedRandom
		q.Skills = []atende.RequiredSkill{{SkillID: f.id("s"), MinProficiency: 1}}
	})
	f.agent("low", map[string]int{"s": 1}, atende.Capacity{atende.ChannelChat: 1})  // weight 2
	f.agent("high", map[string]int{"s": 7}, atende.Capacity{atende.ChannelChat: 1}) // weight 8
	counts := map[string]int{}
	for i := range 2000 {
		n := fmt.Sprintf("t%d", i)
		f.task(n, "q", atende.ChannelChat, nil)
		s := f.state(n)
		counts[s]++
		if _, err := f.c.Cancel(f.id(n), true, f.now); err != nil {
			t.Fatal(err)
		}
	}
	share := float64(counts["offered:high"]) / 2000
	if share < 0.76 || share > 0.84 {
		t.Fatalf("high got %.3f of offers, want about 0.8: %v", share, counts)
	}
}

func TestBlending(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelVoice: 1, atende.ChannelChat: 3, atende.ChannelEmail: 3})
	f.task("chat", "q", atende.ChannelChat, nil)
	f.want("chat", "offered:ana")
	f.task("call", "q", atende.ChannelVoice, nil)
	f.want("call", "waiting") // a chat in hand blocks calls
	f.task("mail", "q", atende.ChannelEmail, nil)
	f.want("mail", "waiting") // email only when no chat
	f.accept("chat", "ana")
	f.complete("chat")
	// The call waited longer than the email: the freed agent takes the call,
	// and with a call in hand nothing else.
	f.want("call", "offered:ana")
	f.want("mail", "waiting")
}

func TestTransferAndRequeue(t *testing.T) {
	f := newFixture(t)
	f.queue("l1", nil)
	f.queue("l2", func(q *atende.Queue) { q.TeamIDs = []string{f.id("experts")} })
	f.c.SetAgent(AgentSpec{ID: f.id("exp"), Presence: atende.StatusAway, Reason: "lunch", Capacity: atende.Capacity{atende.ChannelChat: 1}, TeamIDs: []string{f.id("experts")}}, f.now)
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.task("t", "l1", atende.ChannelChat, nil)
	f.want("t", "offered:ana")
	f.accept("t", "ana")
	// Transfer to the experts' queue, keeping the place: nobody there is
	// available, so it waits; ana is free again.
	if _, err := f.c.Transfer(f.id("t"), Target{QueueID: f.id("l2"), KeepPriority: true}, f.now); err != nil {
		t.Fatal(err)
	}
	f.want("t", "waiting")
	if got := f.c.tasks[f.id("t")].EnqueuedAt; !got.Equal(t0) {
		t.Fatalf("kept place %v, want %v", got, t0)
	}
	if a := f.c.agents[f.id("ana")]; a.Status != atende.StatusAvailable || a.Load[atende.ChannelChat] != 0 {
		t.Fatalf("ana after transfer: %s load %v", a.Status, a.Load)
	}
	if err := f.c.SetPresence(f.id("exp"), atende.StatusAvailable, "", f.now); err != nil {
		t.Fatal(err)
	}
	f.want("t", "offered:exp")
	f.accept("t", "exp")
	// Transfer to a named agent waits for that agent only.
	if _, err := f.c.Transfer(f.id("t"), Target{AgentID: f.id("ana"), QueueID: f.id("l1")}, f.now); err != nil {
		t.Fatal(err)
	}
	f.want("t", "offered:ana")
	f.accept("t", "ana")
	if _, err := f.c.Requeue(f.id("t"), f.now); err != nil {
		t.Fatal(err)
	}
	// Back in its queue, and not to the agent who put it back.
	f.want("t", "offered:exp")
	if _, err := f.c.Transfer(f.id("t"), Target{AgentID: f.id("nobody")}, f.now); atende.ErrorCode(err) != atende.EInvalid {
		t.Fatalf("transfer to an unknown agent: %v", err)
	}
}

func TestQueueActions(t *testing.T) {
	f := newFixture(t)
	f.queue("overflow", nil)
	f.queue("main", func(q *atende.Queue) {
		q.MaxWaitSec = 180
		q.Routing.MaxWaitAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: f.id("overflow")}
		q.Routing.MaxSize = 2
		q.Routing.FullAction = atende.QueueAction{Type: atende.ActionVoicemail}
	})
	f.queue("night", func(q *atende.Queue) {
		// Open 09:00-18:00 Madrid on weekdays; 2026-11-25 is a Wednesday.
		for d := time.Monday; d <= time.Friday; d++ {
			q.Routing.Hours.Weekly = append(q.Routing.Hours.Weekly, atende.OpenHours{Day: d, Open: "09:00", Close: "18:00"})
		}
		q.Routing.Hours.Holidays = []atende.Holiday{{Date: "2026-12-25", Name: "Navidad"}}
		q.Routing.ClosedAction = atende.QueueAction{Type: atende.ActionReject}
	})
	f.queue("skilled", func(q *atende.Queue) {
		q.Skills = []atende.RequiredSkill{{SkillID: f.id("klingon"), MinProficiency: 5}}
		q.Routing.NoMatchAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: f.id("overflow")}
	})
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.c.SetPresence(f.id("ana"), atende.StatusAway, "lunch", f.now)
	f.task("a", "main", atende.ChannelChat, nil)
	f.task("b", "main", atende.ChannelChat, nil)
	f.task("c", "main", atende.ChannelChat, nil) // the queue holds 2
	f.want("c", "done")
	f.events()
	f.advance(180 * time.Second)
	if got := f.c.tasks[f.id("a")]; got.QueueID != f.id("overflow") || !got.EnqueuedAt.Equal(t0) {
		t.Fatalf("after max wait a is in %s since %v", f.name[got.QueueID], got.EnqueuedAt)
	}
	// 10:03 UTC is 11:03 in Madrid: open. At 20:00 Madrid it is closed.
	f.task("day", "night", atende.ChannelChat, nil)
	f.want("day", "waiting")
	f.now = time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	f.task("late", "night", atende.ChannelChat, nil)
	f.want("late", "done")
	f.now = time.Date(2026, 12, 25, 11, 0, 0, 0, time.UTC)
	f.task("xmas", "night", atende.ChannelChat, nil)
	f.want("xmas", "done")
	// No agent anywhere speaks Klingon: straight to the overflow queue.
	f.task("k", "skilled", atende.ChannelChat, nil)
	if got := f.c.tasks[f.id("k")]; got == nil || got.QueueID != f.id("overflow") {
		t.Fatalf("no-match task: %+v", got)
	}
}

func TestStickyAgentWaitsThenOpens(t *testing.T) {
	f := newFixture(t)
	f.queue("q", func(q *atende.Queue) { q.Routing.StickySec = 30 })
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.agent("bea", nil, atende.Capacity{atende.ChannelChat: 1})
	f.task("busy", "q", atende.ChannelChat, func(s *TaskSpec) { s.PreferredAgent = f.id("ana") })
	f.want("busy", "offered:ana")
	f.accept("busy", "ana")
	f.task("back", "q", atende.ChannelChat, func(s *TaskSpec) { s.LastAgent = f.id("ana") })
	f.want("back", "waiting") // bea is free, but the customer waits for ana
	f.advance(30 * time.Second)
	f.want("back", "offered:bea")
	// When the last agent frees up in time, it goes to them.
	f.task("back2", "q", atende.ChannelChat, func(s *TaskSpec) { s.LastAgent = f.id("ana") })
	f.advance(10 * time.Second)
	f.complete("busy")
	f.want("back2", "offered:ana")
}

func TestCancelFreesTheAgent(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelVoice: 1})
	f.task("call", "q", atende.ChannelVoice, nil)
	f.task("next", "q", atende.ChannelVoice, nil)
	f.want("call", "offered:ana")
	out, err := f.c.Cancel(f.id("call"), true, f.now)
	if err != nil || out.Outcome != OutcomeAbandoned {
		t.Fatalf("cancel: %+v %v", out, err)
	}
	f.want("next", "offered:ana")
	if _, err := f.c.Cancel(f.id("call"), true, f.now); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("second cancel: %v", err)
	}
}

// TestInvariantsUnderRandomOperations drives the core with random
// operations and checks after each one that no agent holds more than its
// capacity, every offered or assigned task is held by exactly its agent,
// and every waiting task sits in the groups of its queues.
func TestInvariantsUnderRandomOperations(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(7, 7))
	skills := []string{"s0", "s1", "s2"}
	for i := range 4 {
		n := fmt.Sprintf("q%d", i)
		f.queue(n, func(q *atende.Queue) {
			q.Skills = []atende.RequiredSkill{{SkillID: f.id(skills[i%3]), MinProficiency: 1 + i}}
			q.Routing.OfferTimeoutSec = 5 + i
			q.Routing.WrapUpSec = i * 3
			q.Routing.Strategy = atende.Strategies[i]
			q.Routing.Escalations = []atende.Escalation{{AfterSec: 20, Type: atende.EscalateRaisePriority, Priority: 2}}
		})
	}
	for i := range 8 {
		f.agent(fmt.Sprintf("a%d", i), map[string]int{skills[i%3]: 1 + i%5, skills[(i+1)%3]: 3}, atende.Capacity{
			atende.ChannelVoice: 1, atende.ChannelChat: 1 + i%3, atende.ChannelEmail: 2})
	}
	channels := []atende.Channel{atende.ChannelVoice, atende.ChannelChat, atende.ChannelEmail}
	for step := range 5000 {
		switch op := rng.IntN(10); {
		case op < 3:
			f.task(fmt.Sprintf("t%d", step), fmt.Sprintf("q%d", rng.IntN(4)), channels[rng.IntN(3)], func(s *TaskSpec) { s.Priority = rng.IntN(3) })
		case op < 5:
			for _, tk := range sortedTasks(f.c.tasks) {
				if tk.State == TaskOffered {
					if rng.IntN(4) == 0 {
						f.c.Reject(tk.ID, tk.AgentID, f.now)
					} else {
						f.c.Accept(tk.ID, tk.AgentID, f.now)
					}
					break
				}
			}
		case op < 7:
			for _, tk := range sortedTasks(f.c.tasks) {
				if tk.State == TaskAssigned {
					f.c.Complete(tk.ID, f.now)
					break
				}
			}
		case op < 8:
			ids := sortedTasks(f.c.tasks)
			if len(ids) > 0 {
				f.c.Cancel(ids[rng.IntN(len(ids))].ID, true, f.now)
			}
		case op < 9:
			a := f.id(fmt.Sprintf("a%d", rng.IntN(8)))
			f.c.SetPresence(a, []atende.AgentStatus{atende.StatusAvailable, atende.StatusAway, atende.StatusOffline}[rng.IntN(3)], "", f.now)
		default:
			f.advance(time.Duration(rng.IntN(8000)) * time.Millisecond)
		}
		f.c.Flush()
		checkInvariants(t, f.c)
	}
}

func checkInvariants(t *testing.T, c *Core) {
	t.Helper()
	load := map[string]map[atende.Channel]int{}
	for _, tk := range c.tasks {
		switch tk.State {
		case TaskOffered, TaskAssigned:
			a := c.agents[tk.AgentID]
			if a == nil || a.tasks[tk.ID] != tk {
				t.Fatalf("task %s is %s to %s, who does not hold it", tk.ID, tk.State, tk.AgentID)
			}
			if len(tk.groups) != 0 {
				t.Fatalf("task %s is %s and still queued", tk.ID, tk.State)
			}
			if load[a.ID] == nil {
				load[a.ID] = map[atende.Channel]int{}
			}
			load[a.ID][tk.Channel]++
		case TaskWaiting:
			if len(tk.groups) != len(tk.queueIDs()) {
				t.Fatalf("waiting task %s is in %d groups, has %d queues", tk.ID, len(tk.groups), len(tk.queueIDs()))
			}
			for _, g := range tk.groups {
				if _, ok := g.tasks.Get(tk); !ok {
					t.Fatalf("task %s missing from its group", tk.ID)
				}
			}
		default:
			t.Fatalf("live task %s is %s", tk.ID, tk.State)
		}
	}
	for _, a := range c.agents {
		for ch, n := range a.Load {
			if n != load[a.ID][ch] {
				t.Fatalf("agent %s load %s = %d, holds %d", a.ID, ch, n, load[a.ID][ch])
			}
			if n > a.Capacity[ch] {
				t.Fatalf("agent %s over capacity on %s: %d > %d", a.ID, ch, n, a.Capacity[ch])
			}
		}
		if a.Load[atende.ChannelVoice] > 0 && a.totalLoad() > a.Load[atende.ChannelVoice] {
			t.Fatalf("agent %s mixes a call with other work: %v", a.ID, a.Load)
		}
	}
	waiting := 0
	for _, q := range c.queues {
		n := 0
		for _, g := range q.groups {
			n += g.tasks.Len()
		}
		if n != q.waiting {
			t.Fatalf("queue %s counts %d waiting, holds %d", q.cfg.Name, q.waiting, n)
		}
		waiting += n
	}
	_ = waiting
}

// TestRestoreKeepsOrderAndAssignments: a core rebuilt from the tasks of
// another has the same waiting order, the same assignments, and open offers
// back in their place.
func TestRestoreKeepsOrderAndAssignments(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 2})
	f.task("assigned", "q", atende.ChannelChat, nil)
	f.accept("assigned", "ana")
	f.task("offered", "q", atende.ChannelChat, nil)
	f.want("offered", "offered:ana")
	for i := range 5 {
		f.advance(time.Second)
		f.task(fmt.Sprintf("w%d", i), "q", atende.ChannelChat, func(s *TaskSpec) { s.Priority = i % 2 })
	}
	var live []*Task
	for _, tk := range f.c.tasks {
		live = append(live, tk.clone())
	}
	order := func(c *Core) []string {
		var out []string
		for _, g := range c.queues[f.id("q")].groups {
			g.tasks.Ascend(func(tk *Task) bool { out = append(out, f.name[tk.ID]); return true })
		}
		return out
	}
	// The open offer goes back to its place: behind the two priority-1
	// tasks, ahead of the other priority-0 ones.
	want := []string{"w1", "w3", "offered", "w0", "w2", "w4"}

	g := newFixture(t)
	g.ids, g.name, g.now = f.ids, f.name, f.now
	g.queue("q", nil)
	g.c.SetAgent(AgentSpec{ID: g.id("ana"), Presence: atende.StatusAway, Reason: "lunch", Capacity: atende.Capacity{atende.ChannelChat: 2}}, g.now)
	g.c.Restore(live, g.now)
	if got := order(g.c); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored order %v, want %v", got, want)
	}
	g.want("assigned", "assigned:ana")
	if a := g.c.agents[g.id("ana")]; a.Load[atende.ChannelChat] != 1 || a.Status != atende.StatusBusy {
		t.Fatalf("restored agent load %v status %s", a.Load, a.Status)
	}
	checkInvariants(t, g.c)
	// New tasks queue after the restored ones.
	g.task("later", "q", atende.ChannelChat, nil)
	if tk := g.c.tasks[g.id("later")]; tk.Seq <= g.c.tasks[g.id("w4")].Seq {
		t.Fatalf("new task seq %d not after restored ones", tk.Seq)
	}
}

func TestPositionAndStats(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	for i := range 4 {
		f.task(fmt.Sprintf("t%d", i), "q", atende.ChannelChat, func(s *TaskSpec) {
			if i == 3 {
				s.Priority = 5 // jumps the line
			}
		})
		f.advance(10 * time.Second)
	}
	// t0 is offered to ana; t3 is first among the waiting, then t1, t2.
	for name, want := range map[string]int{"t3": 1, "t1": 2, "t2": 3} {
		p, ok := f.c.Position(f.id(name))
		if !ok || p.Position != want || p.Waiting != 3 {
			t.Errorf("%s position %+v, want %d of 3", name, p, want)
		}
	}
	if p, _ := f.c.Position(f.id("t2")); p.EWTSec != 540 {
		t.Errorf("EWT %d s, want 3 × 180 s with one slot", p.EWTSec)
	}
	if _, ok := f.c.Position(f.id("t0")); ok {
		t.Error("an offered task has a position")
	}
	st := f.c.Stats(f.now)
	if len(st) != 1 || st[0].Waiting != 3 || st[0].Offered != 1 || st[0].LongestWaitSec != 30 || st[0].AgentsLoggedIn != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLongestIdlePrefersTheFreeAgent: an agent who just logged in with
// nothing in hand beats one who has been holding a chat for hours.
func TestLongestIdlePrefersTheFreeAgent(t *testing.T) {
	f := newFixture(t)
	f.queue("q", nil)
	f.agent("a", nil, atende.Capacity{atende.ChannelChat: 3})
	f.c.SetAgent(AgentSpec{ID: f.id("b"), Presence: atende.StatusOffline, Capacity: atende.Capacity{atende.ChannelChat: 3}}, f.now)
	f.task("early", "q", atende.ChannelChat, nil)
	f.accept("early", "a")
	f.advance(2 * time.Hour)
	if err := f.c.SetPresence(f.id("b"), atende.StatusAvailable, "", f.now); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	f.task("t1", "q", atende.ChannelChat, nil)
	f.want("t1", "offered:b")
	f.task("t2", "q", atende.ChannelChat, nil)
	f.want("t2", "offered:a") // now both hold one: a has waited longer since free
}

// TestSweepUnmatchable: the only agent who could take a task loses the
// skill while it waits; the sweep applies the no-match action instead of
// leaving the task stuck.
func TestSweepUnmatchable(t *testing.T) {
	f := newFixture(t)
	f.queue("fallback", nil)
	f.queue("k", func(q *atende.Queue) {
		q.Skills = []atende.RequiredSkill{{SkillID: f.id("klingon"), MinProficiency: 5}}
		q.Routing.NoMatchAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: f.id("fallback")}
	})
	f.queue("keep", func(q *atende.Queue) {
		q.Skills = []atende.RequiredSkill{{SkillID: f.id("vulcan"), MinProficiency: 5}}
	})
	f.c.SetAgent(AgentSpec{ID: f.id("worf"), Presence: atende.StatusAway, Reason: "lunch",
		Skills: []atende.AgentSkill{{SkillID: f.id("klingon"), Proficiency: 9}, {SkillID: f.id("vulcan"), Proficiency: 9}}, Capacity: atende.DefaultCapacity()}, f.now)
	f.task("t", "k", atende.ChannelChat, nil)
	f.task("v", "keep", atende.ChannelChat, nil)
	f.want("t", "waiting")
	f.c.SweepUnmatchable(f.now)
	if f.c.tasks[f.id("t")].QueueID != f.id("k") {
		t.Fatal("a task someone could take was moved")
	}
	// Worf forgets both languages.
	f.c.SetAgent(AgentSpec{ID: f.id("worf"), Capacity: atende.DefaultCapacity()}, f.now)
	f.events()
	f.c.SweepUnmatchable(f.now)
	if got := f.c.tasks[f.id("t")].QueueID; got != f.id("fallback") {
		t.Fatalf("unmatchable task is in %s, want fallback", f.name[got])
	}
	if v := f.c.tasks[f.id("v")]; !v.Unmatchable {
		t.Fatal("kept task not flagged")
	}
	evs := f.events()
	f.c.SweepUnmatchable(f.now)
	if again := f.events(); len(again) != 0 {
		t.Fatalf("reported twice: %v (first %v)", again, evs)
	}
}
