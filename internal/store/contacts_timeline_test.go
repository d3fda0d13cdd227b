package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atende/atende"
)

// timelineIDs walks a contact's whole unified history page by page.
func timelineIDs(t *testing.T, s *Store, tenantID, contactID string, limit int) ([]ContactTimelineItem, int) {
	t.Helper()
	var all []ContactTimelineItem
	pages := 0
	cursor := ""
	for {
		p, err := s.ContactTimeline(context.Background(), tenantID, contactID, ListOptions{Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, pages
		}
		cursor = p.Next
	}
}

func TestContactTimelineSpansConversationsNewestFirst(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		maria := newContact(t, s, a, "+34612345678")
		other := newContact(t, s, a, "+34612345679")
		foreign := newContact(t, s, b, "+34612345678")
		chat := &atende.Conversation{ContactID: maria.ID, Channel: atende.ChannelChat, Subject: "Router"}
		if err := s.CreateConversation(ctx, a, chat, msg("in", "hola", "")); err != nil {
			t.Fatal(err)
		}
		mail := &atende.Conversation{ContactID: maria.ID, Channel: atende.ChannelEmail, Subject: "Factura"}
		if err := s.CreateConversation(ctx, a, mail, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: "in", Body: "factura"}); err != nil {
			t.Fatal(err)
		}
		noise := &atende.Conversation{ContactID: other.ID, Channel: atende.ChannelChat}
		if err := s.CreateConversation(ctx, a, noise, msg("in", "otra persona", "")); err != nil {
			t.Fatal(err)
		}
		far := &atende.Conversation{ContactID: foreign.ID, Channel: atende.ChannelChat}
		if err := s.CreateConversation(ctx, b, far, msg("in", "otro tenant", "")); err != nil {
			t.Fatal(err)
		}
		// Interleave entries of both conversations: messages, a note and a
		// status change.
		for i := range 5 {
			for _, c := range []*atende.Conversation{chat, mail} {
				e := msg("out", fmt.Sprintf("%s %d", c.Subject, i), "")
				e.Channel = c.Channel
				if _, _, err := s.AppendMessage(ctx, a, c.ID, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, _, err := s.AppendMessage(ctx, a, mail.ID, &atende.TimelineEvent{Kind: atende.KindNote, Body: "nota"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, a, chat.ID, 0, func(c *atende.Conversation) error { c.Status = atende.StatusPending; return nil }); err != nil {
			t.Fatal(err)
		}
		items, pages := timelineIDs(t, s, a.TenantID, maria.ID, 4)
		if len(items) != 14 || pages != 4 {
			t.Fatalf("%d entries in %d pages, want 14 in 4", len(items), pages)
		}
		for i, it := range items {
			if i > 0 && it.Event.ID >= items[i-1].Event.ID {
				t.Fatalf("entry %d is not older than the one before", i)
			}
			want := chat
			if it.Event.ConversationID == mail.ID {
				want = mail
			}
			if it.Event.ConversationID != want.ID || it.Conversation.ID != want.ID || it.Conversation.Protocol != want.Protocol ||
				it.Conversation.Subject != want.Subject || it.Conversation.Channel != want.Channel || !it.Conversation.CreatedAt.Equal(want.CreatedAt) {
				t.Fatalf("entry %d: %+v with conversation %+v", i, it.Event, it.Conversation)
			}
			if it.Event.TenantID != a.TenantID {
				t.Fatalf("entry of another tenant: %+v", it.Event)
			}
		}
		if items[0].Event.Kind != atende.KindStatus || items[0].Conversation.Status != atende.StatusPending {
			t.Fatalf("newest entry %+v %+v", items[0].Event, items[0].Conversation)
		}
		if items[1].Event.Kind != atende.KindNote || items[len(items)-1].Event.Body != "hola" {
			t.Fatalf("order: first %+v last %+v", items[1].Event, items[len(items)-1].Event)
		}
		// Tenant B sees nothing of A's contact: it does not exist there.
		_, err := s.ContactTimeline(ctx, b.TenantID, maria.ID, ListOptions{})
		wantCode(t, err, atende.ENotFound)
		p, err := s.ContactTimeline(ctx, b.TenantID, foreign.ID, ListOptions{})
		if err != nil || len(p.Items) != 1 || p.Items[0].Event.Body != "otro tenant" {
			t.Fatalf("tenant B's own contact: %+v, %v", p, err)
		}
		// A contact without conversations has an empty history.
		quiet := newContact(t, s, a, "+34612345670")
		p, err = s.ContactTimeline(ctx, a.TenantID, quiet.ID, ListOptions{})
		if err != nil || len(p.Items) != 0 || p.Next != "" || p.Items == nil {
			t.Fatalf("quiet contact: %+v, %v", p, err)
		}
		_, err = s.ContactTimeline(ctx, a.TenantID, maria.ID, ListOptions{Cursor: "garbage"})
		wantCode(t, err, atende.EInvalid)
	})
}

func TestContactTimelineFollowsMergesAndTheirUndo(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		winner := newContact(t, s, a, "+34612345678")
		loser := newContact(t, s, a, "+34612345679")
		for i, c := range []*atende.Contact{winner, loser, loser} {
			conv := &atende.Conversation{ContactID: c.ID, Channel: atende.ChannelChat}
			if err := s.CreateConversation(ctx, a, conv, msg("in", fmt.Sprintf("m%d", i), "")); err != nil {
				t.Fatal(err)
			}
		}
		count := func(id string) int {
			items, _ := timelineIDs(t, s, a.TenantID, id, 200)
			return len(items)
		}
		if count(winner.ID) != 1 || count(loser.ID) != 2 {
			t.Fatalf("before merge: %d, %d", count(winner.ID), count(loser.ID))
		}
		m, err := s.MergeContacts(ctx, a, winner.ID, loser.ID)
		if err != nil {
			t.Fatal(err)
		}
		if count(winner.ID) != 3 || count(loser.ID) != 0 {
			t.Fatalf("after merge: %d, %d", count(winner.ID), count(loser.ID))
		}
		if _, err := s.UndoMerge(ctx, a, m.ID); err != nil {
			t.Fatal(err)
		}
		if count(winner.ID) != 1 || count(loser.ID) != 2 {
			t.Fatalf("after undo: %d, %d", count(winner.ID), count(loser.ID))
		}
	})
}

