package store

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
)

func newMailFixture(t *testing.T, s *Store, name string) (atende.Actor, *atende.Queue) {
	t.Helper()
	_, a := newTenant(t, s, name)
	q := &atende.Queue{Name: "Email", Channels: []atende.Channel{atende.ChannelEmail}}
	if err := s.CreateQueue(context.Background(), a, q); err != nil {
		t.Fatal(err)
	}
	return a, q
}

func TestMailboxSecretsAreWriteOnlyAndRecipientsUnique(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, q := newMailFixture(t, s, "mbx-a")
		b, qb := newMailFixture(t, s, "mbx-b")
		m := &mailbox.Mailbox{Name: "Soporte", Address: "Soporte@Acme.es", Active: true, QueueID: q.ID,
			IMAP:    &mailbox.IMAP{Host: "imap.acme.es", User: "soporte", Password: "plain", SealedPassword: "v1:sealed-imap"},
			Receive: &mailbox.Receive{Recipients: []string{"soporte@acme.es", "@help.acme.es"}},
			SMTP:    &mailbox.Submission{Host: "smtp.acme.es", SealedPassword: "v1:sealed-smtp", DKIMPrivateKey: "-----BEGIN", SealedDKIMKey: "v1:sealed-dkim"}}
		if err := s.CreateMailbox(ctx, a, m); err != nil {
			t.Fatal(err)
		}
		if m.Address != "soporte@acme.es" || m.IMAP.Password != "" || !m.IMAP.PasswordSet || !m.SMTP.DKIMKeySet || m.SMTP.DKIMPrivateKey != "" {
			t.Fatalf("created mailbox leaks or lost secrets: %+v %+v", m.IMAP, m.SMTP)
		}
		got, sec, err := s.MailboxWithSecrets(ctx, a.TenantID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sec.IMAPPassword != "v1:sealed-imap" || sec.SMTPPassword != "v1:sealed-smtp" || sec.DKIMKey != "v1:sealed-dkim" {
			t.Fatalf("secrets %+v", sec)
		}
		raw, _ := json.Marshal(got)
		if strings.Contains(string(raw), "sealed") || strings.Contains(string(raw), "plain") {
			t.Fatalf("read mailbox shows secrets: %s", raw)
		}
		// An update that does not send a password keeps it.
		up, err := s.UpdateMailbox(ctx, a, m.ID, got.Version, func(m *mailbox.Mailbox) error { m.Name = "Soporte ES"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !up.IMAP.PasswordSet {
			t.Error("update lost the IMAP password")
		}
		// Recipient mapping: exact, then domain; another tenant cannot claim them.
		for _, addr := range []string{"SOPORTE@acme.es", "anyone@help.acme.es"} {
			if mb, err := s.MailboxByRecipient(ctx, addr); err != nil || mb.ID != m.ID {
				t.Errorf("recipient %s: %v %v", addr, mb, err)
			}
		}
		if _, err := s.MailboxByRecipient(ctx, "nobody@elsewhere.es"); atende.ErrorCode(err) != atende.ENotFound {
			t.Errorf("unknown recipient: %v", err)
		}
		other := &mailbox.Mailbox{Name: "Thief", Address: "x@thief.es", Active: true, QueueID: qb.ID, Receive: &mailbox.Receive{Recipients: []string{"@help.acme.es"}}}
		wantCode(t, s.CreateMailbox(ctx, b, other), atende.EConflict)
		if _, err := s.Mailbox(ctx, b.TenantID, m.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Error("tenant B reads tenant A's mailbox")
		}
		if err := s.DeleteMailbox(ctx, a, m.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MailboxByRecipient(ctx, "soporte@acme.es"); atende.ErrorCode(err) != atende.ENotFound {
			t.Error("deleted mailbox still receives")
		}
	})
}

func TestImportMailIsIdempotentAndThreads(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, q := newMailFixture(t, s, "mail-import")
		mb := &mailbox.Mailbox{Name: "In", Address: "in@acme.es", Active: true, QueueID: q.ID}
		if err := s.CreateMailbox(ctx, a, mb); err != nil {
			t.Fatal(err)
		}
		contact, _, err := s.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentityEmail, Value: "ana@cliente.es"}, "Ana")
		if err != nil {
			t.Fatal(err)
		}
		imp := func(msgID, protocol string, thread ...string) *MailImportResult {
			t.Helper()
			r, err := s.ImportMail(ctx, a, &MailImport{MailboxID: mb.ID, MessageID: msgID, ThreadIDs: thread, Protocol: protocol, ContactID: contact.ID,
				Subject: "Factura", QueueID: q.ID, Event: &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: atende.DirectionIn, Body: "hola " + msgID}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		first := imp("m1@cliente.es", "")
		if !first.Created || !first.NewThread {
			t.Fatalf("first import %+v", first)
		}
		// The same Message-ID again, even concurrently: nothing new.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.ImportMail(ctx, a, &MailImport{MailboxID: mb.ID, MessageID: "m1@cliente.es", ContactID: contact.ID, QueueID: q.ID,
					Event: &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: atende.DirectionIn, Body: "again"}})
				if err != nil || r.Created || r.Conversation.ID != first.Conversation.ID {
					t.Errorf("repeat import: %+v %v", r, err)
				}
			}()
		}
		wg.Wait()
		reply := imp("m2@cliente.es", "", "nope@x", "m1@cliente.es")
		if reply.NewThread || reply.Conversation.ID != first.Conversation.ID {
			t.Errorf("reply by References did not thread: %+v", reply)
		}
		byTag := imp("m3@cliente.es", first.Conversation.Protocol)
		if byTag.NewThread || byTag.Conversation.ID != first.Conversation.ID {
			t.Errorf("protocol tag did not thread")
		}
		tl, err := s.Timeline(ctx, a.TenantID, first.Conversation.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != 3 {
			t.Fatalf("timeline has %d entries, want 3", len(tl))
		}
		// A closed conversation takes no more mail: a new one starts.
		if _, err := s.UpdateConversation(ctx, a, first.Conversation.ID, 0, func(c *atende.Conversation) error { c.Status = atende.StatusClosed; return nil }); err != nil {
			t.Fatal(err)
		}
		after := imp("m4@cliente.es", first.Conversation.Protocol, "m3@cliente.es")
		if !after.NewThread {
			t.Error("mail to a closed conversation did not open a new one")
		}
	})
}

func TestOutboxClaimRetryFail(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, q := newMailFixture(t, s, "mail-out")
		mb := &mailbox.Mailbox{Name: "Out", Address: "out@acme.es", Active: true, QueueID: q.ID}
		if err := s.CreateMailbox(ctx, a, mb); err != nil {
			t.Fatal(err)
		}
		o := &OutboundMail{MailboxID: mb.ID, MessageID: "x1@acme.es", MailFrom: "out@acme.es", Recipients: []string{"c@x.es"}, RawMediaID: atende.NewID(), Kind: "new"}
		if _, _, err := s.EnqueueMail(ctx, a, o, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimDueMail(ctx, 10, 0)
		if err != nil || len(got) != 1 || got[0].State != MailSending || got[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if again, _ := s.ClaimDueMail(ctx, 10, 1e12); len(again) != 0 {
			t.Fatal("claimed twice")
		}
		if err := s.FinishMail(ctx, &got[0], MailFailed, "550 no such user", got[0].NextAttemptAt); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.ClaimDueMail(ctx, 10, 0); len(again) != 0 {
			t.Fatal("a failed mail was claimed")
		}
	})
}
