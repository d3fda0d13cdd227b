package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
)

type fcrTestPolicy struct{}

func (fcrTestPolicy) Location(string) *time.Location { return time.UTC }
func (fcrTestPolicy) FCRWindow(string) time.Duration { return report.DefaultFCRWindow }

// TestFCRFoldedFromConversations resolves real conversations, has one
// customer come back on another channel and another write again into the
// resolved chat (which reopens it), folds the stored events and reads the
// counters back per channel, queue and agent, for one tenant only.
func TestFCRFoldedFromConversations(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		agent := newUser(t, s, a, "Ana Ruiz")
		queue := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat, atende.ChannelEmail}}
		if err := s.CreateQueue(ctx, a, queue); err != nil {
			t.Fatal(err)
		}
		alice, bob := newContact(t, s, a, "+34600000001"), newContact(t, s, a, "+34600000002")
		other := newContact(t, s, b, "+34600000001")
		open := func(actor atende.Actor, contact *atende.Contact, ch atende.Channel) *atende.Conversation {
			t.Helper()
			c := &atende.Conversation{ContactID: contact.ID, Channel: ch, QueueID: queue.ID}
			if actor.TenantID != a.TenantID {
				c.QueueID = ""
			}
			if err := s.CreateConversation(ctx, actor, c, nil); err != nil {
				t.Fatal(err)
			}
			return c
		}
		setStatus := func(actor atende.Actor, c *atende.Conversation, st atende.ConversationStatus) {
			t.Helper()
			if _, err := s.UpdateConversation(ctx, actor, c.ID, 0, func(c *atende.Conversation) error {
				c.Status = st
				if actor.TenantID == a.TenantID {
					c.AssigneeID = agent.UserID
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		// Alice's chat is resolved, then closed (one resolution); she comes
		// back by email (a repeat), and that one is resolved too.
		c1 := open(a, alice, atende.ChannelChat)
		setStatus(a, c1, atende.StatusResolved)
		setStatus(a, c1, atende.StatusClosed)
		c2 := open(a, alice, atende.ChannelEmail)
		setStatus(a, c2, atende.StatusResolved)
		// Bob's chat is resolved; he writes again into it, which reopens it
		// (a repeat), and it is resolved again.
		c3 := open(a, bob, atende.ChannelChat)
		setStatus(a, c3, atende.StatusResolved)
		if _, _, err := s.AppendMessage(ctx, a, c3.ID, msg(atende.DirectionIn, "still broken", "m1")); err != nil {
			t.Fatal(err)
		}
		setStatus(a, c3, atende.StatusResolved)
		// Another tenant's resolution with the same phone number.
		c4 := open(b, other, atende.ChannelChat)
		setStatus(b, c4, atende.StatusResolved)

		tr := &report.FCRTracker{Source: s, Policy: fcrTestPolicy{}, Now: func() time.Time { return time.Now().Add(time.Minute) }}
		for {
			n, err := tr.Step(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		// Folding again from a stale position is refused.
		if err := s.FoldFCR(ctx, 0, 1, func(report.FCRBook) (map[report.Key]*report.FCRCounters, error) { return nil, nil }); !errors.Is(err, report.ErrMoved) {
			t.Errorf("stale fold: %v", err)
		}

		from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		sum := func(tenant string, dim report.Dimension) map[string]report.FCRCounters {
			t.Helper()
			entries, err := s.FCRStats(ctx, tenant, dim, from, to)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]report.FCRCounters{}
			for _, e := range entries {
				c := out[e.ID]
				c.Add(e.FCR)
				out[e.ID] = c
			}
			return out
		}
		// Resolutions: c1, c2, c3 twice = 4; repeated: c1 (Alice came
		// back) and c3's first (reopened) = 2.
		if got := sum(a.TenantID, report.DimChannel); got["chat"] != (report.FCRCounters{Resolved: 3, Repeated: 2}) || got["email"] != (report.FCRCounters{Resolved: 1}) {
			t.Errorf("by channel %+v", got)
		}
		if got := sum(a.TenantID, report.DimQueue); len(got) != 1 || got[queue.ID] != (report.FCRCounters{Resolved: 4, Repeated: 2}) {
			t.Errorf("by queue %+v", got)
		}
		if got := sum(a.TenantID, report.DimAgent); len(got) != 1 || got[agent.UserID] != (report.FCRCounters{Resolved: 4, Repeated: 2}) {
			t.Errorf("by agent %+v", got)
		}
		if got := sum(b.TenantID, report.DimChannel); len(got) != 1 || got["chat"] != (report.FCRCounters{Resolved: 1}) {
			t.Errorf("tenant B %+v", got)
		}
		if got, err := s.FCRStats(ctx, a.TenantID, report.DimQueue, from, to, "no-such-queue"); err != nil || len(got) != 0 {
			t.Errorf("filtered: %v %v", got, err)
		}

		// Forgetting keeps what still stands (c1 closed, c2, c3 resolved)
		// and what a repeat can still count against.
		if err := s.ForgetFCR(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM fcr_resolutions`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 4 { // c1, c2, c3 (second), c4
			t.Errorf("%d resolutions left after forgetting", left)
		}
	})
}

// BenchmarkFoldFCR folds batches of 2,000 conversation events (a
// conversation created, assigned, resolved; a fifth of the customers coming
// back) as the tracker does, on SQLite; it reports events per second.
func BenchmarkFoldFCR(b *testing.B) {
	s := openTestSQLite(b)
	ctx := context.Background()
	tn := &atende.Tenant{Name: "Bench", Locale: "es-ES", TimeZone: "Europe/Madrid"}
	if err := s.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var id int64
	event := func(typ string, c atende.Conversation, at time.Time) atende.Event {
		id++
		return atende.Event{ID: id, TenantID: tn.ID, Type: typ, Data: []byte(jsonText(c)), At: at}
	}
	batch := func(n int) []atende.Event {
		out := make([]atende.Event, 0, 2000)
		for len(out) < 2000 {
			n++
			contact := fmt.Sprintf("contact-%d", n)
			if n%5 == 0 {
				contact = fmt.Sprintf("contact-%d", n-3) // back within the window
			}
			c := atende.Conversation{ID: fmt.Sprintf("conv-%d", n), ContactID: contact, Channel: atende.ChannelChat, QueueID: "q1", Status: atende.StatusOpen}
			at := start.Add(time.Duration(n) * time.Second)
			out = append(out, event("conversation.created", c, at))
			c.AssigneeID = fmt.Sprintf("agent-%d", n%50)
			out = append(out, event("conversation.updated", c, at.Add(time.Second)))
			c.Status = atende.StatusResolved
			out = append(out, event("conversation.updated", c, at.Add(2*time.Second)))
		}
		return out
	}
	policy := fcrTestPolicy{}
	b.ResetTimer()
	var folded int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		events := batch(i * 700)
		prev := events[0].ID - 1
		b.StartTimer()
		err := s.FoldFCR(ctx, prev, events[len(events)-1].ID, func(book report.FCRBook) (map[report.Key]*report.FCRCounters, error) {
			f := &report.FCRFold{Policy: policy}
			for _, e := range events {
				if err := f.Apply(book, e); err != nil {
					return nil, err
				}
			}
			return f.Take(), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		folded += len(events)
	}
	b.ReportMetric(float64(folded)/b.Elapsed().Seconds(), "events/s")
}
