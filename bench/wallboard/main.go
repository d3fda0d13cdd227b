// Command wallboard measures the supervisors' live wallboard: the time from
// an agent's state change (PUT /api/v1/users/{id}/state, answered once
// durable) to the first wallboard frame on /api/v1/wallboard/ws that shows
// it, while -rate changes a second flow, and the server CPU it costs.
//
// It targets a running server (-url with an admin -token, -pid for its
// CPU), or, without -url, starts one itself (-bin) on a fresh SQLite data
// directory or on -db. It makes -teams teams, -queues chat queues each
// served by one team, and -agents agents spread over the teams (so each
// agent serves queues/teams queues).
//
// Two windows of -d each, after -warmup, with the same open-loop load (one
// change every 1/-rate s, each from its own goroutine; an agent goes
// available, then offline, in turn, so each agent changes once every
// agents/rate seconds): the first with no wallboard open (the baseline: the
// server's wallboard model runs anyway, for alerts), the second with -sockets
// wallboards open. The first socket times every change; the others only
// read. The difference of server CPU between the windows is the cost of the
// open wallboards.
//
// The last line of output is machine-readable:
//
//	RESULT agents=... queues=... rate=... sockets=... changes=... seen=... p50_ms=... p99_ms=... max_ms=... within_1s_pct=... ...
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
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
	url, token, bin, db string
	pid                 int
	agents, queues      int
	teams               int
	rate                float64
	duration, warmup    time.Duration
	sockets             int
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "server to target (empty: start one with -bin)")
	flag.StringVar(&o.token, "token", "", "admin API token of -url")
	flag.IntVar(&o.pid, "pid", 0, "process id of -url's server, for its CPU")
	flag.StringVar(&o.bin, "bin", "./atende", "atende binary to start when -url is empty")
	flag.StringVar(&o.db, "db", "", "database DSN for the started server (empty: SQLite)")
	flag.IntVar(&o.agents, "agents", 1000, "agents")
	flag.IntVar(&o.queues, "queues", 100, "queues")
	flag.IntVar(&o.teams, "teams", 10, "teams; each queue is served by one")
	flag.Float64Var(&o.rate, "rate", 200, "state changes per second")
	flag.DurationVar(&o.duration, "d", 30*time.Second, "measured time per window")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before each window")
	flag.IntVar(&o.sockets, "sockets", 1, "wallboards open in the second window")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "wallboard:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", "*")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func run(ctx context.Context, o options) error {
	if o.url == "" {
		srv, err := server.Start(ctx, server.Config{Bin: o.bin, DB: o.db, Name: "wallboard"})
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.url, o.token, o.pid = srv.URL, srv.Token, srv.PID()
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}
	c := &client{base: o.url, token: o.token, http: hc}
	agents, err := setUp(ctx, c, o)
	if err != nil {
		return err
	}
	fmt.Printf("set up %d agents in %d teams, %d queues\n", len(agents), o.teams, o.queues)

	ld := &load{c: c, agents: agents, o: o}
	base := ld.window(ctx, nil)
	fmt.Printf("baseline (no wallboard open): %d changes, %d errors, server CPU %.1f %%\n", base.changes, base.errors, base.cpuPct)

	tr := &tracker{pending: map[string]pending{}}
	var readers sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range o.sockets {
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(o.url, "http")+"/api/v1/wallboard/ws",
			&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + o.token}}})
		if err != nil {
			return fmt.Errorf("wallboard socket %d: %w", i, err)
		}
		ws.SetReadLimit(64 << 20)
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer ws.CloseNow()
			tr.read(wctx, ws, i == 0)
		}()
	}
	with := ld.window(ctx, tr)
	cancel()
	readers.Wait()

	lat := tr.latencies()
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return math.NaN()
		}
		return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)]
	}
	within := 0
	for _, l := range lat {
		if l <= 1000 {
			within++
		}
	}
	withinPct := math.NaN()
	if len(lat) > 0 {
		withinPct = 100 * float64(within) / float64(len(lat))
	}
	frames, bytesIn := tr.frames.Load(), tr.bytes.Load()
	tr.mu.Lock()
	secs := tr.last.Sub(tr.first).Seconds() // frames-1 intervals between the first and the last
	tr.mu.Unlock()
	rate := float64(frames-1) / secs
	fmt.Printf("with %d wallboard(s): %d changes, %d errors, %d seen on the wallboard; server CPU %.1f %% (+%.1f points)\n",
		o.sockets, with.changes, with.errors, len(lat), with.cpuPct, with.cpuPct-base.cpuPct)
	fmt.Printf("change -> frame: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms; %.2f %% within 1 s\n", pct(0.5), pct(0.95), pct(0.99), pct(1), withinPct)
	fmt.Printf("frames: %.2f/s on the timed socket, %.0f KB each on average\n", rate, float64(bytesIn)/math.Max(float64(frames), 1)/1024)
	fmt.Printf("RESULT agents=%d queues=%d rate=%g sockets=%d changes=%d errors=%d seen=%d p50_ms=%.0f p95_ms=%.0f p99_ms=%.0f max_ms=%.0f within_1s_pct=%.2f frames_per_s=%.2f frame_kb=%.0f cpu_base_pct=%.1f cpu_with_pct=%.1f\n",
		o.agents, o.queues, o.rate, o.sockets, with.changes, with.errors, len(lat), pct(0.5), pct(0.95), pct(0.99), pct(1), withinPct,
		rate, float64(bytesIn)/math.Max(float64(frames), 1)/1024, base.cpuPct, with.cpuPct)
	return nil
}

