package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/webchat"
	"github.com/atende/atende/internal/channel/webchat/widget"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/coder/websocket"
)

const shopOrigin = "https://shop.tenant-a.es"

// chatDo is a request from the visitor's browser on the shop's site.
func (a *testAPI) chatDo(method, path, token string, body any, out any) *http.Response {
	a.t.Helper()
	return a.do(method, apiPrefix+path, token, body, map[string]string{"Origin": shopOrigin}, out)
}

func (a *testAPI) startChat(widgetID string, in map[string]any) sessionOutput {
	a.t.Helper()
	var out sessionOutput
	if r := a.chatDo("POST", "/chat/"+widgetID+"/sessions", "", in, &out); r.StatusCode != 201 && r.StatusCode != 200 {
		a.t.Fatalf("start chat: %d %s", r.StatusCode, readAll(a.t, r))
	}
	return out
}

func (a *testAPI) dialChat(ctx context.Context, token string, after int64) *websocket.Conn {
	a.t.Helper()
	u := "ws" + strings.TrimPrefix(a.http.URL, "http") + apiPrefix + "/chat/ws?token=" + url.QueryEscape(token) + "&after=" + strconv.FormatInt(after, 10)
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {shopOrigin}}})
	if err != nil {
		a.t.Fatalf("dial chat: %v", err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	return c
}

// readFrame reads visitor frames until one of type typ (skipping queue
// updates and the like), failing on a frame listed in never.
func readFrame(t *testing.T, c *websocket.Conn, typ string, never ...string) wsOut {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f wsOut
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, n := range never {
			if f.Type == n {
				t.Fatalf("unexpected %s frame while waiting for %s: %s", n, typ, b)
			}
		}
		if f.Type == typ {
			return f
		}
	}
}

var chatIn = map[string]any{"name": "Ana <b>Visitante</b>", "email": "Ana@Example.com", "consent": true, "language": "es", "page_url": "https://shop.tenant-a.es/carrito"}

