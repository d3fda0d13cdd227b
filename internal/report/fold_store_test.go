package report_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

type policy struct{ loc *time.Location }

func (p policy) Location(string) *time.Location            { return p.loc }
func (p policy) ServiceLevel(string, string) time.Duration { return 20 * time.Second }
func (p policy) ShortAbandon(string) time.Duration         { return report.DefaultShortAbandon }

// TestIncrementalStatsEqualARecomputation runs a generated day of chat
// traffic through the routing core and the real store, folds the stored
// events incrementally while the day goes on (small batches, a cut-off behind
// the present, agents' running states counted up to it, the aggregator
// restarted from the store now and then), and compares every interval row
// with a recomputation made afterwards, independently, from the whole event
// log and the agents' state history.
func TestIncrementalStatsEqualARecomputation(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	start := time.Date(2026, 3, 10, 8, 0, 0, 0, madrid).UTC()
	end := start.Add(4 * time.Hour)
	clk := &clock{now: start}
	storetest.ForEach(t, store.Config{Clock: clk}, func(t *testing.T, st *store.Store) {
		clk.now = start
		ctx := context.Background()
		tenant := &atende.Tenant{Name: "Acme", Locale: "es-ES", TimeZone: "Europe/Madrid"}
		if err := st.CreateTenant(ctx, atende.SystemActor(""), tenant); err != nil {
			t.Fatal(err)
		}
		sys := atende.SystemActor(tenant.ID)
		var queues []*atende.Queue
		for _, name := range []string{"Soporte", "Ventas"} {
			q := &atende.Queue{Name: name, Channels: []atende.Channel{atende.ChannelChat}}
			q.Routing.WrapUpSec = 20
			if err := st.CreateQueue(ctx, sys, q); err != nil {
				t.Fatal(err)
			}
			queues = append(queues, q)
		}
		core := routing.NewCore(madrid, routing.DefaultBlending())
		for _, q := range queues {
			core.SetQueue(*q, start)
		}
		var agents []string
		for i := range 5 {
			u := &atende.User{Email: string(rune('a'+i)) + "@acme.es", Name: "Agent", Roles: []atende.Role{atende.RoleAgent}, Active: true,
				Capacity: atende.Capacity{atende.ChannelChat: 2}}
			if err := st.CreateUser(ctx, sys, u, ""); err != nil {
				t.Fatal(err)
			}
			core.SetAgent(routing.AgentSpec{ID: u.ID, Presence: atende.StatusOffline, Capacity: u.Capacity}, start)
			agents = append(agents, u.ID)
		}
		epoch, err := st.AcquireLease(ctx, tenant.ID, "test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		save := func() {
			if ch := core.Flush(); len(ch) > 0 {
				if err := st.SaveRouting(ctx, tenant.ID, "test", epoch, ch); err != nil {
					t.Fatal(err)
				}
			}
		}
		agg := &report.Aggregator{Source: st, Policy: policy{madrid}, Batch: 37, Now: func() time.Time { return clk.now }}
		restarts := 0

		type plan struct {
			acceptAfter, patience, handle time.Duration
			reject, transfer              bool
			transferred                   bool
		}
		rng := rand.New(rand.NewPCG(7, 11))
		plans := map[string]*plan{}
		var open []string
		dur := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Second }
		for now := start; now.Before(end); now = now.Add(time.Second) {
			clk.now = now
			core.Advance(now)
			off := now.Sub(start)
			for i, a := range agents {
				// Shifts start a little apart; each agent takes a half-hour
				// break at a different time, and the first leaves early.
				switch off {
				case time.Duration(i) * 7 * time.Minute:
					must(t, core.SetPresence(a, atende.StatusAvailable, "", now))
				case time.Hour + time.Duration(i)*40*time.Minute:
					must(t, core.SetPresence(a, atende.StatusAway, "lunch", now))
				case time.Hour + time.Duration(i)*40*time.Minute + 30*time.Minute:
					must(t, core.SetPresence(a, atende.StatusAvailable, "", now))
				}
			}
			if off == 4*time.Hour {
				must(t, core.SetPresence(agents[0], atende.StatusOffline, "", now))
			}
			if rng.IntN(40) == 0 {
				tk, err := core.AddTask(routing.TaskSpec{QueueID: queues[rng.IntN(2)].ID, Channel: atende.ChannelChat}, now)
				if err != nil {
					t.Fatal(err)
				}
				plans[tk.ID] = &plan{acceptAfter: dur(1, 12), patience: dur(2, 240), handle: dur(30, 600),
					reject: rng.IntN(12) == 0, transfer: rng.IntN(10) == 0}
				if rng.IntN(20) == 0 {
					plans[tk.ID].acceptAfter = 30 * time.Second // the offer times out
				}
				open = append(open, tk.ID)
			}
			kept := open[:0]
			for _, id := range open {
				tk, ok := core.Task(id)
				if !ok {
					continue
				}
				kept = append(kept, id)
				p := plans[id]
				switch tk.State {
				case routing.TaskWaiting:
					if now.Sub(tk.EnqueuedAt) >= p.patience {
						_, err = core.Cancel(id, true, now)
					}
				case routing.TaskOffered:
					if now.Sub(*tk.OfferedAt) >= p.acceptAfter {
						if p.reject {
							p.reject = false
							err = core.Reject(id, tk.AgentID, now)
						} else {
							_, err = core.Accept(id, tk.AgentID, now)
						}
					}
				case routing.TaskAssigned:
					worked := now.Sub(*tk.AcceptedAt)
					switch {
					case p.transfer && !p.transferred && worked >= p.handle/2:
						p.transferred = true
						to := routing.Target{QueueID: queues[1].ID}
						if rng.IntN(2) == 0 {
							to = routing.Target{AgentID: agents[rng.IntN(len(agents))]}
						}
						if _, terr := core.Transfer(id, to, now); terr != nil && atende.ErrorCode(terr) != atende.EInvalid && atende.ErrorCode(terr) != atende.EConflict {
							err = terr
						}
					case worked >= p.handle:
						_, err = core.Complete(id, now)
					}
				}
				if err != nil {
					t.Fatalf("%s at %v: %v", id, now, err)
				}
			}
			open = kept
			save()
			if off%(5*time.Minute) == 0 {
				for {
					n, err := agg.Step(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if n < agg.Batch {
						break
					}
				}
				if off%(45*time.Minute) == 0 {
					// A restart: a new aggregator continues from the store.
					agg = &report.Aggregator{Source: st, Policy: policy{madrid}, Batch: 37, Now: agg.Now}
					restarts++
				}
			}
		}
		// The day is over: fold the rest, with agents' states counted up to
		// the cut-off.
		clk.now = end
		agg.CloseEvery = time.Nanosecond
		for {
			n, err := agg.Step(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < agg.Batch {
				break
			}
		}
		cutoff := end.Add(-2 * time.Second)
		if restarts < 3 {
			t.Fatalf("only %d restarts", restarts)
		}

		want := recompute(t, ctx, st, tenant.ID, agents, madrid, cutoff)
		var wrapState, wrapHandle int64
		for _, r := range want[report.DimAgent] {
			wrapState += r.Agent.WrapUpMs
		}
		for _, dim := range []report.Dimension{report.DimQueue, report.DimChannel, report.DimAgent} {
			rows, err := st.IntervalStats(ctx, tenant.ID, dim, start.Add(-time.Hour), end.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]report.Row{}
			for _, r := range rows {
				if dim == report.DimChannel {
					wrapHandle += r.Queue.WrapMs
				}
				got[r.ID+"@"+r.Interval.Format(time.RFC3339)] = r.Row
			}
			exp := want[dim]
			var offered int64
			for k, w := range exp {
				g := got[k]
				if dim != report.DimAgent {
					offered += w.Queue.Offered
					// Wrap-up is compared as a total below.
					g.Queue.WrapMs = 0
				}
				g.Agent.WrapMs, g.Survey = 0, report.SurveyCounters{}
				if !equalRows(g, w) {
					gj, _ := json.Marshal(g)
					wj, _ := json.Marshal(w)
					t.Errorf("%s %s:\n got  %s\n want %s", dim, k, gj, wj)
				}
			}
			for k, g := range got {
				if _, ok := exp[k]; !ok && !equalRows(zeroWrap(g), report.Row{}) {
					t.Errorf("%s %s: unexpected row %+v", dim, k, g)
				}
			}
			if dim == report.DimQueue && offered < 300 {
				t.Fatalf("only %d tasks offered: the day is too quiet to test anything", offered)
			}
		}
		// Every stretch of after-contact work follows a completed task and
		// counts in its handle time.
		if wrapHandle != wrapState || wrapState == 0 {
			t.Errorf("wrap-up in handle time %d ms, agents in wrap-up %d ms", wrapHandle, wrapState)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func zeroWrap(r report.Row) report.Row {
	r.Queue.WrapMs, r.Agent.WrapMs = 0, 0
	return r
}

func equalRows(a, b report.Row) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// recompute builds the expected rows the plain way: each task's whole life
// from its events, then its figures; each agent's state time from the stored
// state history, cut into intervals.
func recompute(t *testing.T, ctx context.Context, st *store.Store, tenantID string, agents []string, loc *time.Location, cutoff time.Time) map[report.Dimension]map[string]report.Row {
	t.Helper()
	out := map[report.Dimension]map[string]report.Row{report.DimQueue: {}, report.DimChannel: {}, report.DimAgent: {}}
	add := func(dim report.Dimension, id string, at time.Time, fn func(r *report.Row)) {
		k := id + "@" + report.IntervalStart(at, loc).UTC().Format(time.RFC3339)
		r := out[dim][k]
		fn(&r)
		out[dim][k] = r
	}
	type segment struct {
		queue       string
		arrived     time.Time
		accepted    *time.Time
		transferred int64
	}
	type life struct {
		channel     string
		first       time.Time
		firstAccept *time.Time
		segments    []*segment
		agentAccept *time.Time
		agent       string
		work        []stretch
		ended       *time.Time
		outcome     string
	}
	lives := map[string]*life{}
	var order []string
	var after int64
	for {
		evs, err := st.Events(ctx, tenantID, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		after = evs[len(evs)-1].ID
		for _, e := range evs {
			if !e.At.Before(cutoff) {
				continue // not folded yet: the fold stays behind the present
			}
			var p struct {
				Task *routing.Task `json:"task"`
				Info struct {
					ToQueueID string `json:"to_queue_id"`
				} `json:"info"`
			}
			if json.Unmarshal(e.Data, &p) != nil || p.Task == nil {
				continue
			}
			tk := p.Task
			l := lives[tk.ID]
			switch e.Type {
			case "task.created":
				l = &life{channel: string(tk.Channel), first: tk.EnqueuedAt, segments: []*segment{{queue: tk.QueueID, arrived: tk.EnqueuedAt}}}
				lives[tk.ID] = l
				order = append(order, tk.ID)
			case "task.accepted":
				if l.firstAccept == nil {
					l.firstAccept = tk.AcceptedAt
				}
				seg := l.segments[len(l.segments)-1]
				if seg.accepted == nil {
					seg.accepted = tk.AcceptedAt
				}
				l.agentAccept, l.agent = tk.AcceptedAt, tk.AgentID
				add(report.DimAgent, tk.AgentID, *tk.AcceptedAt, func(r *report.Row) { r.Agent.Handled++ })
			case "task.transferred":
				l.segments[len(l.segments)-1].transferred++
				if l.agentAccept != nil {
					ms := e.At.Sub(*l.agentAccept).Milliseconds()
					l.work = append(l.work, stretch{l.agent, e.At, ms, len(l.segments) - 1})
					l.agentAccept = nil
				}
				if q := p.Info.ToQueueID; q != "" && q != l.segments[len(l.segments)-1].queue {
					l.segments = append(l.segments, &segment{queue: q, arrived: e.At})
				}
			case "task.ended":
				l.ended, l.outcome = tk.EndedAt, tk.Outcome
				if tk.Outcome == "handled" && tk.AcceptedAt != nil {
					l.work = append(l.work, stretch{tk.AgentID, *tk.EndedAt, tk.EndedAt.Sub(*tk.AcceptedAt).Milliseconds(), len(l.segments) - 1})
					add(report.DimAgent, tk.AgentID, *tk.EndedAt, func(r *report.Row) { r.Agent.Completed++ })
				}
			}
		}
	}
	for _, id := range order {
		l := lives[id]
		var talk int64
		for _, s := range l.work {
			talk += s.ms
			add(report.DimAgent, s.agent, s.at, func(r *report.Row) { r.Agent.TalkMs += s.ms })
		}
		completed := l.outcome == "handled" && l.firstAccept != nil
		// The channel: one life from the first arrival.
		add(report.DimChannel, l.channel, l.first, func(r *report.Row) {
			q := &r.Queue
			q.Offered++
			for _, s := range l.segments {
				q.Transferred += s.transferred
			}
			if l.firstAccept != nil {
				w := l.firstAccept.Sub(l.first).Milliseconds()
				q.Handled++
				q.WaitHandledMs += w
				q.LongestWaitMs = max(q.LongestWaitMs, w)
				if w <= 20_000 {
					q.AnsweredInSL++
				}
			}
			if l.outcome == "abandoned" && l.firstAccept == nil {
				abandon(q, l.ended.Sub(l.first))
			}
			q.TalkMs += talk
			if completed {
				q.Completed++
			}
		})
		// Each queue it was in: its segment; talk and completion go to the
		// segment that held it at each moment (the last one for the end).
		for i, s := range l.segments {
			last := i == len(l.segments)-1
			add(report.DimQueue, s.queue, s.arrived, func(r *report.Row) {
				q := &r.Queue
				q.Offered++
				q.Transferred += s.transferred
				if s.accepted != nil {
					w := s.accepted.Sub(s.arrived).Milliseconds()
					q.Handled++
					q.WaitHandledMs += w
					q.LongestWaitMs = max(q.LongestWaitMs, w)
					if w <= 20_000 {
						q.AnsweredInSL++
					}
				}
				if last && l.outcome == "abandoned" && s.accepted == nil {
					abandon(q, l.ended.Sub(s.arrived))
				}
				for _, w := range l.work {
					if w.segment == i {
						q.TalkMs += w.ms
					}
				}
				if last && completed {
					q.Completed++
				}
			})
		}
	}
	// Agents' state time, from the history, up to the cut-off.
	for _, a := range agents {
		var cursor string
		for {
			page, err := st.AgentStateHistory(ctx, tenantID, a, store.ListOptions{Limit: 200, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page.Items {
				to := cutoff
				if h.EndedAt != nil && h.EndedAt.Before(cutoff) {
					to = *h.EndedAt
				}
				for from := h.StartedAt; from.Before(to); {
					next := report.IntervalStart(from, loc).Add(report.IntervalSize)
					if next.After(to) {
						next = to
					}
					ms := next.Sub(from).Milliseconds()
					add(report.DimAgent, a, from, func(r *report.Row) {
						switch h.Status {
						case atende.StatusAvailable:
							r.Agent.AvailableMs += ms
						case atende.StatusBusy:
							r.Agent.BusyMs += ms
						case atende.StatusWrapUp:
							r.Agent.WrapUpMs += ms
						case atende.StatusAway:
							r.Agent.AwayMs += ms
							if r.Agent.StateByReason == nil {
								r.Agent.StateByReason = map[string]int64{}
							}
							r.Agent.StateByReason[h.ReasonCode] += ms
						}
					})
					from = next
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	return out
}

func abandon(q *report.QueueCounters, wait time.Duration) {
	ms := wait.Milliseconds()
	q.Abandoned++
	q.WaitAbandonedMs += ms
	q.LongestWaitMs = max(q.LongestWaitMs, ms)
	switch {
	case wait < report.DefaultShortAbandon:
		q.ShortAbandoned++
	case wait <= 20*time.Second:
		q.AbandonedInSL++
	}
}

// stretch is one agent's part of the work on a task: ended at 'at', while
// the task was in its segment'th queue.
type stretch struct {
	agent   string
	at      time.Time
	ms      int64
	segment int
}
