// Package durability checks, against the real binary, that a message the
// server acknowledged survives the server being killed with SIGKILL, and that
// client_ids keep resent messages from being stored twice across the crash.
//
// The test builds cmd/atende, runs `atende serve` on a fresh store (SQLite in
// a temporary data directory, and PostgreSQL in a fresh database when one
// answers at ATENDE_TEST_POSTGRES, default
// postgres://postgres@127.0.0.1:5432/test), loads it with concurrent appends,
// kills it mid-write, restarts it on the same store and audits the timelines.
package durability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Shape of the load. The whole test stays well under a minute.
const (
	writers       = 8
	conversations = 4
	loadFor       = 1500 * time.Millisecond
	readyTimeout  = 20 * time.Second
	testDeadline  = 55 * time.Second
)

const (
	tenantSlug = "default"            // the tenant serve creates on first start
	adminEmail = "admin@atende.local" // and its administrator
)

func pgURL() string {
	if u := os.Getenv("ATENDE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func TestKill9LosesNoAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and runs the server binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	bin := buildAtende(t, ctx)

	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		runKill9(t, ctx, bin, []string{"--data", filepath.Join(dir, "data")}, dir)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgresDatabase(t, ctx)
		dir := t.TempDir()
		runKill9(t, ctx, bin, []string{"--db", dsn, "--data", filepath.Join(dir, "data")}, dir)
	})
}

// buildAtende builds the server binary into a temporary directory.
func buildAtende(t *testing.T, ctx context.Context) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the server: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "atende")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/atende/atende/cmd/atende")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/atende: %v\n%s", err, out)
	}
	return bin
}