// setUp makes the teams, queues and agents.
func setUp(ctx context.Context, c *client, o options) ([]string, error) {
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	agents := make([]string, o.agents)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				var u struct{ ID string }
				if err := c.do(ctx, "POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("wb-%s-%d@wallboard.example", run, i),
					"name": fmt.Sprintf("Agent %04d", i), "roles": []string{"agent"}, "capacity": map[string]int{"chat": 3}}, &u); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				agents[i] = u.ID
			}
		}()
	}
	for i := range o.agents {
		work <- i
	}
	close(work)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	teams := make([]string, o.teams)
	for t := range o.teams {
		var members []string
		for i := t; i < o.agents; i += o.teams {
			members = append(members, agents[i])
		}
		var team struct{ ID string }
		if err := c.do(ctx, "POST", "/api/v1/teams", map[string]any{"name": fmt.Sprintf("Team %s %d", run, t), "member_ids": members}, &team); err != nil {
			return nil, err
		}
		teams[t] = team.ID
	}
	for q := range o.queues {
		if err := c.do(ctx, "POST", "/api/v1/queues", map[string]any{"name": fmt.Sprintf("Queue %s %03d", run, q), "channels": []string{"chat"},
			"team_ids": []string{teams[q%o.teams]}}, nil); err != nil {
			return nil, err
		}
	}
	return agents, nil
}

// load sends state changes open loop.
type load struct {
	c      *client
	agents []string
	o      options
	next   int
}

type windowResult struct {
	changes, errors int64
	cpuPct          float64
}

// window runs -warmup then -d of load; changes in the measured part are
// timed by tr when it is not nil.
func (l *load) window(ctx context.Context, tr *tracker) windowResult {
	var res windowResult
	var errs, changes atomic.Int64
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) / l.o.rate)
	start := time.Now()
	measureFrom := start.Add(l.o.warmup)
	end := measureFrom.Add(l.o.duration)
	var cpu0 float64
	cpuTaken := false
	for slot := start; slot.Before(end) && ctx.Err() == nil; slot = slot.Add(every) {
		time.Sleep(time.Until(slot))
		if !cpuTaken && !slot.Before(measureFrom) {
			cpu0, cpuTaken = procCPU(l.o.pid), true
		}
		k := l.next
		l.next++
		id := l.agents[k%len(l.agents)]
		status := "available"
		if (k/len(l.agents))%2 == 1 {
			status = "offline"
		}
		measured := !slot.Before(measureFrom)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			if tr != nil && measured {
				tr.expect(id, status, sent)
			}
			if err := l.c.do(ctx, "PUT", "/api/v1/users/"+id+"/state", map[string]string{"status": status}, nil); err != nil {
				errs.Add(1)
				if tr != nil {
					tr.forget(id)
				}
				return
			}
			if measured {
				changes.Add(1)
			}
		}()
	}
	res.cpuPct = 100 * (procCPU(l.o.pid) - cpu0) / time.Since(measureFrom).Seconds()
	wg.Wait()
	time.Sleep(2 * time.Second) // the last frames
	res.changes, res.errors = changes.Load(), errs.Load()
	return res
}

// tracker matches changes to the first frame showing them.
type tracker struct {
	mu      sync.Mutex
	pending map[string]pending
	lat     []float64
	frames  atomic.Int64
	bytes   atomic.Int64
	// first and last frame received, for the frame rate
	first, last time.Time
}

type pending struct {
	status string
	sent   time.Time
}

func (t *tracker) expect(id, status string, at time.Time) {
	t.mu.Lock()
	t.pending[id] = pending{status, at}
	t.mu.Unlock()
}

func (t *tracker) forget(id string) {
	t.mu.Lock()
	delete(t.pending, id)
	t.mu.Unlock()
}

type frame struct {
	Type   string `json:"type"`
	Agents []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"agents"`
}

// read receives frames; the timing socket matches them to the changes.
func (t *tracker) read(ctx context.Context, ws *websocket.Conn, timing bool) {
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if !timing {
			continue
		}
		at := time.Now()
		var f frame
		if json.Unmarshal(b, &f) != nil || f.Type != "snapshot" {
			continue
		}
		t.frames.Add(1)
		t.bytes.Add(int64(len(b)))
		t.mu.Lock()
		if t.first.IsZero() {
			t.first = at
		}
		t.last = at
		for _, a := range f.Agents {
			if p, ok := t.pending[a.ID]; ok && p.status == a.Status {
				t.lat = append(t.lat, float64(at.Sub(p.sent))/float64(time.Millisecond))
				delete(t.pending, a.ID)
			}
		}
		t.mu.Unlock()
	}
}

func (t *tracker) latencies() []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.lat)
	slices.Sort(out)
	return out
}

// procCPU is a process's user+system CPU seconds, from /proc; NaN when
// unknown.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return math.NaN()
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return math.NaN()
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	if j < 0 {
		return math.NaN()
	}
	f := strings.Fields(s[j+1:])
	if len(f) < 13 {
		return math.NaN()
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}
