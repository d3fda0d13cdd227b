package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/coder/websocket"
)

// replayBatch bounds one read of stored events while catching up.
const replayBatch = 500

func (s *Server) routesEvents() {
	s.handle(route{Method: "GET", Path: "/events", Perm: atende.PermEventsRead, Tag: "events",
		Summary: "Events after a cursor, for clients that poll instead of using the WebSocket", Out: eventPage{}, Query: []param{
			{"after", "integer", "id of the last event seen (0: from the start of what is kept)"},
			{"limit", "integer", "at most this many, 1-500 (default 100)"},
		},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			after, err := queryInt(r, "after", 0)
			if err != nil {
				return err
			}
			limit, err := queryInt(r, "limit", 100)
			if err != nil {
				return err
			}
			if limit < 1 || limit > 500 {
				return atende.FieldError("limit", "must be between 1 and 500")
			}
			evs, err := s.cfg.Store.Events(r.Context(), p.TenantID, int64(after), limit)
			if err != nil {
				return err
			}
			page := eventPage{Items: []atende.Event{}, Last: int64(after)}
			for _, e := range evs {
				page.Last = e.ID
				if p.sees(e) {
					page.Items = append(page.Items, e)
				}
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "GET", Path: "/ws", Perm: atende.PermEventsRead, Tag: "events",
		Summary: "WebSocket stream of the events you may see; ?after=ID resumes after a reconnect", Query: []param{
			{"after", "integer", "id of the last event received; omitted: only new events"},
			{"scope", "string", "own: conversation events only for the conversations offered or assigned to you and those you watch"},
		},
		Status: http.StatusSwitchingProtocols, handler: s.serveWS})
}

// eventPage is one page of polled events. Last is the cursor for the next
// poll; it moves past events the caller may not see.
type eventPage struct {
	Items []atende.Event `json:"items"`
	Last  int64          `json:"last"`
}

// serveWS streams events: first the stored ones after the client's cursor,
// then live ones from the bus. When the bus drops a slow client, the stream
// catches up from the store again, so a client never misses an event.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, p *principal) error {
	after := int64(-1)
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return atende.FieldError("after", "must be an event id")
		}
		after = n
	}
	scopeName := r.URL.Query().Get("scope")
	if scopeName != "" && scopeName != "own" {
		return atende.FieldError("scope", "must be own or absent")
	}
	if after < 0 {
		last, err := s.cfg.Store.LastEventID(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		after = last
	}
	// The tasks are read after the cursor: a task event in between is both
	// in them and replayed (which is harmless), never in neither.
	var scope *streamScope
	if scopeName == "own" {
		sc, err := s.ownScope(r.Context(), p)
		if err != nil {
			return err
		}
		scope = sc
	}
	// Accept checks that the Origin is this host, which stops other sites
	// from opening a stream with the user's cookie.
	out := &batchWriter{}
	c, err := websocket.Accept(out.hijacking(w), r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	s.wsClients.Inc()
	defer s.wsClients.Dec()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var watches chan watchRequest
	loopDone := make(chan struct{})
	streamCtx := ctx // not ctx itself: the goroutine above reads it
	if scope == nil {
		streamCtx = c.CloseRead(ctx)
	} else {
		watches = make(chan watchRequest)
		go s.readWatches(ctx, cancel, loopDone, c, p, watches)
	}
	err = s.streamEvents(streamCtx, c, out, p, after, scope, watches)
	close(loopDone) // the reader, if any, stays to read the close handshake
	switch {
	case err == nil, errors.Is(err, context.Canceled), websocket.CloseStatus(err) != -1:
		c.Close(websocket.StatusNormalClosure, "")
	default:
		s.log.Debug("event stream ended", "err", err)
		c.Close(websocket.StatusInternalError, "stream error; reconnect with ?after=<last id>")
	}
	return nil
}

func (s *Server) streamEvents(ctx context.Context, c *websocket.Conn, out *batchWriter, p *principal, after int64,
	scope *streamScope, watches <-chan watchRequest) error {
	send := func(e atende.Event) error {
		if e.ID != 0 { // transient events (typing) are not stored and move no cursor
			after = e.ID
		}
		if scope != nil {
			scope.track(e)
			if !scope.allows(e) {
				return nil
			}
		}
		if !p.sees(e) {
			return nil
		}
		b, err := s.eventJSON.encode(e)
		if err != nil {
			return err
		}
		// Frames are sent only while out holds them; the system call, with
		// its deadline, is out.release's. No timer per frame, then.
		return c.Write(context.Background(), websocket.MessageText, b)
	}
	recheck := time.NewTicker(time.Minute)
	defer recheck.Stop()
	for {
		// Subscribe before replaying, so nothing falls between the two.
		sub := s.cfg.Bus.Subscribe(ctx, p.TenantID)
		for {
			evs, err := s.cfg.Store.Events(ctx, p.TenantID, after, replayBatch)
			if err != nil {
				return err
			}
			out.hold()
			for _, e := range evs {
				if err := send(e); err != nil {
					return err
				}
			}
			if err := out.release(10 * time.Second); err != nil {
				return err
			}
			if len(evs) < replayBatch {
				break
			}
		}
	live:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case w := <-watches:
				out.hold()
				for _, f := range scope.apply(w) {
					b, err := json.Marshal(f)
					if err != nil {
						return err
					}
					if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
						return err
					}
				}
				if err := out.release(10 * time.Second); err != nil {
					return err
				}
			case <-recheck.C:
				// A deactivated user or revoked token stops receiving.
				if !s.stillValid(ctx, p) {
					return c.Close(websocket.StatusPolicyViolation, "credentials no longer valid")
				}
			case e, ok := <-sub:
				// Events already queued behind this one go out with it in
				// one write to the socket: a stream that falls behind
				// catches up in fewer, larger writes.
				out.hold()
				for n := 0; ok; n++ {
					if e.ID == 0 || e.ID > after {
						if err := send(e); err != nil {
							return err
						}
					}
					if n == maxBatch-1 || len(sub) == 0 {
						break
					}
					e, ok = <-sub
				}
				if err := out.release(10 * time.Second); err != nil {
					return err
				}
				if !ok {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					break live // dropped for falling behind: catch up from the store
				}
			}
		}
	}
}