// TestContactTimelineUsesItsIndex: a page is one range of the contact index
// read backwards, not a scan and sort of the tenant's entries.
func TestContactTimelineUsesItsIndex(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		c := newContact(t, s, a, "+34612345678")
		for range 3 {
			conv := &atende.Conversation{ContactID: c.ID, Channel: atende.ChannelChat}
			if err := s.CreateConversation(ctx, a, conv, msg("in", "hola", "")); err != nil {
				t.Fatal(err)
			}
		}
		conn, err := s.rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := `EXPLAIN QUERY PLAN `
		if s.dialect == Postgres {
			// Tiny test tables make a sequential scan cheapest; what matters
			// is that the index can serve the order without a sort.
			if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			defer conn.ExecContext(ctx, `RESET enable_seqscan`)
			explain = `EXPLAIN `
		}
		for _, before := range []bool{false, true} {
			args := []any{a.TenantID, c.ID}
			if before {
				args = append(args, atende.NewID())
			}
			rows, err := conn.QueryContext(ctx, explain+s.q(contactTimelineQuery(before)), append(args, 51)...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
			}
			rows.Close()
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, "conversation_events_contact") || strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "Sort") {
				t.Fatalf("plan (before=%v):\n%s", before, text)
			}
		}
	})
}

func TestConversationSearch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		maria := &atende.Contact{Name: "María López", Identities: []atende.Identity{
			{Kind: atende.IdentityPhone, Value: "+34612345678"}, {Kind: atende.IdentityEmail, Value: "maria.lopez@example.es"}}}
		juan := &atende.Contact{Name: "Juan Pérez", Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: "+34699000111"}}}
		for _, c := range []*atende.Contact{maria, juan} {
			if err := s.CreateContact(ctx, a, c); err != nil {
				t.Fatal(err)
			}
		}
		twin := &atende.Contact{Name: "María López", Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: "+34612345678"}}}
		if err := s.CreateContact(ctx, b, twin); err != nil {
			t.Fatal(err)
		}
		open := func(actor atende.Actor, contact *atende.Contact, subject string) *atende.Conversation {
			c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, Subject: subject}
			if err := s.CreateConversation(ctx, actor, c, nil); err != nil {
				t.Fatal(err)
			}
			return c
		}
		router := open(a, maria, "El ROUTER no conecta")
		invoice := open(a, juan, "Factura de marzo")
		other := open(a, juan, "Baja 100% urgente")
		foreign := open(b, twin, "Router")
		find := func(q string) []string {
			t.Helper()
			p, err := s.Conversations(ctx, a.TenantID, ConversationFilter{Query: q}, ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range p.Items {
				if c.ID == foreign.ID {
					t.Fatalf("search %q found tenant B's conversation", q)
				}
				ids = append(ids, c.ID)
			}
			slices.Sort(ids)
			return ids
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		var sameDay []string // all three, unless the test straddles midnight
		for _, c := range []*atende.Conversation{router, invoice, other} {
			if strings.HasPrefix(c.Protocol, router.Protocol[:9]) {
				sameDay = append(sameDay, c.ID)
			}
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{router.Protocol, sorted(router.ID)},      // exact protocol
			{router.Protocol[:9], sorted(sameDay...)}, // protocol prefix: the date
			{"router", sorted(router.ID)},             // subject, any case
			{"FACTURA", sorted(invoice.ID)},
			{"lópez", sorted(router.ID)},           // contact name
			{"juan", sorted(invoice.ID, other.ID)}, // contact name, any case
			{"MARIA.LOPEZ@", sorted(router.ID)},    // part of an email
			{"612 345 678", sorted(router.ID)},     // phone as people write it
			{"0111", sorted(invoice.ID, other.ID)}, // last digits of a phone
			{"100%", sorted(other.ID)},             // LIKE wildcards are literal
			{"_", nil},
			{"nadie", nil},
		} {
			if got := find(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
			}
		}
		// The query narrows the other filters, not the other way round.
		p, err := s.Conversations(ctx, a.TenantID, ConversationFilter{Query: "juan", ContactID: maria.ID}, ListOptions{})
		if err != nil || len(p.Items) != 0 {
			t.Fatalf("query and contact_id: %+v, %v", p.Items, err)
		}
	})
}
