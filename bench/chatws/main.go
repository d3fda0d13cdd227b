// Command chatws measures atende's web chat at scale: many idle visitor
// WebSockets held open at once, and the delivery of agents' messages to them.
//
// It starts `atende serve` as its own process (-bin) on a fresh SQLite data
// directory or on -db, so the server's memory and CPU can be read from /proc
// apart from this tool's. Through the API it makes a chat queue, a team of
// agents serving it (enough of them, at chat capacity -capacity, to take every
// chat) and a widget whose allowed_origins hold -origin. Each agent has its
// own API token and event WebSocket and accepts every chat offered to it.
// With -tenants T the visitors are spread over T tenants (made with the admin
// CLI), each with its own widget, queue and agents.
//
// Then it plays -n visitors. Each one has its own loopback source address in
// 127.0.0.0/8 (the server limits the public chat endpoints per client
// address and trusts no proxy header, so this is what visitors behind
// different addresses look like), starts a session with the widget's Origin,
// and, once every chat has been accepted, opens the visitor WebSocket. With
// all sockets open and idle for -idle, the server's RSS is compared with the
// RSS before the sockets were opened: the difference per socket is the memory
// of an idle connection.
//
// The load goes agent → visitor: for -d (after -warmup, not measured) it
// sends -rate messages a second, open loop on a fixed schedule, each from its
// own goroutine, spread round robin over the visitors in a shuffled order.
// Each is POST /api/v1/conversations/{id}/messages (direction out) with the
// token of the agent who holds the chat. The latency of a message is from
// just before its POST is sent to the arrival of its message frame on that
// visitor's socket. After -d the tool waits up to -drain for late frames; a
// message acknowledged but never delivered is lost, one delivered twice is
// duplicated. Percentiles are nearest-rank over every measured message.
//
// The agents' event WebSockets are scoped as the desktop's (?scope=own; each
// agent watches every chat it accepts, as the desktop watches its tabs), so
// each carries the conversation events of that agent's chats only;
// -agent-scope all streams the whole tenant to each, as before the scope
// existed. With -agent-streams=false the agents' event WebSockets are closed
// once every chat is accepted (the agents keep posting with their tokens), so
// the server streams to the visitors alone. With -pprof DIR the server is started with a
// loopback debug-addr, and a heap and a goroutine profile (sockets idle) and a
// CPU profile (the first -perf-for of the measured window) are saved in DIR.
//
// Everything runs on 127.0.0.0/8, and the tool stops by itself: setup is
// bounded by -setup-timeout, the load by -d, -warmup and -drain. At the end it
// closes every socket and stops the server.
//
// The last line of output is machine-readable:
//
//	RESULT label=... visitors=... rate=... duration_s=... sent=... created=... received=... lost=... duplicated=... p50_ms=... ...
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	bin          string
	data         string
	db           string
	visitors     int
	rate         float64
	duration     time.Duration
	warmup       time.Duration
	drain        time.Duration
	idle         time.Duration
	capacity     int
	body         int
	origin       string
	conc         int
	timeout      time.Duration
	setupTimeout time.Duration
	label        string
	perf         string
	perfFor      time.Duration
	pprofDir     string
	quietPct     float64
	quietWait    time.Duration
	tenants      int
	agentStreams bool
	agentScope   string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "atende", "atende `binary` to start")
	flag.StringVar(&o.data, "data", "", "data `dir` for the server (default: a fresh temporary one, removed after)")
	flag.StringVar(&o.db, "db", "", "PostgreSQL `DSN` for the server (default: SQLite in -data); use a fresh database")
	flag.IntVar(&o.visitors, "n", 10000, "visitors, each with its own source address, session and WebSocket")
	flag.Float64Var(&o.rate, "rate", 1000, "agent messages per second, spread over the visitors (open loop)")
	flag.DurationVar(&o.duration, "d", 60*time.Second, "measured duration of the load")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before measuring (not counted)")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "after the load, wait up to this long for outstanding messages")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "how long the open sockets stay idle before the memory is read")
	flag.IntVar(&o.capacity, "capacity", 50, "chat capacity of each agent (1-50); agents are added until they can take every chat")
	flag.IntVar(&o.body, "body", 100, "message body size in `bytes`")
	flag.StringVar(&o.origin, "origin", "https://shop.chatws.example", "the site the visitors' browsers are on (the widget allows it)")
	flag.IntVar(&o.conc, "c", 32, "concurrent requests while setting up")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.DurationVar(&o.setupTimeout, "setup-timeout", 15*time.Minute, "give up when the setup (agents, sessions, sockets) takes longer")
	flag.StringVar(&o.label, "label", "", "label for the RESULT line (default: the store the server reports)")
	flag.StringVar(&o.perf, "perf", "", "record the server with `perf record -g` into this `file` during the measured window")
	flag.DurationVar(&o.perfFor, "perf-for", 15*time.Second, "how long -perf and -pprof record, from the start of the measured window")
	flag.StringVar(&o.pprofDir, "pprof", "", "start the server with a loopback debug-addr and save Go profiles into this `dir`: heap with the sockets idle, CPU for -perf-for of the measured window")
	flag.Float64Var(&o.quietPct, "quiet-pct", 0, "before the load, wait (up to -quiet-wait) until the machine is at most this % busy over 2 s (0: do not wait)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 5*time.Minute, "the longest wait for -quiet-pct")
	flag.IntVar(&o.tenants, "tenants", 1, "spread the visitors over this many tenants (made with the admin CLI), each with its own widget, queue and agents")
	flag.BoolVar(&o.agentStreams, "agent-streams", true, "keep the agents' event WebSockets open after every chat is accepted (false: close them, so the server streams to the visitors only)")
	flag.StringVar(&o.agentScope, "agent-scope", "own", "the agents' event WebSockets: own (as the desktop: ?scope=own, and a watch for every accepted chat) or all (the whole tenant)")
	flag.Parse()
	if flag.NArg() > 0 || o.visitors < 1 || o.rate <= 0 || o.duration <= 0 || o.warmup < 0 || o.capacity < 1 || o.capacity > 50 || o.conc < 1 || o.body < 24 || o.tenants < 1 || o.tenants > o.visitors || (o.agentScope != "own" && o.agentScope != "all") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "chatws: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	var serveArgs []string
	debugURL := ""
	if o.pprofDir != "" {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
		serveArgs, debugURL = []string{"--debug-addr", addr}, "http://"+addr+"/debug/pprof/"
	}
	srv, err := server.Start(ctx, server.Config{Bin: o.bin, Data: o.data, DB: o.db, Name: "chatws", TokenTTL: 2 * time.Hour, Args: serveArgs})
	if err != nil {
		return err
	}
	defer srv.Stop()
	pid := srv.PID()
	hc := newHTTPClient(o)
	admin := &client{base: srv.URL, token: srv.Token, http: hc}
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

	sctx, cancelSetup := context.WithTimeout(ctx, o.setupTimeout)
	defer cancelSetup()
	// Agents read their sockets until the end of the run.
	actx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()

	t0 := time.Now()
	base := takeSnapshot(admin, pid)
	fmt.Printf("chatws: %s (%s); %d visitors in %d tenant(s), agents at chat capacity %d; then %.0f messages/s agent → visitor for %v warm-up + %v measured\n",
		srv.URL, o.label, o.visitors, o.tenants, o.capacity, o.rate, o.warmup, o.duration)
	cs := newChats(o.visitors)
	// Visitor i belongs to tenant i % tenants.
	widgetIDs := make([]string, o.tenants)
	var agents []*agent
	defer func() { tearDownAgents(agents) }()
	for t := range o.tenants {
		ta := admin
		if t > 0 {
			if ta, err = newTenant(sctx, srv, hc, runID, t); err != nil {
				return err
			}
		}
		share := (o.visitors - t + o.tenants - 1) / o.tenants
		wid, as, err := setUp(sctx, actx, ta, hc, o, runID, (share+o.capacity-1)/o.capacity, cs)
		agents = append(agents, as...)
		if err != nil {
			return err
		}
		widgetIDs[t] = wid
	}
	fmt.Printf("  set up %d widget(s) and %d agents in %.1f s\n", o.tenants, len(agents), time.Since(t0).Seconds())

	t1 := time.Now()
	visitors, err := startSessions(sctx, o, srv.URL, widgetIDs)
	if err != nil {
		return err
	}
	fmt.Printf("  %d sessions started in %.1f s (%.0f/s)\n", len(visitors), time.Since(t1).Seconds(), float64(len(visitors))/time.Since(t1).Seconds())
	t2 := time.Now()
	if err := cs.waitAll(sctx, visitors); err != nil {
		return err
	}
	fmt.Printf("  every chat accepted %.1f s after the last session\n", time.Since(t2).Seconds())
	if !o.agentStreams {
		// The agents keep their tokens and post with them; only their
		// desktops' event streams go.
		closeAgentStreams(agents)
		fmt.Printf("  closed the agents' event WebSockets (-agent-streams=false)\n")
	}

	// Let the work of the setup settle before reading the memory without the
	// sockets.
	settle(ctx, 5*time.Second)
	before := takeSnapshot(admin, pid)
	fmt.Printf("  server before the visitor sockets: RSS %.1f MB (peak %.1f MB), %s goroutines, %s open fds, heap in use %.1f MB\n",
		mb(before.rss), mb(before.hwm), metricStr(before.metrics, "go_goroutines"), metricStr(before.metrics, "process_open_fds"),
		mb(before.metrics["go_memstats_heap_inuse_bytes"]))

	vctx, stopVisitors := context.WithCancel(ctx)
	defer stopVisitors()
	tr := newTracker()
	t3 := time.Now()
	if err := connect(sctx, vctx, o, srv.URL, visitors, tr); err != nil {
		closeVisitors(visitors)
		return err
	}
	defer closeVisitors(visitors)
	fmt.Printf("  %d visitor sockets open in %.1f s\n", len(visitors), time.Since(t3).Seconds())
	connected := takeSnapshot(admin, pid)
	settle(ctx, o.idle)
	idle := takeSnapshot(admin, pid)
	if err := ctx.Err(); err != nil {
		return err
	}
	if debugURL != "" {
		fmt.Printf("  %s\n", saveProfile(ctx, debugURL+"heap?gc=1", filepath.Join(o.pprofDir, "heap-idle.pb.gz")))
		fmt.Printf("  %s\n", saveProfile(ctx, debugURL+"goroutine", filepath.Join(o.pprofDir, "goroutine-idle.pb.gz")))
	}
	open := openSockets(visitors)
	perConn := (idle.rss - before.rss) / float64(len(visitors))
	fmt.Printf("  server with %d idle sockets (%d still open on this side): RSS %.1f MB (peak %.1f MB) = %.1f KB per socket; %s goroutines, %s open fds, heap in use %.1f MB (%.1f KB per socket); %s WebSocket clients\n",
		len(visitors), open, mb(idle.rss), mb(idle.hwm), perConn/1024, metricStr(idle.metrics, "go_goroutines"), metricStr(idle.metrics, "process_open_fds"),
		mb(idle.metrics["go_memstats_heap_inuse_bytes"]), (idle.metrics["go_memstats_heap_inuse_bytes"]-before.metrics["go_memstats_heap_inuse_bytes"])/1024/float64(len(visitors)),
		metricStr(idle.metrics, "atende_websocket_clients"))
	idleCPU := idle.serverCPU - connected.serverCPU
	if o.quietPct > 0 {
		pct, waited := waitQuiet(ctx, o.quietPct, o.quietWait)
		fmt.Printf("  machine %.0f%% busy before the load (waited %.0f s for at most %.0f%%)\n", pct, waited.Seconds(), o.quietPct)
	}

	framesBefore := agentFrames(agents)
	res := load(ctx, o, cs, visitors, tr, runID, admin, pid, debugURL)
	after := takeSnapshot(admin, pid)
	framesDuring := agentFrames(agents) - framesBefore
	stopVisitors()
	stopAgents()
	in := reportInput{base: base, before: before, idle: idle, after: after, visitors: len(visitors), agents: len(agents),
		open: open, idleCPU: idleCPU, idleFor: idle.at.Sub(connected.at), res: res, agentFrames: framesDuring}
	in.frames, in.messages, in.ended, in.firstWSErr = framesOf(visitors)
	report(o, in)
	if res.measured == 0 {
		return errors.New("no message was measured")
	}
	return nil
}

