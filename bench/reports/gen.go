package main

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

// The month is simulated, not replayed: arrivals follow a day curve (weekday
// and weekend) in the tenant's time zone; each team of agents serves its
// channel's queues on shifts with a break; a task waits for the first free
// slot of an agent of its team (one for voice, several for the written
// channels) and is abandoned when the customer's patience runs out first.
// The simulation emits the events the routing engine stores (task.created,
// task.accepted, task.ended, agent.state_changed, survey.answered, a
// disposition appended to the conversation), in time order, and they go
// through report.Fold, the aggregator's fold, exactly as stored events do.

type channelPlan struct {
	ch       atende.Channel
	share    float64       // of the arrivals
	queues   int           // queues of the channel
	teams    int           // teams of 100 agents
	slots    int           // tasks an agent handles at once
	talk     time.Duration // mean handle time (exponential around it, with a floor)
	wrap     time.Duration // after-contact work (voice only)
	patience time.Duration // mean patience (0: never abandons)
	sl       int           // service-level threshold, seconds
}

var plans = []channelPlan{
	{atende.ChannelVoice, 0.18, 15, 3, 1, 80 * time.Second, 15 * time.Second, 90 * time.Second, 20},
	{atende.ChannelChat, 0.45, 20, 4, 4, 180 * time.Second, 0, 240 * time.Second, 60},
	{atende.ChannelEmail, 0.12, 5, 1, 5, 200 * time.Second, 0, 0, 3600},
	{atende.ChannelSocial, 0.25, 10, 2, 4, 180 * time.Second, 0, 30 * time.Minute, 300},
}

// hourCurve is the relative arrival rate per local hour on a weekday.
var hourCurve = [24]float64{0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.7, 1.1, 1.6, 1.7, 1.6,
	1.2, 1.2, 1.5, 1.6, 1.5, 1.3, 1.1, 0.9, 0.8, 0.6, 0.4, 0.25}

// dayFactor is the relative volume of a weekday (Sunday first).
var dayFactor = [7]float64{0.45, 1.05, 1.0, 1.0, 1.0, 0.95, 0.65}

// shifts are local [start, end) hours; share is of the agents.
var shifts = []struct{ start, end, share float64 }{
	{0, 8, 0.05}, {6, 14, 0.22}, {8, 16, 0.30}, {12, 20, 0.27}, {16, 24, 0.16},
}

type queueSim struct {
	q    *atende.Queue
	plan *channelPlan
	team int
}

type agentSim struct {
	id    string
	team  int
	shift int
	free  []time.Time // when each slot is next free
	win   [2][2]time.Time
	works bool
}

type teamSim struct {
	plan   *channelPlan
	agents []*agentSim
	next   int // round robin start
}

// ev is an event due at 'at'; seq keeps events of the same instant in the
// order they were made.
type ev struct {
	at   time.Time
	seq  uint64
	typ  string
	data []byte
}

