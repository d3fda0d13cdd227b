package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
	event  Payload
}

// receiver is a real HTTP endpoint on loopback that records what it gets and
// answers with the status answer gives for the n-th request (1-based).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, r *http.Request) int
	// inFlight and maxInFlight count concurrent requests.
	inFlight, maxInFlight int
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("receiver: body is not a payload: %q", body)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, event: p})
		n := len(rc.got)
		rc.inFlight++
		rc.maxInFlight = max(rc.maxInFlight, rc.inFlight)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n, r)
		}
		rc.mu.Lock()
		rc.inFlight--
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) eventIDs() []int64 {
	var out []int64
	for _, r := range rc.requests() {
		out = append(out, r.event.ID)
	}
	return out
}

// env is a store with one tenant, a secrets box and a webhook to a receiver.
type env struct {
	st     *store.Store
	box    *secrets.Box
	actor  atende.Actor
	hook   *atende.Webhook
	secret string
}

func newEnv(t *testing.T, st *store.Store, url string, events ...string) *env {
	t.Helper()
	ctx := context.Background()
	tn := &atende.Tenant{Name: "Acme", Locale: "es-ES", TimeZone: "Europe/Madrid"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(make([]byte, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, box: box, actor: atende.SystemActor(tn.ID), secret: NewSecret()}
	sealed, err := box.Seal(e.secret, SecretContext(tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	e.hook = &atende.Webhook{URL: url, Events: events, Active: true}
	if err := st.CreateWebhook(ctx, e.actor, e.hook, sealed); err != nil {
		t.Fatal(err)
	}
	return e
}

// skills makes n domain changes, each one a skill.created event, and
// returns their event ids.
func (e *env) skills(t *testing.T, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := 0; i < n; i++ {
		sk := &atende.Skill{Name: "Skill " + strconv.Itoa(len(ids)) + " " + atende.NewID()[30:]}
		if err := e.st.CreateSkill(context.Background(), e.actor, sk); err != nil {
			t.Fatal(err)
		}
		last, err := e.st.LastEventID(context.Background(), e.actor.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, last)
	}
	return ids
}

func (e *env) webhook(t *testing.T) *atende.Webhook {
	t.Helper()
	w, err := e.st.Webhook(context.Background(), e.actor.TenantID, e.hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) worker(holder string) *Worker {
	return &Worker{Store: e.st, Secrets: e.box, Guard: &Guard{AllowLoopback: true}, Holder: holder, Version: "test",
		Lag: 20 * time.Millisecond, Every: 10 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond, Timeout: 5 * time.Second}
}

// until runs step (one round of delivery) until done holds, failing the
// test after a generous deadline.
func until(t *testing.T, what string, step func(), done func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		step()
		time.Sleep(5 * time.Millisecond)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeliversWantedEventsInOrderSigned(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		e := newEnv(t, st, rc.srv.URL+"/hooks?token=abc", "skill.*")
		want := e.skills(t, 5)
		// Events the webhook did not ask for are passed over.
		if err := st.CreateTeam(ctx, e.actor, &atende.Team{Name: "Madrid"}); err != nil {
			t.Fatal(err)
		}
		w := e.worker("node-1")
		until(t, "five deliveries", func() { w.RunOnce(ctx) }, func() bool { return len(rc.requests()) >= 5 })
		if got := rc.eventIDs(); !equalIDs(got, want) {
			t.Fatalf("delivered %v, want %v in order", got, want)
		}
		for _, r := range rc.requests() {
			h := r.header
			if err := Verify(e.secret, h.Get("Atende-Signature"), r.body, 5*time.Minute, time.Now()); err != nil {
				t.Fatalf("signature %q does not verify: %v", h.Get("Atende-Signature"), err)
			}
			if err := Verify("whsec_other", h.Get("Atende-Signature"), r.body, 5*time.Minute, time.Now()); err == nil {
				t.Fatal("signature verifies with another secret")
			}
			if h.Get("Atende-Webhook-Id") != e.hook.ID || h.Get("Atende-Event-Id") != strconv.FormatInt(r.event.ID, 10) ||
				!strings.HasPrefix(h.Get("Atende-Signature"), "t="+h.Get("Atende-Timestamp")+",v1=") || h.Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", h)
			}
			if r.event.Type != "skill.created" || r.event.TenantID != e.actor.TenantID || r.event.Subject == "" || r.event.At.IsZero() || len(r.event.Data) == 0 {
				t.Fatalf("payload %s", r.body)
			}
		}
		// The team event moves the cursor without a request.
		last, _ := st.LastEventID(ctx, e.actor.TenantID)
		until(t, "the cursor to pass the team event", func() { w.RunOnce(ctx) }, func() bool { return e.webhook(t).Cursor == last })
		if n := len(rc.requests()); n != 5 {
			t.Fatalf("%d requests, want 5", n)
		}
		log, err := st.WebhookDeliveries(ctx, e.actor.TenantID, e.hook.ID)
		if err != nil || len(log) != 5 || log[0].EventID != want[4] || log[0].StatusCode != 200 || log[0].Error != "" {
			t.Fatalf("delivery log %+v %v", log, err)
		}
	})
}

func TestRetriesAfterAServerErrorThenDelivers(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rc := newReceiver(t, func(n int, _ *http.Request) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		})
		e := newEnv(t, st, rc.srv.URL, "skill.created")
		want := e.skills(t, 2)
		w := e.worker("node-1")
		until(t, "the failed attempt", func() { w.RunOnce(ctx) }, func() bool { return len(rc.requests()) >= 1 })
		if h := e.webhook(t); h.State != atende.WebhookFailing || h.Failures != 1 || len(rc.requests()) != 1 {
			t.Fatalf("after a 500: state %s failures %d requests %d", h.State, h.Failures, len(rc.requests()))
		}
		until(t, "both events", func() { w.RunOnce(ctx) }, func() bool { return len(rc.requests()) >= 3 })
		if got := rc.eventIDs(); !equalIDs(got, []int64{want[0], want[0], want[1]}) {
			t.Fatalf("requests for events %v, want the first twice then the second", got)
		}
		if a, b := rc.requests()[0].header.Get("Atende-Event-Id"), rc.requests()[1].header.Get("Atende-Event-Id"); a != b {
			t.Fatalf("a retry carries another event id: %s, %s", a, b)
		}
		h := e.webhook(t)
		if h.State != atende.WebhookHealthy || h.Failures != 0 || h.LastError != "" || h.Cursor != want[1] {
			t.Fatalf("after success: %+v", h)
		}
		log, _ := st.WebhookDeliveries(ctx, e.actor.TenantID, e.hook.ID)
		if len(log) != 3 || log[2].StatusCode != 500 || log[2].Error != "HTTP 500" || log[1].StatusCode != 204 || log[1].EventID != want[0] {
			t.Fatalf("delivery log %+v", log)
		}
	})
}