// waitQuiet waits until the machine is at most pct % busy over 2 s, or for
// at most limit; it returns the last figure and the time waited.
func waitQuiet(ctx context.Context, pct float64, limit time.Duration) (float64, time.Duration) {
	start := time.Now()
	for {
		b0, t0 := machineCPU()
		settle(ctx, 2*time.Second)
		b1, t1 := machineCPU()
		busy := 100.0
		if t1 > t0 {
			busy = 100 * float64(b1-b0) / float64(t1-t0)
		}
		if busy <= pct || time.Since(start) >= limit || ctx.Err() != nil {
			return busy, time.Since(start)
		}
	}
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// newTenant makes tenant t of the run with the admin CLI, an admin user in it
// and an API token for that admin.
func newTenant(ctx context.Context, srv *server.Server, hc *http.Client, runID string, t int) (*client, error) {
	slug := fmt.Sprintf("chatws-%s-%d", runID, t)
	email := "admin@" + slug + ".example"
	if _, err := srv.Admin(ctx, "create-tenant", "--name", "chatws "+slug, "--slug", slug); err != nil {
		return nil, err
	}
	if _, err := srv.Admin(ctx, "create-user", "--tenant", slug, "--email", email, "--name", "Admin "+slug, "--roles", "admin"); err != nil {
		return nil, err
	}
	out, err := srv.Admin(ctx, "create-token", "--tenant", slug, "--email", email, "--name", "chatws", "--expires", "2h")
	if err != nil {
		return nil, err
	}
	return &client{base: srv.URL, token: server.LastLine(out), http: hc}, nil
}

// setUp makes the agents, a team of them, a chat queue served by that team
// and a widget on it, then connects every agent's WebSocket and sets them
// available. Each agent accepts every chat offered to it from then on.
func setUp(ctx, agentCtx context.Context, admin *client, hc *http.Client, o options, runID string, n int, cs *chats) (string, []*agent, error) {
	agents := make([]*agent, n)
	if err := parallel(min(o.conc, 8), n, func(i int) error {
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
	if _, err := admin.do(ctx, "POST", "/api/v1/teams", map[string]any{"name": "chatws " + runID, "member_ids": ids}, &team); err != nil {
		return "", nil, fmt.Errorf("create team: %w", err)
	}
	var queue struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/queues", map[string]any{
		"name": "chatws " + runID, "channels": []string{"chat"}, "team_ids": []string{team.ID},
		"routing": map[string]any{"wrap_up_sec": 0, "sticky_sec": 0},
	}, &queue); err != nil {
		return "", nil, fmt.Errorf("create queue: %w", err)
	}
	var wd struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/chat-widgets", map[string]any{
		"name": "chatws " + runID, "queue_id": queue.ID, "allowed_origins": []string{o.origin}, "active": true, "language": "en",
		"pre_chat": map[string]any{"ask_name": true, "ask_email": false, "consent_required": false},
	}, &wd); err != nil {
		return "", nil, fmt.Errorf("create widget: %w", err)
	}
	// The agents' sockets have their own transport, so that they do not
	// count against the connection limit of the API calls.
	wsHC := &http.Client{Transport: &http.Transport{Proxy: nil}}
	if err := parallel(min(o.conc, 8), n, func(i int) error { return agents[i].connect(ctx, agentCtx, wsHC, o, i, cs) }); err != nil {
		tearDownAgents(agents)
		return "", nil, err
	}
	return wd.ID, agents, nil
}

