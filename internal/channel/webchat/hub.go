package webchat

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// Update is what a visitor's connection needs to hear about its chat. One
// update may merge several events; a listener merges updates it has not
// acted on yet the same way, so it never queues more than one.
type Update struct {
	// Appended: the timeline grew; read what is new from the store by seq.
	Appended bool
	// Resync: events may have been missed (the hub's subscription was
	// dropped); re-read the chat's state from the store.
	Resync bool
	// Typing is the agent's latest typing state, when it changed.
	Typing *bool
	// ReadSeq is the agents' read mark, when it moved.
	ReadSeq int64
	// Ended: the chat ended or its conversation was resolved or closed.
	Ended bool
	// AgentID accepted the chat's task.
	AgentID string
}

// Merge folds a later update into u.
func (u *Update) Merge(o Update) {
	u.Appended = u.Appended || o.Appended
	u.Resync = u.Resync || o.Resync
	if o.Typing != nil {
		u.Typing = o.Typing
	}
	u.ReadSeq = max(u.ReadSeq, o.ReadSeq)
	u.Ended = u.Ended || o.Ended
	if o.AgentID != "" {
		u.AgentID = o.AgentID
	}
}

// Empty reports whether u says nothing.
func (u Update) Empty() bool {
	return !u.Appended && !u.Resync && u.Typing == nil && u.ReadSeq == 0 && !u.Ended && u.AgentID == ""
}

// Listener is one visitor connection. Notify is called from the hub's
// dispatch loop and must not block: it records the update and wakes the
// connection's writer.
type Listener interface {
	Notify(Update)
}

// Hub fans a tenant's events out to the visitor connections of each
// conversation. A node holds one bus subscription per tenant with visitors
// connected (not one per visitor) and wakes only the connections of the
// conversation an event is about, so a message costs one map lookup rather
// than a wake-up of every visitor of the tenant.
//
// Connections are never sent events, only told what changed: messages are
// read from the store by seq, so a connection that is slow to write simply
// catches up later, with nothing lost or repeated. When the bus drops the
// hub's subscription, every connection of the tenant is told to resync
// from the store.
type Hub struct {
	bus atende.Bus
	log *slog.Logger
	ctx context.Context
	wg  sync.WaitGroup

	mu      sync.Mutex
	tenants map[string]*hubTenant
}

type hubTenant struct {
	id     string
	cancel context.CancelFunc

	mu    sync.Mutex
	convs map[string]map[Listener]struct{}
}

// NewHub returns a hub whose subscriptions end with ctx.
func NewHub(ctx context.Context, bus atende.Bus, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{bus: bus, log: log, ctx: ctx, tenants: map[string]*hubTenant{}}
}

// Join adds l to the conversation's listeners and returns the function that
// removes it. Every event published after Join returns reaches l; the
// caller reads what came before from the store.
func (h *Hub) Join(tenantID, conversationID string, l Listener) (leave func()) {
	h.mu.Lock()
	t := h.tenants[tenantID]
	if t == nil {
		ctx, cancel := context.WithCancel(h.ctx)
		t = &hubTenant{id: tenantID, cancel: cancel, convs: map[string]map[Listener]struct{}{}}
		h.tenants[tenantID] = t
		// Subscribed here, before Join returns, so nothing published
		// after it is missed.
		sub := h.bus.Subscribe(ctx, tenantID)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.run(ctx, t, sub)
		}()
	}
	t.mu.Lock()
	ls := t.convs[conversationID]
	if ls == nil {
		ls = map[Listener]struct{}{}
		t.convs[conversationID] = ls
	}
	ls[l] = struct{}{}
	t.mu.Unlock()
	h.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { h.leave(t, conversationID, l) }) }
}

func (h *Hub) leave(t *hubTenant, conversationID string, l Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.mu.Lock()
	ls := t.convs[conversationID]
	delete(ls, l)
	if len(ls) == 0 {
		delete(t.convs, conversationID)
	}
	empty := len(t.convs) == 0
	t.mu.Unlock()
	if empty && h.tenants[t.id] == t {
		delete(h.tenants, t.id)
		t.cancel()
	}
}

// Tenants lists the tenants with visitors connected to this node.
func (h *Hub) Tenants() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.tenants))
	for id := range h.tenants {
		out = append(out, id)
	}
	return out
}

// Each calls fn for every listener of the tenant, holding the tenant's lock:
// fn must not block or call back into the hub.
func (h *Hub) Each(tenantID string, fn func(conversationID string, l Listener)) {
	h.mu.Lock()
	t := h.tenants[tenantID]
	h.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for conv, ls := range t.convs {
		for l := range ls {
			fn(conv, l)
		}
	}
}

// Wait returns when every subscription has ended (after the hub's context).
func (h *Hub) Wait() { h.wg.Wait() }

func (h *Hub) run(ctx context.Context, t *hubTenant, sub <-chan atende.Event) {
	for {
		for e := range sub {
			h.dispatch(t, e)
		}
		if ctx.Err() != nil {
			return
		}
		// Dropped for falling behind: subscribe again, then have every
		// connection read what it missed from the store.
		h.log.Warn("webchat: hub fell behind the bus; connections resync from the store", "tenant_id", t.id)
		sub = h.bus.Subscribe(ctx, t.id)
		t.mu.Lock()
		for _, ls := range t.convs {
			for l := range ls {
				l.Notify(Update{Appended: true, Resync: true})
			}
		}
		t.mu.Unlock()
	}
}

// dispatch turns one event into an update for the connections of its
// conversation, if it has any on this node.
func (h *Hub) dispatch(t *hubTenant, e atende.Event) {
	conv := e.Subject
	if e.Type == "task.accepted" {
		var d struct {
			Task struct {
				ConversationID string         `json:"conversation_id"`
				Channel        atende.Channel `json:"channel"`
				AgentID        string         `json:"agent_id"`
			} `json:"task"`
		}
		if json.Unmarshal(e.Data, &d) != nil || d.Task.Channel != atende.ChannelChat {
			return
		}
		conv = d.Task.ConversationID
	}
	if conv == "" || !t.has(conv) {
		return
	}
	u, ok := updateOf(e)
	if !ok {
		return
	}
	t.mu.Lock()
	for l := range t.convs[conv] {
		l.Notify(u)
	}
	t.mu.Unlock()
}

func (t *hubTenant) has(conv string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.convs[conv]) > 0
}

// updateOf is what an event means to the visitor of its conversation.
func updateOf(e atende.Event) (Update, bool) {
	switch e.Type {
	case "conversation.event_appended":
		return Update{Appended: true}, true
	case EventTyping:
		var ty Typing
		if json.Unmarshal(e.Data, &ty) == nil && ty.Side == store.SideAgent {
			return Update{Typing: &ty.Typing}, true
		}
	case "chat.read":
		var rd store.ChatRead
		if json.Unmarshal(e.Data, &rd) == nil && rd.Side == store.SideAgent && rd.Seq > 0 {
			return Update{ReadSeq: rd.Seq}, true
		}
	case "chat.ended":
		return Update{Ended: true}, true
	case "conversation.updated":
		var c struct {
			Status atende.ConversationStatus `json:"status"`
		}
		if json.Unmarshal(e.Data, &c) == nil && (c.Status == atende.StatusResolved || c.Status == atende.StatusClosed) {
			return Update{Ended: true}, true
		}
	case "task.accepted":
		var d struct {
			Task struct {
				AgentID string `json:"agent_id"`
			} `json:"task"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.Task.AgentID != "" {
			return Update{AgentID: d.Task.AgentID}, true
		}
	}
	return Update{}, false
}