// freshPostgresDatabase creates an empty database on the test PostgreSQL,
// dropped when the test ends, and returns its URL; it skips the test when no
// PostgreSQL answers.
func freshPostgresDatabase(t *testing.T, ctx context.Context) string {
	t.Helper()
	base := pgURL()
	connectCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(connectCtx, base)
	if err != nil {
		t.Skipf("skipped: no PostgreSQL at %s (%v)", base, err)
	}
	defer conn.Close(context.Background())
	name := "durability_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	// Registered before any server starts, so it runs after their cleanups.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ATENDE_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ack is what the server answered for an acknowledged append.
type ack struct {
	conv string
	seq  int64
}

// attempt is one client_id a writer sent at least once.
type attempt struct {
	conv string
	body string
}

func runKill9(t *testing.T, ctx context.Context, bin string, storeArgs []string, dir string) {
	srv := startServer(t, ctx, bin, storeArgs, filepath.Join(dir, "serve-1.log"))
	token := createToken(t, ctx, bin, storeArgs)
	api := newAPI(srv.base, token)

	convs := make([]string, conversations)
	for i := range convs {
		var out struct {
			ID       string `json:"id"`
			Protocol string `json:"protocol"`
		}
		status, err := api.do(ctx, "POST", "/api/v1/conversations", map[string]any{
			"contact": map[string]string{"kind": "phone", "value": fmt.Sprintf("+3461234560%d", i)},
			"channel": "chat", "subject": fmt.Sprintf("durability %d", i),
		}, &out)
		if err != nil || status != http.StatusCreated || out.ID == "" {
			t.Fatalf("create conversation: status %d, err %v, id %q\n%s", status, err, out.ID, srv.logTail())
		}
		convs[i] = out.ID
	}

	// Load: writers append until the server dies under them.
	var (
		mu       sync.Mutex
		attempts = map[string]attempt{}
		acked    = map[string]ack{}
		killed   atomic.Bool
		inFlight atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for n := 0; ; n++ {
				if killed.Load() || ctx.Err() != nil {
					return
				}
				id := fmt.Sprintf("w%d-%06d", w, n)
				a := attempt{conv: convs[(w+n)%len(convs)], body: "message " + id}
				mu.Lock()
				attempts[id] = a
				mu.Unlock()
				inFlight.Add(1)
				res, status, err := api.appendMessage(ctx, a.conv, id, a.body)
				inFlight.Add(-1)
				if err != nil || status >= 500 {
					if !killed.Load() {
						t.Errorf("append %s failed before the kill: status %d, %v", id, status, err)
					}
					return // the server is gone: this append is in doubt
				}
				switch {
				case status == http.StatusCreated && res.Created && res.Event.ClientID == id && res.Event.ConversationID == a.conv && res.Event.Seq > 0:
					mu.Lock()
					acked[id] = ack{conv: a.conv, seq: res.Event.Seq}
					mu.Unlock()
				default:
					t.Errorf("append %s: status %d, created %v, event %+v", id, status, res.Created, res.Event)
					return
				}
			}
		})
	}

	timer := time.NewTimer(loadFor)
	select {
	case <-timer.C:
	case <-srv.exited:
		t.Fatalf("server exited under load\n%s", srv.logTail())
	}
	// Mark first, so that writers know failures from here on are the kill's.
	killed.Store(true)
	inFlightAtKill := inFlight.Load()
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 the server: %v", err)
	}
	<-srv.exited
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	mu.Lock()
	var inDoubt []string
	for id := range attempts {
		if _, ok := acked[id]; !ok {
			inDoubt = append(inDoubt, id)
		}
	}
	mu.Unlock()
	t.Logf("killed with SIGKILL after %v: %d appends acknowledged, %d in doubt (%d requests in flight at the kill)",
		loadFor, len(acked), len(inDoubt), inFlightAtKill)
	if len(acked) < writers {
		t.Fatalf("only %d appends acknowledged in %v: too few to test anything\n%s", len(acked), loadFor, srv.logTail())
	}

	// Restart on the same store and audit.
	srv2 := startServer(t, ctx, bin, storeArgs, filepath.Join(dir, "serve-2.log"))
	api = newAPI(srv2.base, token)

	before := readTimelines(t, ctx, api, convs)
	present := checkTimelines(t, before, attempts)
	for id, a := range acked {
		got, ok := present[id]
		switch {
		case !ok:
			t.Errorf("acknowledged message %s (conversation %s, seq %d) is missing after the restart", id, a.conv, a.seq)
		case got != a:
			t.Errorf("acknowledged message %s was at conversation %s seq %d, is now at conversation %s seq %d", id, a.conv, a.seq, got.conv, got.seq)
		}
	}
	survived := 0
	for _, id := range inDoubt {
		if _, ok := present[id]; ok {
			survived++
		}
	}
	t.Logf("after the restart: all checks of %d acknowledged messages done; %d of %d in-doubt messages had been stored", len(acked), survived, len(inDoubt))
	if t.Failed() {
		t.FailNow()
	}

	// Resend every client_id ever sent: none may be stored twice.
	ids := make([]string, 0, len(attempts))
	for id := range attempts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	work := make(chan string)
	var rwg sync.WaitGroup
	for range writers {
		rwg.Go(func() {
			for id := range work {
				a := attempts[id]
				res, status, err := api.appendMessage(ctx, a.conv, id, a.body)
				if err != nil {
					t.Errorf("resend %s: %v", id, err)
					continue
				}
				if prev, ok := present[id]; ok {
					if status != http.StatusOK || res.Created || res.Event.Seq != prev.seq {
						t.Errorf("resend of stored %s (seq %d): status %d, created %v, seq %d; want 200, created false, the same seq",
							id, prev.seq, status, res.Created, res.Event.Seq)
					}
				} else if status != http.StatusCreated || !res.Created {
					t.Errorf("resend of never-stored %s: status %d, created %v; want 201, created true", id, status, res.Created)
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	rwg.Wait()

	after := readTimelines(t, ctx, api, convs)
	final := checkTimelines(t, after, attempts)
	for _, id := range ids {
		if _, ok := final[id]; !ok {
			t.Errorf("message %s is missing after it was resent", id)
		}
	}
	for id, a := range present {
		if final[id] != a {
			t.Errorf("message %s moved from seq %d to seq %d after the resend", id, a.seq, final[id].seq)
		}
	}
}

// timelineEntry is the part of a timeline entry the test reads.
type timelineEntry struct {
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Kind           string `json:"kind"`
	ClientID       string `json:"client_id"`
	Body           string `json:"body"`
}

// readTimelines reads every conversation's whole timeline, page by page.
func readTimelines(t *testing.T, ctx context.Context, api *apiClient, convs []string) map[string][]timelineEntry {
	t.Helper()
	out := map[string][]timelineEntry{}
	for _, conv := range convs {
		var all []timelineEntry
		after := int64(0)
		for {
			var page struct {
				Items []timelineEntry `json:"items"`
			}
			status, err := api.do(ctx, "GET", fmt.Sprintf("/api/v1/conversations/%s/events?after_seq=%d&limit=500", conv, after), nil, &page)
			if err != nil || status != http.StatusOK {
				t.Fatalf("read timeline of %s after seq %d: status %d, %v", conv, after, status, err)
			}
			if len(page.Items) == 0 {
				break
			}
			all = append(all, page.Items...)
			after = page.Items[len(page.Items)-1].Seq
		}
		out[conv] = all
	}
	return out
}

// checkTimelines checks that every timeline numbers its entries 1..n with no
// gap or repeat, that every message is one the test sent, in the conversation
// it was sent to and with its body, and that no client_id appears twice. It
// returns where each client_id is.
func checkTimelines(t *testing.T, timelines map[string][]timelineEntry, attempts map[string]attempt) map[string]ack {
	t.Helper()
	where := map[string]ack{}
	for conv, items := range timelines {
		for i, e := range items {
			if want := int64(i + 1); e.Seq != want {
				t.Errorf("conversation %s: entry %d has seq %d, want %d (gap or duplicate)", conv, i, e.Seq, want)
			}
			if e.ConversationID != conv {
				t.Errorf("conversation %s: entry seq %d belongs to conversation %s", conv, e.Seq, e.ConversationID)
			}
			if e.Kind != "message" {
				continue
			}
			a, ok := attempts[e.ClientID]
			switch {
			case !ok:
				t.Errorf("conversation %s: message seq %d has client_id %q that was never sent", conv, e.Seq, e.ClientID)
				continue
			case a.conv != conv:
				t.Errorf("message %s was sent to conversation %s but is in %s", e.ClientID, a.conv, conv)
			case a.body != e.Body:
				t.Errorf("message %s has body %q, want %q", e.ClientID, e.Body, a.body)
			}
			if prev, dup := where[e.ClientID]; dup {
				t.Errorf("message %s is stored twice: seq %d and seq %d", e.ClientID, prev.seq, e.Seq)
				continue
			}
			where[e.ClientID] = ack{conv: conv, seq: e.Seq}
		}
	}
	return where
}

// server is a running `atende serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	log    string
	exited chan struct{} // closed once the process has been waited for
}

// logTail returns the end of the server's output, for failure messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "--- server output (" + s.log + ") ---\n" + string(b)
}

// startServer starts `atende serve` on a free loopback port and waits until
// /readyz answers 200. The process is killed when the test ends.
func startServer(t *testing.T, ctx context.Context, bin string, storeArgs []string, logPath string) *server {
	t.Helper()
	addr := freeAddr(t)
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Several nodes run at once on this machine: no SIP listeners.
	args := append([]string{"serve", "--addr", addr, "--log-level", "warn", "--sip-udp=", "--sip-tcp="}, storeArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "LANG=C", "TZ=UTC")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start atende serve: %v", err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		// A graceful stop first, so that the store is closed cleanly; then
		// the hard way.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-s.exited
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-tick.C:
		case <-s.exited:
			t.Fatalf("atende serve exited before it was ready: %v\n%s", cmd.ProcessState, s.logTail())
		case <-deadline.C:
			t.Fatalf("atende serve not ready after %v\n%s", readyTimeout, s.logTail())
		case <-ctx.Done():
			t.Fatalf("test deadline while waiting for the server\n%s", s.logTail())
		}
	}
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// createToken makes an API token for the first administrator with `atende
// admin create-token`, beside the running server, and returns its secret.
func createToken(t *testing.T, ctx context.Context, bin string, storeArgs []string) string {
	t.Helper()
	args := append([]string{"admin", "create-token", "--tenant", tenantSlug, "--email", adminEmail,
		"--name", "durability test", "--expires", "1h"}, storeArgs...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("atende admin create-token: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	// The secret is the last line, indented, after "Secret (shown only now ...):".
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	secret := strings.TrimSpace(lines[len(lines)-1])
	if secret == "" || strings.ContainsAny(secret, " \t") {
		t.Fatalf("no token secret in the output of atende admin create-token:\n%s", stdout.String())
	}
	return secret
}

// apiClient calls the HTTP API with a bearer token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPI(base, token string) *apiClient {
	tr := &http.Transport{MaxIdleConns: 2 * writers, MaxIdleConnsPerHost: 2 * writers, IdleConnTimeout: 30 * time.Second}
	return &apiClient{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// do sends a JSON request and decodes a 2xx JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) (int, error) {
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
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
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
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

type appendResult struct {
	Event   timelineEntry `json:"event"`
	Created bool          `json:"created"`
}

// appendMessage appends an inbound chat message with a client_id.
func (c *apiClient) appendMessage(ctx context.Context, conv, clientID, body string) (appendResult, int, error) {
	var res appendResult
	status, err := c.do(ctx, "POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{
		"channel": "chat", "direction": "in", "body": body, "client_id": clientID,
	}, &res)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("test deadline: %w", err)
	}
	return res, status, err
}
