package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/media"
)

// MailImport is one parsed inbound email, ready to be stored.
type MailImport struct {
	MailboxID string
	MessageID string // normalised, without angle brackets
	// ThreadIDs are the Message-IDs it answers (In-Reply-To, then
	// References from the newest), tried in order.
	ThreadIDs []string
	Protocol  string // a protocol number quoted in the subject, if any
	ContactID string
	Subject   string
	QueueID   string
	Priority  int
	Event     *atende.TimelineEvent // the message entry (kind, channel, body, data)
	Media     []*media.File         // files already in the media store: raw message, parts
	RawMedia  string
	// BounceOf is the Message-ID of our message a delivery status
	// notification says failed; the bounce is recorded on it.
	BounceOf string
	Bounce   string // JSON of the notification's details
}

// MailImportResult says what an import did.
type MailImportResult struct {
	Conversation *atende.Conversation
	Event        *atende.TimelineEvent
	Created      bool // false: this Message-ID was imported into this mailbox before
	NewThread    bool // a new conversation was opened
}

// MailSeen reports whether a Message-ID was imported into a mailbox before,
// so an importer can skip storing files for a message it already has.
func (s *Store) MailSeen(ctx context.Context, tenantID, mailboxID, messageID string) (bool, error) {
	var n int
	err := s.read("mail.seen", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM mail_messages WHERE tenant_id = ? AND mailbox_id = ? AND message_id = ?`),
			tenantID, mailboxID, messageID).Scan(&n)
	})
	return n > 0, err
}

// ImportMail stores an inbound email in one transaction: the media rows, the
// timeline entry (in the conversation it threads into, or a new one) and the
// (tenant, mailbox, Message-ID) row that makes a second import of the same
// message a no-op. Threading follows Message-ID/In-Reply-To/References to a
// stored message of the tenant, then the protocol number in the subject; a
// closed conversation is never written to.
func (s *Store) ImportMail(ctx context.Context, a atende.Actor, in *MailImport) (*MailImportResult, error) {
	if in.MessageID == "" || len(in.MessageID) > 900 {
		return nil, atende.FieldError("message_id", "is required, at most 900 bytes")
	}
	res := &MailImportResult{}
	err := s.write(ctx, "mail.import", a, func(tx *tx) error {
		var prev string
		err := tx.queryRow(`SELECT conversation_id FROM mail_messages WHERE tenant_id = ? AND mailbox_id = ? AND message_id = ?`, a.TenantID, in.MailboxID, in.MessageID).Scan(&prev)
		if err == nil {
			res.Conversation, err = tx.lockConversation(prev)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res.Created = true
		for _, f := range in.Media {
			if _, err := tx.exec(`INSERT INTO media (id, tenant_id, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				f.ID, a.TenantID, f.Name, f.ContentType, f.Size, f.SHA256, tx.now); err != nil {
				return fmt.Errorf("record media: %w", err)
			}
		}
		c, err := tx.threadOf(in)
		if err != nil {
			return err
		}
		e := in.Event
		if c == nil {
			res.NewThread = true
			c = &atende.Conversation{ContactID: in.ContactID, Channel: atende.ChannelEmail, Subject: truncateRunes(in.Subject, 500), QueueID: in.QueueID, Priority: in.Priority}
			if err := c.Validate(); err != nil {
				return err
			}
			if err := tx.openConversation(c); err != nil {
				return err
			}
		}
		if e.AuthorKind == "" {
			e.AuthorKind, e.AuthorID = "contact", in.ContactID
		}
		if err := tx.appendToConversation(c, e); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO mail_messages (id, tenant_id, mailbox_id, message_id, direction, conversation_id, event_id, raw_media_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, atende.NewID(), a.TenantID, in.MailboxID, in.MessageID, atende.DirectionIn, c.ID, e.ID, in.RawMedia, tx.now); err != nil {
			return err
		}
		if in.BounceOf != "" {
			if _, err := tx.exec(`UPDATE mail_messages SET bounce = ? WHERE tenant_id = ? AND message_id = ? AND direction = ?`,
				in.Bounce, a.TenantID, in.BounceOf, atende.DirectionOut); err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE mail_outbox SET state = 'bounced', last_error = ?, updated_at = ? WHERE tenant_id = ? AND message_id = ?`,
				truncateRunes(in.Bounce, 2000), tx.now, a.TenantID, in.BounceOf); err != nil {
				return err
			}
		}
		res.Conversation, res.Event = c, e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// threadOf finds the open conversation an email belongs to, or nil.
func (tx *tx) threadOf(in *MailImport) (*atende.Conversation, error) {
	ids := slices.Clone(in.ThreadIDs)
	if in.BounceOf != "" {
		ids = append([]string{in.BounceOf}, ids...)
	}
	for i, id := range ids {
		if i >= 50 || id == "" {
			break
		}
		var convID string
		err := tx.queryRow(`SELECT conversation_id FROM mail_messages WHERE tenant_id = ? AND message_id = ? ORDER BY created_at DESC LIMIT 1`, tx.actor.TenantID, id).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := tx.lockConversation(convID)
		if err != nil {
			return nil, err
		}
		if c.Status != atende.StatusClosed {
			return c, nil
		}
		return nil, nil // the thread's conversation is closed: a new one starts
	}
	if in.Protocol != "" {
		c, err := scanConversation(tx.queryRow(`SELECT `+conversationCols+` FROM conversations WHERE tenant_id = ? AND protocol = ?`+tx.rowLock(), tx.actor.TenantID, in.Protocol))
		if err == nil && c.Status != atende.StatusClosed {
			return c, nil
		}
		if err != nil && atende.ErrorCode(err) != atende.ENotFound {
			return nil, err
		}
	}
	return nil, nil
}

// openConversation inserts a new conversation with the tenant's next
// protocol number, as CreateConversation does, inside tx.
func (tx *tx) openConversation(c *atende.Conversation) error {
	if err := tx.checkConversationRefs(c); err != nil {
		return err
	}
	var tz string
	if err := tx.queryRow(`SELECT time_zone FROM tenants WHERE id = ?`, tx.actor.TenantID).Scan(&tz); err != nil {
		return fmt.Errorf("read tenant: %w", err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	var seq int64
	if err := tx.queryRow(`UPDATE counters SET value = value + 1 WHERE tenant_id = ? AND name = 'protocol' RETURNING value`, tx.actor.TenantID).Scan(&seq); err != nil {
		return fmt.Errorf("next protocol number: %w", err)
	}
	c.ID, c.TenantID = atende.NewID(), tx.actor.TenantID
	c.Protocol = atende.FormatProtocol(tx.now, loc, seq)
	c.Channels = []atende.Channel{c.Channel}
	c.CreatedAt, c.UpdatedAt, c.LastActivityAt, c.Version, c.LastEventSeq = tx.now, tx.now, tx.now, 1, 0
	if _, err := tx.exec(`INSERT INTO conversations (`+conversationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Protocol, c.ContactID, c.Subject, c.Channel, jsonText(c.Channels), c.Status, c.AssigneeID, c.QueueID, c.Priority,
		jsonText(c.Tags), c.DispositionID, c.LastEventSeq, c.LastActivityAt, c.CreatedAt, c.UpdatedAt, nil, c.Version); err != nil {
		return err
	}
	return tx.emit("conversation.created", c.ID, atende.PermConversationsRead, c)
}

// appendToConversation adds e to c (read and locked in tx) and reopens a
// resolved or pending conversation on an inbound message, as AppendMessage does.
func (tx *tx) appendToConversation(c *atende.Conversation, e *atende.TimelineEvent) error {
	before := *c
	if err := tx.insertTimelineEvent(c, e); err != nil {
		return err
	}
	c.LastActivityAt = tx.now
	if !slices.Contains(c.Channels, e.Channel) && e.Channel != "" {
		c.Channels = append(slices.Clone(c.Channels), e.Channel)
	}
	if e.Direction == atende.DirectionIn && (c.Status == atende.StatusResolved || c.Status == atende.StatusPending) {
		c.Status = atende.StatusOpen
		if err := tx.timelineChanges(&before, c); err != nil {
			return err
		}
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if err := tx.saveConversation(c, before.Version); err != nil {
			return err
		}
		return tx.emit("conversation.updated", c.ID, atende.PermConversationsRead, c)
	}
	return tx.saveConversation(c, before.Version)
}

func truncateRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// OutboundMail is an email an agent sends, queued for submission.
type OutboundMail struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenant_id"`
	MailboxID      string    `json:"mailbox_id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	EventID        string    `json:"event_id,omitempty"`
	MessageID      string    `json:"message_id"`
	MailFrom       string    `json:"mail_from"`
	Recipients     []string  `json:"recipients"`
	RawMediaID     string    `json:"raw_media_id"`
	Kind           string    `json:"kind"`  // reply, new, forward, auto_ack
	State          string    `json:"state"` // queued, sending, sent, failed, bounced
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastError      string    `json:"last_error,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Outbound mail states.
const (
	MailQueued  = "queued"
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed"
	MailBounced = "bounced"
)

const outboxCols = `id, tenant_id, mailbox_id, conversation_id, event_id, message_id, mail_from, recipients, raw_media_id, kind, state, attempts, next_attempt_at, last_error, created_at, updated_at`

func scanOutbound(row interface{ Scan(...any) error }) (*OutboundMail, error) {
	var o OutboundMail
	var rcpt string
	if err := row.Scan(&o.ID, &o.TenantID, &o.MailboxID, &o.ConversationID, &o.EventID, &o.MessageID, &o.MailFrom, &rcpt, &o.RawMediaID, &o.Kind, &o.State,
		&o.Attempts, &o.NextAttemptAt, &o.LastError, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	o.NextAttemptAt, o.CreatedAt, o.UpdatedAt = o.NextAttemptAt.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, fromJSON(rcpt, &o.Recipients)
}

// EnqueueMail queues an outbound email in one transaction with its media rows,
// the timeline entry (when e is not nil and the mail belongs to a
// conversation) and the Message-ID row that lets replies thread back. The
// entry's Data should carry the headers; its client_id de-duplicates a
// resend after a lost answer.
func (s *Store) EnqueueMail(ctx context.Context, a atende.Actor, o *OutboundMail, e *atende.TimelineEvent, files []*media.File) (*OutboundMail, bool, error) {
	if e != nil {
		if err := e.ValidateMessage(); err != nil {
			return nil, false, err
		}
	}
	created := true
	err := s.write(ctx, "mail.enqueue", a, func(tx *tx) error {
		o.ID, o.TenantID, o.State, o.Attempts = atende.NewID(), a.TenantID, MailQueued, 0
		o.NextAttemptAt, o.CreatedAt, o.UpdatedAt = tx.now, tx.now, tx.now
		if e != nil && o.ConversationID != "" {
			if e.ClientID != "" {
				prev, err := scanOutbound(tx.queryRow(`SELECT `+outboxCols+` FROM mail_outbox WHERE tenant_id = ? AND event_id IN
					(SELECT id FROM conversation_events WHERE tenant_id = ? AND conversation_id = ? AND client_id = ?)`, a.TenantID, a.TenantID, o.ConversationID, e.ClientID))
				if err == nil {
					*o, created = *prev, false
					return nil
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			c, err := tx.lockConversation(o.ConversationID)
			if err != nil {
				return err
			}
			if c.Status == atende.StatusClosed {
				return atende.Errorf(atende.EConflict, "the conversation is closed; write a new email instead")
			}
			if e.AuthorKind == "" {
				e.AuthorKind, e.AuthorID = authorOf(a)
			}
			if err := tx.appendToConversation(c, e); err != nil {
				return err
			}
			o.EventID = e.ID
			if _, err := tx.exec(`INSERT INTO mail_messages (id, tenant_id, mailbox_id, message_id, direction, conversation_id, event_id, raw_media_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, atende.NewID(), a.TenantID, o.MailboxID, o.MessageID, atende.DirectionOut, c.ID, e.ID, o.RawMediaID, tx.now); err != nil {
				return err
			}
		}
		for _, f := range files {
			if _, err := tx.exec(`INSERT INTO media (id, tenant_id, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				f.ID, a.TenantID, f.Name, f.ContentType, f.Size, f.SHA256, tx.now); err != nil {
				return fmt.Errorf("record media: %w", err)
			}
		}
		if _, err := tx.exec(`INSERT INTO mail_outbox (`+outboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.TenantID, o.MailboxID, o.ConversationID, o.EventID, o.MessageID, o.MailFrom, jsonText(o.Recipients), o.RawMediaID, o.Kind, o.State,
			o.Attempts, o.NextAttemptAt, o.LastError, o.CreatedAt, o.UpdatedAt); err != nil {
			return err
		}
		return tx.emit("email.queued", o.ConversationID, atende.PermConversationsRead, o)
	})
	return o, created, err
}

// ClaimDueMail marks up to limit queued messages whose time has come as
// sending and returns them. A message left sending by a crash is claimed
// again after staleAfter: SMTP may then deliver it twice, never zero times.
func (s *Store) ClaimDueMail(ctx context.Context, limit int, staleAfter time.Duration) ([]OutboundMail, error) {
	var out []OutboundMail
	a := atende.SystemActor("")
	err := s.write(ctx, "mail.claim", a, func(tx *tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT `+outboxCols+` FROM mail_outbox WHERE (state = ? AND next_attempt_at <= ?) OR (state = ? AND updated_at <= ?) ORDER BY next_attempt_at LIMIT ?`),
			MailQueued, tx.now, MailSending, tx.now.Add(-staleAfter), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			o, err := scanOutbound(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, *o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			out[i].State, out[i].Attempts, out[i].UpdatedAt = MailSending, out[i].Attempts+1, tx.now
			if _, err := tx.exec(`UPDATE mail_outbox SET state = ?, attempts = ?, updated_at = ? WHERE id = ?`, MailSending, out[i].Attempts, tx.now, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// FinishMail records the result of a submission attempt: sent, a retry at
// next (state queued) or failed for good. The conversation hears of it.
func (s *Store) FinishMail(ctx context.Context, o *OutboundMail, state, lastError string, next time.Time) error {
	a := atende.SystemActor(o.TenantID)
	return s.write(ctx, "mail.finish", a, func(tx *tx) error {
		o.State, o.LastError, o.UpdatedAt = state, truncateRunes(lastError, 2000), tx.now
		if !next.IsZero() {
			o.NextAttemptAt = next.UTC()
		}
		if err := tx.execOne(atende.Errorf(atende.ENotFound, "outbound mail not found"), `UPDATE mail_outbox SET state = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			o.State, o.LastError, o.NextAttemptAt, o.UpdatedAt, o.TenantID, o.ID); err != nil {
			return err
		}
		return tx.emit("email."+state, o.ConversationID, atende.PermConversationsRead, o)
	})
}

// OutboundMails lists a conversation's outbound emails with their delivery state.
func (s *Store) OutboundMails(ctx context.Context, tenantID, conversationID string) ([]OutboundMail, error) {
	out := []OutboundMail{}
	err := s.read("mail.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+outboxCols+` FROM mail_outbox WHERE tenant_id = ? AND conversation_id = ? ORDER BY id`), tenantID, conversationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOutbound(rows)
			if err != nil {
				return err
			}
			out = append(out, *o)
		}
		return rows.Err()
	})
	return out, err
}

// ThreadHeaders returns the Message-IDs of a conversation's emails, oldest
// first, for a reply's References header, and the latest inbound one, for
// its In-Reply-To.
func (s *Store) ThreadHeaders(ctx context.Context, tenantID, conversationID string) ([]string, string, error) {
	var out []string
	var lastIn string
	err := s.read("mail.thread", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT message_id, direction FROM mail_messages WHERE tenant_id = ? AND conversation_id = ? ORDER BY created_at, id`), tenantID, conversationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, dir string
			if err := rows.Scan(&id, &dir); err != nil {
				return err
			}
			out = append(out, id)
			if dir == atende.DirectionIn {
				lastIn = id
			}
		}
		return rows.Err()
	})
	return out, lastIn, err
}

// AllowAutoReply records an auto-acknowledgement to addr unless perHour
// were sent to it in the last hour; it reports whether to send.
func (s *Store) AllowAutoReply(ctx context.Context, tenantID, addr string, perHour int) (bool, error) {
	ok := false
	err := s.write(ctx, "mail.autoreply", atende.SystemActor(tenantID), func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM mail_autoreplies WHERE tenant_id = ? AND address = ? AND sent_at > ?`, tenantID, addr, tx.now.Add(-time.Hour)).Scan(&n); err != nil {
			return err
		}
		if n >= perHour {
			return nil
		}
		ok = true
		if _, err := tx.exec(`DELETE FROM mail_autoreplies WHERE tenant_id = ? AND address = ? AND sent_at <= ?`, tenantID, addr, tx.now.Add(-time.Hour)); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO mail_autoreplies (tenant_id, address, sent_at) VALUES (?, ?, ?)`, tenantID, addr, tx.now)
		return err
	})
	return ok, err
}

// MailConversation returns the conversation and protocol an imported
// Message-ID went to.
func (s *Store) MailConversation(ctx context.Context, tenantID, mailboxID, messageID string) (string, string, error) {
	var id, protocol string
	err := s.read("mail.get", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT c.id, c.protocol FROM mail_messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.tenant_id = ? AND m.mailbox_id = ? AND m.message_id = ?`), tenantID, mailboxID, messageID).Scan(&id, &protocol)
	})
	return id, protocol, err
}

// ConversationMailbox returns the mailbox of a conversation's latest email, or "".
func (s *Store) ConversationMailbox(ctx context.Context, tenantID, conversationID string) (string, error) {
	var id string
	err := s.read("mail.mailbox", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q(`SELECT mailbox_id FROM mail_messages WHERE tenant_id = ? AND conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`),
			tenantID, conversationID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return id, err
}
