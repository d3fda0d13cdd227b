package httpapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/coder/websocket"
)

// maxWatched bounds the conversations one stream watches: a desktop watches
// its open tabs, a few dozen at most.
const maxWatched = 200

// streamScope narrows a desktop's stream (?scope=own) to the conversations
// its user works on. Every agent with conversations:read may see every
// conversation event of the tenant, but a desktop uses only those of its
// offers, its tasks and its open tabs; sending it the rest made the cost of
// a message grow with the number of desktops. Events that are not about one
// conversation pass unchanged.
//
// A scope belongs to one stream's loop; it is not safe for concurrent use.
type streamScope struct {
	userID string
	// tasks are the user's offered and assigned tasks, by id, with their
	// conversation; convs counts them per conversation.
	tasks   map[string]string
	convs   map[string]int
	watched map[string]bool
}

// ownScope is the scope of p's stream at connect: the conversations of the
// tasks offered or assigned to p now. The task events that follow keep it
// current.
func (s *Server) ownScope(ctx context.Context, p *principal) (*streamScope, error) {
	sc := &streamScope{userID: p.UserID, tasks: map[string]string{}, convs: map[string]int{}, watched: map[string]bool{}}
	for _, state := range []routing.TaskState{routing.TaskOffered, routing.TaskAssigned} {
		o := store.ListOptions{Limit: 200}
		for {
			page, err := s.cfg.Store.Tasks(ctx, p.TenantID, store.TaskFilter{State: state, AgentID: p.UserID}, o)
			if err != nil {
				return nil, err
			}
			for _, t := range page.Items {
				sc.set(t.ID, t.ConversationID)
			}
			if page.Next == "" {
				break
			}
			o.Cursor = page.Next
		}
	}
	return sc, nil
}

// conversationOf returns the conversation an event is about, if it is about
// one: its subject for the conversation's own events, its chat's reads,
// typing and end, its emails and its survey.
func conversationOf(e atende.Event) (string, bool) {
	for _, prefix := range []string{"conversation.", "chat.", "email.", "survey."} {
		if strings.HasPrefix(e.Type, prefix) {
			return e.Subject, e.Subject != ""
		}
	}
	return "", false
}

// track follows the user's tasks through the task events: a task offered
// to or assigned to the user brings its conversation in; the same task
// ended, returned, requeued or moved to someone else takes it out. A
// transfer's event is addressed to the new agent, so a task already known
// is followed whoever the event is for.
func (sc *streamScope) track(e atende.Event) {
	if !strings.HasPrefix(e.Type, "task.") {
		return
	}
	if _, known := sc.tasks[e.Subject]; !known && e.Audience != sc.userID {
		return
	}
	var d struct {
		Task *routing.Task `json:"task"`
	}
	if json.Unmarshal(e.Data, &d) != nil || d.Task == nil || d.Task.ID != e.Subject {
		return
	}
	t := d.Task
	if t.AgentID == sc.userID && (t.State == routing.TaskOffered || t.State == routing.TaskAssigned) {
		sc.set(t.ID, t.ConversationID)
	} else {
		sc.set(t.ID, "")
	}
}

// set records the conversation of one of the user's tasks; "" forgets the
// task.
func (sc *streamScope) set(taskID, conversationID string) {
	if old, ok := sc.tasks[taskID]; ok {
		if old == conversationID {
			return
		}
		delete(sc.tasks, taskID)
		if old != "" {
			if sc.convs[old]--; sc.convs[old] <= 0 {
				delete(sc.convs, old)
			}
		}
	}
	if conversationID == "" {
		return
	}
	sc.tasks[taskID] = conversationID
	sc.convs[conversationID]++
}

// allows reports whether the stream carries e: everything that is not about
// one conversation, and the events of the user's and the watched
// conversations.
func (sc *streamScope) allows(e atende.Event) bool {
	id, ok := conversationOf(e)
	return !ok || sc.convs[id] > 0 || sc.watched[id]
}

// watchRequest is a client's watch or unwatch, with the conversations
// already checked against the user's permissions and tenant.
type watchRequest struct {
	watch   bool
	ids     []string
	refused []scopeFrame
}