// TestWebChatVisitorJourney: a visitor starts a chat from the shop's site,
// waits with a place in queue, writes (hostile markup is stripped, a resend
// is not stored twice), an agent accepts through the task API and is made
// the assignee, messages, typing and read marks flow both ways, the visitor's
// connection drops and resumes without loss or duplicates, the chat ends and
// the visitor answers CSAT once.
func TestWebChatVisitorJourney(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	wid := a.ids["chat_widget"]

	s := a.startChat(wid, chatIn)
	if s.State != "waiting" || s.Token == "" || s.Protocol == "" || s.Position == nil || s.Position.Position != 2 || s.Resumed {
		t.Fatalf("session %+v (the fixture task waits ahead)", s)
	}
	// A reload resumes the same conversation.
	in := map[string]any{"visitor_id": s.VisitorID}
	for k, v := range chatIn {
		in[k] = v
	}
	if again := a.startChat(wid, in); !again.Resumed || again.ConversationID != s.ConversationID {
		t.Fatalf("resume %+v", again)
	}
	conv, err := a.store.Conversation(ctx, a.tenant["a"].ID, s.ConversationID)
	if err != nil || conv.Channel != atende.ChannelChat || conv.QueueID != a.ids["queue"] {
		t.Fatalf("conversation %+v %v", conv, err)
	}
	contact, _ := a.store.Contact(ctx, a.tenant["a"].ID, conv.ContactID)
	if contact.Name != "Ana Visitante" || len(contact.Identities) != 2 {
		t.Fatalf("contact %+v", contact)
	}
	// The visitor id resumes chats like a password: only its hash is kept.
	for _, id := range contact.Identities {
		if id.Kind == atende.IdentityChat && (id.Value == s.VisitorID || id.Value != webchat.VisitorRef(a.tenant["a"].ID, s.VisitorID)) {
			t.Fatalf("chat identity %q for visitor %q", id.Value, s.VisitorID)
		}
	}

	ws := a.dialChat(ctx, s.Token, 0)
	if f := readFrame(t, ws, "session"); f.State != "waiting" {
		t.Fatalf("first frame %+v", f)
	}
	if f := readFrame(t, ws, "queue"); f.Position == nil || f.Position.Position != 2 {
		t.Fatalf("queue frame %+v", f)
	}

	var m webchat.Message
	hostile := map[string]string{"client_id": "m1", "body": `<script>alert(document.cookie)</script>Hola <img src=x onerror="alert(1)">equipo, <a href="javascript:alert(1)">mira</a>` + "\u202E"}
	if r := a.chatDo("POST", "/chat/messages", s.Token, hostile, &m); r.StatusCode != 201 || m.Body != "Hola equipo, mira" || m.Author != "visitor" {
		t.Fatalf("message: %d %+v", r.StatusCode, m)
	}
	var again webchat.Message
	if r := a.chatDo("POST", "/chat/messages", s.Token, hostile, &again); r.StatusCode != 200 || again.Seq != m.Seq {
		t.Fatalf("resend: %d %+v", r.StatusCode, again)
	}
	if f := readFrame(t, ws, "message"); f.Message.Seq != m.Seq || f.Message.ClientID != "m1" {
		t.Fatalf("own message back %+v", f.Message)
	}

	// The agent learns the queue's skill, logs in, accepts what is offered.
	agentID := a.users["agent"].ID
	a.do("PATCH", apiPrefix+"/users/"+agentID, a.tokens["admin"], map[string]any{"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}}},
		map[string]string{"If-Match": "*"}, nil)
	var sess sessionState
	a.chatDo("GET", "/chat/session", s.Token, nil, &sess)
	taskID := ""
	if cs, err := a.store.ChatSession(ctx, a.tenant["a"].ID, s.ConversationID); err == nil {
		taskID = cs.TaskID
	}
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", a.tokens["agent"], map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var tv taskView
		a.do("GET", apiPrefix+"/tasks/"+taskID, a.tokens["agent"], nil, nil, &tv)
		if tv.State == routing.TaskAssigned {
			break
		}
		for _, id := range []string{a.ids["task"], taskID} {
			a.do("POST", apiPrefix+"/tasks/"+id+"/accept", a.tokens["agent"], nil, nil, nil)
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat task never assigned: %+v", tv)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if f := readFrame(t, ws, "agent_joined", "message"); f.Agent != "User agent" {
		t.Fatalf("agent joined %+v", f)
	}
	for conv.AssigneeID != agentID {
		if time.Now().After(deadline) {
			t.Fatalf("conversation not assigned: %+v", conv)
		}
		time.Sleep(20 * time.Millisecond)
		conv, _ = a.store.Conversation(ctx, a.tenant["a"].ID, s.ConversationID)
	}

	// Agent side: a note the visitor never sees, a message, typing, a read mark.
	agent := a.tokens["agent"]
	a.addNoteTo(s.ConversationID, agent, "cliente VIP")
	var res appendResult
	if r := a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/messages", agent, map[string]any{"channel": "chat", "direction": "out", "body": "¡Hola Ana!"}, nil, &res); r.StatusCode != 201 {
		t.Fatalf("agent message %d", r.StatusCode)
	}
	if f := readFrame(t, ws, "message"); f.Message.Body != "¡Hola Ana!" || f.Message.Author != "agent" {
		t.Fatalf("agent message on the visitor's stream %+v", f.Message)
	}
	if r := a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/typing", agent, map[string]any{"typing": true}, nil, nil); r.StatusCode != 204 {
		t.Fatalf("agent typing %d", r.StatusCode)
	}
	if f := readFrame(t, ws, "typing", "message"); f.Typing == nil || !*f.Typing || f.Side != "agent" {
		t.Fatalf("typing %+v", f)
	}
	if r := a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/read", agent, map[string]any{"seq": res.Event.Seq}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("agent read %d", r.StatusCode)
	}
	if f := readFrame(t, ws, "read", "message"); f.Seq != res.Event.Seq {
		t.Fatalf("read %+v", f)
	}
	// The visitor types over the socket: a transient event on the bus.
	sub := a.srv.cfg.Bus.Subscribe(ctx, a.tenant["a"].ID)
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"typing","typing":true}`))
	for e := range sub {
		if e.Type == webchat.EventTyping && strings.Contains(string(e.Data), `"side":"visitor"`) {
			if e.ID != 0 {
				t.Fatalf("typing was stored: %+v", e)
			}
			break
		}
	}
	var rd readOutput
	if r := a.chatDo("POST", "/chat/read", s.Token, map[string]any{"seq": res.Event.Seq}, &rd); r.StatusCode != 200 || rd.Seq != res.Event.Seq {
		t.Fatalf("visitor read %d %+v", r.StatusCode, rd)
	}

	// The network drops. Meanwhile the visitor's widget sends m2 (its
	// acknowledgement is lost, so it resends) and the agent answers.
	last := res.Event.Seq
	ws.CloseNow()
	for i := 0; i < 2; i++ {
		a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "m2", "body": "¿Siguen ahí?"}, nil)
	}
	a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/messages", agent, map[string]any{"channel": "chat", "direction": "out", "body": "Sí, aquí estoy"}, nil, nil)
	ws = a.dialChat(ctx, s.Token, last)
	var got []string
	for len(got) < 2 {
		f := readFrame(t, ws, "message")
		if f.Message.Seq <= last {
			t.Fatalf("resumed stream repeats seq %d", f.Message.Seq)
		}
		last = f.Message.Seq
		got = append(got, f.Message.Body)
	}
	if got[0] != "¿Siguen ahí?" || got[1] != "Sí, aquí estoy" {
		t.Fatalf("after reconnect %q", got)
	}
	// A message over the socket comes back once, like any other.
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"message","client_id":"m3","body":"<i>gracias</i>"}`))
	if f := readFrame(t, ws, "message"); f.Message.Body != "gracias" || f.Message.ClientID != "m3" {
		t.Fatalf("ws message %+v", f.Message)
	}

	var page messagePage
	a.chatDo("GET", "/chat/messages?after=0", s.Token, nil, &page)
	var bodies []string
	for _, m := range page.Items {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, "|") != "Hola equipo, mira|¡Hola Ana!|¿Siguen ahí?|Sí, aquí estoy|gracias" {
		t.Fatalf("visitor's timeline %q (no notes, no system entries, no duplicates)", bodies)
	}

	// The agent resolves the conversation: the visitor hears the end and
	// answers CSAT once.
	a.do("PATCH", apiPrefix+"/conversations/"+s.ConversationID, agent, map[string]any{"status": "resolved"}, map[string]string{"If-Match": "*"}, nil)
	readFrame(t, ws, "ended")
	wantProblem(t, a.chatDo("POST", "/chat/csat", s.Token, map[string]any{"score": 9}, nil), 400, atende.EInvalid, "score")
	var sv store.Survey
	if r := a.chatDo("POST", "/chat/csat", s.Token, map[string]any{"score": 5, "comment": "<b>Muy</b> bien"}, &sv); r.StatusCode != 201 || sv.AgentID != agentID || sv.Comment != "Muy bien" {
		t.Fatalf("csat %d %+v", r.StatusCode, sv)
	}
	wantProblem(t, a.chatDo("POST", "/chat/csat", s.Token, map[string]any{"score": 1}, nil), 409, atende.EConflict, "")
	if r := a.chatDo("POST", "/chat/end", s.Token, nil, nil); r.StatusCode != 204 {
		t.Fatalf("end %d", r.StatusCode)
	}
	wantProblem(t, a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "m9", "body": "hola?"}, nil), 409, atende.EConflict, "")
}

