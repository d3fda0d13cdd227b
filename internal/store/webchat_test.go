package store

import (
	"context"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/webchat/widget"
)

func TestChatWidgetsSessionsAndSurveys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Chat A")
		_, b := newTenant(t, s, "Chat B")
		q := &atende.Queue{Name: "Chat", Channels: []atende.Channel{atende.ChannelChat}}
		if err := s.CreateQueue(ctx, a, q); err != nil {
			t.Fatal(err)
		}
		w := widget.Defaults()
		w.Name, w.QueueID, w.AllowedOrigins = "Loja", q.ID, []string{"HTTPS://Shop.Example.com/"}
		if err := s.CreateChatWidget(ctx, a, w); err != nil {
			t.Fatal(err)
		}
		if w.AllowedOrigins[0] != "https://shop.example.com" || !w.OriginAllowed("https://shop.example.com") || w.OriginAllowed("https://evil.example.com") {
			t.Fatalf("origins %v", w.AllowedOrigins)
		}
		// Another tenant's queue, or none, is refused.
		bad := widget.Defaults()
		bad.Name, bad.QueueID = "X", q.ID
		wantCode(t, s.CreateChatWidget(ctx, b, bad), atende.EInvalid)
		emailOnly := &atende.Queue{Name: "Email", Channels: []atende.Channel{atende.ChannelEmail}}
		if err := s.CreateQueue(ctx, a, emailOnly); err != nil {
			t.Fatal(err)
		}
		noChat := widget.Defaults()
		noChat.Name, noChat.QueueID = "Y", emailOnly.ID
		wantCode(t, s.CreateChatWidget(ctx, a, noChat), atende.EInvalid)
		noChat.QueueID, noChat.Offline.QueueID = q.ID, q.ID // the offline queue must take email
		wantCode(t, s.CreateChatWidget(ctx, a, noChat), atende.EInvalid)
		if _, err := s.ChatWidget(ctx, b.TenantID, w.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("tenant B reads A's widget: %v", err)
		}
		if got, err := s.PublicChatWidget(ctx, w.ID); err != nil || got.TenantID != a.TenantID || got.Theme.Position != "right" {
			t.Fatalf("public widget %+v %v", got, err)
		}
		up, err := s.UpdateChatWidget(ctx, a, w.ID, w.Version, func(w *widget.Widget) error { w.Active = false; w.Theme.Position = "left"; return nil })
		if err != nil || up.Active || up.Theme.Position != "left" || up.Version != 2 {
			t.Fatalf("update %+v %v", up, err)
		}
		_, err = s.UpdateChatWidget(ctx, a, w.ID, 1, func(*widget.Widget) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		page, err := s.ChatWidgets(ctx, a.TenantID, ListOptions{})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("list %+v %v", page, err)
		}

		visitor := atende.NewID()
		contact, _, err := s.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentityChat, Value: visitor}, "Ana")
		if err != nil {
			t.Fatal(err)
		}
		c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, QueueID: q.ID}
		if err := s.CreateConversation(ctx, a, c, nil); err != nil {
			t.Fatal(err)
		}
		cs := &ChatSession{ConversationID: c.ID, WidgetID: w.ID, VisitorID: visitor, ContactID: contact.ID, Language: "pt-BR"}
		if err := s.CreateChatSession(ctx, a, cs); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.CreateChatSession(ctx, b, &ChatSession{ConversationID: c.ID, WidgetID: w.ID, VisitorID: visitor}), atende.EInvalid)
		open, err := s.OpenChatSession(ctx, a.TenantID, w.ID, visitor)
		if err != nil || open.ConversationID != c.ID {
			t.Fatalf("open session %+v %v", open, err)
		}
		if _, err := s.OpenChatSession(ctx, a.TenantID, w.ID, atende.NewID()); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("another visitor finds the chat: %v", err)
		}
		task := atende.NewID()
		if err := s.SetChatTask(ctx, a, c.ID, task); err != nil {
			t.Fatal(err)
		}
		for i, body := range []string{"oi", "tudo bem?"} {
			if _, _, err := s.AppendMessage(ctx, a, c.ID, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: "in", Body: body, ClientID: string(rune('a' + i))}); err != nil {
				t.Fatal(err)
			}
		}
		// Read marks move forward only and stop at the end of the timeline.
		for _, tc := range []struct {
			side      string
			seq, want int64
		}{{SideVisitor, 1, 1}, {SideVisitor, 0, 1}, {SideAgent, 99, 2}, {SideAgent, 1, 2}} {
			got, err := s.MarkChatRead(ctx, a, c.ID, tc.side, tc.seq)
			if err != nil || got != tc.want {
				t.Fatalf("mark %s %d: %d %v, want %d", tc.side, tc.seq, got, err, tc.want)
			}
		}
		_, err = s.MarkChatRead(ctx, b, c.ID, SideAgent, 1)
		wantCode(t, err, atende.ENotFound)
		got, err := s.ChatSession(ctx, a.TenantID, c.ID)
		if err != nil || got.VisitorReadSeq != 1 || got.AgentReadSeq != 2 || got.TaskID != task || got.Language != "pt-BR" {
			t.Fatalf("session %+v %v", got, err)
		}
		if tenants, err := s.ChatTenants(ctx); err != nil || len(tenants) != 1 || tenants[0] != a.TenantID {
			t.Fatalf("chat tenants %v %v", tenants, err)
		}
		for i := 0; i < 2; i++ { // ending twice is harmless
			if err := s.EndChatSession(ctx, a, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, s.EndChatSession(ctx, b, c.ID), atende.ENotFound)
		if _, err := s.OpenChatSession(ctx, a.TenantID, w.ID, visitor); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("an ended chat is still open: %v", err)
		}

		// One CSAT answer per conversation, scored 1-5.
		wantCode(t, s.CreateSurvey(ctx, a, &Survey{ConversationID: c.ID, Kind: SurveyCSAT, Score: 6}), atende.EInvalid)
		wantCode(t, s.CreateSurvey(ctx, b, &Survey{ConversationID: c.ID, Kind: SurveyCSAT, Score: 5}), atende.ENotFound)
		sv := &Survey{ConversationID: c.ID, Kind: SurveyCSAT, Score: 5, Comment: " Ótimo "}
		if err := s.CreateSurvey(ctx, a, sv); err != nil || sv.Channel != atende.ChannelChat || sv.Comment != "Ótimo" {
			t.Fatalf("survey %+v %v", sv, err)
		}
		wantCode(t, s.CreateSurvey(ctx, a, &Survey{ConversationID: c.ID, Kind: SurveyCSAT, Score: 1}), atende.EConflict)
		list, err := s.Surveys(ctx, a.TenantID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil || len(list) != 1 || list[0].Score != 5 {
			t.Fatalf("surveys %+v %v", list, err)
		}

		// The signing key is made once per tenant, whoever asks first.
		calls := 0
		mk := func(v string) func() (string, error) { return func() (string, error) { calls++; return v, nil } }
		k1, err := s.ChatKey(ctx, a.TenantID, mk("first"))
		if err != nil || k1 != "first" {
			t.Fatalf("key %q %v", k1, err)
		}
		if k2, err := s.ChatKey(ctx, a.TenantID, mk("second")); err != nil || k2 != "first" || calls != 1 {
			t.Fatalf("second key %q %v calls %d", k2, err, calls)
		}
		if err := s.DeleteChatWidget(ctx, a, w.ID, 0); err != nil {
			t.Fatal(err)
		}
	})
}
