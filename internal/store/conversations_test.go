package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/atende/atende"
)

func newContact(t *testing.T, s *Store, a atende.Actor, phone string) *atende.Contact {
	t.Helper()
	c := &atende.Contact{Name: "Cliente " + phone, Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: phone}}}
	if err := s.CreateContact(context.Background(), a, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func msg(dir, body, clientID string) *atende.TimelineEvent {
	return &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: dir, Body: body, ClientID: clientID}
}

func TestProtocolNumbersAreUniqueUnderConcurrency(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		ca := newContact(t, s, a, "+34612345678")
		cb := newContact(t, s, b, "+34612345678")
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				actor, contact := a, ca
				if i%2 == 1 {
					actor, contact = b, cb
				}
				c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelVoice}
				if err := s.CreateConversation(ctx, actor, c, nil); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				defer mu.Unlock()
				key := actor.TenantID + c.Protocol
				if seen[key] {
					errs <- fmt.Errorf("protocol %s given twice", c.Protocol)
				}
				seen[key] = true
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Each tenant counts on its own: both have 1..20.
		for _, tn := range []atende.Actor{a, b} {
			page, _ := s.Conversations(ctx, tn.TenantID, ConversationFilter{}, ListOptions{Limit: 200})
			nums := map[string]bool{}
			for _, c := range page.Items {
				nums[c.Protocol[strings.IndexByte(c.Protocol, '-')+1:]] = true
			}
			for i := 1; i <= 20; i++ {
				if !nums[fmt.Sprintf("%06d", i)] {
					t.Fatalf("tenant %s lacks protocol sequence %d: %v", tn.TenantID, i, nums)
				}
			}
		}
	})
}

func TestTimelineOrderDedupAndStatus(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		contact := newContact(t, s, a, "+34612345678")
		c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, Subject: "Router"}
		if err := s.CreateConversation(ctx, a, c, msg("in", "Hola", "c-1")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					// Every message is sent twice: the second must be a no-op.
					for range 2 {
						if _, _, err := s.AppendMessage(ctx, a, c.ID, msg("out", "respuesta", fmt.Sprintf("w%d-%d", w, i))); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		tl, err := s.Timeline(ctx, a.TenantID, c.ID, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != 41 {
			t.Fatalf("timeline has %d entries, want 41", len(tl))
		}
		for i, e := range tl {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
		}
		again, created, err := s.AppendMessage(ctx, a, c.ID, msg("out", "otra cosa", "w0-0"))
		if err != nil || created || again.Body != "respuesta" {
			t.Fatalf("dedupe returned %+v created=%v err=%v", again, created, err)
		}
		_, _, err = s.AppendMessage(ctx, b, c.ID, msg("out", "x", ""))
		wantCode(t, err, atende.ENotFound)
		_, err = s.Timeline(ctx, b.TenantID, c.ID, 0, 10)
		wantCode(t, err, atende.ENotFound)

		// Resolve; an inbound message reopens it; closing is final.
		disp := &atende.Disposition{Code: "ok", Labels: map[string]string{"en": "OK"}, Resolves: true, Active: true}
		noted := &atende.Disposition{Code: "complaint", Labels: map[string]string{"en": "Complaint"}, RequireNote: true, Active: true}
		for _, d := range []*atende.Disposition{disp, noted} {
			if err := s.CreateDisposition(ctx, a, d); err != nil {
				t.Fatal(err)
			}
		}
		_, err = s.SetDisposition(ctx, a, c.ID, noted.ID, "")
		wantCode(t, err, atende.EInvalid)
		got, err := s.SetDisposition(ctx, a, c.ID, disp.ID, "")
		if err != nil || got.Status != atende.StatusResolved || got.DispositionID != disp.ID {
			t.Fatalf("SetDisposition = %+v, %v", got, err)
		}
		if _, _, err := s.AppendMessage(ctx, a, c.ID, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: "in", Body: "sigue sin ir"}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Conversation(ctx, a.TenantID, c.ID)
		if got.Status != atende.StatusOpen || len(got.Channels) != 2 {
			t.Fatalf("after inbound on resolved: %+v", got)
		}
		got, err = s.UpdateConversation(ctx, a, c.ID, got.Version, func(c *atende.Conversation) error {
			c.Status = atende.StatusClosed
			c.Tags = []string{"VIP", "router"}
			return nil
		})
		if err != nil || got.ClosedAt == nil || strings.Join(got.Tags, ",") != "router,vip" {
			t.Fatalf("close: %+v, %v", got, err)
		}
		_, _, err = s.AppendMessage(ctx, a, c.ID, msg("in", "hola?", ""))
		wantCode(t, err, atende.EConflict)
		_, err = s.UpdateConversation(ctx, a, c.ID, 0, func(c *atende.Conversation) error { c.Status = atende.StatusOpen; return nil })
		wantCode(t, err, atende.EInvalid)
		tl, _ = s.Timeline(ctx, a.TenantID, c.ID, 41, 500)
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, string(e.Kind))
		}
		if got := strings.Join(kinds, ","); got != "disposition,status,message,status,status,tags" {
			t.Fatalf("timeline after 41: %s", got)
		}
	})
}

