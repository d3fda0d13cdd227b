// Command appendload measures how fast an atende server appends messages to
// conversation timelines through the HTTP API, and how long each append takes.
//
// It targets a running server (-url, with -token or -email/-password), or,
// without -url, starts one itself (-bin) on a fresh SQLite data directory or
// on -db. It opens -conversations conversations, then C closed-loop clients
// (-c) each append one inbound chat message with a unique client_id, wait for
// the answer, and send the next, for -warmup (not measured) and then -d
// (measured). Throughput counts acknowledged (2xx) appends completed inside the
// measured window; latency percentiles are computed from every one of their
// samples (nearest rank), never averaged across clients.
//
// The last line of output is machine-readable:
//
//	RESULT label=... c=16 conversations=100 duration_s=10.00 appends=... rate=... p50_ms=... p95_ms=... p99_ms=... max_ms=... errors=...
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/atende/atende/bench/internal/server"
)

type options struct {
	url           string
	token         string
	tenant        string
	email         string
	password      string
	bin           string
	data          string
	db            string
	clients       int
	duration      time.Duration
	warmup        time.Duration
	conversations int
	bodySize      int
	timeout       time.Duration
	label         string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base `URL` of a running server, e.g. http://127.0.0.1:8080 (default: start one with -bin)")
	flag.StringVar(&o.token, "token", "", "API token `secret` (or use -email and -password)")
	flag.StringVar(&o.tenant, "tenant", "", "tenant `slug` for -email/-password login (optional)")
	flag.StringVar(&o.email, "email", "", "log in with this `email` instead of a token")
	flag.StringVar(&o.password, "password", "", "the `password` for -email")
	flag.StringVar(&o.bin, "bin", "atende", "atende `binary` to start when -url is not given")
	flag.StringVar(&o.data, "data", "", "data `dir` for the server started without -url (default: a fresh temporary one, removed after)")
	flag.StringVar(&o.db, "db", "", "database `DSN` for the server started without -url (default: SQLite in -data)")
	flag.IntVar(&o.clients, "c", 16, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before measuring (not counted)")
	flag.IntVar(&o.conversations, "conversations", 100, "conversations to spread the appends over")
	flag.IntVar(&o.bodySize, "body", 120, "message body size in `bytes`")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.StringVar(&o.label, "label", "", "label for the RESULT line (default: the store the server reports)")
	flag.Parse()
	if flag.NArg() > 0 || o.clients < 1 || o.conversations < 1 || o.duration <= 0 || o.warmup < 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "appendload: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.url == "" {
		srv, err := server.Start(ctx, server.Config{Bin: o.bin, Data: o.data, DB: o.db, Name: "appendload", TokenTTL: time.Hour})
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.url, o.token = srv.URL, srv.Token
	}
	o.url = strings.TrimRight(o.url, "/")

	c, err := newClient(o)
	if err != nil {
		return err
	}
	var ready struct {
		Store string `json:"store"`
	}
	if _, err := c.do(ctx, "GET", "/readyz", nil, &ready); err != nil {
		return fmt.Errorf("server not ready: %w", err)
	}
	if o.label == "" {
		o.label = ready.Store
	}
	if err := c.login(ctx, o); err != nil {
		return err
	}

	run := server.RandomHex(4)
	convs, err := createConversations(ctx, c, o.conversations, run)
	if err != nil {
		return err
	}
	fmt.Printf("appendload: %s (%s), %d clients, %d conversations, %v warm-up + %v measured\n",
		o.url, o.label, o.clients, len(convs), o.warmup, o.duration)

	res := load(ctx, c, o, convs, run)
	report(o, len(convs), res)
	if res.ok == 0 {
		return errors.New("no append was acknowledged")
	}
	return nil
}

// result is what the clients measured inside the window.
type result struct {
	ok        int
	errors    int64
	firstErr  string
	latencies []time.Duration
	window    time.Duration
}