func (a *testAPI) addNoteTo(conversationID, token, body string) {
	a.t.Helper()
	if r := a.do("POST", apiPrefix+"/conversations/"+conversationID+"/notes", token, map[string]string{"body": body}, nil, nil); r.StatusCode != 201 {
		a.t.Fatalf("add note: %d", r.StatusCode)
	}
}

// TestWebChatRefusesOtherSitesAndOtherVisitors: the widget's allowed origins,
// the pre-chat form's consent, and a token reaching exactly one chat.
func TestWebChatRefusesOtherSitesAndOtherVisitors(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	wid := a.ids["chat_widget"]
	post := func(origin string, body any) *http.Response {
		hdr := map[string]string{}
		if origin != "" {
			hdr["Origin"] = origin
		}
		return a.do("POST", apiPrefix+"/chat/"+wid+"/sessions", "", body, hdr, nil)
	}
	wantProblem(t, post("", chatIn), 403, atende.EForbidden, "")
	wantProblem(t, post("https://evil.example", chatIn), 403, atende.EForbidden, "")
	wantProblem(t, post(shopOrigin, map[string]any{"name": "Ana", "email": "ana@example.com"}), 400, atende.EInvalid, "consent")
	wantProblem(t, a.chatDo("POST", "/chat/"+atende.NewID()+"/sessions", "", chatIn, nil), 404, atende.ENotFound, "")

	one := a.startChat(wid, chatIn)
	two := a.startChat(wid, map[string]any{"name": "Bea", "email": "bea@example.com", "consent": true})
	if one.ConversationID == two.ConversationID {
		t.Fatal("two visitors share a conversation")
	}
	var st sessionState
	a.chatDo("GET", "/chat/session", two.Token, nil, &st)
	if st.ConversationID != two.ConversationID {
		t.Fatalf("visitor two reaches %s", st.ConversationID)
	}
	// A token signed with another key, or with its payload swapped for the
	// other visitor's conversation, reaches nothing.
	claims := webchat.Claims{TenantID: a.tenant["a"].ID, WidgetID: wid, VisitorID: two.VisitorID, ConversationID: one.ConversationID, Expires: time.Now().Add(time.Hour).Unix()}
	forged := webchat.Sign([]byte("not the tenant's key, but long enough"), claims)
	p1, _, _ := strings.Cut(strings.TrimPrefix(forged, webchat.TokenPrefix), ".")
	_, sig2, _ := strings.Cut(strings.TrimPrefix(two.Token, webchat.TokenPrefix), ".")
	for name, tok := range map[string]string{"other key": forged, "swapped payload": webchat.TokenPrefix + p1 + "." + sig2, "api token": a.tokens["admin"], "none": ""} {
		wantProblem(t, a.chatDo("GET", "/chat/messages", tok, nil, nil), 401, atende.EUnauthorized, "")
		_ = name
	}
	// The visitor WebSocket refuses without a token and from another site.
	base := "ws" + strings.TrimPrefix(a.http.URL, "http") + apiPrefix + "/chat/ws"
	if _, r, err := websocket.Dial(ctx, base, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {shopOrigin}}}); err == nil || r.StatusCode != 401 {
		t.Fatalf("ws without token: %v", err)
	}
	if _, r, err := websocket.Dial(ctx, base+"?token="+url.QueryEscape(two.Token), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}}); err == nil || r.StatusCode != 403 {
		t.Fatalf("ws from another site: %v", err)
	}

	// Tenant B's widget is another tenant's chat: A's visitor token does not
	// open it, and B's admin cannot read A's widget.
	sysB := atende.SystemActor(a.tenant["b"].ID)
	qb := &atende.Queue{Name: "Chat", Channels: []atende.Channel{atende.ChannelChat}}
	if err := a.store.CreateQueue(ctx, sysB, qb); err != nil {
		t.Fatal(err)
	}
	wb := widget.Defaults()
	wb.Name, wb.QueueID, wb.AllowedOrigins = "B", qb.ID, []string{"https://loja.tenant-b.com.br"}
	if err := a.store.CreateChatWidget(ctx, sysB, wb); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, a.chatDo("POST", "/chat/"+wb.ID+"/sessions", "", chatIn, nil), 403, atende.EForbidden, "")
	wantProblem(t, a.do("GET", apiPrefix+"/chat-widgets/"+wid, a.tokens["b-admin"], nil, nil, nil), 404, atende.ENotFound, "")

	// An inactive widget is gone for visitors, and so are its chats.
	if r := a.do("PATCH", apiPrefix+"/chat-widgets/"+wid, a.tokens["admin"], map[string]any{"active": false}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("deactivate: %d", r.StatusCode)
	}
	wantProblem(t, a.chatDo("POST", "/chat/"+wid+"/sessions", "", chatIn, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.chatDo("GET", "/chat/session", one.Token, nil, nil), 401, atende.EUnauthorized, "")
}

