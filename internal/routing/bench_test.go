package routing

// Routing-decision benchmarks for one large tenant: 2,000 agents, 200
// queues, 50 skills and W waiting tasks (1k, 10k, 100k, 1M).
//
//	go test ./internal/routing -run '^$' -bench RoutingDecision -cpu 1 -benchtime 100000x -timeout 60m
//
// What is measured. The center is built with every agent away, W tasks are
// preloaded (so they all wait), then every agent becomes available: each one
// is offered work up to its capacity and accepts it, and new tasks are added
// until exactly W wait again. In that busy steady state one iteration (one
// "cycle", the ns/op of the benchmark) is:
//
//  1. the virtual clock moves 1 ms and Advance fires the timers due;
//  2. a random assigned task is completed: its agent becomes free and the
//     core picks the best waiting task(s) for it and offers them
//     ("free" decision, timed on its own);
//  3. every offer is accepted at once (not a decision, timed apart);
//  4. new tasks arrive, one AddTask each, until W tasks wait again; each
//     arrival is admitted, queued and matched against the queue's ready
//     agents ("arrival" decision, timed on its own). Usually one arrival
//     per completion, so W stays constant.
//
// A decision is one Complete or one AddTask call; decisions/s divides their
// number by the whole wall time of the loop (accepts, Flush, Advance and the
// benchmark's own bookkeeping included), so it is a lower bound for the
// decision rate of the core alone. p50/p99/max are over every decision,
// each timed with time.Now around the single call. decisions/cpu-s divides
// by the CPU time the process used instead (GC included), which a shared
// machine disturbs less.
//
// The tenant: queues take 1-3 of the 50 skills (minimum 1-6), one of six
// channel mixes of voice, chat and email, one of the six strategies in
// turn, priority 0-5; one queue in four is for 1-2 of 20 teams. Agents
// hold the skills of two random queues plus random ones (3-8 skills), the
// teams of those queues, capacity voice 1, chat 2-3, email 3-5, default
// blending. Tasks: a random queue and one of its channels, priority 0 (80 %),
// 1-5 (15 %) or 10-50 (5 %); preloaded ones have waited up to 30 minutes.
// Not exercised: max wait, escalations, wrap-up (0 s), reservations,
// rejections and offer timeouts (offers are accepted at once).
//
// Profile the steady state only (the build is not labelled):
//
//	go test ./internal/routing -run '^$' -bench 'RoutingDecision/W=100k$' -cpu 1 -benchtime 100000x -cpuprofile cpu.prof
//	go tool pprof -top -cum -tagfocus phase=steady cpu.prof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
)

// benchSize describes the tenant.
type benchSize struct {
	agents, queues, skills, teams int
	waiting                       int
	seed                          uint64
}

// benchCenter is a built tenant in steady state.
type benchCenter struct {
	c        *Core
	rng      *rand.Rand
	now      time.Time
	step     time.Duration
	queues   []atende.Queue
	agentIDs []string
	assigned []string // tasks assigned to agents, to complete at random
	target   int      // waiting tasks to hold
	nextTask uint64

	bytesPerTask float64 // heap growth per preloaded waiting task
	offers       int     // offers made during measurement
}

// benchID makes a 36-character UUID-shaped id, like the real ones.
func benchID(kind, n uint64) string {
	return fmt.Sprintf("%08x-0000-7000-8000-%012x", kind, n)
}

// benchChannelSets are the channel mixes of the queues, in turn.
var benchChannelSets = [][]atende.Channel{
	{atende.ChannelVoice},
	{atende.ChannelChat},
	{atende.ChannelEmail},
	{atende.ChannelVoice, atende.ChannelChat},
	{atende.ChannelChat, atende.ChannelEmail},
	{atende.ChannelVoice, atende.ChannelChat, atende.ChannelEmail},
}