// stillValid reports whether the principal's user is still active (and its
// token not revoked).
func (s *Server) stillValid(ctx context.Context, p *principal) bool {
	u, err := s.cfg.Store.User(ctx, p.TenantID, p.UserID)
	if err != nil || !u.Active {
		return false
	}
	if p.TokenID != "" {
		t, err := s.cfg.Store.APIToken(ctx, p.TenantID, p.TokenID)
		return err == nil && t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(time.Now()))
	}
	return true
}

// sees reports whether an event is for the principal: it needs the event's
// permission, and a personal event (an offer, an agent's state) reaches only
// the user it is about, unless the principal may see everyone's tasks.
func (p *principal) sees(e atende.Event) bool {
	if !p.can(e.Perm) {
		return false
	}
	if p.can(atende.PermTasksManage) {
		return true
	}
	personal := e.Audience != "" || strings.HasPrefix(e.Type, "task.") || e.Type == "agent.state_changed"
	return !personal || e.Audience == p.UserID
}

// maxBatch bounds the events written to a desktop's socket at once.
const maxBatch = 64

// batchWriter is what a desktop's WebSocket writes to: the hijacked
// connection, except between hold and release, when the frames are kept
// and then written in one go. Every frame is still its own WebSocket
// message; only the system calls (and TCP segments) are fewer, which is
// most of the cost of streaming an event to hundreds of desktops.
type batchWriter struct {
	conn net.Conn

	mu      sync.Mutex
	holding bool
	buf     []byte
}

// hijacking wraps w so that the WebSocket library, when it takes over the
// connection, writes through b.
func (b *batchWriter) hijacking(w http.ResponseWriter) http.ResponseWriter {
	return batchHijacker{w, b}
}

type batchHijacker struct {
	http.ResponseWriter
	b *batchWriter
}

func (h batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.b.conn = conn
	return conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.b, 4<<10)), nil
}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holding {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.conn.Write(p)
}

// hold keeps what is written until release.
func (b *batchWriter) hold() {
	b.mu.Lock()
	b.holding = true
	b.mu.Unlock()
}

// release writes what was kept, within timeout, and writes through again.
func (b *batchWriter) release(timeout time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	if len(b.buf) == 0 {
		return nil
	}
	b.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := b.conn.Write(b.buf)
	b.conn.SetWriteDeadline(time.Time{})
	if cap(b.buf) > 64<<10 {
		b.buf = nil // a burst's buffer is not kept for the life of the socket
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// eventJSON remembers the encoding of recent events. Every desktop stream
// of a tenant sends the same event, so it is encoded once rather than once
// per stream: with hundreds of agents connected that was most of the
// server's work per event.
type eventJSON struct {
	mu   sync.Mutex
	byID map[eventKey]*encodedEvent
	ring []eventKey // the keys in byID, oldest replaced first
	next int
}

type eventKey struct {
	tenantID string
	id       int64
}

type encodedEvent struct {
	once sync.Once
	b    []byte
	err  error
}

// eventJSONSize is how many recent events keep their encoding: enough
// for every stream to be a few seconds behind at thousands of events a
// second; a stream further behind encodes for itself.
const eventJSONSize = 8192

func newEventJSON(size int) *eventJSON {
	return &eventJSON{byID: make(map[eventKey]*encodedEvent, size), ring: make([]eventKey, size)}
}

// encode returns e as JSON. The bytes are shared: callers must not change
// them. Transient events (ID 0) are encoded each time.
func (c *eventJSON) encode(e atende.Event) ([]byte, error) {
	if e.ID == 0 {
		return json.Marshal(e)
	}
	k := eventKey{e.TenantID, e.ID}
	c.mu.Lock()
	x := c.byID[k]
	if x == nil {
		x = &encodedEvent{}
		if old := c.ring[c.next]; old.id != 0 {
			delete(c.byID, old)
		}
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
		c.byID[k] = x
	}
	c.mu.Unlock()
	x.once.Do(func() { x.b, x.err = json.Marshal(e) })
	return x.b, x.err
}