// parallel runs fn(0..n-1) on c goroutines and returns the first error.
func parallel(c, n int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		failed   atomic.Bool
		firstErr error
		errOnce  sync.Once
	)
	for range min(c, n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// chats records which agent holds each visitor's conversation.
type chats struct {
	mu     sync.Mutex
	holder map[string]*agent // conversation id -> the agent who accepted it
	cond   chan struct{}     // closed and replaced on every accept
}

func newChats(n int) *chats {
	return &chats{holder: make(map[string]*agent, n), cond: make(chan struct{})}
}

func (c *chats) accepted(conv string, a *agent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holder[conv] = a
	close(c.cond)
	c.cond = make(chan struct{})
}

func (c *chats) agentOf(conv string) *agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holder[conv]
}

// waitAll waits until every visitor's chat has been accepted.
func (c *chats) waitAll(ctx context.Context, vs []*visitor) error {
	for {
		c.mu.Lock()
		missing := 0
		for _, v := range vs {
			if c.holder[v.conv] == nil {
				missing++
			}
		}
		wake := c.cond
		c.mu.Unlock()
		if missing == 0 {
			return nil
		}
		select {
		case <-wake:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("%d of %d chats not accepted: %w", missing, len(vs), ctx.Err())
		}
	}
}

// agent is one simulated agent: a token and an event WebSocket on which it
// accepts every chat offered to it.
type agent struct {
	id   string
	c    *client
	ws   *websocket.Conn
	done chan struct{} // the reader has ended

	accepted  atomic.Int64
	acceptErr atomic.Int64
	frames    atomic.Int64 // frames received on the event WebSocket
	firstErr  atomic.Value
}

