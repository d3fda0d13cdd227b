package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/channel/webchat/widget"
	"github.com/atende/atende/internal/media"
)

// TestCustomerAttachmentReachesOnlyTheConversationsVisibleFiles: a file is
// the customer's to fetch only when a message of their own conversation
// carries it; a note's file, another conversation's and another tenant's
// are not found.
func TestCustomerAttachmentReachesOnlyTheConversationsVisibleFiles(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Files A")
		_, b := newTenant(t, s, "Files B")
		file := func(act atende.Actor, name string) *media.File {
			f := &media.File{ID: atende.NewID(), TenantID: act.TenantID, Name: name, ContentType: "image/png", Size: 3, SHA256: "x"}
			if err := s.AddMedia(ctx, act, f); err != nil {
				t.Fatal(err)
			}
			return f
		}
		conv := func(act atende.Actor) *atende.Conversation {
			ct := &atende.Contact{Name: "Ana"}
			if err := s.CreateContact(ctx, act, ct); err != nil {
				t.Fatal(err)
			}
			c := &atende.Conversation{ContactID: ct.ID, Channel: atende.ChannelChat}
			if err := s.CreateConversation(ctx, act, c, nil); err != nil {
				t.Fatal(err)
			}
			return c
		}
		attach := func(act atende.Actor, c *atende.Conversation, kind atende.EventKind, f *media.File) {
			data, _ := json.Marshal(map[string]any{"attachments": []Attachment{AttachmentOf(f)}})
			e := &atende.TimelineEvent{Kind: kind, Body: f.Name, Data: data}
			if kind == atende.KindMessage {
				e.Channel, e.Direction, e.AuthorKind, e.AuthorID = atende.ChannelChat, atende.DirectionOut, "user", atende.NewID()
			}
			if _, _, err := s.AppendMessage(ctx, act, c.ID, e); err != nil {
				t.Fatal(err)
			}
		}
		mine, other, theirs := conv(a), conv(a), conv(b)
		onMessage, onNote, elsewhere, inB := file(a, "a.png"), file(a, "note.png"), file(a, "other.png"), file(b, "b.png")
		attach(a, mine, atende.KindMessage, onMessage)
		attach(a, mine, atende.KindNote, onNote)
		attach(a, other, atende.KindMessage, elsewhere)
		attach(b, theirs, atende.KindMessage, inB)

		if f, err := s.CustomerAttachment(ctx, a.TenantID, mine.ID, onMessage.ID); err != nil || f.Name != "a.png" {
			t.Fatalf("own file: %+v %v", f, err)
		}
		for name, id := range map[string]string{"a note's file": onNote.ID, "another conversation's": elsewhere.ID, "another tenant's": inB.ID, "no file": atende.NewID(), "not an id": "%"} {
			if _, err := s.CustomerAttachment(ctx, a.TenantID, mine.ID, id); atende.ErrorCode(err) != atende.ENotFound {
				t.Errorf("%s: %v, want not found", name, err)
			}
		}
		if _, err := s.CustomerAttachment(ctx, b.TenantID, mine.ID, onMessage.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Errorf("tenant B through A's conversation: %v", err)
		}
		if _, err := s.MediaFiles(ctx, a.TenantID, "attachments", []string{onMessage.ID, inB.ID}); atende.ErrorCode(err) != atende.EInvalid {
			t.Errorf("another tenant's file as an attachment: %v", err)
		}
		if err := s.DeleteMedia(ctx, a, onNote.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Media(ctx, a.TenantID, onNote.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Errorf("deleted file: %v", err)
		}
	})
}

