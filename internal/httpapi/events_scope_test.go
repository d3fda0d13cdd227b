package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/coder/websocket"
)

// scopedFrame is any frame of a scoped stream: an event, or the server's
// answer to a watch.
type scopedFrame struct {
	atende.Event
	ConversationIDs []string `json:"conversation_ids"`
	ConversationID  string   `json:"conversation_id"`
	Error           string   `json:"error"`
}

func (a *testAPI) dialScoped(ctx context.Context, token string) *websocket.Conn {
	a.t.Helper()
	u := "ws" + strings.TrimPrefix(a.http.URL, "http") + apiPrefix + "/ws?scope=own"
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		a.t.Fatalf("dial scoped events: %v", err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	return c
}

func sendWatch(t *testing.T, c *websocket.Conn, typ string, ids ...string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "conversation_ids": ids})
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatalf("send %s: %v", typ, err)
	}
}

// until reads frames until want holds for one, and fails when a frame
// before it is about one of the conversations in never.
func until(t *testing.T, c *websocket.Conn, what string, want func(f scopedFrame) bool, never ...string) scopedFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var f scopedFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if want(f) {
			return f
		}
		if id, ok := conversationOf(f.Event); ok && slices.Contains(never, id) {
			t.Fatalf("waiting for %s, got %s of conversation %s, which this stream must not carry", what, f.Type, id)
		}
	}
}

// note is a frame carrying the internal note body on conversation id.
func note(id, body string) func(f scopedFrame) bool {
	return func(f scopedFrame) bool {
		return f.Type == "conversation.event_appended" && f.Subject == id && strings.Contains(string(f.Data), `"`+body+`"`)
	}
}

func watching(ids ...string) func(f scopedFrame) bool {
	return func(f scopedFrame) bool {
		if f.Type != "watching" || len(f.ConversationIDs) != len(ids) {
			return false
		}
		for _, id := range ids {
			if !slices.Contains(f.ConversationIDs, id) {
				return false
			}
		}
		return true
	}
}