// scopeFrame is what the server answers on a scoped stream besides events.
// It has no id, which tells it apart from an event.
type scopeFrame struct {
	Type            string   `json:"type"` // watching or error
	ConversationIDs []string `json:"conversation_ids,omitempty"`
	ConversationID  string   `json:"conversation_id,omitempty"`
	Error           string   `json:"error,omitempty"`
	Detail          string   `json:"detail,omitempty"`
}

// apply changes the watched conversations and returns the frames that
// answer the request: one error per conversation refused, then the whole
// watch list.
func (sc *streamScope) apply(w watchRequest) []scopeFrame {
	out := w.refused
	for _, id := range w.ids {
		switch {
		case !w.watch:
			delete(sc.watched, id)
		case sc.watched[id]:
		case len(sc.watched) >= maxWatched:
			out = append(out, scopeFrame{Type: "error", Error: atende.EInvalid, ConversationID: id, Detail: "too many conversations watched"})
		default:
			sc.watched[id] = true
		}
	}
	list := make([]string, 0, len(sc.watched))
	for id := range sc.watched {
		list = append(list, id)
	}
	return append(out, scopeFrame{Type: "watching", ConversationIDs: list})
}

// readWatches reads a scoped stream's client messages,
//
//	{"type": "watch", "conversation_ids": ["..."]}
//	{"type": "unwatch", "conversation_ids": ["..."]}
//
// checks each conversation to watch against the user's permission and
// tenant, and hands the request to the stream's loop. When the client goes
// away it ends the stream; when the loop has ended it keeps reading, for
// the close handshake, until the connection closes.
func (s *Server) readWatches(ctx context.Context, stop context.CancelFunc, loopDone <-chan struct{}, c *websocket.Conn, p *principal, to chan<- watchRequest) {
	defer stop()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		var w watchRequest
		if watch, ids, bad := parseWatch(typ, b); bad != nil {
			w.refused = []scopeFrame{*bad}
		} else {
			w.watch = watch
			for _, id := range ids {
				if watch {
					if code, detail := s.mayWatch(ctx, p, id); code != "" {
						w.refused = append(w.refused, scopeFrame{Type: "error", Error: code, ConversationID: id, Detail: detail})
						continue
					}
				}
				w.ids = append(w.ids, id)
			}
		}
		select {
		case to <- w:
		case <-loopDone: // the stream is closing: nobody to answer
		case <-ctx.Done():
			return
		}
	}
}

// parseWatch reads one client message of a scoped stream: whether it
// watches or unwatches, and which conversations; or the error frame that
// answers a message it does not understand.
func parseWatch(typ websocket.MessageType, b []byte) (watch bool, ids []string, bad *scopeFrame) {
	var m struct {
		Type            string   `json:"type"`
		ConversationIDs []string `json:"conversation_ids"`
	}
	switch {
	case typ != websocket.MessageText || json.Unmarshal(b, &m) != nil:
		return false, nil, &scopeFrame{Type: "error", Error: "invalid_json", Detail: "a message is a JSON object"}
	case m.Type != "watch" && m.Type != "unwatch":
		return false, nil, &scopeFrame{Type: "error", Error: atende.EInvalid, Detail: "type must be watch or unwatch"}
	case len(m.ConversationIDs) > maxWatched:
		return false, nil, &scopeFrame{Type: "error", Error: atende.EInvalid, Detail: "too many conversations in one message"}
	}
	return m.Type == "watch", m.ConversationIDs, nil
}

// mayWatch checks that p may read the conversation: the permission, and the
// conversation is one of p's tenant. It returns an error code when not.
func (s *Server) mayWatch(ctx context.Context, p *principal, id string) (code, detail string) {
	if !p.can(atende.PermConversationsRead) {
		return atende.EForbidden, "needs conversations:read"
	}
	if id == "" || len(id) > 64 {
		return atende.ENotFound, "no such conversation"
	}
	if _, err := s.cfg.Store.Conversation(ctx, p.TenantID, id); err != nil {
		if c := atende.ErrorCode(err); c == atende.ENotFound {
			return c, "no such conversation"
		}
		return "internal", "could not check the conversation"
	}
	return "", ""
}