type evHeap []*ev

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(*ev)) }
func (h *evHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// simPolicy is the fold's policy for the one tenant: what StorePolicy reads
// from the tenant and its queues.
type simPolicy struct {
	loc *time.Location
	sl  map[string]time.Duration
}

func (p *simPolicy) Location(string) *time.Location { return p.loc }
func (p *simPolicy) ServiceLevel(_, q string) time.Duration {
	if d, ok := p.sl[q]; ok {
		return d
	}
	return 20 * time.Second
}
func (p *simPolicy) ShortAbandon(string) time.Duration { return report.DefaultShortAbandon }

// genStats is what the simulation counted itself, to check the report by.
type genStats struct {
	arrivals, handled, abandoned, events int64
	rows                                 int64
}

type generator struct {
	tenantID     string
	loc          *time.Location
	start        time.Time // local midnight of the first day
	days         int
	interactions int64
	queues       []queueSim
	qWeights     []float64 // cumulative
	teams        []*teamSim
	dispositions []string
	rng          *rand.Rand // this part's draws
	arrivals     *rand.Rand // the month's arrivals, the same stream in every part
	mine         []bool     // the queues this part simulates
	ownTeam      []bool
	streamN      int64 // arrivals of the whole stream so far
	owed         float64
	total        float64
	fold         *report.Fold
	h            evHeap
	seq          uint64
	st           genStats
}

func (g *generator) push(at time.Time, typ string, data []byte) {
	g.seq++
	heap.Push(&g.h, &ev{at: at, seq: g.seq, typ: typ, data: data})
}

// drain folds every event due before 'until'.
func (g *generator) drain(until time.Time) error {
	for len(g.h) > 0 && g.h[0].at.Before(until) {
		e := heap.Pop(&g.h).(*ev)
		g.st.events++
		if err := g.fold.Apply(atende.Event{ID: g.st.events, TenantID: g.tenantID, Type: e.typ, Data: e.data, At: e.at}); err != nil {
			return err
		}
	}
	return nil
}

func ts(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func (g *generator) taskJSON(id string, qs *queueSim, enq time.Time, agent string, accepted, ended *time.Time, outcome string) []byte {
	b := make([]byte, 0, 300)
	b = append(b, `{"task":{"id":"`...)
	b = append(b, id...)
	b = append(b, `","channel":"`...)
	b = append(b, qs.plan.ch...)
	b = append(b, `","queue_id":"`...)
	b = append(b, qs.q.ID...)
	b = append(b, `","enqueued_at":`...)
	b = ts(b, enq)
	if agent != "" {
		b = append(b, `,"agent_id":"`...)
		b = append(b, agent...)
		b = append(b, '"')
	}
	if accepted != nil {
		b = append(b, `,"accepted_at":`...)
		b = ts(b, *accepted)
	}
	if ended != nil {
		b = append(b, `,"ended_at":`...)
		b = ts(b, *ended)
		b = append(b, `,"outcome":"`...)
		b = append(b, outcome...)
		b = append(b, '"')
	}
	return append(b, "}}"...)
}

func agentJSON(id string, status atende.AgentStatus, reason string, since time.Time) []byte {
	b := make([]byte, 0, 160)
	b = append(b, `{"agent":{"id":"`...)
	b = append(b, id...)
	b = append(b, `","status":"`...)
	b = append(b, status...)
	b = append(b, `","reason_code":"`...)
	b = append(b, reason...)
	b = append(b, `","since":`...)
	b = ts(b, since)
	return append(b, "}}"...)
}

func (g *generator) agentState(a *agentSim, status atende.AgentStatus, reason string, at time.Time) {
	g.push(at, "agent.state_changed", agentJSON(a.id, status, reason, at))
}

// startDay puts the day's shifts on the agents and queues their state
// changes: available at the start, away for a 15-minute break mid-shift,
// offline at the end. Each agent has one day off a week, and a third of
// them the weekend too.
func (g *generator) startDay(day time.Time) {
	wd := int(day.Weekday())
	for ti, t := range g.teams {
		if !g.ownTeam[ti] {
			continue
		}
		for i, a := range t.agents {
			n := ti*1000 + i
			a.works = n%7 != wd && !(wd == 6 && n%3 == 0) && !(wd == 0 && n%3 == 1)
			if !a.works {
				continue
			}
			sh := shifts[a.shift]
			at := func(h float64) time.Time {
				return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, g.loc).Add(time.Duration(h * float64(time.Hour)))
			}
			s, e := at(sh.start), at(sh.end)
			b := at((sh.start+sh.end)/2 - 0.5 + float64(i%8)/8)
			a.win = [2][2]time.Time{{s, b}, {b.Add(15 * time.Minute), e}}
			g.agentState(a, atende.StatusAvailable, "", s)
			g.agentState(a, atende.StatusAway, "break", b)
			g.agentState(a, atende.StatusAvailable, "", b.Add(15*time.Minute))
			g.agentState(a, atende.StatusOffline, "", e)
		}
	}
}

// earliest is when agent a can start a task of length d at or after t, on
// which slot; ok false when not today.
func (a *agentSim) earliest(t time.Time, d time.Duration) (time.Time, int, bool) {
	if !a.works {
		return time.Time{}, 0, false
	}
	slot := 0
	for i := 1; i < len(a.free); i++ {
		if a.free[i].Before(a.free[slot]) {
			slot = i
		}
	}
	c := t
	if a.free[slot].After(c) {
		c = a.free[slot]
	}
	for _, w := range a.win {
		if c.Before(w[0]) {
			c = w[0]
		}
		if c.Before(w[1]) && c.Add(d).Before(w[1]) {
			return c, slot, true
		}
	}
	return time.Time{}, 0, false
}

func (g *generator) exp(mean time.Duration, floor time.Duration) time.Duration {
	return max(floor, time.Duration(g.rng.ExpFloat64()*float64(mean)))
}

// arrive simulates one task arriving at t in queue qi.
func (g *generator) arrive(t time.Time, qi int, n int64) error {
	if err := g.drain(t); err != nil {
		return err
	}
	qs := &g.queues[qi]
	p := qs.plan
	g.st.arrivals++
	id := "t" + strconv.FormatInt(n, 36)
	g.push(t, "task.created", g.taskJSON(id, qs, t, "", nil, nil, ""))

	talk := g.exp(p.talk, 10*time.Second)
	wrap := time.Duration(0)
	if p.wrap > 0 {
		wrap = p.wrap/2 + time.Duration(g.rng.Int64N(int64(p.wrap)))
	}
	patience := time.Duration(math.MaxInt64)
	if p.patience > 0 {
		patience = g.exp(p.patience, time.Second)
		if g.rng.IntN(40) == 0 {
			patience = time.Duration(g.rng.Int64N(int64(5 * time.Second))) // hangs up at once
		}
	}
	// Offer and accept take a few seconds even with an agent free.
	ready := t.Add(2*time.Second + time.Duration(g.rng.Int64N(int64(6*time.Second))))
	tm := g.teams[qs.team]
	var best *agentSim
	var bestAt time.Time
	bestSlot := 0
	for k := range tm.agents {
		a := tm.agents[(tm.next+k)%len(tm.agents)]
		c, slot, ok := a.earliest(ready, talk+wrap+time.Second)
		if !ok {
			continue
		}
		if best == nil || c.Before(bestAt) {
			best, bestAt, bestSlot = a, c, slot
			if !c.After(ready) {
				tm.next = (tm.next + k + 1) % len(tm.agents)
				break
			}
		}
	}
	if best == nil || bestAt.Sub(t) > patience {
		end := t.Add(min(patience, 24*time.Hour))
		g.st.abandoned++
		g.push(end, "task.ended", g.taskJSON(id, qs, t, "", nil, &end, "abandoned"))
		return nil
	}
	g.st.handled++
	acc := bestAt
	end := acc.Add(talk)
	best.free[bestSlot] = end.Add(wrap)
	g.push(acc, "task.accepted", g.taskJSON(id, qs, t, best.id, &acc, nil, ""))
	if p.slots == 1 {
		g.agentState(best, atende.StatusBusy, "", acc)
	}
	g.push(end, "task.ended", g.taskJSON(id, qs, t, best.id, &acc, &end, "handled"))
	if p.slots == 1 {
		g.agentState(best, atende.StatusWrapUp, "", end)
		g.agentState(best, atende.StatusAvailable, "", end.Add(wrap))
	}
	if g.rng.IntN(10) < 9 { // most tasks get a disposition
		d := g.dispositions[min(len(g.dispositions)-1, int(g.rng.ExpFloat64()*4))]
		at := end.Add(wrap / 2)
		b := []byte(`{"kind":"disposition","created_at":`)
		b = ts(b, at)
		b = append(b, `,"data":{"disposition_id":"`...)
		b = append(b, d...)
		b = append(b, `"}}`...)
		g.push(at, "conversation.event_appended", b)
	}
	if g.rng.IntN(8) == 0 { // one in eight answers the survey
		at := end.Add(time.Minute)
		kind, score := "csat", 1+min(4, int(g.rng.ExpFloat64()*1.2))
		score = 6 - score
		if g.rng.IntN(2) == 0 {
			kind, score = "nps", 10-min(10, int(g.rng.ExpFloat64()*2.5))
		}
		b := fmt.Appendf(nil, `{"agent_id":"%s","channel":"%s","kind":"%s","score":%d,"at":`, best.id, p.ch, kind, score)
		b = ts(b, at)
		b = append(b, '}')
		g.push(at, "survey.answered", b)
	}
	return nil
}

// weights sums the month's relative volume, to spread the interactions.
func (g *generator) weights() {
	for d := range g.days {
		day := g.start.AddDate(0, 0, d)
		for h := range 24 {
			g.total += dayFactor[day.Weekday()] * hourCurve[h]
		}
	}
}

// day simulates day d (from 0) of the month and returns the rows it
// changed. Every part draws the same arrivals and simulates its own queues'.
func (g *generator) day(ctx context.Context, d int) (map[report.Key]*report.Row, error) {
	day := g.start.AddDate(0, 0, d)
	g.startDay(day)
	for h := range 24 {
		// The hour's arrivals, spread at random in it; the count is
		// carried so that the month adds up to exactly g.interactions.
		g.owed += float64(g.interactions) * dayFactor[day.Weekday()] * hourCurve[h] / g.total
		n := int64(g.owed)
		if d == g.days-1 && h == 23 {
			n = g.interactions - g.streamN
		}
		g.owed -= float64(n)
		hour := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, g.loc)
		type arrival struct {
			off int64
			q   int
		}
		arr := make([]arrival, n)
		for i := range arr {
			r := g.arrivals.Float64() * g.qWeights[len(g.qWeights)-1]
			qi := 0
			for g.qWeights[qi] < r {
				qi++
			}
			arr[i] = arrival{g.arrivals.Int64N(int64(time.Hour / time.Millisecond)), qi}
		}
		slices.SortFunc(arr, func(a, b arrival) int { return cmp.Compare(a.off, b.off) })
		for i, a := range arr {
			if g.mine[a.q] {
				if err := g.arrive(hour.Add(time.Duration(a.off)*time.Millisecond), a.q, g.streamN+int64(i)); err != nil {
					return nil, err
				}
			}
		}
		g.streamN += n
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	next := day.AddDate(0, 0, 1)
	if d == g.days-1 {
		next = next.Add(48 * time.Hour) // every task and shift ends
	}
	if err := g.drain(next); err != nil {
		return nil, err
	}
	return g.fold.Take(), nil
}

// month runs the parts' days side by side, merges the rows each day changed
// (the fold's rows are deltas: adding two parts' deltas is what saving them
// one after the other would do) and hands them to save.
func month(ctx context.Context, parts []*generator, save func(map[report.Key]*report.Row) error, progress func(day int, st genStats, took time.Duration)) (genStats, error) {
	var st genStats
	for d := range parts[0].days {
		t0 := time.Now()
		rows := make([]map[report.Key]*report.Row, len(parts))
		errs := make([]error, len(parts))
		var wg sync.WaitGroup
		for i, g := range parts {
			wg.Go(func() { rows[i], errs[i] = g.day(ctx, d) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return st, err
		}
		out := rows[0]
		for _, more := range rows[1:] {
			for k, r := range more {
				if e := out[k]; e != nil {
					e.Add(r)
				} else {
					out[k] = r
				}
			}
		}
		st = genStats{rows: st.rows + int64(len(out))}
		for _, g := range parts {
			st.arrivals += g.st.arrivals
			st.handled += g.st.handled
			st.abandoned += g.st.abandoned
			st.events += g.st.events
		}
		if err := save(out); err != nil {
			return st, err
		}
		progress(d, st, time.Since(t0))
	}
	return st, nil
}
