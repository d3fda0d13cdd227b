package webchat

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/channel/webchat/widget"
	"github.com/atende/atende/internal/store"
)

// TestAssignerStops: watchers end when their context does, and Wait says so.
func TestAssignerStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir(), Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	as := NewAssigner(ctx, st, b, nil)
	tenant := atende.NewID()
	as.Watch(tenant)
	as.Watch(tenant) // once per tenant
	if !as.Watching(tenant) {
		t.Fatal("not watching")
	}
	cancel()
	done := make(chan struct{})
	go func() { as.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchers did not stop")
	}
	as.Watch(atende.NewID()) // after the end: nothing starts
	as.Wait()
}

// TestAssignerAssignsABurstInAcceptOrder: many chats accepted at once are
// all assigned, and a chat accepted twice (a transfer) ends with the
// second agent.
func TestAssignerAssignsABurstInAcceptOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir(), Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn := &atende.Tenant{Name: "Loja", Locale: "pt-BR", TimeZone: "America/Sao_Paulo"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	a := atende.SystemActor(tn.ID)
	var agents [2]*atende.User
	for i := range agents {
		agents[i] = &atende.User{Email: fmt.Sprintf("agent%d@loja.example", i), Name: "Agent", Roles: []atende.Role{atende.RoleAgent}, Active: true}
		if err := st.CreateUser(ctx, a, agents[i], ""); err != nil {
			t.Fatal(err)
		}
	}
	q := &atende.Queue{Name: "Chat", Channels: []atende.Channel{atende.ChannelChat}}
	if err := st.CreateQueue(ctx, a, q); err != nil {
		t.Fatal(err)
	}
	wd := widget.Defaults()
	wd.Name, wd.QueueID = "Loja", q.ID
	if err := st.CreateChatWidget(ctx, a, wd); err != nil {
		t.Fatal(err)
	}
	const n = 40
	convs := make([]string, n)
	for i := range convs {
		visitor := atende.NewID()
		contact, _, err := st.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentityChat, Value: visitor}, "Ana")
		if err != nil {
			t.Fatal(err)
		}
		c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, QueueID: q.ID}
		if err := st.CreateConversation(ctx, a, c, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateChatSession(ctx, a, &store.ChatSession{ConversationID: c.ID, WidgetID: wd.ID, VisitorID: visitor, ContactID: contact.ID, Language: "pt-BR"}); err != nil {
			t.Fatal(err)
		}
		convs[i] = c.ID
	}
	as := NewAssigner(ctx, st, b, nil)
	as.Watch(tn.ID)
	last, err := st.LastEventID(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The assigner subscribes on its own goroutine: publish only once it
	// has, or the events would reach no one.
	for deadline := time.Now().Add(5 * time.Second); b.Subscribers(tn.ID) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the assigner never subscribed")
		}
		time.Sleep(time.Millisecond)
	}
	accepted := func(conv, agent string) atende.Event {
		last++
		d, _ := json.Marshal(map[string]any{"task": map[string]any{"id": atende.NewID(), "conversation_id": conv, "channel": "chat", "agent_id": agent, "state": "assigned"}})
		return atende.Event{ID: last, TenantID: tn.ID, Type: "task.accepted", Perm: atende.PermTasksRead, Data: d, At: time.Now()}
	}
	var evs []atende.Event
	for _, c := range convs {
		evs = append(evs, accepted(c, agents[0].ID))
	}
	evs = append(evs, accepted(convs[0], agents[1].ID)) // transferred and accepted again
	b.Publish(ctx, evs...)

	want := func(i int) string {
		if i == 0 {
			return agents[1].ID
		}
		return agents[0].ID
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, id := range convs {
		for {
			c, err := st.Conversation(ctx, tn.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.AssigneeID == want(i) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("conversation %d assigned to %q, want %q", i, c.AssigneeID, want(i))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