// TestWebChatAbandonedBeforeAnAgent: a visitor who leaves while waiting
// cancels the task as abandoned.
func TestWebChatAbandonedBeforeAnAgent(t *testing.T) {
	a := newTestAPI(t)
	s := a.startChat(a.ids["chat_widget"], chatIn)
	cs, err := a.store.ChatSession(context.Background(), a.tenant["a"].ID, s.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if r := a.chatDo("POST", "/chat/end", s.Token, nil, nil); r.StatusCode != 204 {
		t.Fatalf("end %d", r.StatusCode)
	}
	var tv taskView
	a.do("GET", apiPrefix+"/tasks/"+cs.TaskID, a.tokens["admin"], nil, nil, &tv)
	if tv.State != routing.TaskDone || tv.Outcome != routing.OutcomeAbandoned {
		t.Fatalf("task after the visitor left: %+v", tv.Task)
	}
	c, _ := a.store.Conversation(context.Background(), a.tenant["a"].ID, s.ConversationID)
	if c.Status != atende.StatusResolved {
		t.Fatalf("conversation %s", c.Status)
	}
	// A new session starts a new conversation.
	in := map[string]any{"visitor_id": s.VisitorID}
	for k, v := range chatIn {
		in[k] = v
	}
	if again := a.startChat(a.ids["chat_widget"], in); again.Resumed || again.ConversationID == s.ConversationID {
		t.Fatalf("after leaving: %+v", again)
	}
}

// TestWebChatOfflineForm: outside the queue's hours the session answers
// offline and the offline form becomes an email conversation with a task.
func TestWebChatOfflineForm(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	sysA := atende.SystemActor(a.tenant["a"].ID)
	r := atende.DefaultQueueRouting()
	tomorrow := time.Now().In(time.FixedZone("", 0)).Add(48 * time.Hour).Weekday()
	r.Hours.Weekly = []atende.OpenHours{{Day: tomorrow, Open: "10:00", Close: "10:01"}}
	q := &atende.Queue{Name: "Noche", Channels: []atende.Channel{atende.ChannelChat, atende.ChannelEmail}, Routing: r}
	if err := a.store.CreateQueue(ctx, sysA, q); err != nil {
		t.Fatal(err)
	}
	w := widget.Defaults()
	w.Name, w.QueueID, w.AllowedOrigins = "Noche", q.ID, []string{shopOrigin}
	if err := a.store.CreateChatWidget(ctx, sysA, w); err != nil {
		t.Fatal(err)
	}
	var cfg widgetConfig
	a.chatDo("GET", "/chat/"+w.ID+"/config?lang=en", "", nil, &cfg)
	if cfg.Open || !cfg.Offline || cfg.Theme.Position != "right" {
		t.Fatalf("config %+v", cfg)
	}
	if s := a.startChat(w.ID, chatIn); s.State != "offline" || s.Token != "" {
		t.Fatalf("closed queue: %+v", s)
	}
	var out offlineOutput
	resp := a.chatDo("POST", "/chat/"+w.ID+"/offline", "", map[string]any{"name": "Ana", "email": "ana@example.com", "consent": true, "message": "<script>x</script>Llámenme mañana"}, &out)
	if resp.StatusCode != 201 || out.Protocol == "" {
		t.Fatalf("offline: %d %+v", resp.StatusCode, out)
	}
	c, err := a.store.Conversation(ctx, a.tenant["a"].ID, out.ConversationID)
	if err != nil || c.Channel != atende.ChannelEmail || c.Subject != "Mensaje dejado en el chat web" {
		t.Fatalf("offline conversation %+v %v", c, err)
	}
	tl, _ := a.store.Timeline(ctx, a.tenant["a"].ID, c.ID, 0, 10)
	if len(tl) != 1 || tl[0].Body != "Llámenme mañana" {
		t.Fatalf("offline timeline %+v", tl)
	}
	tasks, _ := a.store.Tasks(ctx, a.tenant["a"].ID, store.TaskFilter{}, store.ListOptions{Limit: 200})
	found := false
	for _, tk := range tasks.Items {
		found = found || (tk.ConversationID == c.ID && tk.Channel == atende.ChannelEmail)
	}
	if !found {
		t.Fatal("no email task for the offline message")
	}
}

// TestWebChatRateLimit: a visitor flooding messages is slowed with 429 and
// Retry-After; the limit is per visitor, so another visitor still writes.
func TestWebChatRateLimit(t *testing.T) {
	a := newTestAPI(t)
	s := a.startChat(a.ids["chat_widget"], chatIn)
	limited := false
	for i := 0; i < chatVisitorBurst+5 && !limited; i++ {
		r := a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "f" + strconv.Itoa(i), "body": "spam"}, nil)
		if r.StatusCode == 429 {
			limited = true
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if !limited {
		t.Fatal("a flood was never limited")
	}
	other := a.startChat(a.ids["chat_widget"], map[string]any{"name": "Bea", "email": "bea@example.com", "consent": true})
	if r := a.chatDo("POST", "/chat/messages", other.Token, map[string]string{"client_id": "x", "body": "hola"}, nil); r.StatusCode != 201 {
		t.Fatalf("another visitor: %d", r.StatusCode)
	}
}

// FuzzVisitorMessage feeds arbitrary frames to the visitor message decoder:
// never a panic; what it accepts sanitises to text without markup.
func FuzzVisitorMessage(f *testing.F) {
	for _, s := range []string{`{"client_id":"a","body":"hola"}`, `{"client_id":"a","body":"<script>x</script>"}`, `{"body":1}`, `[]`, `{"client_id":"a","body":"\u202e"}`, "{\"body\":\"\xff\"}", `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := parseVisitorMessage(b)
		if err != nil {
			return
		}
		out, err := webchat.Sanitize(in.Body)
		if err != nil || strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("accepted %q sanitises to %q, %v", b, out, err)
		}
	})
}

// TestWebChatResumeReroutesAnUnansweredChat: a returning visitor whose task
// ended with nobody assigned is queued again in the same conversation.
func TestWebChatResumeReroutesAnUnansweredChat(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	s := a.startChat(a.ids["chat_widget"], chatIn)
	cs, _ := a.store.ChatSession(ctx, a.tenant["a"].ID, s.ConversationID)
	if r := a.do("POST", apiPrefix+"/tasks/"+cs.TaskID+"/cancel", a.tokens["admin"], map[string]any{}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("cancel: %d %s", r.StatusCode, readAll(t, r))
	}
	in := map[string]any{"visitor_id": s.VisitorID}
	for k, v := range chatIn {
		in[k] = v
	}
	again := a.startChat(a.ids["chat_widget"], in)
	after, _ := a.store.ChatSession(ctx, a.tenant["a"].ID, s.ConversationID)
	if !again.Resumed || again.ConversationID != s.ConversationID || again.State != "waiting" || after.TaskID == cs.TaskID {
		t.Fatalf("resume after the task ended: %+v, task %s -> %s", again, cs.TaskID, after.TaskID)
	}
}

// TestWebChatFiles: a visitor sends files within the widget's limits (the
// declared type and the content both checked), a resend stores nothing new,
// files show on the visitor's messages and stream, and a visitor downloads
// only files of their own chat that they see: not another visitor's, not a
// note's, not another tenant's.
func TestWebChatFiles(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	s := a.startChat(a.ids["chat_widget"], chatIn)
	ws := a.dialChat(ctx, s.Token, 0)
	readFrame(t, ws, "session")
	send := func(token, name, ct string, body []byte, clientID string, out any) *http.Response {
		return a.upload(apiPrefix+"/chat/files?name="+url.QueryEscape(name)+"&client_id="+clientID, token, ct, body, map[string]string{"Origin": shopOrigin}, out)
	}

	var m webchat.Message
	if r := send(s.Token, "captura.png", "image/png", pngBytes, "f1", &m); r.StatusCode != 201 {
		t.Fatalf("upload: %d %s", r.StatusCode, readAll(t, r))
	}
	if m.Author != "visitor" || m.ClientID != "f1" || len(m.Attachments) != 1 || m.Attachments[0].Name != "captura.png" || m.Attachments[0].ContentType != "image/png" {
		t.Fatalf("visitor file message %+v", m)
	}
	var again webchat.Message
	if r := send(s.Token, "captura.png", "image/png", pngBytes, "f1", &again); r.StatusCode != 200 || again.Seq != m.Seq || again.Attachments[0].ID != m.Attachments[0].ID {
		t.Fatalf("resend: %d %+v", r.StatusCode, again)
	}
	if f := readFrame(t, ws, "message"); f.Message.Seq != m.Seq || len(f.Message.Attachments) != 1 {
		t.Fatalf("file message on the stream %+v", f.Message)
	}

	// The widget's limits: type, content, size, a client id.
	wantProblem(t, send(s.Token, "x.zip", "application/zip", []byte("PK\x03\x04"), "f2", nil), 400, atende.EInvalid, "file")
	wantProblem(t, send(s.Token, "x.png", "image/png", []byte("<html><script>alert(1)</script>"), "f3", nil), 400, atende.EInvalid, "file")
	wantProblem(t, send(s.Token, "x.pdf", "application/pdf", pngBytes, "f4", nil), 400, atende.EInvalid, "file")
	big := append(append([]byte{}, pngBytes...), make([]byte, 5<<20)...)
	wantProblem(t, send(s.Token, "big.png", "image/png", big, "f5", nil), 413, "body_too_large", "file")
	wantProblem(t, send(s.Token, "x.png", "image/png", pngBytes, "", nil), 400, atende.EInvalid, "client_id")

	// An agent's file reaches the visitor; a note's does not.
	var agentFile, noteFile mediaOutput
	a.upload(apiPrefix+"/media?name=guia.pdf", a.tokens["agent"], "application/pdf", []byte("%PDF-1.4 guia"), nil, &agentFile)
	a.upload(apiPrefix+"/media?name=interno.pdf", a.tokens["agent"], "application/pdf", []byte("%PDF-1.4 interno"), nil, &noteFile)
	a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/messages", a.tokens["agent"], map[string]any{"channel": "chat", "body": "Aquí la guía", "attachments": []string{agentFile.ID}}, nil, nil)
	a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/notes", a.tokens["agent"], map[string]any{"body": "interno", "attachments": []string{noteFile.ID}}, nil, nil)
	if f := readFrame(t, ws, "message"); f.Message.Author != "agent" || len(f.Message.Attachments) != 1 || f.Message.Attachments[0].ID != agentFile.ID {
		t.Fatalf("agent file on the visitor's stream %+v", f.Message)
	}
	var page messagePage
	a.chatDo("GET", "/chat/messages?after=0", s.Token, nil, &page)
	if len(page.Items) != 2 || len(page.Items[0].Attachments) != 1 || len(page.Items[1].Attachments) != 1 {
		t.Fatalf("visitor's messages %+v", page.Items)
	}

	get := func(id, token string, header bool) *http.Response {
		path := apiPrefix + "/chat/files/" + id
		if header {
			return a.do("GET", path, token, nil, map[string]string{"Origin": shopOrigin}, nil)
		}
		return a.do("GET", path+"?token="+url.QueryEscape(token), "", nil, map[string]string{"Origin": shopOrigin}, nil)
	}
	for _, id := range []string{m.Attachments[0].ID, agentFile.ID} {
		r := get(id, s.Token, false)
		if r.StatusCode != 200 || r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Fatalf("visitor download %s: %d %v", id, r.StatusCode, r.Header)
		}
	}
	if r := get(m.Attachments[0].ID, s.Token, true); r.StatusCode != 200 || readAll(t, r) != string(pngBytes) {
		t.Fatalf("download with the header: %d", r.StatusCode)
	}
	other := a.startChat(a.ids["chat_widget"], map[string]any{"name": "Bea", "email": "bea@example.com", "consent": true})
	var bFile mediaOutput
	a.upload(apiPrefix+"/media?name=b.pdf", a.tokens["b-admin"], "application/pdf", []byte("%PDF-1.4 b"), nil, &bFile)
	for name, id := range map[string]string{"a note's file": noteFile.ID, "a file on no message": a.ids["media"], "another tenant's": bFile.ID, "no file": atende.NewID()} {
		wantProblem(t, get(id, s.Token, false), 404, atende.ENotFound, "")
		_ = name
	}
	wantProblem(t, get(m.Attachments[0].ID, other.Token, false), 404, atende.ENotFound, "")
	wantProblem(t, get(m.Attachments[0].ID, "", false), 401, atende.EUnauthorized, "")
	wantProblem(t, a.do("GET", apiPrefix+"/chat/other/"+m.Attachments[0].ID, s.Token, nil, nil, nil), 404, atende.ENotFound, "")
}

// TestWebChatTranscript: without a transcript mailbox the widget says so
// (409); with one, the visitor's transcript is queued as an email with every
// message they see, the agent's name and the protocol, in their language,
// at most three times.
func TestWebChatTranscript(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	s := a.startChat(a.ids["chat_widget"], chatIn)
	var cfg widgetConfig
	a.chatDo("GET", "/chat/"+a.ids["chat_widget"]+"/config", "", nil, &cfg)
	if cfg.Transcript {
		t.Fatal("transcript offered without a mailbox")
	}
	wantProblem(t, a.chatDo("POST", "/chat/transcript", s.Token, map[string]any{}, nil), 409, atende.EConflict, "")

	admin := a.tokens["admin"]
	var mb map[string]any
	a.do("POST", apiPrefix+"/mailboxes", admin, map[string]any{"name": "Chat", "address": "chat@tenant-a.es", "queue_id": a.ids["queue"],
		"smtp": map[string]any{"host": "smtp.tenant-a.es", "user": "chat", "password": "secret"}}, nil, &mb)
	wantProblem(t, a.do("PATCH", apiPrefix+"/chat-widgets/"+a.ids["chat_widget"], admin, map[string]any{"transcript": map[string]any{"enabled": true, "mailbox_id": a.ids["mailbox"]}},
		map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "transcript.mailbox_id")
	if r := a.do("PATCH", apiPrefix+"/chat-widgets/"+a.ids["chat_widget"], admin, map[string]any{"transcript": map[string]any{"enabled": true, "mailbox_id": mb["id"]}},
		map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("enable transcripts: %d %s", r.StatusCode, readAll(t, r))
	}
	a.chatDo("GET", "/chat/"+a.ids["chat_widget"]+"/config", "", nil, &cfg)
	if !cfg.Transcript {
		t.Fatal("transcript not offered")
	}

	a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "t1", "body": "Necesito ayuda con el pedido"}, nil)
	a.addNoteTo(s.ConversationID, a.tokens["agent"], "nota secreta")
	a.do("POST", apiPrefix+"/conversations/"+s.ConversationID+"/messages", a.tokens["agent"], map[string]any{"channel": "chat", "body": "Claro, digame el numero"}, nil, nil)
	var out transcriptOutput
	if r := a.chatDo("POST", "/chat/transcript", s.Token, map[string]any{}, &out); r.StatusCode != 202 || !out.Queued {
		t.Fatalf("transcript: %d %s", r.StatusCode, readAll(t, r))
	}
	mails, err := a.store.OutboundMails(ctx, a.tenant["a"].ID, "")
	if err != nil || len(mails) != 1 || mails[0].Recipients[0] != "ana@example.com" || mails[0].Kind != "transcript" {
		t.Fatalf("queued mail %+v %v", mails, err)
	}
	f, err := a.srv.cfg.Email.Media.Open(a.tenant["a"].ID, mails[0].RawMediaID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(f)
	f.Close()
	text := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(raw))
	conv, _ := a.store.Conversation(ctx, a.tenant["a"].ID, s.ConversationID)
	for _, want := range []string{conv.Protocol, "Necesito ayuda con el pedido", "User agent: Claro, digame el numero", "Ana Visitante: "} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "nota secreta") {
		t.Error("the transcript holds an internal note")
	}
	wantProblem(t, a.chatDo("POST", "/chat/transcript", s.Token, map[string]any{"email": "no es correo"}, nil), 400, atende.EInvalid, "email")
	for i := 0; i < 2; i++ {
		if r := a.chatDo("POST", "/chat/transcript", s.Token, map[string]any{"email": "otra@example.com"}, nil); r.StatusCode != 202 {
			t.Fatalf("transcript %d: %d", i+2, r.StatusCode)
		}
	}
	wantProblem(t, a.chatDo("POST", "/chat/transcript", s.Token, map[string]any{}, nil), 429, atende.ERateLimited, "")
}

// TestWebChatIdleTimeout: a waiting chat whose visitor has gone quiet for
// the widget's idle timeout is ended as abandoned; a connected visitor's
// chat and an accepted one are left alone.
func TestWebChatIdleTimeout(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	tenant := a.tenant["a"].ID
	quiet := a.startChat(a.ids["chat_widget"], chatIn)
	connected := a.startChat(a.ids["chat_widget"], map[string]any{"name": "Bea", "email": "bea@example.com", "consent": true})
	ws := a.dialChat(ctx, connected.Token, 0)
	readFrame(t, ws, "session")

	start := time.Now()
	now := start.Add(10 * time.Minute)
	wc := &webchatAPI{s: a.srv, hub: webchat.NewHub(ctx, a.srv.cfg.Bus, nil), now: func() time.Time { return now }}
	wc.endIdle(ctx)
	cs, _ := a.store.ChatSession(ctx, tenant, quiet.ConversationID)
	if cs.EndedAt != nil {
		t.Fatal("a chat idle for less than its timeout ended")
	}
	// Over half an hour later: the node recorded the connected visitor (as
	// it does every minute for its sockets), nobody touched the quiet chat.
	now = start.Add(31 * time.Minute)
	if err := a.store.TouchChatVisitors(ctx, tenant, []string{connected.ConversationID}, now); err != nil {
		t.Fatal(err)
	}
	wc.endIdle(ctx)
	cs, _ = a.store.ChatSession(ctx, tenant, quiet.ConversationID)
	var tv taskView
	a.do("GET", apiPrefix+"/tasks/"+cs.TaskID, a.tokens["admin"], nil, nil, &tv)
	c, _ := a.store.Conversation(ctx, tenant, quiet.ConversationID)
	if cs.EndedAt == nil || tv.State != routing.TaskDone || tv.Outcome != routing.OutcomeAbandoned || c.Status != atende.StatusResolved {
		t.Fatalf("idle chat: ended %v, task %+v, conversation %s", cs.EndedAt, tv.Task, c.Status)
	}
	if other, _ := a.store.ChatSession(ctx, tenant, connected.ConversationID); other.EndedAt != nil {
		t.Fatal("a connected visitor's chat ended")
	}
	// Sweeping again (another node, the next minute) changes nothing.
	wc.endIdle(ctx)
}

// TestWebChatCatchUpPagesThroughALongChat: a visitor reconnecting to a
// chat longer than one page of the timeline gets every message once, in
// order, and then live ones.
func TestWebChatCatchUpPagesThroughALongChat(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	s := a.startChat(a.ids["chat_widget"], chatIn)
	actor := atende.SystemActor(a.tenant["a"].ID)
	const n = visiblePage + visiblePage/2
	for i := range n {
		e := &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: atende.DirectionIn,
			Body: "m" + strconv.Itoa(i), ClientID: "c" + strconv.Itoa(i)}
		if _, _, err := a.store.AppendMessage(ctx, actor, s.ConversationID, e); err != nil {
			t.Fatal(err)
		}
	}
	ws := a.dialChat(ctx, s.Token, 0)
	readFrame(t, ws, "session")
	for i := range n {
		f := readFrame(t, ws, "message")
		if f.Message == nil || f.Message.Body != "m"+strconv.Itoa(i) {
			t.Fatalf("message %d: %+v", i, f.Message)
		}
	}
	var m webchat.Message
	if r := a.chatDo("POST", "/chat/messages", s.Token, map[string]string{"client_id": "live", "body": "live"}, &m); r.StatusCode != 201 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	if f := readFrame(t, ws, "message"); f.Message == nil || f.Message.Body != "live" || f.Message.Seq != m.Seq {
		t.Fatalf("live message: %+v", f.Message)
	}
}
