package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
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
	if after < 0 {
		last, err := s.cfg.Store.LastEventID(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		after = last
	}
	// Accept checks that the Origin is this host, which stops other sites
	// from opening a stream with the user's cookie.
	c, err := websocket.Accept(w, r, nil)
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
	err = s.streamEvents(c.CloseRead(ctx), c, p, after)
	switch {
	case err == nil, errors.Is(err, context.Canceled), websocket.CloseStatus(err) != -1:
		c.Close(websocket.StatusNormalClosure, "")
	default:
		s.log.Debug("event stream ended", "err", err)
		c.Close(websocket.StatusInternalError, "stream error; reconnect with ?after=<last id>")
	}
	return nil
}

func (s *Server) streamEvents(ctx context.Context, c *websocket.Conn, p *principal, after int64) error {
	send := func(e atende.Event) error {
		if e.ID != 0 { // transient events (typing) are not stored and move no cursor
			after = e.ID
		}
		if !p.sees(e) {
			return nil
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, b)
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
			for _, e := range evs {
				if err := send(e); err != nil {
					return err
				}
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
			case <-recheck.C:
				// A deactivated user or revoked token stops receiving.
				if !s.stillValid(ctx, p) {
					return c.Close(websocket.StatusPolicyViolation, "credentials no longer valid")
				}
			case e, ok := <-sub:
				if !ok {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					break live // dropped for falling behind: catch up from the store
				}
				if e.ID != 0 && e.ID <= after {
					continue
				}
				if err := send(e); err != nil {
					return err
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