func TestPausesAfterRepeatedFailuresAndResumes(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		healthy := false
		rc := newReceiver(t, func(int, *http.Request) int {
			mu.Lock()
			defer mu.Unlock()
			if healthy {
				return http.StatusOK
			}
			return http.StatusServiceUnavailable
		})
		e := newEnv(t, st, rc.srv.URL, "*")
		want := e.skills(t, 2)
		w := e.worker("node-1")
		w.MaxFailures = 3
		until(t, "the pause", func() { w.RunOnce(ctx) }, func() bool { return e.webhook(t).State == atende.WebhookPaused })
		h := e.webhook(t)
		if h.Failures != 3 || !strings.HasPrefix(h.LastError, "HTTP 503") || h.Cursor != e.hook.Cursor {
			t.Fatalf("paused webhook %+v", h)
		}
		// A paused webhook gets nothing, however often the worker looks.
		for i := 0; i < 5; i++ {
			w.RunOnce(ctx)
		}
		if n := len(rc.requests()); n != 3 {
			t.Fatalf("%d requests, want the 3 failed attempts", n)
		}
		mu.Lock()
		healthy = true
		mu.Unlock()
		if _, err := st.ResumeWebhook(ctx, e.actor, e.hook.ID, 0); err != nil {
			t.Fatal(err)
		}
		// Everything after the cursor arrives, in order: its own creation,
		// the two skills, and its pause and resumption.
		last, _ := st.LastEventID(ctx, e.actor.TenantID)
		until(t, "the backlog", func() { w.RunOnce(ctx) }, func() bool { return e.webhook(t).Cursor == last })
		var types []string
		for _, r := range rc.requests()[3:] {
			types = append(types, r.event.Type)
		}
		if ids := rc.eventIDs()[3:]; strings.Join(types, " ") != "webhook.created skill.created skill.created webhook.paused webhook.resumed" ||
			ids[1] != want[0] || ids[2] != want[1] || ids[4] != last {
			t.Fatalf("after resume delivered %v %v, want the backlog from the cursor", ids, types)
		}
		if h := e.webhook(t); h.State != atende.WebhookHealthy || h.Failures != 0 {
			t.Fatalf("resumed webhook %+v", h)
		}
	})
}