func newAgent(ctx context.Context, admin *client, hc *http.Client, o options, runID string, i int) (*agent, error) {
	var u struct {
		ID string `json:"id"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/users", map[string]any{
		"email": fmt.Sprintf("chatws-%s-%d@chatws.example", runID, i), "name": fmt.Sprintf("Agent %s %d", runID, i),
		"roles": []string{"agent"}, "capacity": map[string]int{"chat": o.capacity},
	}, &u); err != nil {
		return nil, fmt.Errorf("create agent %d: %w", i, err)
	}
	var tok struct {
		Secret string `json:"secret"`
	}
	if _, err := admin.do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": "chatws " + runID, "user_id": u.ID}, &tok); err != nil {
		return nil, fmt.Errorf("token for agent %d: %w", i, err)
	}
	return &agent{id: u.ID, c: &client{base: admin.base, token: tok.Secret, http: hc}, done: make(chan struct{})}, nil
}

// connect opens the agent's event WebSocket, starts reading it and sets the
// agent available.
func (a *agent) connect(ctx, readCtx context.Context, wsHC *http.Client, o options, i int, cs *chats) error {
	wsURL := "ws" + strings.TrimPrefix(a.c.base, "http") + "/api/v1/ws"
	if o.agentScope == "own" {
		wsURL += "?scope=own"
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	ws, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{
		HTTPClient: wsHC, HTTPHeader: http.Header{"Authorization": {"Bearer " + a.c.token}},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("WebSocket of agent %d: %w", i, err)
	}
	ws.SetReadLimit(1 << 22)
	a.ws = ws
	go a.read(readCtx, o, cs)
	if _, err := a.c.do(ctx, "PUT", "/api/v1/users/"+a.id+"/state", map[string]string{"status": "available"}, nil); err != nil {
		return fmt.Errorf("agent %d available: %w", i, err)
	}
	return nil
}

var offerMarker = []byte(`"task.offered"`)

// read accepts every chat offered to the agent.
func (a *agent) read(ctx context.Context, o options, cs *chats) {
	defer close(a.done)
	for {
		_, msg, err := a.ws.Read(ctx)
		if err != nil {
			return
		}
		a.frames.Add(1)
		if !bytes.Contains(msg, offerMarker) {
			continue
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Task struct {
					ID             string `json:"id"`
					AgentID        string `json:"agent_id"`
					ConversationID string `json:"conversation_id"`
				} `json:"task"`
			} `json:"data"`
		}
		if json.Unmarshal(msg, &ev) != nil || ev.Type != "task.offered" || ev.Data.Task.AgentID != a.id {
			continue
		}
		go func() {
			actx, cancel := context.WithTimeout(ctx, o.timeout)
			defer cancel()
			if _, err := a.c.do(actx, "POST", "/api/v1/tasks/"+ev.Data.Task.ID+"/accept", nil, nil); err != nil {
				if a.acceptErr.Add(1) == 1 {
					a.firstErr.CompareAndSwap(nil, err.Error())
				}
				return
			}
			a.accepted.Add(1)
			if o.agentScope == "own" {
				// The desktop opens a tab for the chat, and watches it.
				b, _ := json.Marshal(map[string]any{"type": "watch", "conversation_ids": []string{ev.Data.Task.ConversationID}})
				if err := a.ws.Write(actx, websocket.MessageText, b); err != nil && a.acceptErr.Add(1) == 1 {
					a.firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			cs.accepted(ev.Data.Task.ConversationID, a)
		}()
	}
}

// agentFrames is the number of frames the agents' event WebSockets have
// received.
func agentFrames(agents []*agent) int64 {
	var n int64
	for _, a := range agents {
		if a != nil {
			n += a.frames.Load()
		}
	}
	return n
}

// closeAgentStreams closes the agents' event WebSockets and waits for their
// readers to end.
func closeAgentStreams(agents []*agent) {
	for _, a := range agents {
		if a != nil && a.ws != nil {
			a.ws.Close(websocket.StatusNormalClosure, "")
			<-a.done
		}
	}
}

// tearDownAgents sets the agents offline and closes their sockets.
func tearDownAgents(agents []*agent) {
	var wg sync.WaitGroup
	for _, a := range agents {
		if a == nil || a.ws == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a.c.do(ctx, "PUT", "/api/v1/users/"+a.id+"/state", map[string]string{"status": "offline"}, nil)
			a.ws.Close(websocket.StatusNormalClosure, "")
		})
	}
	wg.Wait()
}

// visitor is one simulated website visitor with its own source address.
type visitor struct {
	i     int
	addr  net.IP
	http  *http.Client
	token string
	conv  string
	ws    *websocket.Conn
	done  chan struct{} // the reader has ended

	frames   atomic.Int64
	messages atomic.Int64
	wsErr    atomic.Value // string: why the reader ended early
}

// sourceAddr is visitor i's own loopback address: 127.A.B.C with B and C in
// 1..250, so 62,500 visitors per A from 127.100.1.1 on.
func sourceAddr(i int) net.IP {
	return net.IPv4(127, byte(100+i/62500), byte(1+i/250%250), byte(1+i%250))
}

// newVisitorClient is an HTTP client whose connections all come from addr.
// Keep-alives are off: every call of a visitor is a new connection, as each
// visitor makes only two (the session and the WebSocket).
func newVisitorClient(o options, addr net.IP) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: addr}}
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: o.timeout}
}

// startSessions starts every visitor's chat session from its own address.
func startSessions(ctx context.Context, o options, base string, widgetIDs []string) ([]*visitor, error) {
	vs := make([]*visitor, o.visitors)
	var done atomic.Int64
	stop := progress("sessions started", &done, o.visitors)
	defer stop()
	err := parallel(o.conc, o.visitors, func(i int) error {
		v := &visitor{i: i, addr: sourceAddr(i), done: make(chan struct{})}
		v.http = newVisitorClient(o, v.addr)
		c := &client{base: base, http: v.http, origin: o.origin}
		var out struct {
			State          string `json:"state"`
			Token          string `json:"token"`
			ConversationID string `json:"conversation_id"`
		}
		if _, err := c.do(ctx, "POST", "/api/v1/chat/"+widgetIDs[i%len(widgetIDs)]+"/sessions", map[string]any{
			"name": fmt.Sprintf("Visitor %d", i), "language": "en", "consent": true, "page_url": o.origin + "/products",
		}, &out); err != nil {
			return fmt.Errorf("session of visitor %d (from %s): %w", i, v.addr, err)
		}
		if out.Token == "" || out.ConversationID == "" {
			return fmt.Errorf("session of visitor %d: state %q without a token", i, out.State)
		}
		v.token, v.conv = out.Token, out.ConversationID
		vs[i] = v
		done.Add(1)
		return nil
	})
	return vs, err
}

// progress prints n of total every 15 s until stopped.
func progress(what string, n *atomic.Int64, total int) (stop func()) {
	quit := make(chan struct{})
	t := time.NewTicker(15 * time.Second)
	start := time.Now()
	go func() {
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fmt.Printf("  … %d of %d %s after %.0f s\n", n.Load(), total, what, time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(quit) }
}

// connect opens every visitor's WebSocket from its own address and starts
// reading it. The first frames (session, and agent_joined for a chat accepted
// while connecting) are counted but not timed.
func connect(ctx, readCtx context.Context, o options, base string, vs []*visitor, tr *tracker) error {
	wsBase := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/chat/ws?after=0&token="
	return parallel(o.conc, len(vs), func(i int) error {
		v := vs[i]
		dctx, cancel := context.WithTimeout(ctx, o.timeout)
		ws, _, err := websocket.Dial(dctx, wsBase+v.token, &websocket.DialOptions{
			HTTPClient: v.http, HTTPHeader: http.Header{"Origin": {o.origin}},
		})
		cancel()
		if err != nil {
			return fmt.Errorf("WebSocket of visitor %d (from %s): %w", i, v.addr, err)
		}
		ws.SetReadLimit(1 << 20)
		v.ws = ws
		go v.read(readCtx, tr)
		return nil
	})
}

// bodyPrefix starts every measured message's body: the run and the message
// number follow, so a frame names the message it delivers.
const bodyPrefix = "chatws "

// read receives the visitor's frames until ctx ends and times the arrival of
// every bench message.
func (v *visitor) read(ctx context.Context, tr *tracker) {
	defer close(v.done)
	for {
		_, msg, err := v.ws.Read(ctx)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				v.wsErr.Store(err.Error())
			}
			return
		}
		v.frames.Add(1)
		if !bytes.Contains(msg, []byte(`"message"`)) {
			continue
		}
		var f struct {
			Type    string `json:"type"`
			Message struct {
				Direction string `json:"direction"`
				Body      string `json:"body"`
			} `json:"message"`
		}
		if json.Unmarshal(msg, &f) != nil || f.Type != "message" || f.Message.Direction != "out" {
			continue
		}
		v.messages.Add(1)
		rest, ok := strings.CutPrefix(f.Message.Body, bodyPrefix)
		if !ok {
			continue
		}
		fields := strings.SplitN(rest, " ", 3)
		if len(fields) < 2 || fields[0] != tr.runID {
			continue
		}
		if k, err := strconv.Atoi(fields[1]); err == nil {
			tr.received(k, v.i, at)
		}
	}
}

func openSockets(vs []*visitor) int {
	n := 0
	for _, v := range vs {
		select {
		case <-v.done:
		default:
			n++
		}
	}
	return n
}

func framesOf(vs []*visitor) (frames, messages int64, ended int, firstErr string) {
	for _, v := range vs {
		frames += v.frames.Load()
		messages += v.messages.Load()
		if s, ok := v.wsErr.Load().(string); ok {
			ended++
			if firstErr == "" {
				firstErr = s
			}
		}
	}
	return
}

func closeVisitors(vs []*visitor) {
	_ = parallel(64, len(vs), func(i int) error {
		if v := vs[i]; v != nil && v.ws != nil {
			v.ws.CloseNow()
		}
		return nil
	})
}

// tracker matches every sent message with its arrival on the visitor's socket.
type tracker struct {
	runID   string
	mu      sync.Mutex
	msgs    map[int]*message
	lat     []time.Duration // measured: sent → received
	dups    int
	wrong   int // delivered to another visitor's socket
	unknown int // a frame naming no message sent in this run
}

type message struct {
	visitor  int
	sent     time.Time
	received time.Time
	measured bool
	created  bool
}

func newTracker() *tracker { return &tracker{msgs: map[int]*message{}} }

// sending records message k just before its POST, so its frame always finds it.
func (t *tracker) sending(k, visitor int, at time.Time, measured bool) {
	t.mu.Lock()
	t.msgs[k] = &message{visitor: visitor, sent: at, measured: measured}
	t.mu.Unlock()
}

func (t *tracker) acknowledged(k int) {
	t.mu.Lock()
	if m := t.msgs[k]; m != nil {
		m.created = true
	}
	t.mu.Unlock()
}

func (t *tracker) received(k, visitor int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.msgs[k]
	switch {
	case m == nil:
		t.unknown++
	case m.visitor != visitor:
		t.wrong++
	case !m.received.IsZero():
		t.dups++
	default:
		m.received = at
		if m.measured {
			t.lat = append(t.lat, at.Sub(m.sent))
		}
	}
}

// outstanding is the measured messages acknowledged but not yet received.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, m := range t.msgs {
		if m.measured && m.created && m.received.IsZero() {
			n++
		}
	}
	return n
}

// result is what the load measured.
type result struct {
	window     time.Duration
	measured   int // messages sent in the measured window
	created    int // of those, acknowledged with 201
	received   int // of those, delivered to the right socket
	lost       int // acknowledged but not delivered by the end of the drain
	dups       int
	wrong      int
	postErrors int64
	firstErr   string
	lat, post  []time.Duration
	late       int // sends that started more than 5 ms after their slot
	maxLag     time.Duration
	serverCPU  float64
	clientCPU  float64
	busyPct    float64
	otherCPU   float64       // CPU seconds of every other process on the machine
	cpuWindow  time.Duration // between the two CPU readings: the window, and any lag of the sender
	perf       string
	drained    time.Duration
	before     snapshot
}

// load sends o.rate messages a second, agent → visitor, for the warm-up and
// the measured window.
func load(ctx context.Context, o options, cs *chats, vs []*visitor, tr *tracker, runID string, admin *client, pid int, debugURL string) result {
	tr.runID = runID
	order := rand.Perm(len(vs))
	pad := strings.Repeat("x", o.body)
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)
	var (
		wg       sync.WaitGroup
		postMu   sync.Mutex
		post     []time.Duration
		errs     atomic.Int64
		firstErr atomic.Value
		r        result
	)
	// The window's first snapshot (and the profile) are taken beside the
	// sender, so that reading them does not delay the sends.
	windowStarted := make(chan snapshot, 1)
	perfDone := make(chan string, 1)
	go func() {
		select {
		case <-time.After(time.Until(measureFrom)):
		case <-ctx.Done():
		}
		windowStarted <- takeSnapshot(admin, pid)
		if ctx.Err() != nil {
			perfDone <- ""
			return
		}
		var goProf, perf string
		var wg sync.WaitGroup
		if debugURL != "" {
			wg.Go(func() {
				secs := strconv.Itoa(max(1, int(o.perfFor.Seconds())))
				goProf = saveProfile(ctx, debugURL+"profile?seconds="+secs, filepath.Join(o.pprofDir, "cpu-load.pb.gz"))
			})
		}
		if o.perf != "" {
			perf = record(o, pid)
		}
		wg.Wait()
		perfDone <- strings.Trim(goProf+"; "+perf, "; ")
	}()
	for k := 0; ; k++ {
		slot := start.Add(time.Duration(k) * interval)
		if !slot.Before(measureTo) {
			break
		}
		if d := time.Until(slot); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		measured := !slot.Before(measureFrom)
		if measured {
			r.measured++
			if lag := time.Since(slot); lag > 5*time.Millisecond {
				r.late++
				r.maxLag = max(r.maxLag, lag)
			}
		}
		v := vs[order[k%len(order)]]
		a := cs.agentOf(v.conv)
		body := fmt.Sprintf("%s%s %d ", bodyPrefix, runID, k)
		body += pad[:max(0, o.body-len(body))]
		wg.Go(func() {
			in := map[string]string{"channel": "chat", "direction": "out", "body": body, "client_id": fmt.Sprintf("chatws-%s-%d", runID, k)}
			b, _ := json.Marshal(in)
			sent := time.Now()
			tr.sending(k, v.i, sent, measured)
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.timeout)
			defer cancel()
			status, err := a.c.doRaw(pctx, "POST", "/api/v1/conversations/"+v.conv+"/messages", b, nil)
			took := time.Since(sent)
			if err == nil && status != http.StatusCreated {
				err = fmt.Errorf("status %d, want 201", status)
			}
			if err != nil {
				if errs.Add(1) == 1 {
					firstErr.Store(err.Error())
				}
				return
			}
			tr.acknowledged(k)
			if measured {
				postMu.Lock()
				post = append(post, took)
				postMu.Unlock()
			}
		})
	}
	end := takeSnapshot(admin, pid)
	r.before = <-windowStarted
	wg.Wait()
	drainFrom := time.Now()
	for tr.outstanding() > 0 && time.Since(drainFrom) < o.drain && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	r.drained = time.Since(drainFrom)
	r.perf = <-perfDone

	r.window = o.duration
	if ctx.Err() != nil {
		r.window = max(time.Since(measureFrom), 0)
	}
	r.cpuWindow = end.at.Sub(r.before.at)
	r.serverCPU = end.serverCPU - r.before.serverCPU
	r.clientCPU = end.clientCPU - r.before.clientCPU
	if d := end.busyTotal - r.before.busyTotal; d > 0 {
		r.busyPct = 100 * float64(end.busy-r.before.busy) / float64(d)
	}
	r.otherCPU = max(0, float64(end.busy-r.before.busy)/100-r.serverCPU-r.clientCPU) // jiffies are 1/100 s
	tr.mu.Lock()
	for _, m := range tr.msgs {
		if !m.measured {
			continue
		}
		if m.created {
			r.created++
		}
		if !m.received.IsZero() {
			r.received++
		} else if m.created {
			r.lost++
		}
	}
	r.dups, r.wrong = tr.dups, tr.wrong
	r.lat = tr.lat
	tr.mu.Unlock()
	r.post = post
	r.postErrors = errs.Load()
	if s, ok := firstErr.Load().(string); ok {
		r.firstErr = s
	}
	return r
}

// record runs perf record on the server for o.perfFor and says how it went.
func record(o options, pid int) string {
	secs := strconv.FormatFloat(o.perfFor.Seconds(), 'f', 1, 64)
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", o.perf, "--", "sleep", secs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("perf record failed: %v: %s", err, bytes.TrimSpace(out))
	}
	return "perf record: " + o.perf + " (" + secs + " s; read it with perf report -i " + o.perf + ")"
}

// freeLoopbackAddr is a free port on 127.0.0.1 for the server's debug-addr.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// saveProfile fetches a Go profile from the server's debug listener into
// file and says how it went.
func saveProfile(ctx context.Context, url, file string) string {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "pprof: " + err.Error()
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return "pprof: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "pprof: " + url + ": " + resp.Status
	}
	f, err := os.Create(file)
	if err != nil {
		return "pprof: " + err.Error()
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "pprof: " + err.Error()
	}
	if err := f.Close(); err != nil {
		return "pprof: " + err.Error()
	}
	return "pprof: " + file + " (go tool pprof " + file + ")"
}

// snapshot is the server's memory, CPU and counters at one moment.
type snapshot struct {
	at              time.Time
	rss, hwm        float64 // bytes
	serverCPU       float64
	clientCPU       float64
	busy, busyTotal uint64
	metrics         map[string]float64
}

func takeSnapshot(admin *client, pid int) snapshot {
	s := snapshot{at: time.Now()}
	s.rss, s.hwm = procMem(pid)
	s.serverCPU = procCPU(pid)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.clientCPU = tv(ru.Utime) + tv(ru.Stime)
	}
	s.busy, s.busyTotal = machineCPU()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.metrics, _ = admin.metrics(ctx)
	if s.metrics == nil {
		s.metrics = map[string]float64{}
	}
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procMem is a process's resident set size and its peak, in bytes, from
// /proc/PID/status (VmRSS, VmHWM).
func procMem(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return math.NaN(), math.NaN()
	}
	rss, hwm = math.NaN(), math.NaN()
	for line := range strings.Lines(string(b)) {
		for key, dst := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if v, ok := strings.CutPrefix(line, key); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
					*dst = kb * 1024
				}
			}
		}
	}
	return rss, hwm
}

// procCPU is a process's user+system CPU seconds, from /proc/PID/stat.
func procCPU(pid int) float64 {
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

type reportInput struct {
	base, before, idle, after snapshot
	visitors, agents, open    int
	idleCPU                   float64
	idleFor                   time.Duration
	res                       result
	frames                    int64
	messages                  int64
	ended                     int
	firstWSErr                string
	agentFrames               int64 // received by the agents' event WebSockets during the load
}

func report(o options, in reportInput) {
	r := in.res
	secs := r.window.Seconds()
	rate := func(n int) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	lat, post := server.Summarize(r.lat), server.Summarize(r.post)
	perConnKB := (in.idle.rss - in.before.rss) / float64(in.visitors) / 1024
	heapPerConnKB := (in.idle.metrics["go_memstats_heap_inuse_bytes"] - in.before.metrics["go_memstats_heap_inuse_bytes"]) / float64(in.visitors) / 1024
	goroutinesPerConn := (in.idle.metrics["go_goroutines"] - in.before.metrics["go_goroutines"]) / float64(in.visitors)
	fmt.Printf("  sent %d messages in the measured %.2f s (%.0f/s scheduled), %d late by more than 5 ms (max lag %.1f ms)\n",
		r.measured, secs, o.rate, r.late, server.Ms(r.maxLag))
	fmt.Printf("  acknowledged (201): %d; POST errors %d%s\n", r.created, r.postErrors, server.FirstOf(r.firstErr))
	fmt.Printf("  received on the visitor's socket: %d = %.0f/s; lost %d (waited %.1f s after the load), duplicated %d, on the wrong socket %d\n",
		r.received, rate(r.received), r.lost, r.drained.Seconds(), r.dups, r.wrong)
	fmt.Printf("  POST → frame on the visitor's socket: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms\n", lat.P50, lat.P90, lat.P99, lat.Max)
	fmt.Printf("  POST /conversations/{id}/messages alone: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms\n", post.P50, post.P90, post.P99, post.Max)
	fmt.Printf("  CPU over %.1f s: server %.2f s (%.0f%% of one CPU, %.0f µs per acknowledged message), this tool %.2f s, other processes %.2f s; machine %.0f%% busy\n",
		r.cpuWindow.Seconds(), r.serverCPU, 100*r.serverCPU/r.cpuWindow.Seconds(), 1e6*r.serverCPU/float64(max(r.created, 1)), r.clientCPU, r.otherCPU, r.busyPct)
	fmt.Printf("  idle sockets cost the server %.2f CPU s over %.1f s (%.1f%% of one CPU)\n", in.idleCPU, in.idleFor.Seconds(), 100*in.idleCPU/in.idleFor.Seconds())
	dropped := in.after.metrics["atende_bus_subscribers_dropped_total"] - in.idle.metrics["atende_bus_subscribers_dropped_total"]
	published := in.after.metrics["atende_bus_events_published_total"] - in.idle.metrics["atende_bus_events_published_total"]
	fmt.Printf("  server after the load: RSS %.1f MB (peak %.1f MB), %s goroutines, %s open fds; bus: %.0f events published, %.0f slow subscribers dropped\n",
		mb(in.after.rss), mb(in.after.hwm), metricStr(in.after.metrics, "go_goroutines"), metricStr(in.after.metrics, "process_open_fds"), published, dropped)
	fmt.Printf("  visitor sockets: %d frames received in all, %d agent messages; %d ended early%s\n", in.frames, in.messages, in.ended, server.FirstOf(in.firstWSErr))
	if r.perf != "" {
		fmt.Printf("  %s\n", r.perf)
	}
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	latencyMet := lat.N > 0 && lat.P99 < 100 && r.lost == 0 && r.postErrors == 0 && rate(r.received) >= 0.95*o.rate
	fmt.Printf("RESULT label=%s visitors=%d agents=%d rate=%.0f duration_s=%.2f sent=%d created=%d received=%d lost=%d duplicated=%d wrong_socket=%d post_errors=%d "+
		"achieved_rate=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f post_p99_ms=%.2f late=%d "+
		"rss_base_mb=%.1f rss_before_mb=%.1f rss_idle_mb=%.1f rss_after_mb=%.1f hwm_mb=%.1f kb_per_idle_conn=%.1f heap_kb_per_idle_conn=%.1f goroutines_per_conn=%.2f "+
		"goroutines_idle=%s fds_idle=%s server_cpu_s=%.2f server_cpu_us_per_msg=%.0f client_cpu_s=%.2f other_cpu_s=%.2f machine_busy_pct=%.0f idle_server_cpu_pct=%.1f bus_dropped=%.0f ws_ended=%d "+
		"agent_scope=%s agent_frames=%d agent_frames_per_msg=%.1f latency_target_met=%s memory_target_met=%s\n",
		o.label, in.visitors, in.agents, o.rate, secs, r.measured, r.created, r.received, r.lost, r.dups, r.wrong, r.postErrors,
		rate(r.received), lat.P50, lat.P90, lat.P99, lat.Max, post.P99, r.late,
		mb(in.base.rss), mb(in.before.rss), mb(in.idle.rss), mb(in.after.rss), mb(in.after.hwm), perConnKB, heapPerConnKB, goroutinesPerConn,
		metricStr(in.idle.metrics, "go_goroutines"), metricStr(in.idle.metrics, "process_open_fds"), r.serverCPU, 1e6*r.serverCPU/float64(max(r.created, 1)),
		r.clientCPU, r.otherCPU, r.busyPct, 100*in.idleCPU/in.idleFor.Seconds(), dropped, in.ended,
		o.agentScope, in.agentFrames, float64(in.agentFrames)/float64(max(r.created, 1)), met(latencyMet), met(perConnKB < 30))
}

func metricStr(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return "?"
}

func mb(b float64) float64 { return b / (1 << 20) }

// newHTTPClient is the client of the admin and the agents, from 127.0.0.1.
func newHTTPClient(o options) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		// When the server falls behind, sends queue here (their latency
		// still counts from before the POST) rather than opening ever more
		// connections.
		MaxConnsPerHost: 512,
		IdleConnTimeout: time.Minute,
	}
	return &http.Client{Transport: tr, Timeout: o.timeout}
}

// client calls the API with a bearer token, or as a browser on origin.
type client struct {
	base   string
	token  string
	origin string
	http   *http.Client
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
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
