// Command routinge2e measures atende's routing end to end: the time from a
// task created through the API to its offer arriving on the chosen agent's
// WebSocket.
//
// It targets a running server (-url with an admin -token), or, without -url,
// starts one itself (-bin) on a fresh SQLite data directory or on -db. It
// makes a team, a chat queue served only by that team (wrap-up -wrapup, 0 by
// default, so capacity recycles at once) and -agents agents in the team, each
// with chat capacity -capacity, its own API token and its own event
// WebSocket, and sets them available.
//
// Then it creates tasks open loop: one POST /api/v1/tasks every 1/-rate
// seconds on a fixed schedule, each from its own goroutine, never waiting for
// earlier answers. A send that starts more than -late after its slot is
// counted late. Each agent accepts every offer made to it as soon as it
// arrives and completes the task -handle later.
//
// The latency of a task is the arrival of its task.offered event on the
// offered agent's socket minus the moment just before its POST was sent
// (the offer may arrive before the POST's answer; both orders are matched by
// task id). It is also reported from the task's scheduled slot, which
// includes any delay of the sender itself. Tasks created during -warmup are
// not measured; after -d the tool waits up to -drain for the last offers.
// Percentiles are nearest-rank over every measured task; -samples writes
// every task's latency with its slot, to see a trend over a long run.
//
// Beside the latency it reports the CPU of the server, of itself, of
// PostgreSQL and of everything else on the machine during the window (the
// machine may be shared), and from the server's /metrics the events
// published, slow subscribers dropped, and the routing engine's saves and
// command times.
//
// The last line of output is machine-readable:
//
//	RESULT label=... rate=... agents=... capacity=... duration_s=... sent=... created=... offered=... achieved_rate=... p50_ms=... ...
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/atende/atende/bench/internal/server"
	"github.com/coder/websocket"
)

type options struct {
	url      string
	token    string
	pid      int
	bin      string
	data     string
	db       string
	rate     float64
	duration time.Duration
	warmup   time.Duration
	drain    time.Duration
	agents   int
	capacity int
	handle   time.Duration
	wrapUp   int
	late     time.Duration
	timeout  time.Duration
	label    string
	samples  string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base `URL` of a running server, e.g. http://127.0.0.1:8080 (default: start one with -bin)")
	flag.StringVar(&o.token, "token", "", "admin API token `secret` for -url (needs users, tokens, queues and tasks management)")
	flag.IntVar(&o.pid, "pid", 0, "`pid` of the -url server, to report its CPU use (optional)")
	flag.StringVar(&o.bin, "bin", "atende", "atende `binary` to start when -url is not given")
	flag.StringVar(&o.data, "data", "", "data `dir` for the server started without -url (default: a fresh temporary one, removed after)")
	flag.StringVar(&o.db, "db", "", "database `DSN` for the server started without -url (default: SQLite in -data)")
	flag.Float64Var(&o.rate, "rate", 500, "new tasks per second (open loop)")
	flag.DurationVar(&o.duration, "d", 20*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before measuring (not counted)")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "after the load, wait up to this long for outstanding offers")
	flag.IntVar(&o.agents, "agents", 100, "agents, each with its own token and WebSocket")
	flag.IntVar(&o.capacity, "capacity", 10, "chat capacity of each agent (1-50)")
	flag.DurationVar(&o.handle, "handle", 200*time.Millisecond, "handle time: from accepting an offer to completing it")
	flag.IntVar(&o.wrapUp, "wrapup", 0, "the queue's wrap-up `seconds` after a completed task")
	flag.DurationVar(&o.late, "late", 5*time.Millisecond, "a send starting more than this after its slot counts as late")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.StringVar(&o.label, "label", "", "label for the RESULT line (default: the store the server reports)")
	flag.StringVar(&o.samples, "samples", "", "write every measured task to this CSV `file`: slot_ms (from the window's start), e2e_ms, from_slot_ms")
	flag.Parse()
	if flag.NArg() > 0 || o.rate <= 0 || o.agents < 1 || o.capacity < 1 || o.capacity > 50 || o.duration <= 0 || o.warmup < 0 || o.handle < 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "routinge2e: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.url == "" {
		srv, err := server.Start(ctx, server.Config{Bin: o.bin, Data: o.data, DB: o.db, Name: "routinge2e", TokenTTL: 2 * time.Hour})
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.url, o.token, o.pid = srv.URL, srv.Token, srv.PID()
	}
	o.url = strings.TrimRight(o.url, "/")
	if o.token == "" {
		return errors.New("give -token with -url")
	}
	hc := newHTTPClient(o)
	admin := &client{base: o.url, token: o.token, http: hc}
	var ready struct {
		Store string `json:"store"`
	}
	if _, err := admin.do(ctx, "GET", "/readyz", nil, &ready); err != nil {
		return fmt.Errorf("server not ready: %w", err)
	}
	if o.label == "" {
		o.label = ready.Store
	}

	runID := server.RandomHex(4)
	queueID, agents, err := setUp(ctx, admin, hc, o, runID)
	if err != nil {
		return err
	}
	fmt.Printf("routinge2e: %s (%s), queue %s, %d agents x chat capacity %d, handle %v, wrap-up %d s; %.0f tasks/s for %v warm-up + %v measured\n",
		o.url, o.label, queueID, len(agents), o.capacity, o.handle, o.wrapUp, o.rate, o.warmup, o.duration)

	res := load(ctx, admin, o, queueID, agents)
	tearDown(agents)
	if o.samples != "" {
		if err := writeSamples(o.samples, res); err != nil {
			return err
		}
	}
	report(o, res)
	if res.measured == 0 {
		return errors.New("no task was measured")
	}
	return nil
}

