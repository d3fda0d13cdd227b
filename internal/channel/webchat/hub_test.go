package webchat

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
)

// recorder is a listener that keeps the merged updates it was told.
type recorder struct {
	mu sync.Mutex
	u  Update
	n  int
	ch chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) Notify(u Update) {
	r.mu.Lock()
	r.u.Merge(u)
	r.n++
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) take(t *testing.T) Update {
	t.Helper()
	select {
	case <-r.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no update")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.u
	r.u = Update{}
	return u
}

func (r *recorder) quiet(t *testing.T) {
	t.Helper()
	select {
	case <-r.ch:
		t.Fatalf("unexpected update %+v", r.u)
	case <-time.After(50 * time.Millisecond):
	}
}

// chanBus is a bus whose subscriptions the test can drop.
type chanBus struct {
	mu   sync.Mutex
	subs map[string][]chan atende.Event
	n    int // subscriptions made
}

func (b *chanBus) Publish(_ context.Context, events ...atende.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range events {
		for _, ch := range b.subs[e.TenantID] {
			ch <- e
		}
	}
}

func (b *chanBus) Subscribe(ctx context.Context, tenantID string) <-chan atende.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan atende.Event, 100)
	b.subs[tenantID] = append(b.subs[tenantID], ch)
	b.n++
	context.AfterFunc(ctx, func() { b.drop(tenantID) })
	return ch
}

// drop closes every subscription of the tenant, as a bus does to a slow
// subscriber.
func (b *chanBus) drop(tenantID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs[tenantID] {
		close(ch)
	}
	delete(b.subs, tenantID)
}

func (b *chanBus) count() (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := 0
	for _, l := range b.subs {
		live += len(l)
	}
	return b.n, live
}

// TestHubFansOutPerConversation: one subscription per tenant however many
// visitors; an event wakes only its conversation's connections; a dropped
// subscription is renewed and every connection told to resync; the last
// connection to leave ends the subscription.
func TestHubFansOutPerConversation(t *testing.T) {
	bus := &chanBus{subs: map[string][]chan atende.Event{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := NewHub(ctx, bus, nil)
	tenant, conv1, conv2 := atende.NewID(), atende.NewID(), atende.NewID()
	one, two, other := newRecorder(), newRecorder(), newRecorder()
	leave1 := h.Join(tenant, conv1, one)
	leave2 := h.Join(tenant, conv1, two)
	leave3 := h.Join(tenant, conv2, other)
	if made, live := bus.count(); made != 1 || live != 1 {
		t.Fatalf("subscriptions: %d made, %d live; want one per tenant", made, live)
	}

	bus.Publish(ctx, atende.Event{TenantID: tenant, Type: "conversation.event_appended", Subject: conv1})
	for _, r := range []*recorder{one, two} {
		if u := r.take(t); !u.Appended || u.Resync {
			t.Fatalf("appended: %+v", u)
		}
	}
	other.quiet(t)

	typing, _ := json.Marshal(Typing{ConversationID: conv2, Side: "agent", Typing: true})
	visitorTyping, _ := json.Marshal(Typing{ConversationID: conv2, Side: "visitor", Typing: true})
	accepted, _ := json.Marshal(map[string]any{"task": map[string]any{"conversation_id": conv2, "channel": "chat", "agent_id": "ag"}})
	read, _ := json.Marshal(map[string]any{"conversation_id": conv2, "side": "agent", "seq": 7})
	bus.Publish(ctx,
		atende.Event{TenantID: tenant, Type: EventTyping, Subject: conv2, Data: visitorTyping}, // the visitor's own: not echoed
		atende.Event{TenantID: tenant, Type: EventTyping, Subject: conv2, Data: typing},
		atende.Event{TenantID: tenant, Type: "task.accepted", Subject: atende.NewID(), Data: accepted},
		atende.Event{TenantID: tenant, Type: "chat.read", Subject: conv2, Data: read},
		atende.Event{TenantID: tenant, Type: "chat.ended", Subject: conv2},
	)
	var got Update
	for i := 0; i < 4; i++ {
		got.Merge(other.take(t))
	}
	if got.Typing == nil || !*got.Typing || got.AgentID != "ag" || got.ReadSeq != 7 || !got.Ended || got.Appended {
		t.Fatalf("conversation two's updates %+v", got)
	}
	one.quiet(t)

	bus.drop(tenant)
	for _, r := range []*recorder{one, two, other} {
		if u := r.take(t); !u.Resync || !u.Appended {
			t.Fatalf("after a drop: %+v", u)
		}
	}
	bus.Publish(ctx, atende.Event{TenantID: tenant, Type: "conversation.event_appended", Subject: conv2})
	if u := other.take(t); !u.Appended {
		t.Fatalf("live again after the drop: %+v", u)
	}

	leave1()
	leave2()
	leave3()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, live := bus.count(); live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription outlived its last connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(h.Tenants()) != 0 {
		t.Fatalf("tenants %v", h.Tenants())
	}
	cancel()
	h.Wait()
}