// TestScopedStreamCarriesTheConversationsTheUserWorksOn: with ?scope=own an
// agent's stream carries the events of the chats offered or assigned to
// them and of the conversations they watch, not a colleague's; watching
// another tenant's conversation, or without the permission to read
// conversations, is refused; after a transfer the new agent gets the
// conversation's events and the old one no longer does, unless watching.
// The unscoped stream still carries everything.
func TestScopedStreamCarriesTheConversationsTheUserWorksOn(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	admin, agent := a.tokens["admin"], a.tokens["agent"]
	agentID := a.users["agent"].ID
	sysA := atende.SystemActor(a.tenant["a"].ID)
	if r := a.do("POST", apiPrefix+"/tasks/"+a.ids["task"]+"/cancel", admin, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("cancel the fixture task: %d", r.StatusCode)
	}
	colleague := &atende.User{Email: "colega@example.com", Name: "Colega", Roles: []atende.Role{atende.RoleAgent}, Active: true,
		Skills: []atende.AgentSkill{{SkillID: a.ids["skill"], Proficiency: 5}}}
	if err := a.store.CreateUser(ctx, sysA, colleague, testPassword); err != nil {
		t.Fatal(err)
	}
	colleagueTok, _, err := a.store.CreateAPIToken(ctx, sysA, colleague.ID, "colega", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var agents struct{ Items []routing.AgentSnapshot }
		a.do("GET", apiPrefix+"/routing/agents", admin, nil, nil, &agents)
		if slices.ContainsFunc(agents.Items, func(s routing.AgentSnapshot) bool { return s.ID == colleague.ID }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the routing engine never learnt of the new agent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := a.do("PATCH", apiPrefix+"/users/"+agentID, admin, map[string]any{"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}}},
		map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("give skill: %d", r.StatusCode)
	}
	newChat := func() string {
		c := &atende.Conversation{ContactID: a.ids["contact"], Channel: atende.ChannelChat, QueueID: a.ids["queue"]}
		if err := a.store.CreateConversation(ctx, sysA, c, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: "in", Body: "Hola"}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	mine, theirs, past := a.ids["conversation"], newChat(), newChat()
	otherTenant := a.emailConversation("b", "").ID
	// Each agent is offered a chat and accepts it; only one agent is
	// available at a time, so each offer goes where it is meant to.
	work := func(token, userID, conv string) string {
		t.Helper()
		if r := a.do("PUT", apiPrefix+"/users/"+userID+"/state", token, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
			t.Fatalf("available: %d", r.StatusCode)
		}
		var task routing.Task
		if r := a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": a.ids["queue"], "channel": "chat", "conversation_id": conv}, nil, &task); r.StatusCode != 201 {
			t.Fatalf("task: %d", r.StatusCode)
		}
		a.waitTask(task.ID, "offered", func(t *routing.Task) bool { return t.State == routing.TaskOffered && t.AgentID == userID })
		if r := a.do("POST", apiPrefix+"/tasks/"+task.ID+"/accept", token, nil, nil, nil); r.StatusCode != 200 {
			t.Fatalf("accept: %d", r.StatusCode)
		}
		return task.ID
	}
	// The colleague's desktop is open before their offer: it follows the
	// task events. The agent's opens after the agent holds the chat: it
	// starts from the tasks held.
	theirDesk := a.dialScoped(ctx, colleagueTok)
	everything := a.dialEvents(ctx, agent, -1)
	myTask := work(agent, agentID, mine)
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "away", "reason_code": "lunch"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("away: %d", r.StatusCode)
	}
	work(colleagueTok, colleague.ID, theirs)
	myDesk := a.dialScoped(ctx, agent)

	a.addNoteTo(theirs, admin, "theirs-1")
	a.addNoteTo(mine, admin, "mine-1")
	until(t, myDesk, "the note on the agent's chat", note(mine, "mine-1"), theirs)
	until(t, theirDesk, "the note on the colleague's chat", note(theirs, "theirs-1"), mine)
	// The unscoped stream still carries the whole tenant.
	until(t, everything, "a colleague's note on the unscoped stream", note(theirs, "theirs-1"))

	// Watching a past conversation (opened from search) brings its events.
	sendWatch(t, myDesk, "watch", past)
	until(t, myDesk, "the watch answered", watching(past))
	a.addNoteTo(theirs, admin, "theirs-2")
	a.addNoteTo(past, admin, "past-1")
	until(t, myDesk, "the note on the watched conversation", note(past, "past-1"), theirs)

	// Refused: another tenant's conversation, an unknown one; and a user
	// who may not read conversations.
	sendWatch(t, myDesk, "watch", otherTenant, atende.NewID())
	for range 2 {
		f := until(t, myDesk, "an error frame", func(f scopedFrame) bool { return f.Type == "error" })
		if f.Error != atende.ENotFound || (f.ConversationID != otherTenant && f.ConversationID == "") {
			t.Fatalf("watch refused with %+v", f)
		}
	}
	until(t, myDesk, "the watch list unchanged", watching(past))
	planner := a.dialScoped(ctx, a.tokens["planner"])
	sendWatch(t, planner, "watch", mine)
	if f := until(t, planner, "an error frame", func(f scopedFrame) bool { return f.Type == "error" }); f.Error != atende.EForbidden || f.ConversationID != mine {
		t.Fatalf("planner's watch refused with %+v", f)
	}
	until(t, planner, "an empty watch list", watching())
	sendWatch(t, myDesk, "subscribe", mine)
	if f := until(t, myDesk, "an error frame", func(f scopedFrame) bool { return f.Type == "error" }); f.Error != atende.EInvalid {
		t.Fatalf("unknown message answered with %+v", f)
	}

	// The agent transfers their chat to the colleague, who accepts it.
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	if r := a.do("POST", apiPrefix+"/tasks/"+myTask+"/transfer", agent, map[string]any{"agent_id": colleague.ID}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("transfer: %d", r.StatusCode)
	}
	a.waitTask(myTask, "offered to the colleague", func(t *routing.Task) bool { return t.State == routing.TaskOffered && t.AgentID == colleague.ID })
	if r := a.do("POST", apiPrefix+"/tasks/"+myTask+"/accept", colleagueTok, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("accept the transfer: %d", r.StatusCode)
	}
	a.addNoteTo(mine, admin, "mine-2")
	a.addNoteTo(past, admin, "past-2")
	until(t, theirDesk, "the transferred chat's note on the new agent's stream", note(mine, "mine-2"))
	until(t, myDesk, "the watched conversation's note", note(past, "past-2"), mine)

	// Unless the old agent watches it (the tab still open); unwatching
	// stops it again.
	sendWatch(t, myDesk, "watch", mine)
	until(t, myDesk, "the watch answered", watching(past, mine))
	sendWatch(t, myDesk, "unwatch", past)
	until(t, myDesk, "the unwatch answered", watching(mine))
	a.addNoteTo(past, admin, "past-3")
	a.addNoteTo(mine, admin, "mine-3")
	until(t, myDesk, "the note on the watched, transferred chat", note(mine, "mine-3"), past)
}

// TestScopedStreamRejectsAnUnknownScope: scope is own or absent.
func TestScopedStreamRejectsAnUnknownScope(t *testing.T) {
	a := newTestAPI(t)
	r := a.do("GET", apiPrefix+"/ws?scope=all", a.tokens["agent"], nil, nil, nil)
	wantProblem(t, r, 400, atende.EInvalid, "scope")
}

func TestStreamScopeFollowsTheUsersTasks(t *testing.T) {
	taskEvent := func(typ, audience string, task routing.Task) atende.Event {
		b, _ := json.Marshal(map[string]any{"task": task})
		return atende.Event{ID: 1, Type: typ, Subject: task.ID, Audience: audience, Data: b}
	}
	conv := func(typ, id string) atende.Event { return atende.Event{ID: 2, Type: typ, Subject: id} }
	sc := &streamScope{userID: "u1", tasks: map[string]string{}, convs: map[string]int{}, watched: map[string]bool{}}
	carries := func(id string) bool {
		all := true
		for _, typ := range []string{"conversation.event_appended", "conversation.updated", "chat.read", "chat.typing", "chat.ended", "email.sent", "survey.answered"} {
			all = all && sc.allows(conv(typ, id))
		}
		return all
	}
	if carries("c1") || !sc.allows(conv("canned_response.created", "x")) || !sc.allows(conv("contact.updated", "x")) || !sc.allows(conv("broadcast.sent", "x")) {
		t.Fatal("an empty scope carries a conversation, or holds back an event not about one")
	}
	sc.track(taskEvent("task.offered", "u1", routing.Task{ID: "t1", ConversationID: "c1", State: routing.TaskOffered, AgentID: "u1"}))
	sc.track(taskEvent("task.offered", "u2", routing.Task{ID: "t2", ConversationID: "c2", State: routing.TaskOffered, AgentID: "u2"}))
	if !carries("c1") || carries("c2") {
		t.Fatal("an offer to the user does not bring its conversation in, or another agent's does")
	}
	// Two tasks of one conversation: it stays until both are gone.
	sc.track(taskEvent("task.accepted", "u1", routing.Task{ID: "t3", ConversationID: "c1", State: routing.TaskAssigned, AgentID: "u1"}))
	// A transfer's event is addressed to nobody (or the new agent), yet a
	// known task is followed.
	sc.track(taskEvent("task.transferred", "", routing.Task{ID: "t1", ConversationID: "c1", State: routing.TaskWaiting}))
	if !carries("c1") {
		t.Fatal("one of two tasks left and the conversation went")
	}
	sc.track(taskEvent("task.ended", "u1", routing.Task{ID: "t3", ConversationID: "c1", State: routing.TaskDone, AgentID: "u1"}))
	if carries("c1") || len(sc.tasks) != 0 || len(sc.convs) != 0 {
		t.Fatalf("the conversation stayed after its tasks ended: %v %v", sc.tasks, sc.convs)
	}
	// A watched conversation stays whatever its tasks do; an unwatch ends it.
	sc.apply(watchRequest{watch: true, ids: []string{"c2"}})
	if !carries("c2") {
		t.Fatal("a watched conversation is not carried")
	}
	if f := sc.apply(watchRequest{ids: []string{"c2"}}); len(f) != 1 || f[0].Type != "watching" || len(f[0].ConversationIDs) != 0 || carries("c2") {
		t.Fatalf("unwatch answered %+v", f)
	}
	// The number watched is bounded.
	for i := range maxWatched {
		sc.watched[string(rune('a'+i%26))+strings.Repeat("x", i)] = true
	}
	f := sc.apply(watchRequest{watch: true, ids: []string{"one-too-many"}})
	if len(f) != 2 || f[0].Type != "error" || f[0].ConversationID != "one-too-many" || sc.watched["one-too-many"] {
		t.Fatalf("watching past the bound answered %+v", f)
	}
}

func FuzzParseWatch(f *testing.F) {
	f.Add([]byte(`{"type":"watch","conversation_ids":["a","b"]}`))
	f.Add([]byte(`{"type":"unwatch","conversation_ids":[]}`))
	f.Add([]byte(`{"type":"watch","conversation_ids":"a"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"type":"watch"`))
	if _, _, bad := parseWatch(websocket.MessageBinary, []byte(`{"type":"watch"}`)); bad == nil {
		f.Fatal("a binary message was accepted")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		watch, ids, bad := parseWatch(websocket.MessageText, b)
		if bad != nil {
			if bad.Type != "error" || bad.Error == "" || watch || ids != nil {
				t.Fatalf("refusal %+v with watch=%v ids=%v", bad, watch, ids)
			}
			return
		}
		if len(ids) > maxWatched {
			t.Fatalf("%d conversations accepted in one message", len(ids))
		}
		var m struct{ Type string }
		if json.Unmarshal(b, &m) != nil || watch != (m.Type == "watch") || (m.Type != "watch" && m.Type != "unwatch") {
			t.Fatalf("accepted %q as watch=%v", b, watch)
		}
	})
}
