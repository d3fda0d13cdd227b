package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/coder/websocket"
)

func (a *testAPI) dialEvents(ctx context.Context, token string, after int64) *websocket.Conn {
	a.t.Helper()
	u := "ws" + strings.TrimPrefix(a.http.URL, "http") + apiPrefix + "/ws"
	if after >= 0 {
		u += "?after=" + strconv.FormatInt(after, 10)
	}
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		a.t.Fatalf("dial events: %v", err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	return c
}

func readEvent(t *testing.T, ctx context.Context, c *websocket.Conn) atende.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var e atende.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (a *testAPI) addNote(token, body string) {
	a.t.Helper()
	if r := a.do("POST", apiPrefix+"/conversations/"+a.ids["conversation"]+"/notes", token, map[string]string{"body": body}, nil, nil); r.StatusCode != 201 {
		a.t.Fatalf("add note: %d", r.StatusCode)
	}
}

// TestEventStreamResumesWithoutLossOrDuplicates: a client that drops and
// reconnects with ?after= receives exactly the events it missed, in order.
func TestEventStreamResumesWithoutLossOrDuplicates(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	agent := a.tokens["agent"]
	c := a.dialEvents(ctx, agent, -1)
	a.addNote(agent, "one")
	e := readEvent(t, ctx, c) // the timeline entry
	if e.Type != "conversation.event_appended" || e.TenantID != a.tenant["a"].ID || !strings.Contains(string(e.Data), `"one"`) {
		t.Fatalf("first event %+v", e)
	}
	last := e.ID
	c.Close(websocket.StatusNormalClosure, "")

	for _, body := range []string{"two", "three", "four"} {
		a.addNote(agent, body)
	}
	c = a.dialEvents(ctx, agent, last)
	for _, want := range []string{"two", "three", "four"} {
		e := readEvent(t, ctx, c)
		if e.ID <= last || !strings.Contains(string(e.Data), `"`+want+`"`) {
			t.Fatalf("after reconnect got %+v, want the note %q after id %d", e, want, last)
		}
		last = e.ID
	}
	a.addNote(agent, "five") // live again after the catch-up
	if e := readEvent(t, ctx, c); !strings.Contains(string(e.Data), `"five"`) || e.ID <= last {
		t.Fatalf("live after resume: %+v", e)
	}
}

// TestEventStreamIsScoped: an agent never receives events about API tokens
// (admin only), and tenant B never receives tenant A's events.
func TestEventStreamIsScoped(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	agentStream := a.dialEvents(ctx, a.tokens["agent"], -1)
	adminStream := a.dialEvents(ctx, a.tokens["admin"], -1)
	bStream := a.dialEvents(ctx, a.tokens["b-admin"], -1)
	if r := a.do("POST", apiPrefix+"/tokens", a.tokens["admin"], map[string]string{"name": "crm"}, nil, nil); r.StatusCode != 201 {
		t.Fatalf("create token: %d", r.StatusCode)
	}
	a.addNote(a.tokens["agent"], "visible")
	if e := readEvent(t, ctx, adminStream); e.Type != "token.created" {
		t.Fatalf("admin first event %q, want token.created", e.Type)
	}
	if e := readEvent(t, ctx, agentStream); e.Type != "conversation.event_appended" {
		t.Fatalf("agent first event %q: saw an admin-only event", e.Type)
	}
	// Tenant B's stream gets its own tenant's change and nothing before it.
	if r := a.do("POST", apiPrefix+"/skills", a.tokens["b-admin"], map[string]string{"name": "Vendas"}, nil, nil); r.StatusCode != 201 {
		t.Fatalf("create skill in B: %d", r.StatusCode)
	}
	if e := readEvent(t, ctx, bStream); e.Type != "skill.created" || e.TenantID != a.tenant["b"].ID {
		t.Fatalf("tenant B received %+v", e)
	}
}

func TestEventPolling(t *testing.T) {
	a := newTestAPI(t)
	var page eventPage
	a.do("GET", apiPrefix+"/events?after=0&limit=500", a.tokens["planner"], nil, nil, &page)
	if len(page.Items) == 0 || page.Last == 0 {
		t.Fatalf("planner sees no events: %+v", page)
	}
	for _, e := range page.Items {
		if strings.HasPrefix(e.Type, "token.") || strings.HasPrefix(e.Type, "conversation.") {
			t.Fatalf("planner sees %s", e.Type)
		}
	}
}

// TestDesktopStreamCarriesVisitorTyping: a visitor's typing reaches the
// desktop's stream as a transient chat.typing event (id 0) without moving
// the cursor, and the next stored event follows as usual; another visitor's
// socket hears nothing of this chat.
func TestDesktopStreamCarriesVisitorTyping(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	s := a.startChat(a.ids["chat_widget"], chatIn)
	other := a.startChat(a.ids["chat_widget"], map[string]any{"name": "Bea", "email": "bea@example.com", "consent": true})
	otherWS := a.dialChat(ctx, other.Token, 0)
	readFrame(t, otherWS, "session")
	desk := a.dialEvents(ctx, a.tokens["agent"], -1)
	// Typing is transient: what is sent before the stream has subscribed is
	// gone, so the visitor keeps signalling (as the widget does while
	// typing) until the desktop hears it.
	type read struct {
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		// One read: a read whose context ends closes the connection.
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, b, err := desk.Read(rctx)
		got <- read{b, err}
	}()
	var e atende.Event
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for sent := false; ; {
		if !sent {
			if r := a.chatDo("POST", "/chat/typing", s.Token, map[string]any{"typing": true}, nil); r.StatusCode != 204 {
				t.Fatalf("typing: %d", r.StatusCode)
			}
			sent = true
		}
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatalf("no typing on the desktop stream: %v", r.err)
			}
			if err := json.Unmarshal(r.b, &e); err != nil {
				t.Fatal(err)
			}
		case <-tick.C:
			sent = false
			continue
		}
		break
	}
	var d struct {
		ConversationID string `json:"conversation_id"`
		Side           string `json:"side"`
		Typing         bool   `json:"typing"`
	}
	json.Unmarshal(e.Data, &d)
	if e.Type != "chat.typing" || e.ID != 0 || d.ConversationID != s.ConversationID || d.Side != "visitor" || !d.Typing {
		t.Fatalf("typing on the desktop stream: %+v %s", e, e.Data)
	}
	a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "x1", "body": "hola"}, nil)
	if e := readEvent(t, ctx, desk); e.ID == 0 || e.Type != "conversation.event_appended" {
		t.Fatalf("after typing: %+v", e)
	}
	// The other visitor's socket stays quiet: no message, no typing.
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	for {
		_, b, err := otherWS.Read(rctx)
		if err != nil {
			break
		}
		var f wsOut
		json.Unmarshal(b, &f)
		if f.Type != "queue" {
			t.Fatalf("another chat's visitor got %s", b)
		}
	}
}
