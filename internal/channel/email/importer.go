package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
)

// Importer turns raw inbound messages into conversation messages. Both the
// SMTP receiving server and the IMAP import use it; it is safe for
// concurrent use.
type Importer struct {
	Store  *store.Store
	Media  *media.Store
	Router *routing.Router // nil: no tasks are created
	Log    *slog.Logger
	// Outbound sends auto-acknowledgements; nil: none are sent.
	Outbound *Outbound
	Limits   Limits

	convLocks [64]sync.Mutex
}

// Result says what one import did.
type Result struct {
	MessageID      string   `json:"message_id"`
	ConversationID string   `json:"conversation_id"`
	Protocol       string   `json:"protocol"`
	EventID        string   `json:"event_id,omitempty"`
	Created        bool     `json:"created"` // false: imported before; nothing new
	NewThread      bool     `json:"new_thread"`
	Unparsable     bool     `json:"unparsable,omitempty"`
	Bounce         bool     `json:"bounce,omitempty"`
	TaskID         string   `json:"task_id,omitempty"`
	AutoAck        string   `json:"auto_ack,omitempty"` // queued, or why not
	Warnings       []string `json:"warnings,omitempty"`
}

// EventData is what an email timeline entry carries in its data, under "email".
type EventData struct {
	*Message
	MailboxID  string `json:"mailbox_id"`
	RawMediaID string `json:"raw_media_id"`
	Unparsable string `json:"unparsable,omitempty"`
	// BounceOf is the Message-ID of our email a DSN reports on.
	BounceOf string `json:"bounce_of,omitempty"`
	// For outbound mail: the recipients and the queue row.
	Bcc        []Address `json:"bcc,omitempty"`
	OutboundID string    `json:"outbound_id,omitempty"`
	Kind       string    `json:"kind,omitempty"` // reply, new, forward, auto_ack
}

// Envelope is what the transport knows besides the message.
type Envelope struct {
	MailFrom string   // SMTP MAIL FROM, when received by SMTP
	RcptTo   []string // SMTP RCPT TO
}

// ErrTooLarge is returned when a message exceeds the mailbox's size limit.
var ErrTooLarge = errors.New("message too large")