// setUp makes the run's agents, a team of them and a queue served by that
// team only, then connects every agent's WebSocket and sets them available.
func setUp(ctx context.Context, admin *client, hc *http.Client, o options, runID string) (string, []*agent, error) {
	agents := make([]*agent, o.agents)
	if err := parallel(o.agents, func(i int) error {
		a, err := newAgent(ctx, admin, hc, o, runID, i)
		agents[i] = a
		return err
	}); err != nil {
		return "", nil, err
	}
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.id
	}
	var team struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/teams", map[string]any{"name": "routinge2e " + runID, "member_ids": ids}, &team); err != nil {
		return "", nil, fmt.Errorf("create team: %w", err)
	}
	var queue struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/queues", map[string]any{
		"name": "routinge2e " + runID, "channels": []string{"chat"}, "team_ids": []string{team.ID},
		"routing": map[string]any{"wrap_up_sec": o.wrapUp, "sticky_sec": 0},
	}, &queue); err != nil {
		return "", nil, fmt.Errorf("create queue: %w", err)
	}
	if err := parallel(o.agents, func(i int) error { return agents[i].connect(ctx, o, i) }); err != nil {
		tearDown(agents)
		return "", nil, err
	}
	return queue.ID, agents, nil
}

// parallel runs fn(0..n-1) on a few goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	for range min(8, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// agent is one simulated agent: a token, a WebSocket and its work.
type agent struct {
	id     string
	c      *client
	ws     *websocket.Conn
	cancel context.CancelFunc
	done   chan struct{} // the reader has ended
	work   sync.WaitGroup

	frames    atomic.Int64 // WebSocket messages received
	offers    atomic.Int64 // task.offered events for this agent
	wsErr     atomic.Value // string: why the reader ended early
	acceptErr atomic.Int64
	doneErr   atomic.Int64
	firstErr  atomic.Value
}