func TestConversationRefsStayInTenant(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		cb := newContact(t, s, b, "+34612345678")
		qb := &atende.Queue{Name: "B queue", Channels: []atende.Channel{atende.ChannelChat}}
		if err := s.CreateQueue(ctx, b, qb); err != nil {
			t.Fatal(err)
		}
		ca := newContact(t, s, a, "+34612345679")
		wantCode(t, s.CreateConversation(ctx, a, &atende.Conversation{ContactID: cb.ID, Channel: atende.ChannelChat}, nil), atende.EInvalid)
		wantCode(t, s.CreateConversation(ctx, a, &atende.Conversation{ContactID: ca.ID, Channel: atende.ChannelChat, QueueID: qb.ID}, nil), atende.EInvalid)
		c := &atende.Conversation{ContactID: ca.ID, Channel: atende.ChannelChat}
		if err := s.CreateConversation(ctx, a, c, nil); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateConversation(ctx, a, c.ID, 0, func(c *atende.Conversation) error { c.QueueID = qb.ID; return nil })
		wantCode(t, err, atende.EInvalid)
		_, err = s.Conversation(ctx, b.TenantID, c.ID)
		wantCode(t, err, atende.ENotFound)
		page, _ := s.Conversations(ctx, b.TenantID, ConversationFilter{ContactID: ca.ID}, ListOptions{})
		if len(page.Items) != 0 {
			t.Fatal("tenant B lists tenant A's conversation")
		}
	})
}

// recordingBus keeps what the store publishes.
type recordingBus struct {
	mu     sync.Mutex
	events []atende.Event
}

func (r *recordingBus) Publish(_ context.Context, evs ...atende.Event) {
	r.mu.Lock()
	r.events = append(r.events, evs...)
	r.mu.Unlock()
}

func (r *recordingBus) Subscribe(ctx context.Context, _ string) <-chan atende.Event {
	return nil
}

func TestEventsArePublishedAfterCommitOnly(t *testing.T) {
	s := openTestSQLite(t)
	rb := &recordingBus{}
	s.bus = rb
	ctx := context.Background()
	_, a := newTenant(t, s, "Acme")
	c := newContact(t, s, a, "+34612345678")
	conv := &atende.Conversation{ContactID: c.ID, Channel: atende.ChannelChat}
	if err := s.CreateConversation(ctx, a, conv, msg("in", "hola", "")); err != nil {
		t.Fatal(err)
	}
	n := len(rb.events)
	// A failing write publishes nothing.
	wantCode(t, s.CreateConversation(ctx, a, &atende.Conversation{ContactID: atende.NewID(), Channel: atende.ChannelChat}, nil), atende.EInvalid)
	if len(rb.events) != n {
		t.Fatal("a rolled-back write published events")
	}
	stored, err := s.Events(ctx, a.TenantID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != n {
		t.Fatalf("%d events stored, %d published", len(stored), n)
	}
	for i := range stored {
		if stored[i].ID != rb.events[i].ID || stored[i].Type != rb.events[i].Type {
			t.Fatalf("event %d: stored %+v, published %+v", i, stored[i], rb.events[i])
		}
	}
	last, _ := s.LastEventID(ctx, a.TenantID)
	if last != stored[len(stored)-1].ID {
		t.Fatalf("LastEventID %d", last)
	}
}