func TestKilledWorkerResumesFromTheCursorWithoutLoss(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		w1ctx, kill := context.WithCancel(ctx)
		rc := newReceiver(t, func(n int, r *http.Request) int {
			if n == 3 {
				// The node dies while the third event is on the wire:
				// the endpoint has it, the node never learns so.
				kill()
				<-r.Context().Done()
			}
			return http.StatusOK
		})
		e := newEnv(t, st, rc.srv.URL, "skill.*")
		want := e.skills(t, 6)
		w1 := e.worker("node-1")
		stopped := make(chan struct{})
		go func() { w1.Run(w1ctx); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
			t.Fatal("the worker did not stop when its context ended")
		}
		if n := len(rc.requests()); n != 3 {
			t.Fatalf("%d requests before the kill, want 3", n)
		}
		if c := e.webhook(t).Cursor; c != want[1] {
			t.Fatalf("cursor %d after the kill, want %d (the last acknowledged)", c, want[1])
		}
		// The restarted node takes the webhook back and sends the third
		// event again: a duplicate the receiver recognises by its id.
		w2 := e.worker("node-1")
		until(t, "every event", func() { w2.RunOnce(ctx) }, func() bool { return e.webhook(t).Cursor == want[5] })
		got := rc.eventIDs()
		if !equalIDs(got, []int64{want[0], want[1], want[2], want[2], want[3], want[4], want[5]}) {
			t.Fatalf("delivered %v, want every event of %v in order, the third twice", got, want)
		}
		r := rc.requests()
		if r[2].header.Get("Atende-Event-Id") != r[3].header.Get("Atende-Event-Id") {
			t.Fatal("the redelivery carries another Atende-Event-Id")
		}
	})
}

func TestTwoNodesNeverDeliverTheSameWebhookAtOnce(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		rc := newReceiver(t, func(int, *http.Request) int {
			time.Sleep(2 * time.Millisecond) // widen the window two senders would overlap in
			return http.StatusOK
		})
		e := newEnv(t, st, rc.srv.URL, "skill.*")
		want := e.skills(t, 20)
		var wg sync.WaitGroup
		for _, node := range []string{"node-1", "node-2"} {
			w := e.worker(node)
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
		}
		until(t, "every event", func() {}, func() bool { return e.webhook(t).Cursor == want[19] })
		cancel()
		wg.Wait()
		if got := rc.eventIDs(); !equalIDs(got, want) {
			t.Fatalf("delivered %v, want each of %v once, in order", got, want)
		}
		if rc.maxInFlight != 1 {
			t.Fatalf("%d requests in flight at once, want 1", rc.maxInFlight)
		}
	})
}

func TestRefusesPrivateAddressesAtDeliveryTime(t *testing.T) {
	storetest.ForEach(t, store.Config{}, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		// Stored as if its name had resolved to a public address when it
		// was set, and to loopback now.
		e := newEnv(t, st, rc.srv.URL, "*")
		e.skills(t, 1)
		w := e.worker("node-1")
		w.Guard = &Guard{}
		until(t, "a failed attempt", func() { w.RunOnce(ctx) }, func() bool { return e.webhook(t).Failures > 0 })
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("the loopback receiver got %d requests", n)
		}
		if h := e.webhook(t); !strings.Contains(h.LastError, "public addresses") {
			t.Fatalf("last error %q", h.LastError)
		}
	})
}

func TestDeliveryBoundsTheAnswer(t *testing.T) {
	big := strings.Repeat("x", 4*MaxResponse)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big-error":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "upstream down "+big)
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/slow":
			// Read the body first: the server notices a client that has
			// gone only once the request is consumed.
			io.ReadAll(r.Body)
			<-r.Context().Done()
		default:
			io.WriteString(w, big)
		}
	}))
	defer srv.Close()
	w := &Worker{Guard: &Guard{AllowLoopback: true}, Timeout: 300 * time.Millisecond, Version: "test"}
	w.Client = NewClient(w.Guard, w.Timeout)
	c := &store.WebhookClaim{Webhook: atende.Webhook{ID: atende.NewID()}}
	ev := atende.Event{ID: 7, Type: "task.created", TenantID: "t", Data: json.RawMessage(`{}`)}
	for _, tc := range []struct {
		path, wantErr string
		status        int
	}{
		{"/ok", "", 200},
		{"/big-error", "HTTP 502: upstream down xxx", 502},
		{"/redirect", "HTTP 302", 302},
		{"/slow", "no answer in time", 0},
	} {
		c.URL = srv.URL + tc.path
		at := w.deliver(context.Background(), c, "whsec_x", ev)
		if !strings.HasPrefix(at.Err, tc.wantErr) || (tc.wantErr == "" && at.Err != "") || at.StatusCode != tc.status || len(at.Err) > 300 {
			t.Errorf("%s: status %d err %q (%d bytes)", tc.path, at.StatusCode, at.Err, len(at.Err))
		}
	}
}

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	w := &Worker{RetryBase: 10 * time.Second, RetryMax: time.Hour}
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 30: time.Hour} {
		for i := 0; i < 50; i++ {
			if d := w.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
}
