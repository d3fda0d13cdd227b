package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
)

// MaxResponse is how much of an endpoint's answer is read.
const MaxResponse = 64 << 10

// Payload is the JSON body a webhook receives for one event.
type Payload struct {
	ID       int64           `json:"id"`
	Type     string          `json:"type"`
	TenantID string          `json:"tenant_id"`
	Subject  string          `json:"subject"`
	At       time.Time       `json:"at"`
	Data     json.RawMessage `json:"data"`
}

// Worker delivers events to webhooks. Every node runs one; a lease in the
// store makes one worker at a time deliver a given webhook, in event order.
type Worker struct {
	Store   *store.Store
	Secrets *secrets.Box
	Guard   *Guard
	Log     *slog.Logger
	// Holder names this node in the webhooks' leases; keep it stable
	// across restarts, so a restarted node takes its webhooks back at once.
	Holder  string
	Version string // in the User-Agent
	// Lag keeps delivery this far behind the present on PostgreSQL, so an
	// event whose transaction committed after one with a higher id is not
	// passed over (default 2 s). SQLite commits in id order and needs none.
	Lag time.Duration
	// Every is the pause between looks for due webhooks (default 1 s).
	Every time.Duration
	// Timeout bounds one delivery, answer included (default 10 s).
	Timeout time.Duration
	// RetryBase is the wait after the first failure, doubled after each
	// further one up to RetryMax (defaults 10 s and 1 h), with jitter.
	RetryBase, RetryMax time.Duration
	// MaxFailures consecutive failures pause the webhook (default 10).
	MaxFailures int
	// Concurrency is how many webhooks this node delivers at once (default 8).
	Concurrency int
	// LeaseTTL is how long a claim lasts unless renewed (default 1 min).
	LeaseTTL time.Duration
	// Batch is the most events read at a time (default 100).
	Batch int
	// Client sends the requests (default: one that dials through Guard).
	Client *http.Client

	once sync.Once
}

func (w *Worker) defaults() {
	w.once.Do(func() {
		if w.Guard == nil {
			w.Guard = &Guard{}
		}
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
		if w.Holder == "" {
			w.Holder = "node"
		}
		if w.Lag == 0 && w.Store.Dialect() != store.SQLite {
			w.Lag = 2 * time.Second
		}
		if w.Every == 0 {
			w.Every = time.Second
		}
		if w.Timeout == 0 {
			w.Timeout = 10 * time.Second
		}
		if w.RetryBase == 0 {
			w.RetryBase = 10 * time.Second
		}
		if w.RetryMax == 0 {
			w.RetryMax = time.Hour
		}
		if w.MaxFailures == 0 {
			w.MaxFailures = 10
		}
		if w.Concurrency == 0 {
			w.Concurrency = 8
		}
		if w.LeaseTTL == 0 {
			w.LeaseTTL = time.Minute
		}
		if w.Batch == 0 {
			w.Batch = 100
		}
		if w.Client == nil {
			w.Client = NewClient(w.Guard, w.Timeout)
		}
	})
}

// NewClient returns an HTTP client for webhooks: it connects only to
// addresses g allows, ignores proxy settings (a proxy would connect for
// it, unchecked), follows no redirects and gives up after timeout.
func NewClient(g *Guard, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: g.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       time.Minute,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run delivers until ctx ends, then waits for deliveries in flight to stop.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	var mu sync.Mutex
	busy := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		mu.Lock()
		ids := make([]string, 0, len(busy))
		for id := range busy {
			ids = append(ids, id)
		}
		mu.Unlock()
		if free := w.Concurrency - len(ids); free > 0 {
			claims, err := w.Store.ClaimDueWebhooks(ctx, w.Holder, w.LeaseTTL, free, ids)
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("claim webhooks", "err", err)
			}
			for i := range claims {
				c := &claims[i]
				mu.Lock()
				busy[c.ID] = true
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.drain(ctx, c)
					mu.Lock()
					delete(busy, c.ID)
					mu.Unlock()
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce delivers what is due now to every webhook it can claim and
// returns when they are done.
func (w *Worker) RunOnce(ctx context.Context) error {
	w.defaults()
	claims, err := w.Store.ClaimDueWebhooks(ctx, w.Holder, w.LeaseTTL, w.Concurrency, nil)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.drain(ctx, &claims[i])
		}()
	}
	wg.Wait()
	return nil
}

// drainBudget bounds one claim, so changed settings and a rotated secret
// are read again at least this often.
const drainBudget = 30 * time.Second