func load(ctx context.Context, c *client, o options, convs []string, run string) result {
	body := strings.Repeat("x", o.bodySize)
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     atomic.Int64
		firstErr atomic.Value
	)
	for i := range o.clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			for n := 0; ; n++ {
				now := time.Now()
				if !now.Before(measureTo) || ctx.Err() != nil {
					break
				}
				conv := convs[(i*7919+n)%len(convs)]
				in := map[string]string{
					"channel": "chat", "direction": "in", "body": body,
					"client_id": fmt.Sprintf("load-%s-%d-%d", run, i, n),
				}
				status, err := c.do(ctx, "POST", "/api/v1/conversations/"+conv+"/messages", in, nil)
				end := time.Now()
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d, want 201", status)
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				if !now.Before(measureFrom) && !end.After(measureTo) {
					lat = append(lat, end.Sub(now))
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	window := o.duration
	if ctx.Err() != nil {
		window = max(time.Since(measureFrom), 0)
	}
	r := result{ok: len(all), errors: errs.Load(), latencies: all, window: window}
	if s, ok := firstErr.Load().(string); ok {
		r.firstErr = s
	}
	return r
}

func report(o options, convs int, r result) {
	lat := server.Summarize(r.latencies)
	rate := 0.0
	if r.window > 0 {
		rate = float64(r.ok) / r.window.Seconds()
	}
	fmt.Printf("  acknowledged appends: %d in %.2f s = %.0f appends/s\n", r.ok, r.window.Seconds(), rate)
	fmt.Printf("  latency: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (%d samples)\n", lat.P50, lat.P95, lat.P99, lat.Max, lat.N)
	if r.errors > 0 {
		fmt.Printf("  errors: %d (first: %s)\n", r.errors, r.firstErr)
	}
	fmt.Printf("RESULT label=%s c=%d conversations=%d duration_s=%.2f appends=%d rate=%.0f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
		o.label, o.clients, convs, r.window.Seconds(), r.ok, rate, lat.P50, lat.P95, lat.P99, lat.Max, r.errors)
}

func createConversations(ctx context.Context, c *client, n int, run string) ([]string, error) {
	convs := make([]string, n)
	base := int(time.Now().UnixNano() % 90000000)
	for i := range convs {
		var out struct {
			ID string `json:"id"`
		}
		in := map[string]any{
			// Spanish mobile numbers: +34 6 and eight digits.
			"contact": map[string]string{"kind": "phone", "value": fmt.Sprintf("+346%08d", (base+i)%100000000)},
			"channel": "chat", "subject": fmt.Sprintf("appendload %s #%d", run, i),
		}
		status, err := c.do(ctx, "POST", "/api/v1/conversations", in, &out)
		if err != nil {
			return nil, fmt.Errorf("create conversation: %w", err)
		}
		if status != http.StatusCreated || out.ID == "" {
			return nil, fmt.Errorf("create conversation: status %d, id %q", status, out.ID)
		}
		convs[i] = out.ID
	}
	return convs, nil
}

// client calls the API with a bearer token or a session cookie + CSRF token.
type client struct {
	base  string
	token string
	csrf  string
	http  *http.Client
}

func newClient(o options) (*client, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        o.clients * 2,
		MaxIdleConnsPerHost: o.clients * 2,
		IdleConnTimeout:     time.Minute,
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &client{base: o.url, token: o.token, http: &http.Client{Transport: tr, Jar: jar, Timeout: o.timeout}}, nil
}

// login gets a session when no token was given.
func (c *client) login(ctx context.Context, o options) error {
	if c.token != "" {
		return nil
	}
	if o.email == "" || o.password == "" {
		return errors.New("give -token, or -email and -password")
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	status, err := c.do(ctx, "POST", "/api/v1/auth/login", map[string]string{"tenant": o.tenant, "email": o.email, "password": o.password}, &me)
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if status != http.StatusOK || me.CSRF == "" {
		return fmt.Errorf("log in: status %d, no CSRF token", status)
	}
	c.csrf = me.CSRF
	return nil
}

// do sends a JSON request; a non-2xx answer is an error with its body.
func (c *client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
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
	} else if c.csrf != "" && method != "GET" {
		req.Header.Set("X-CSRF-Token", c.csrf)
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
