package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/wallboard"
	"github.com/coder/websocket"
)

// broadcastInput is a supervisor's message to the agents.
type broadcastInput struct {
	Text   string `json:"text"`
	TeamID string `json:"team_id,omitempty"` // only this team's agents; empty: every agent
}

// maxBroadcast bounds a broadcast, in characters.
const maxBroadcast = 1000

var wallboardParams = []param{
	{"team_id", "string", "only this team's agents and the queues it serves"},
	{"queue_id", "string", "only this queue and the agents who serve it"},
	{"channel", "string", "only the queues of this channel and the agents who take it"},
}

func (s *Server) routesWallboard() {
	hub := s.cfg.Wallboard
	if hub == nil {
		hub = wallboard.NewHub(wallboard.HubConfig{Source: s.cfg.Store, Bus: s.cfg.Bus, Logger: s.log})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			<-s.stop
			hub.Close()
		}()
	}
	s.wallboard = hub
	s.handle(route{Method: "GET", Path: "/wallboard", Perm: atende.PermWallboardRead, Tag: "wallboard",
		Summary: "The live wallboard: queues, agents, today's figures and alerts", Out: wallboard.Snapshot{}, Query: wallboardParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			sel, err := wallboardSelection(r)
			if err != nil {
				return err
			}
			m, err := s.wallboard.Model(r.Context(), p.TenantID)
			if err != nil {
				return err
			}
			f, err := m.Frame(r.Context())
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, err = w.Write(f.AppendJSON(nil, sel, ""))
			return err
		}})
	s.handle(route{Method: "GET", Path: "/wallboard/ws", Perm: atende.PermWallboardRead, Tag: "wallboard",
		Summary: "WebSocket of the wallboard: a snapshot first, then one whenever something changed (at most every 500 ms), alerts and broadcasts as they happen",
		Query:   wallboardParams, Status: http.StatusSwitchingProtocols, handler: s.serveWallboardWS})
	s.handle(route{Method: "POST", Path: "/broadcasts", Perm: atende.PermAgentStateManage, Tag: "wallboard",
		Summary: "Send a message to every agent's desktop, or one team's", In: broadcastInput{}, Out: store.Broadcast{}, Status: http.StatusCreated,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in broadcastInput
			if err := decode(r, &in); err != nil {
				return err
			}
			in.Text = strings.TrimSpace(in.Text)
			if in.Text == "" || utf8.RuneCountInString(in.Text) > maxBroadcast || !utf8.ValidString(in.Text) {
				return atende.FieldError("text", "must be text of 1 to %d characters", maxBroadcast)
			}
			if in.TeamID != "" && !atende.ValidID(in.TeamID) {
				return atende.FieldError("team_id", "is not a team of this tenant")
			}
			u, err := s.cfg.Store.User(r.Context(), p.TenantID, p.UserID)
			if err != nil {
				return err
			}
			b := &store.Broadcast{Text: in.Text, From: u.Name, FromID: p.UserID, TeamID: in.TeamID}
			if err := s.cfg.Store.SendBroadcast(r.Context(), p.actor(r), b); err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, b)
		}})
	s.handle(route{Method: "POST", Path: "/tasks/{id}/takeover", Perm: atende.PermTasksManage, Tag: "routing",
		Summary: "Take a task over: it is yours at once, with no offer; the agent who held it is freed (you need the agent role to hold work)", Out: routing.Task{},
		handler: s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
			return c.Takeover(id, p.UserID, now)
		})})
	s.handle(route{Method: "POST", Path: "/conversations/{id}/join", Perm: atende.PermConversationsWrite, Tag: "conversations",
		Summary: "Join a conversation: a timeline entry says you joined, and you write in it like its agent", Out: atende.TimelineEvent{}, Status: http.StatusCreated,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			u, err := s.cfg.Store.User(r.Context(), p.TenantID, p.UserID)
			if err != nil {
				return err
			}
			t, err := s.cfg.Store.Tenant(r.Context(), p.TenantID)
			if err != nil {
				return err
			}
			// Everyone reading the timeline sees the entry: the tenant's language.
			body := i18n.T(i18n.Negotiate(t.Locale, ""), "timeline.joined", u.Name)
			e, err := s.cfg.Store.JoinConversation(r.Context(), p.actor(r), id, u.Name, body)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, e)
		}})
}

// wallboardSelection reads the wallboard's filters.
func wallboardSelection(r *http.Request) (wallboard.Selection, error) {
	q := r.URL.Query()
	sel := wallboard.Selection{TeamID: q.Get("team_id"), QueueID: q.Get("queue_id"), Channel: atende.Channel(q.Get("channel"))}
	if sel.TeamID != "" && !atende.ValidID(sel.TeamID) {
		return sel, atende.FieldError("team_id", "is not an id")
	}
	if sel.QueueID != "" && !atende.ValidID(sel.QueueID) {
		return sel, atende.FieldError("queue_id", "is not an id")
	}
	if sel.Channel != "" && !atende.ValidChannel(sel.Channel) {
		return sel, atende.FieldError("channel", "must be one of voice, chat, email, sms, social")
	}
	return sel, nil
}

// serveWallboardWS streams the wallboard: the current snapshot, then a new
// one after every change (the model builds at most one every 500 ms; a
// client slower than that gets the latest only), and alerts and broadcasts
// as they happen.
func (s *Server) serveWallboardWS(w http.ResponseWriter, r *http.Request, p *principal) error {
	sel, err := wallboardSelection(r)
	if err != nil {
		return err
	}
	m, err := s.wallboard.Model(r.Context(), p.TenantID)
	if err != nil {
		return err
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
	err = s.streamWallboard(c.CloseRead(ctx), c, m, p, sel)
	switch {
	case err == nil, errors.Is(err, context.Canceled), websocket.CloseStatus(err) != -1:
		c.Close(websocket.StatusNormalClosure, "")
	default:
		s.log.Debug("wallboard stream ended", "err", err)
		c.Close(websocket.StatusInternalError, "stream error; reconnect")
	}
	return nil
}

func (s *Server) streamWallboard(ctx context.Context, c *websocket.Conn, m *wallboard.Model, p *principal, sel wallboard.Selection) error {
	write := func(b []byte) error {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, b)
	}
	sub := m.Subscribe(ctx)
	first, err := m.Frame(ctx)
	if err != nil {
		return err
	}
	sent := first
	if err := write(first.JSON(sel, "snapshot")); err != nil {
		return err
	}
	recheck := time.NewTicker(time.Minute)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-recheck.C:
			// A deactivated user or revoked token stops receiving.
			if !s.stillValid(ctx, p) {
				return c.Close(websocket.StatusPolicyViolation, "credentials no longer valid")
			}
		case <-sub.C():
			f, msgs := sub.Next()
			for _, msg := range msgs {
				if q := msg.QueueID(); q != "" && sel.QueueID != "" && q != sel.QueueID {
					continue
				}
				if err := write(msg.JSON()); err != nil {
					return err
				}
			}
			if f != nil && f.Newer(sent) {
				sent = f
				if err := write(f.JSON(sel, "snapshot")); err != nil {
					return err
				}
			}
		}
	}
}