// TestChatIdleTranscriptsAndTranscriptMailbox: connected visitors are
// recorded, idle chats are found per widget (never an assigned one), the
// transcript count stops at its limit, and a widget's transcript mailbox
// must be the tenant's and send mail.
func TestChatIdleTranscriptsAndTranscriptMailbox(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Idle A")
		_, b := newTenant(t, s, "Idle B")
		q := &atende.Queue{Name: "Chat", Channels: []atende.Channel{atende.ChannelChat}}
		if err := s.CreateQueue(ctx, a, q); err != nil {
			t.Fatal(err)
		}
		receiving := &mailbox.Mailbox{Name: "In", Address: "in@a.example", Active: true, QueueID: q.ID, Receive: &mailbox.Receive{Recipients: []string{"in@a.example"}}}
		if err := s.CreateMailbox(ctx, a, receiving); err != nil {
			t.Fatal(err)
		}
		w := widget.Defaults()
		w.Name, w.QueueID = "Web", q.ID
		w.Transcript = widget.Transcript{Enabled: true, MailboxID: receiving.ID}
		wantCode(t, s.CreateChatWidget(ctx, a, w), atende.EInvalid) // no smtp settings
		w.Transcript.MailboxID = atende.NewID()
		wantCode(t, s.CreateChatWidget(ctx, a, w), atende.EInvalid) // not a mailbox
		w.Transcript = widget.Transcript{}
		if err := s.CreateChatWidget(ctx, a, w); err != nil {
			t.Fatal(err)
		}

		open := func() *ChatSession {
			ct := &atende.Contact{Name: "V"}
			if err := s.CreateContact(ctx, a, ct); err != nil {
				t.Fatal(err)
			}
			c := &atende.Conversation{ContactID: ct.ID, Channel: atende.ChannelChat, QueueID: q.ID}
			if err := s.CreateConversation(ctx, a, c, nil); err != nil {
				t.Fatal(err)
			}
			cs := &ChatSession{ConversationID: c.ID, WidgetID: w.ID, VisitorID: "v_" + c.ID, ContactID: ct.ID}
			if err := s.CreateChatSession(ctx, a, cs); err != nil {
				t.Fatal(err)
			}
			return cs
		}
		gone, here, held := open(), open(), open()
		agent := &atende.User{Email: "agent@a.example", Name: "Agent", Roles: []atende.Role{atende.RoleAgent}, Active: true}
		if err := s.CreateUser(ctx, a, agent, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, a, held.ConversationID, 0, func(c *atende.Conversation) error {
			c.AssigneeID = agent.ID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Hour)
		idle, err := s.IdleChatSessions(ctx, a.TenantID, w.ID, later, 10)
		if err != nil || len(idle) != 2 {
			t.Fatalf("idle an hour from now: %+v %v (the assigned chat is never idle)", idle, err)
		}
		if idle, _ := s.IdleChatSessions(ctx, a.TenantID, w.ID, time.Now().Add(-time.Hour), 10); len(idle) != 0 {
			t.Fatalf("idle an hour ago: %+v", idle)
		}
		if idle, _ := s.IdleChatSessions(ctx, b.TenantID, w.ID, later, 10); len(idle) != 0 {
			t.Fatalf("tenant B sees A's chats: %+v", idle)
		}
		// Seen two hours from now (a clock far ahead): no longer idle then.
		time.Sleep(10 * time.Millisecond)
		if err := s.TouchChatVisitors(ctx, a.TenantID, []string{here.ConversationID}, time.Now()); err != nil {
			t.Fatal(err)
		}
		cs, _ := s.ChatSession(ctx, a.TenantID, here.ConversationID)
		if cs.VisitorSeenAt == nil || !cs.VisitorSeenAt.After(cs.CreatedAt) {
			t.Fatalf("seen at %v, created %v", cs.VisitorSeenAt, cs.CreatedAt)
		}
		idle, _ = s.IdleChatSessions(ctx, a.TenantID, w.ID, cs.VisitorSeenAt.Add(-time.Microsecond), 10)
		for _, c := range idle {
			if c.ConversationID == here.ConversationID {
				t.Fatal("a chat seen after the cut-off is idle")
			}
		}
		if err := s.EndChatSession(ctx, a, gone.ConversationID); err != nil {
			t.Fatal(err)
		}
		if idle, _ := s.IdleChatSessions(ctx, a.TenantID, w.ID, later, 10); len(idle) != 1 || idle[0].ConversationID != here.ConversationID {
			t.Fatalf("after ending one: %+v", idle)
		}

		for i := 0; i < 3; i++ {
			if err := s.TakeChatTranscript(ctx, a, here.ConversationID, 3); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, s.TakeChatTranscript(ctx, a, here.ConversationID, 3), atende.ERateLimited)
		wantCode(t, s.TakeChatTranscript(ctx, b, here.ConversationID, 3), atende.ENotFound)
	})
}