// Import stores the message read from r in mb's tenant. It returns only
// after the message is durable (or was imported before); an error means
// nothing was acknowledged and the sender should retry.
func (im *Importer) Import(ctx context.Context, mb *mailbox.Mailbox, env Envelope, r io.Reader, maxBytes int64) (*Result, error) {
	if maxBytes <= 0 {
		maxBytes = mailbox.DefaultMaxBytes
	}
	tenant := mb.TenantID
	raw, err := im.Media.Put(ctx, tenant, "message.eml", "message/rfc822", r, maxBytes)
	if err != nil {
		if errors.Is(err, media.ErrTooLarge) {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("store raw message: %w", err)
	}
	files := []*media.File{raw}
	cleanup := func() {
		for _, f := range files {
			im.Media.Delete(tenant, f.ID)
		}
	}
	f, err := im.Media.Open(tenant, raw.ID)
	if err != nil {
		cleanup()
		return nil, err
	}
	defer f.Close()
	sink := func(p *Part, body io.Reader) error {
		mf, err := im.Media.Put(ctx, tenant, p.Name, p.ContentType, body, maxBytes)
		if err != nil {
			return err
		}
		files = append(files, mf)
		p.MediaID, p.Size = mf.ID, mf.Size
		return nil
	}
	res := &Result{}
	msg, perr := Parse(f, sink, im.Limits)
	if perr != nil {
		// Kept whole as media and shown as what it is: the agent can open it.
		msg = &Message{QuoteAt: -1, Parts: []Part{}, Warnings: []string{perr.Error()}}
		res.Unparsable = true
	}
	if ctx.Err() != nil {
		cleanup()
		return nil, ctx.Err()
	}
	if msg.MessageID == "" {
		msg.MessageID = SyntheticMessageID(raw.SHA256)
	}
	res.MessageID, res.Warnings = msg.MessageID, msg.Warnings
	if seen, err := im.Store.MailSeen(ctx, tenant, mb.ID, msg.MessageID); err != nil {
		cleanup()
		return nil, err
	} else if seen {
		cleanup()
		return im.finishDuplicate(ctx, mb, msg.MessageID, res)
	}

	from := msg.From.Address
	if _, err := atende.NormalizeEmail(from); err != nil {
		from = strings.ToLower(strings.TrimSpace(env.MailFrom))
		if _, err := atende.NormalizeEmail(from); err != nil {
			from = "unknown-sender@atende.invalid"
		}
	}
	name := msg.From.Name
	if msg.DSN != nil {
		name = "Mail Delivery System"
	}
	contact, _, err := im.Store.FindOrCreateContact(ctx, atende.SystemActor(tenant), atende.Identity{Kind: atende.IdentityEmail, Value: from}, name)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("find contact %s: %w", from, err)
	}
	data := EventData{Message: msg, MailboxID: mb.ID, RawMediaID: raw.ID}
	if res.Unparsable {
		data.Unparsable = msg.Warnings[0]
	}
	in := &store.MailImport{MailboxID: mb.ID, MessageID: msg.MessageID, Protocol: ProtocolInSubject(msg.Subject), ContactID: contact.ID,
		Subject: msg.Subject, QueueID: mb.QueueID, Priority: mb.Priority, Media: files, RawMedia: raw.ID}
	in.ThreadIDs = append(append(in.ThreadIDs, msg.InReplyTo...), reverse(msg.References)...)
	if msg.DSN != nil && msg.DSN.OriginalMessageID != "" {
		in.BounceOf, data.BounceOf, res.Bounce = msg.DSN.OriginalMessageID, msg.DSN.OriginalMessageID, true
		b, _ := json.Marshal(msg.DSN)
		in.Bounce = string(b)
	}
	body := msg.Text
	if strings.TrimSpace(body) == "" {
		body = msg.Subject
	}
	if strings.TrimSpace(body) == "" {
		body = "—" // the timeline needs text; the data says there was none
	}
	if len(body) > atende.MaxBodyLen {
		body, msg.Truncated = truncateUTF8(body, atende.MaxBodyLen), true
	}
	b, err := json.Marshal(map[string]any{"email": data})
	if err != nil {
		cleanup()
		return nil, err
	}
	in.Event = &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: atende.DirectionIn, Body: body, Data: b}
	out, err := im.Store.ImportMail(ctx, atende.SystemActor(tenant), in)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("import message %s: %w", msg.MessageID, err)
	}
	res.ConversationID, res.Protocol, res.Created, res.NewThread = out.Conversation.ID, out.Conversation.Protocol, out.Created, out.NewThread
	if !out.Created {
		cleanup() // a concurrent import of the same message won
		return im.finishDuplicate(ctx, mb, msg.MessageID, res)
	}
	res.EventID = out.Event.ID
	// From here the message is durable: what follows may fail without
	// losing it (the next message of the thread, or a restart, tries again).
	if id, err := im.ensureTask(ctx, mb, out.Conversation); err != nil {
		im.log().Warn("route email", "conversation", out.Conversation.ID, "err", err)
	} else {
		res.TaskID = id
	}
	if out.NewThread && im.Outbound != nil && msg.DSN == nil {
		res.AutoAck = im.Outbound.AutoAck(ctx, mb, msg, contact, out.Conversation)
	}
	return res, nil
}

func (im *Importer) finishDuplicate(ctx context.Context, mb *mailbox.Mailbox, msgID string, res *Result) (*Result, error) {
	res.Created = false
	if res.ConversationID == "" {
		convID, protocol, err := im.Store.MailConversation(ctx, mb.TenantID, mb.ID, msgID)
		if err != nil {
			return nil, err
		}
		res.ConversationID, res.Protocol = convID, protocol
	}
	return res, nil
}

func (im *Importer) log() *slog.Logger {
	if im.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Log
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// ensureTask routes a task for the conversation to the mailbox's queue when
// it has no live one.
func (im *Importer) ensureTask(ctx context.Context, mb *mailbox.Mailbox, c *atende.Conversation) (string, error) {
	if im.Router == nil {
		return "", nil
	}
	h := fnv.New32a()
	h.Write([]byte(c.ID))
	mu := &im.convLocks[h.Sum32()%uint32(len(im.convLocks))]
	mu.Lock()
	defer mu.Unlock()
	page, err := im.Store.Tasks(ctx, mb.TenantID, store.TaskFilter{ConversationID: c.ID}, store.ListOptions{Limit: 200})
	if err != nil {
		return "", err
	}
	for _, t := range page.Items {
		if t.State != routing.TaskDone {
			return t.ID, nil
		}
	}
	eng, err := im.Router.Engine(ctx, mb.TenantID)
	if err != nil {
		return "", err
	}
	queueID := c.QueueID
	if queueID == "" {
		queueID = mb.QueueID
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := eng.Do(ctx, func(core *routing.Core, now time.Time) (any, error) {
		return core.AddTask(routing.TaskSpec{QueueID: queueID, Channel: atende.ChannelEmail, ConversationID: c.ID,
			Requirements: mb.Skills, Priority: mb.Priority}, now)
	})
	if err != nil {
		return "", err
	}
	return v.(*routing.Task).ID, nil
}