// drain delivers a claimed webhook's pending events in order until none is
// left, one fails, the budget is spent or the lease is lost; then it gives
// the lease up.
func (w *Worker) drain(ctx context.Context, c *store.WebhookClaim) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.Store.ReleaseWebhookLease(rctx, c); err != nil {
			w.Log.Warn("release webhook lease", "webhook", c.ID, "err", err)
		}
	}()
	start := time.Now()
	leaseUntil := start.Add(w.LeaseTTL)
	secret, openErr := w.Secrets.Open(c.SealedSecret, SecretContext(c.TenantID))
	for ctx.Err() == nil && time.Since(start) < drainBudget {
		before := time.Now().Add(-w.Lag)
		if w.Lag == 0 {
			before = time.Now().Add(time.Hour)
		}
		events, rerr := w.Store.WebhookEvents(ctx, c.TenantID, c.Cursor, before, w.Batch)
		if rerr != nil {
			if ctx.Err() == nil {
				w.Log.Warn("read events for webhook", "webhook", c.ID, "err", rerr)
			}
			return
		}
		if len(events) == 0 {
			return
		}
		for _, e := range events {
			if !c.Wants(e.Type) {
				continue
			}
			if time.Until(leaseUntil) < w.LeaseTTL/2 {
				if err := w.Store.RenewWebhookLease(ctx, c, w.LeaseTTL); err != nil {
					w.Log.Warn("webhook lease lost", "webhook", c.ID, "err", err)
					return
				}
				leaseUntil = time.Now().Add(w.LeaseTTL)
			}
			var at store.WebhookAttempt
			if openErr != nil {
				at = store.WebhookAttempt{EventID: e.ID, EventType: e.Type, Err: "cannot open the signing secret: " + openErr.Error()}
			} else {
				at = w.deliver(ctx, c, secret, e)
			}
			if ctx.Err() != nil {
				return // stopping: the event is sent again by whoever delivers next
			}
			if at.Err != "" {
				at.Pause = c.Failures+1 >= w.MaxFailures
				at.RetryIn = w.backoff(c.Failures + 1)
			}
			if rerr := w.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), c, at); rerr != nil {
				w.Log.Warn("record webhook delivery", "webhook", c.ID, "event", e.ID, "err", rerr)
				return
			}
			if at.Err != "" {
				w.Log.Info("webhook delivery failed", "webhook", c.ID, "tenant", c.TenantID, "event", e.ID, "status", at.StatusCode,
					"failures", c.Failures, "paused", at.Pause, "err", at.Err)
				return
			}
		}
		// Events nobody asked for are passed over in one step.
		if last := events[len(events)-1].ID; last > c.Cursor {
			if err := w.Store.AdvanceWebhook(context.WithoutCancel(ctx), c, last); err != nil {
				w.Log.Warn("advance webhook", "webhook", c.ID, "err", err)
				return
			}
		}
	}
}

// backoff is the wait before the attempt after the n-th consecutive
// failure: RetryBase doubled n-1 times, at most RetryMax, of which a random
// half, so that many webhooks failing together do not retry together.
func (w *Worker) backoff(n int) time.Duration {
	d := w.RetryBase
	for i := 1; i < n && d < w.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// deliver sends one event and says how it went.
func (w *Worker) deliver(ctx context.Context, c *store.WebhookClaim, secret string, e atende.Event) store.WebhookAttempt {
	at := store.WebhookAttempt{EventID: e.ID, EventType: e.Type}
	if err := w.Guard.CheckURL(ctx, c.URL); err != nil {
		at.Err = errorText(err)
		return at
	}
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(Payload{ID: e.ID, Type: e.Type, TenantID: e.TenantID, Subject: e.Subject, At: e.At, Data: data})
	if err != nil {
		at.Err = "encode event: " + err.Error()
		return at
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		at.Err = errorText(err)
		return at
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "atende-webhook/"+w.Version)
	req.Header.Set("Atende-Webhook-Id", c.ID)
	req.Header.Set("Atende-Event-Id", strconv.FormatInt(e.ID, 10))
	req.Header.Set("Atende-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("Atende-Signature", Sign(secret, now, body))
	resp, err := w.Client.Do(req)
	if err != nil {
		at.Duration = time.Since(now)
		at.Err = errorText(err)
		return at
	}
	// A 2xx status is the receipt: an answer cut short by the timeout
	// does not undo it.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	resp.Body.Close()
	at.Duration, at.StatusCode = time.Since(now), resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		at.Err = "HTTP " + strconv.Itoa(resp.StatusCode)
		if s := snippet(answer); s != "" {
			at.Err += ": " + s
		}
	}
	return at
}

// errorText describes a delivery error without the URL, which may carry an
// integrator's token in its query.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ae *atende.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "no answer in time"
	}
	return err.Error()
}

// snippet is the start of an endpoint's answer, for the delivery log.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
}