// newBenchCenter builds the tenant, preloads the waiting tasks and brings
// it to a busy steady state. It returns an error rather than failing so
// that both tests and benchmarks can use it.
func newBenchCenter(sz benchSize) (*benchCenter, error) {
	rng := rand.New(rand.NewPCG(sz.seed, sz.seed^0x9e3779b97f4a7c15))
	bc := &benchCenter{
		c:      NewCore(time.UTC, DefaultBlending()),
		rng:    rng,
		now:    time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		step:   time.Millisecond,
		target: sz.waiting,
	}
	skills := make([]string, sz.skills)
	for i := range skills {
		skills[i] = benchID(1, uint64(i))
	}
	teams := make([]string, sz.teams)
	for i := range teams {
		teams[i] = benchID(3, uint64(i))
	}

	// Queues: 1-3 required skills, a mix of channels and strategies; one
	// in four only for some teams.
	for i := range sz.queues {
		q := atende.Queue{
			ID: benchID(2, uint64(i)), Name: fmt.Sprintf("queue %d", i),
			Channels: benchChannelSets[i%len(benchChannelSets)], Routing: atende.DefaultQueueRouting(),
			Priority: rng.IntN(6),
		}
		for _, s := range rng.Perm(sz.skills)[:1+rng.IntN(3)] {
			q.Skills = append(q.Skills, atende.RequiredSkill{SkillID: skills[s], MinProficiency: 1 + rng.IntN(6)})
		}
		if i%4 == 0 {
			for _, t := range rng.Perm(sz.teams)[:1+rng.IntN(2)] {
				q.TeamIDs = append(q.TeamIDs, teams[t])
			}
		}
		r := &q.Routing
		r.Strategy = atende.Strategies[i%len(atende.Strategies)]
		r.OfferTimeoutSec = 10 + rng.IntN(51)
		r.AgingSec = 30 + rng.IntN(91)
		r.WrapUpSec = 0 // a completion frees the agent at once
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("queue %d: %w", i, err)
		}
		bc.queues = append(bc.queues, q)
		bc.c.SetQueue(q, bc.now)
	}

	// Agents: the skills of two "home" queues (at or above their minimums)
	// plus random ones, 3-8 in all; the teams of their home queues; voice
	// 1, chat 2-3, email 3-5. All away while the tasks are loaded.
	for i := range sz.agents {
		prof := map[string]int{}
		var tm []string
		for range 2 {
			q := bc.queues[rng.IntN(len(bc.queues))]
			for _, r := range q.Skills {
				prof[r.SkillID] = max(prof[r.SkillID], r.MinProficiency+rng.IntN(11-r.MinProficiency))
			}
			if len(q.TeamIDs) > 0 {
				tm = append(tm, q.TeamIDs[rng.IntN(len(q.TeamIDs))])
			}
		}
		for want := 3 + rng.IntN(6); len(prof) < want; {
			s := skills[rng.IntN(len(skills))]
			if _, ok := prof[s]; !ok {
				prof[s] = 1 + rng.IntN(10)
			}
		}
		if len(tm) == 0 {
			tm = append(tm, teams[rng.IntN(len(teams))])
		}
		slices.Sort(tm)
		tm = slices.Compact(tm)
		var sk []atende.AgentSkill
		for _, s := range skills { // in a fixed order
			if p, ok := prof[s]; ok {
				sk = append(sk, atende.AgentSkill{SkillID: s, Proficiency: p})
			}
		}
		id := benchID(5, uint64(i))
		bc.agentIDs = append(bc.agentIDs, id)
		bc.c.SetAgent(AgentSpec{
			ID: id, Presence: atende.StatusAway, Reason: "setup", Skills: sk, TeamIDs: tm,
			Capacity: atende.Capacity{atende.ChannelVoice: 1, atende.ChannelChat: 2 + rng.IntN(2), atende.ChannelEmail: 3 + rng.IntN(3)},
		}, bc.now)
	}
	bc.c.Flush()

	// Create every queue's group for each of its channels (a group stays
	// when it empties), so that the memory measured below is the tasks'.
	for _, q := range bc.queues {
		for _, ch := range q.Channels {
			bc.nextTask++
			id := benchID(6, bc.nextTask)
			if _, err := bc.c.AddTask(TaskSpec{ID: id, QueueID: q.ID, Channel: ch}, bc.now); err != nil {
				return nil, err
			}
			if _, err := bc.c.Cancel(id, false, bc.now); err != nil {
				return nil, err
			}
		}
	}
	bc.c.Flush()

	// Preload: every agent is away, so every task waits.
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i := range sz.waiting {
		if _, err := bc.c.AddTask(bc.spec(true), bc.now); err != nil {
			return nil, err
		}
		if i%1024 == 0 {
			bc.c.Flush()
		}
	}
	bc.c.Flush()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if sz.waiting > 0 {
		bc.bytesPerTask = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(sz.waiting)
	}

	// Everyone comes in: each agent is offered work up to its capacity and
	// accepts it; then tasks arrive until W wait again.
	for _, id := range bc.agentIDs {
		if err := bc.c.SetPresence(id, atende.StatusAvailable, "", bc.now); err != nil {
			return nil, err
		}
		if err := bc.acceptOffers(); err != nil {
			return nil, err
		}
	}
	for bc.waiting() < bc.target {
		if _, err := bc.c.AddTask(bc.spec(true), bc.now); err != nil {
			return nil, err
		}
		if err := bc.acceptOffers(); err != nil {
			return nil, err
		}
	}
	if len(bc.assigned) == 0 {
		return nil, fmt.Errorf("no task was assigned: the center is not busy")
	}
	bc.offers = 0
	return bc, nil
}