// newAgent creates an agent user and an API token for it.
func newAgent(ctx context.Context, admin *client, hc *http.Client, o options, runID string, i int) (*agent, error) {
	var u struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/users", map[string]any{
		"email": fmt.Sprintf("e2e-%s-%d@routinge2e.example", runID, i), "name": fmt.Sprintf("Agent %s %d", runID, i),
		"roles": []string{"agent"}, "capacity": map[string]int{"chat": o.capacity},
	}, &u); err != nil {
		return nil, fmt.Errorf("create agent %d: %w", i, err)
	}
	var tok struct {
		Secret string `json:"secret"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": "routinge2e " + runID, "user_id": u.ID}, &tok); err != nil {
		return nil, fmt.Errorf("token for agent %d: %w", i, err)
	}
	return &agent{id: u.ID, c: &client{base: admin.base, token: tok.Secret, http: hc}, done: make(chan struct{})}, nil
}

// connect opens the agent's event WebSocket and sets the agent available.
func (a *agent) connect(ctx context.Context, o options, i int) error {
	wsURL := "ws" + strings.TrimPrefix(a.c.base, "http") + "/api/v1/ws"
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	ws, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{
		HTTPClient: a.c.http, HTTPHeader: http.Header{"Authorization": {"Bearer " + a.c.token}},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("WebSocket of agent %d: %w", i, err)
	}
	ws.SetReadLimit(1 << 22)
	a.ws = ws
	if _, err := a.c.do(ctx, "PUT", "/api/v1/users/"+a.id+"/state", map[string]string{"status": "available"}, nil); err != nil {
		return fmt.Errorf("agent %d available: %w", i, err)
	}
	return nil
}

// offerMarker is in every task.offered event and rarely elsewhere: a cheap
// test before decoding, since every agent's socket carries every event of the
// tenant.
var offerMarker = []byte(`"task.offered"`)

// read receives the agent's events until ctx ends. Each offer to this agent
// is timed, then accepted and, after the handle time, completed.
func (a *agent) read(ctx context.Context, o options, tr *tracker) {
	defer close(a.done)
	var buf bytes.Buffer
	for {
		_, r, err := a.ws.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				a.wsErr.Store(err.Error())
			}
			return
		}
		a.frames.Add(1)
		msg := buf.Bytes()
		if !bytes.Contains(msg, offerMarker) {
			continue
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Task struct {
					ID      string `json:"id"`
					AgentID string `json:"agent_id"`
				} `json:"task"`
			} `json:"data"`
		}
		if json.Unmarshal(msg, &ev) != nil || ev.Type != "task.offered" || ev.Data.Task.AgentID != a.id {
			continue
		}
		a.offers.Add(1)
		tr.offered(ev.Data.Task.ID, at)
		a.work.Go(func() { a.answer(ctx, o, ev.Data.Task.ID) })
	}
}

// answer accepts an offer, keeps the task for the handle time and completes it.
// Both answers are sent even after the run's end (ctx done), so the agents
// are left free; only the handle time is cut short then.
func (a *agent) answer(ctx context.Context, o options, taskID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.timeout)
	_, err := a.c.do(actx, "POST", "/api/v1/tasks/"+taskID+"/accept", nil, nil)
	cancel()
	if err != nil {
		if a.acceptErr.Add(1) == 1 {
			a.firstErr.CompareAndSwap(nil, "accept: "+err.Error())
		}
		return
	}
	select {
	case <-time.After(o.handle):
	case <-ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.timeout)
	defer cancel()
	if _, err := a.c.do(cctx, "POST", "/api/v1/tasks/"+taskID+"/complete", nil, nil); err != nil {
		if a.doneErr.Add(1) == 1 {
			a.firstErr.CompareAndSwap(nil, "complete: "+err.Error())
		}
	}
}

// tearDown waits for the agents' tasks to be completed, sets them offline and
// closes their sockets.
func tearDown(agents []*agent) {
	var wg sync.WaitGroup
	for _, a := range agents {
		if a == nil || a.ws == nil {
			continue
		}
		wg.Go(func() {
			a.work.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a.c.do(ctx, "PUT", "/api/v1/users/"+a.id+"/state", map[string]string{"status": "offline"}, nil)
			if a.cancel != nil {
				a.cancel()
				<-a.done
			}
			a.ws.Close(websocket.StatusNormalClosure, "")
		})
	}
	wg.Wait()
}

// tracker matches each task's POST with its offer, in either order.
type tracker struct {
	mu    sync.Mutex
	tasks map[string]*taskTimes
	e2e   []time.Duration // send → offer, measured tasks
	sched []time.Duration // scheduled slot → offer, measured tasks
	slots []time.Time     // the scheduled slot of each
	open  int             // measured tasks created but not offered yet
}

type taskTimes struct {
	slot, sent, offer time.Time
	created, measured bool
}

func newTracker() *tracker { return &tracker{tasks: map[string]*taskTimes{}} }

// created records a task the server acknowledged.
func (t *tracker) created(id string, slot, sent time.Time, measured bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tt := t.tasks[id]
	if tt == nil {
		tt = &taskTimes{}
		t.tasks[id] = tt
	}
	tt.slot, tt.sent, tt.created, tt.measured = slot, sent, true, measured
	if tt.offer.IsZero() {
		if measured {
			t.open++
		}
		return
	}
	t.complete(id, tt)
}

// offered records the arrival of a task's (first) offer.
func (t *tracker) offered(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tt := t.tasks[id]
	if tt == nil {
		t.tasks[id] = &taskTimes{offer: at}
		return
	}
	if !tt.offer.IsZero() {
		return // offered again (after a timeout): the first offer counts
	}
	tt.offer = at
	if tt.created {
		if tt.measured {
			t.open--
		}
		t.complete(id, tt)
	}
}

func (t *tracker) complete(id string, tt *taskTimes) {
	if tt.measured {
		t.e2e = append(t.e2e, tt.offer.Sub(tt.sent))
		t.sched = append(t.sched, tt.offer.Sub(tt.slot))
		t.slots = append(t.slots, tt.slot)
	}
	// Keep a tombstone so a repeated offer is not taken for a new task.
	tt.created, tt.measured = false, false
	tt.slot, tt.sent = time.Time{}, time.Time{}
	tt.offer = time.Unix(1, 0)
}

func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open
}

// result is what one run measured.
type result struct {
	window                 time.Duration
	sent, measured, late   int64
	maxLag                 time.Duration
	created                int64 // 201s for measured slots
	postErrors             int64
	firstPostErr           string
	post, e2e, sched       []time.Duration
	slots                  []time.Time // scheduled slot of each e2e sample
	from                   time.Time   // start of the measured window
	unoffered              int
	frames, offers         int64
	acceptErr, completeErr int64
	firstAgentErr          string
	wsEnded                int
	firstWSErr             string
	serverCPU              float64 // seconds over the measured window; NaN when unknown
	clientCPU              float64
	busyPct                float64
	pgCPU                  float64            // CPU seconds of the postgres processes alive at both ends of the window
	otherCPU               float64            // CPU seconds of every other process; NaN when unknown
	metrics                map[string]float64 // server metrics: change over the window
}

func load(ctx context.Context, admin *client, o options, queueID string, agents []*agent) result {
	tr := newTracker()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, a := range agents {
		actx, acancel := context.WithCancel(rctx)
		a.cancel = acancel
		go a.read(actx, o, tr)
	}
	body, _ := json.Marshal(map[string]any{"queue_id": queueID, "channel": "chat"})
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now().Add(50 * time.Millisecond)
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)

	var (
		senders    sync.WaitGroup
		mu         sync.Mutex
		posts      []time.Duration
		created    atomic.Int64
		postErrs   atomic.Int64
		firstErr   atomic.Value
		r          result
		s0         snapshot
		frames0    int64
		measureSet bool
	)
	for i := 0; ; i++ {
		slot := start.Add(time.Duration(i) * interval)
		if !slot.Before(measureTo) || ctx.Err() != nil {
			break
		}
		if d := time.Until(slot); d > 0 {
			time.Sleep(d)
		}
		measured := !slot.Before(measureFrom)
		if measured && !measureSet {
			measureSet = true
			s0 = takeSnapshot(admin, o.pid)
			frames0 = totalFrames(agents)
		}
		if measured {
			r.measured++
			lag := time.Since(slot)
			if lag > o.late {
				r.late++
			}
			r.maxLag = max(r.maxLag, lag)
		}
		r.sent++
		senders.Go(func() {
			var out struct {
				ID string `json:"id"`
			}
			sent := time.Now()
			status, err := admin.doRaw(ctx, "POST", "/api/v1/tasks", body, &out)
			end := time.Now()
			if err == nil && (status != http.StatusCreated || out.ID == "") {
				err = fmt.Errorf("status %d, id %q", status, out.ID)
			}
			if err != nil {
				if measured && postErrs.Add(1) == 1 {
					firstErr.Store(err.Error())
				}
				return
			}
			tr.created(out.ID, slot, sent, measured)
			if measured {
				created.Add(1)
				mu.Lock()
				posts = append(posts, end.Sub(sent))
				mu.Unlock()
			}
		})
	}
	r.window = o.duration
	if ctx.Err() != nil {
		r.window = max(time.Since(measureFrom), 0)
	}
	s1 := takeSnapshot(admin, o.pid)
	frames1 := totalFrames(agents)
	senders.Wait()
	deadline := time.Now().Add(o.drain)
	for tr.pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	// Stop reading; the agents finish their tasks in tearDown.
	cancel()
	for _, a := range agents {
		<-a.done
	}

	r.created, r.postErrors = created.Load(), postErrs.Load()
	if s, ok := firstErr.Load().(string); ok {
		r.firstPostErr = s
	}
	r.post = posts
	tr.mu.Lock()
	r.e2e, r.sched, r.slots, r.unoffered = tr.e2e, tr.sched, tr.slots, tr.open
	r.from = measureFrom
	tr.mu.Unlock()
	r.frames = frames1 - frames0
	for _, a := range agents {
		r.offers += a.offers.Load()
		r.acceptErr += a.acceptErr.Load()
		r.completeErr += a.doneErr.Load()
		if s, ok := a.firstErr.Load().(string); ok && r.firstAgentErr == "" {
			r.firstAgentErr = s
		}
		if s, ok := a.wsErr.Load().(string); ok {
			r.wsEnded++
			if r.firstWSErr == "" {
				r.firstWSErr = s
			}
		}
	}
	secs := s1.at.Sub(s0.at).Seconds()
	r.serverCPU = s1.serverCPU - s0.serverCPU
	r.clientCPU = s1.clientCPU - s0.clientCPU
	for pid, p1 := range s1.procs {
		if p0, ok := s0.procs[pid]; ok && p0.name == p1.name && p1.name == "postgres" {
			r.pgCPU += p1.cpu - p0.cpu
		}
	}
	// The machine's total from the root cgroup is exact and counts processes
	// that came and went during the window; /proc/stat ticks are the fallback.
	r.busyPct, r.otherCPU = math.NaN(), math.NaN()
	if used := s1.machine - s0.machine; secs > 0 && !math.IsNaN(used) {
		r.busyPct = 100 * used / (secs * float64(runtime.NumCPU()))
		r.otherCPU = used - r.serverCPU - r.clientCPU - r.pgCPU
	} else if s1.busyTotal > s0.busyTotal {
		r.busyPct = 100 * float64(s1.busy-s0.busy) / float64(s1.busyTotal-s0.busyTotal)
	}
	r.metrics = map[string]float64{}
	for k, v := range s1.metrics {
		r.metrics[k] = v - s0.metrics[k]
	}
	return r
}

func totalFrames(agents []*agent) int64 {
	var n int64
	for _, a := range agents {
		n += a.frames.Load()
	}
	return n
}

// snapshot is the CPU and server counters at one moment.
type snapshot struct {
	at                   time.Time
	serverCPU, clientCPU float64
	busy, busyTotal      uint64
	machine              float64 // CPU seconds used by every process so far; NaN when unknown
	procs                map[int]procTime
	metrics              map[string]float64
}

type procTime struct {
	name string
	cpu  float64
}

func takeSnapshot(admin *client, pid int) snapshot {
	s := snapshot{at: time.Now(), serverCPU: math.NaN(), procs: map[int]procTime{}}
	if pid > 0 {
		_, s.serverCPU = procCPU(pid)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.clientCPU = tv(ru.Utime) + tv(ru.Stime)
	}
	s.busy, s.busyTotal = machineCPU()
	s.machine = machineUsage()
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if p, err := strconv.Atoi(e.Name()); err == nil {
				if name, cpu := procCPU(p); !math.IsNaN(cpu) {
					s.procs[p] = procTime{name, cpu}
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.metrics, _ = admin.metrics(ctx)
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procCPU is a process's command name and user+system CPU seconds, from /proc.
func procCPU(pid int) (string, float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", math.NaN()
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", math.NaN()
	}
	f := strings.Fields(s[j+1:])
	if len(f) < 13 {
		return "", math.NaN()
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return s[i+1 : j], (ut + st) / 100 // USER_HZ is 100 on Linux
}

// machineUsage is the CPU seconds used by all processes so far, from the
// root cgroup (v1 cpuacct or v2); NaN when neither is readable.
func machineUsage() float64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/cpuacct/cpuacct.usage"); err == nil {
		if ns, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64); err == nil {
			return ns / 1e9
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.stat"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "usage_usec "); ok {
				if us, err := strconv.ParseFloat(v, 64); err == nil {
					return us / 1e6
				}
			}
		}
	}
	return math.NaN()
}

// machineCPU is the machine's busy and total jiffies, from /proc/stat.
func machineCPU() (busy, total uint64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, 0
	}
	var idle uint64
	for i, v := range fields[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total - idle, total
}

func report(o options, r result) {
	secs := r.window.Seconds()
	rate := func(n int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	e2e, sched, post := server.Summarize(r.e2e), server.Summarize(r.sched), server.Summarize(r.post)
	fmt.Printf("  sent %d tasks in the measured %.2f s (%.0f/s scheduled), %d late by more than %v (max lag %.2f ms)\n",
		r.measured, secs, o.rate, r.late, o.late, server.Ms(r.maxLag))
	fmt.Printf("  created (201): %d = %.0f tasks/s; POST errors %d%s\n", r.created, rate(r.created), r.postErrors, server.FirstOf(r.firstPostErr))
	fmt.Printf("  offered on the agent's socket: %d = %.0f offers/s; not offered within %v after the end: %d\n",
		len(r.e2e), rate(int64(len(r.e2e))), o.drain, r.unoffered)
	fmt.Printf("  created → offer on the socket:  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f ms\n", e2e.P50, e2e.P95, e2e.P99, e2e.Max)
	fmt.Printf("  scheduled slot → offer:         p50 %.2f  p95 %.2f  p99 %.2f  max %.2f ms\n", sched.P50, sched.P95, sched.P99, sched.Max)
	fmt.Printf("  POST /tasks alone:              p50 %.2f  p95 %.2f  p99 %.2f  max %.2f ms\n", post.P50, post.P95, post.P99, post.Max)
	fmt.Printf("  WebSocket messages received: %d = %.0f/s over %d sockets; accept errors %d, complete errors %d%s; sockets ended early %d%s\n",
		r.frames, rate(r.frames), o.agents, r.acceptErr, r.completeErr, server.FirstOf(r.firstAgentErr), r.wsEnded, server.FirstOf(r.firstWSErr))
	metric := func(k string) float64 {
		if v, ok := r.metrics[k]; ok {
			return v
		}
		return math.NaN()
	}
	saves := metric(`atende_store_operation_duration_seconds_count{kind="routing.save"}`)
	saveMean := 1000 * metric(`atende_store_operation_duration_seconds_sum{kind="routing.save"}`) / saves
	published, dropped := metric("atende_bus_events_published_total"), metric("atende_bus_subscribers_dropped_total")
	fmt.Printf("  CPU: server %.2f s (%.0f%% of one CPU), this tool %.2f s, postgres %.2f s, other processes %.2f s; machine %.0f%% busy\n",
		r.serverCPU, 100*r.serverCPU/secs, r.clientCPU, r.pgCPU, r.otherCPU, r.busyPct)
	fmt.Printf("  server: %.0f events published (%.1f per task), %.0f slow WebSocket subscribers dropped; routing saves %.0f/s, mean %.2f ms\n",
		published, published/float64(max(r.created, 1)), dropped, saves/secs, saveMean)
	cmdP50, cmdP99 := histQuantile(r.metrics, "atende_routing_command_duration_seconds", .5), histQuantile(r.metrics, "atende_routing_command_duration_seconds", .99)
	saveP50, saveP99 := histQuantile(r.metrics, "atende_routing_save_duration_seconds", .5), histQuantile(r.metrics, "atende_routing_save_duration_seconds", .99)
	batchMean := metric("atende_routing_batch_commands_sum") / metric("atende_routing_batch_commands_count")
	fmt.Printf("  engine (histogram bucket bounds): command arrival → durable answer p50 ≤ %.1f ms, p99 ≤ %.1f ms; save p50 ≤ %.1f ms, p99 ≤ %.1f ms; %.1f commands per batch\n",
		1000*cmdP50, 1000*cmdP99, 1000*saveP50, 1000*saveP99, batchMean)
	met := "no"
	if e2e.N > 0 && e2e.P99 < 50 && r.unoffered == 0 && r.postErrors == 0 && rate(int64(len(r.e2e))) >= 0.95*o.rate {
		met = "yes"
	}
	fmt.Printf("RESULT label=%s rate=%.0f agents=%d capacity=%d handle_ms=%.0f duration_s=%.2f sent=%d late=%d max_lag_ms=%.2f created=%d achieved_rate=%.0f offered=%d unoffered=%d "+
		"p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f sched_p99_ms=%.2f post_p50_ms=%.2f post_p99_ms=%.2f post_max_ms=%.2f errors=%d ws_frames_per_s=%.0f "+
		"server_cpu_s=%.2f client_cpu_s=%.2f pg_cpu_s=%.2f other_cpu_s=%.2f machine_busy_pct=%.0f ws_dropped=%.0f saves_per_s=%.0f save_mean_ms=%.2f "+
		"engine_cmd_p99_le_ms=%.1f engine_save_p99_le_ms=%.1f batch_mean=%.1f target_met=%s\n",
		o.label, o.rate, o.agents, o.capacity, server.Ms(o.handle), secs, r.measured, r.late, server.Ms(r.maxLag), r.created, rate(r.created), len(r.e2e), r.unoffered,
		e2e.P50, e2e.P95, e2e.P99, e2e.Max, sched.P99, post.P50, post.P99, post.Max, r.postErrors+r.acceptErr+r.completeErr, rate(r.frames),
		r.serverCPU, r.clientCPU, r.pgCPU, r.otherCPU, r.busyPct, dropped, saves/secs, saveMean, 1000*cmdP99, 1000*saveP99, batchMean, met)
}

// histQuantile is the upper bound of the bucket holding the q-quantile of a
// Prometheus histogram's counts (already the change over the window); NaN
// when the server does not have it. +Inf when beyond the last bucket.
func histQuantile(m map[string]float64, name string, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
			if err == nil {
				bs = append(bs, bucket{le, v})
			}
		}
	}
	if len(bs) == 0 {
		return math.NaN()
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	total := bs[len(bs)-1].n
	for _, b := range bs {
		if total > 0 && b.n >= q*total {
			return b.le
		}
	}
	return math.Inf(1)
}

// writeSamples writes one line per measured task, in slot order.
func writeSamples(path string, r result) error {
	idx := make([]int, len(r.slots))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return r.slots[a].Compare(r.slots[b]) })
	var b strings.Builder
	b.WriteString("slot_ms,e2e_ms,from_slot_ms\n")
	for _, i := range idx {
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f\n", server.Ms(r.slots[i].Sub(r.from)), server.Ms(r.e2e[i]), server.Ms(r.sched[i]))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func newHTTPClient(o options) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     time.Minute,
	}
	return &http.Client{Transport: tr, Timeout: o.timeout}
}

// client calls the API with a bearer token.
type client struct {
	base  string
	token string
	http  *http.Client
}

// do sends a JSON request; a non-2xx answer is an error with its body.
func (c *client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var b []byte
	if in != nil {
		var err error
		if b, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	return c.doRaw(ctx, method, path, b, out)
}

func (c *client) doRaw(ctx context.Context, method, path string, in []byte, out any) (int, error) {
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// metrics reads the server's Prometheus samples, keyed by name and labels.
func (c *client) metrics(ctx context.Context) (map[string]float64, error) {
	return server.Metrics(ctx, c.http, c.base)
}