// spec makes a task for a random queue and one of its channels; most have
// priority 0, some 1-5, a few 10-50. Preloaded tasks have waited up to 30
// minutes already.
func (bc *benchCenter) spec(preload bool) TaskSpec {
	q := &bc.queues[bc.rng.IntN(len(bc.queues))]
	p := 0
	switch r := bc.rng.IntN(100); {
	case r < 5:
		p = 10 + bc.rng.IntN(41)
	case r < 20:
		p = 1 + bc.rng.IntN(5)
	}
	bc.nextTask++
	s := TaskSpec{ID: benchID(4, bc.nextTask), QueueID: q.ID, Channel: q.Channels[bc.rng.IntN(len(q.Channels))], Priority: p}
	if preload {
		s.EnqueuedAt = bc.now.Add(-time.Duration(bc.rng.Int64N(int64(30 * time.Minute))))
	}
	return s
}

// waiting counts the tasks that wait: every offer is accepted at once, so
// every live task is either waiting or assigned.
func (bc *benchCenter) waiting() int { return len(bc.c.tasks) - len(bc.assigned) }

// acceptOffers accepts every offer made since the last Flush.
func (bc *benchCenter) acceptOffers() error {
	for _, ch := range bc.c.Flush() {
		if ch.Event != "task.offered" {
			continue
		}
		bc.offers++
		if _, err := bc.c.Accept(ch.Task.ID, ch.Task.AgentID, bc.now); err != nil {
			return err
		}
		bc.assigned = append(bc.assigned, ch.Task.ID)
	}
	bc.c.Flush()
	return nil
}

// benchRecorder keeps the latency of every decision.
type benchRecorder struct {
	free, arrival, accept []time.Duration
}

// cycle runs one completion and the arrivals that keep W constant,
// recording each decision's latency when rec is not nil.
func (bc *benchCenter) cycle(rec *benchRecorder) error {
	bc.now = bc.now.Add(bc.step)
	bc.c.Advance(bc.now)
	if err := bc.acceptOffers(); err != nil {
		return err
	}
	if len(bc.assigned) > 0 {
		i := bc.rng.IntN(len(bc.assigned))
		id := bc.assigned[i]
		bc.assigned[i] = bc.assigned[len(bc.assigned)-1]
		bc.assigned = bc.assigned[:len(bc.assigned)-1]
		start := time.Now()
		_, err := bc.c.Complete(id, bc.now)
		d := time.Since(start)
		if err != nil {
			return err
		}
		if rec != nil {
			rec.free = append(rec.free, d)
		}
		n := len(bc.assigned)
		start = time.Now()
		if err := bc.acceptOffers(); err != nil {
			return err
		}
		if rec != nil && len(bc.assigned) > n {
			rec.accept = append(rec.accept, time.Since(start)/time.Duration(len(bc.assigned)-n))
		}
	}
	for bc.waiting() < bc.target {
		s := bc.spec(false)
		start := time.Now()
		_, err := bc.c.AddTask(s, bc.now)
		d := time.Since(start)
		if err != nil {
			return err
		}
		if rec != nil {
			rec.arrival = append(rec.arrival, d)
		}
		if err := bc.acceptOffers(); err != nil {
			return err
		}
	}
	return nil
}

// processCPU returns the CPU time (user and system) the process has used,
// from /proc/self/stat, or 0 where there is no /proc. On a shared machine
// it tells the work done from the time other processes took.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)        // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)        // stime, field 15
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// pct returns the nearest-rank percentile p (0-100) of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedCopy(ds ...[]time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, d...)
	}
	slices.Sort(out)
	return out
}

func benchLabel(w int) string {
	switch {
	case w >= 1_000_000 && w%1_000_000 == 0:
		return fmt.Sprintf("%dM", w/1_000_000)
	case w >= 1_000 && w%1_000 == 0:
		return fmt.Sprintf("%dk", w/1_000)
	}
	return fmt.Sprint(w)
}

// BenchmarkRoutingDecision measures routing decisions in a busy center of
// 2,000 agents, 200 queues and 50 skills, with W tasks waiting throughout.
// Run it with -cpu 1 for "one core". See the top of this file.
func BenchmarkRoutingDecision(b *testing.B) {
	for _, w := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run("W="+benchLabel(w), func(b *testing.B) {
			if testing.Short() && w > 100_000 {
				b.Skip("1M waiting tasks take a few GB and a minute to build")
			}
			bc, err := newBenchCenter(benchSize{agents: 2000, queues: 200, skills: 50, teams: 20, waiting: w, seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			for range 5000 { // warm up: let the agents' channel mix settle
				if err := bc.cycle(nil); err != nil {
					b.Fatal(err)
				}
			}
			bc.offers = 0
			rec := &benchRecorder{}
			runtime.GC()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU()
			b.ReportAllocs()
			pprof.Do(context.Background(), pprof.Labels("phase", "steady"), func(context.Context) {
				for b.Loop() {
					if err := bc.cycle(rec); err != nil {
						b.Fatal(err)
					}
				}
			})
			cpu := processCPU() - cpu0
			runtime.GC() // the timer is stopped: b.Loop returned false
			runtime.ReadMemStats(&ms1)
			if got := bc.waiting(); got != w {
				b.Fatalf("%d tasks wait at the end, want %d", got, w)
			}
			all := sortedCopy(rec.free, rec.arrival)
			free, arr, acc := sortedCopy(rec.free), sortedCopy(rec.arrival), sortedCopy(rec.accept)
			el := b.Elapsed()
			b.ReportMetric(float64(len(all))/el.Seconds(), "decisions/s")
			if cpu > 0 {
				// Per second of CPU the process used (GC included): what a
				// core gives when nothing else runs on it.
				b.ReportMetric(float64(len(all))/cpu.Seconds(), "decisions/cpu-s")
			}
			b.ReportMetric(float64(el.Nanoseconds())/float64(len(all)), "ns/decision")
			b.ReportMetric(float64(pct(all, 50)), "p50-ns")
			b.ReportMetric(float64(pct(all, 99)), "p99-ns")
			b.ReportMetric(float64(pct(all, 99.9)), "p99.9-ns")
			b.ReportMetric(float64(all[len(all)-1]), "max-ns")
			b.ReportMetric(float64(pct(free, 99)), "free-p99-ns")
			b.ReportMetric(float64(pct(arr, 99)), "arrival-p99-ns")
			b.ReportMetric(bc.bytesPerTask, "B/task")
			b.Logf("W=%d: %d decisions (%d free, %d arrivals, %.2f offers per completion) in %v (%v of CPU); "+
				"all p50 %v p99 %v p99.9 %v max %v; free p50 %v p99 %v max %v; arrival p50 %v p99 %v max %v; "+
				"accept p50 %v p99 %v; %d assigned; %.0f B per waiting task; %d timers; %d GCs during the loop; live heap %d MB",
				w, len(all), len(free), len(arr), float64(bc.offers)/float64(max(len(free), 1)), el, cpu,
				pct(all, 50), pct(all, 99), pct(all, 99.9), all[len(all)-1],
				pct(free, 50), pct(free, 99), free[len(free)-1], pct(arr, 50), pct(arr, 99), arr[len(arr)-1],
				pct(acc, 50), pct(acc, 99), len(bc.assigned), bc.bytesPerTask, len(bc.c.timers),
				ms1.NumGC-ms0.NumGC-1, ms1.HeapAlloc>>20)
		})
	}
}

// TestBenchCenterSteadyState checks the benchmark's scenario on a small
// tenant: W stays constant, the center stays busy and the core's
// invariants hold.
func TestBenchCenterSteadyState(t *testing.T) {
	bc, err := newBenchCenter(benchSize{agents: 40, queues: 12, skills: 10, teams: 4, waiting: 300, seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, bc.c)
	rec := &benchRecorder{}
	for range 500 {
		if err := bc.cycle(rec); err != nil {
			t.Fatal(err)
		}
		if got := bc.waiting(); got != 300 {
			t.Fatalf("%d tasks wait, want 300", got)
		}
	}
	checkInvariants(t, bc.c)
	if len(rec.free) != 500 || len(rec.arrival) == 0 || bc.offers == 0 {
		t.Fatalf("%d completions, %d arrivals, %d offers", len(rec.free), len(rec.arrival), bc.offers)
	}
	for _, tk := range bc.c.tasks {
		if tk.State == TaskOffered {
			t.Fatalf("task %s left offered", tk.ID)
		}
	}
}

// BenchmarkRoutingStats measures Core.Stats (the live queue picture the API
// serves) in the same busy center: it runs on the engine's goroutine, so
// while it runs no decision is made.
func BenchmarkRoutingStats(b *testing.B) {
	for _, w := range []int{10_000, 100_000, 1_000_000} {
		b.Run("W="+benchLabel(w), func(b *testing.B) {
			if testing.Short() && w > 100_000 {
				b.Skip("1M waiting tasks take a few GB and a minute to build")
			}
			bc, err := newBenchCenter(benchSize{agents: 2000, queues: 200, skills: 50, teams: 20, waiting: w, seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if got := len(bc.c.Stats(bc.now)); got != len(bc.queues) {
					b.Fatalf("%d queues in the stats, want %d", got, len(bc.queues))
				}
			}
		})
	}
}
