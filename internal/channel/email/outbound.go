package email

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Outbound composes agents' emails, queues them durably and submits them.
type Outbound struct {
	Store   *store.Store
	Media   *media.Store
	Secrets *secrets.Box
	Log     *slog.Logger
	// Templates gives the default auto-acknowledgement subject and body
	// for a language when the mailbox has none (the i18n catalogue).
	Templates func(lang string) (subject, body string)
	// TLSConfig for submission connections; nil: system roots.
	TLSConfig *tls.Config
	// MaxAttempts before a message is failed for good (default 8);
	// RetryBase is the first backoff (default 30 s), doubling each time
	// up to an hour.
	MaxAttempts int
	RetryBase   time.Duration
	// Wake, when not nil, is signalled when mail is queued.
	wake chan struct{}
}

// Compose is an email an agent writes.
type Compose struct {
	MailboxID   string   `json:"mailbox_id,omitempty"` // default: the conversation's mailbox
	To          []string `json:"to"`                   // default for a reply: the contact
	Cc          []string `json:"cc,omitempty"`
	Bcc         []string `json:"bcc,omitempty"`
	Subject     string   `json:"subject,omitempty"` // default for a reply: Re: the conversation's subject
	Text        string   `json:"text"`
	HTML        string   `json:"html,omitempty"`
	Attachments []string `json:"attachments,omitempty"` // media ids
	// NoSignature leaves out the mailbox's signature.
	NoSignature bool `json:"no_signature,omitempty"`
	// ForwardEventID forwards that email of the conversation (its
	// attachments and quoted text) to To.
	ForwardEventID string `json:"forward_event_id,omitempty"`
	ClientID       string `json:"client_id,omitempty"` // de-duplicates a resend
	Kind           string `json:"-"`                   // reply, new, forward, auto_ack
	autoSubmitted  string
}

func (o *Outbound) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

func cleanAddrs(field string, in []string) ([]string, error) {
	var out []string
	for _, a := range in {
		n, err := atende.NormalizeEmail(a)
		if err != nil {
			return nil, atende.FieldError(field, "%q is not an email address", a)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Send queues an email in conversation c from mailbox mb. The message is
// durable in the outbound queue when Send returns; the worker submits it.
func (o *Outbound) Send(ctx context.Context, a atende.Actor, mb *mailbox.Mailbox, c *atende.Conversation, in Compose) (*store.OutboundMail, *atende.TimelineEvent, error) {
	if mb.SMTP == nil {
		return nil, nil, atende.FieldError("mailbox_id", "mailbox %q has no outgoing (smtp) settings", mb.Name)
	}
	if in.Kind == "" {
		in.Kind = "reply"
		if in.ForwardEventID != "" {
			in.Kind = "forward"
		}
	}
	var err error
	if in.To, err = cleanAddrs("to", in.To); err != nil {
		return nil, nil, err
	}
	if in.Cc, err = cleanAddrs("cc", in.Cc); err != nil {
		return nil, nil, err
	}
	if in.Bcc, err = cleanAddrs("bcc", in.Bcc); err != nil {
		return nil, nil, err
	}
	if len(in.To)+len(in.Cc)+len(in.Bcc) == 0 {
		return nil, nil, atende.FieldError("to", "needs at least one recipient")
	}
	if len(in.To)+len(in.Cc)+len(in.Bcc) > 100 {
		return nil, nil, atende.FieldError("to", "at most 100 recipients")
	}
	if strings.TrimSpace(in.Text) == "" && strings.TrimSpace(in.HTML) == "" {
		return nil, nil, atende.FieldError("text", "is required")
	}
	if len(in.Text) > atende.MaxBodyLen || len(in.HTML) > 4*atende.MaxBodyLen {
		return nil, nil, atende.FieldError("text", "is too long")
	}
	if len(in.Attachments) > 50 {
		return nil, nil, atende.FieldError("attachments", "at most 50")
	}
	in.Subject = cleanLine(in.Subject)
	if in.Subject == "" && c != nil {
		in.Subject = c.Subject
		if in.Kind == "reply" && in.Subject != "" && !strings.HasPrefix(strings.ToLower(in.Subject), "re:") {
			in.Subject = "Re: " + in.Subject
		}
		if in.Kind == "forward" {
			in.Subject = "Fwd: " + in.Subject
		}
	}
	if c != nil && ProtocolInSubject(in.Subject) != c.Protocol {
		in.Subject = strings.TrimSpace(in.Subject + " [#" + c.Protocol + "]")
	}
	lang := mb.Language
	if !in.NoSignature && in.Kind != "auto_ack" {
		if sig := mb.Signature[lang]; sig != "" {
			in.Text = strings.TrimRight(in.Text, "\n") + "\n\n-- \n" + sig
			if in.HTML != "" {
				in.HTML += "<br><br>-- <br>" + htmlEscape(sig)
			}
		}
	}
	from := mb.Address
	if mb.SMTP.From != "" {
		from = mb.SMTP.From
	}
	msgID := atende.NewID() + "@" + mailbox.Domain(from)
	var inReplyTo string
	var refs []string
	if c != nil {
		if refs, inReplyTo, err = o.Store.ThreadHeaders(ctx, a.TenantID, c.ID); err != nil {
			return nil, nil, err
		}
		if inReplyTo == "" && len(refs) > 0 {
			inReplyTo = refs[len(refs)-1]
		}
		if len(refs) > 20 { // keep the first and the latest (RFC 5322 §3.6.4)
			refs = append(refs[:1], refs[len(refs)-19:]...)
		}
	}
	var parts []attachment
	for _, id := range in.Attachments {
		f, err := o.Store.Media(ctx, a.TenantID, id)
		if err != nil {
			return nil, nil, atende.FieldError("attachments", "%s is not a file of this tenant", id)
		}
		parts = append(parts, attachment{file: f})
	}
	if in.ForwardEventID != "" && c != nil {
		fwd, err := o.forwarded(ctx, a.TenantID, c.ID, in.ForwardEventID)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, fwd...)
	}
	h := mail.Header{}
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Name: mb.SMTP.FromName, Address: from}})
	h.SetAddressList("To", toMail(in.To))
	if len(in.Cc) > 0 {
		h.SetAddressList("Cc", toMail(in.Cc))
	}
	h.SetSubject(in.Subject)
	h.SetMessageID(msgID)
	if inReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{inReplyTo})
		h.SetMsgIDList("References", refs)
	}
	if in.autoSubmitted != "" {
		h.Set("Auto-Submitted", in.autoSubmitted) // RFC 3834 §5
		h.Set("Precedence", "auto_reply")
		h.Set("X-Auto-Response-Suppress", "All")
	}
	// The raw message is built in a pipe straight into the media store.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(o.writeMIME(pw, a.TenantID, h, in.Text, in.HTML, parts)) }()
	raw, err := o.Media.Put(ctx, a.TenantID, "sent.eml", "message/rfc822", pr, 100<<20)
	pr.CloseWithError(err)
	if err != nil {
		return nil, nil, fmt.Errorf("store outgoing message: %w", err)
	}
	rcpt := slices.Concat(in.To, in.Cc, in.Bcc)
	om := &store.OutboundMail{MailboxID: mb.ID, MessageID: msgID, MailFrom: from, Recipients: rcpt, RawMediaID: raw.ID, Kind: in.Kind}
	var e *atende.TimelineEvent
	if c != nil {
		om.ConversationID = c.ID
		atts := []Part{}
		for _, p := range parts {
			atts = append(atts, Part{MediaID: p.file.ID, Name: p.file.Name, ContentType: p.file.ContentType, Size: p.file.Size})
		}
		msg := &Message{MessageID: msgID, From: Address{Name: mb.SMTP.FromName, Address: from}, To: toAddrs(in.To), Cc: toAddrs(in.Cc),
			Subject: in.Subject, Date: time.Now().UTC(), HTML: sanitizeHTML(in.HTML), QuoteAt: quoteStart(in.Text), Parts: atts}
		if inReplyTo != "" {
			msg.InReplyTo, msg.References = []string{inReplyTo}, refs
		}
		b, _ := json.Marshal(map[string]any{"email": EventData{Message: msg, MailboxID: mb.ID, RawMediaID: raw.ID, Bcc: toAddrs(in.Bcc), Kind: in.Kind}})
		body := in.Text
		if strings.TrimSpace(body) == "" {
			body = htmlToText(msg.HTML)
		}
		if strings.TrimSpace(body) == "" {
			body = in.Subject
		}
		e = &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: atende.DirectionOut, Body: body, Data: b, ClientID: in.ClientID}
		if in.Kind == "auto_ack" {
			e.AuthorKind = "system"
		}
	}
	out, created, err := o.Store.EnqueueMail(ctx, a, om, e, []*media.File{raw})
	if err != nil {
		o.Media.Delete(a.TenantID, raw.ID)
		return nil, nil, err
	}
	if !created {
		o.Media.Delete(a.TenantID, raw.ID)
	}
	o.Wake()
	return out, e, nil
}

type attachment struct {
	file *media.File
}

func (o *Outbound) forwarded(ctx context.Context, tenantID, convID, eventID string) ([]attachment, error) {
	evs, err := o.Store.Timeline(ctx, tenantID, convID, 0, 500)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.ID != eventID {
			continue
		}
		var d struct {
			Email EventData `json:"email"`
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.Email.RawMediaID == "" {
			break
		}
		// The original goes along whole, as message/rfc822: its text,
		// attachments and headers exactly as received.
		f, err := o.Store.Media(ctx, tenantID, d.Email.RawMediaID)
		if err != nil {
			return nil, err
		}
		f.ContentType, f.Name = "message/rfc822", "forwarded.eml"
		return []attachment{{file: f}}, nil
	}
	return nil, atende.FieldError("forward_event_id", "is not an email of this conversation")
}

func toMail(l []string) []*mail.Address {
	out := make([]*mail.Address, len(l))
	for i, a := range l {
		out[i] = &mail.Address{Address: a}
	}
	return out
}

func toAddrs(l []string) []Address {
	out := make([]Address, len(l))
	for i, a := range l {
		out[i] = Address{Address: a}
	}
	return out
}

func htmlEscape(s string) string {
	return strings.ReplaceAll(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s), "\n", "<br>")
}

// writeMIME writes a message: text (and HTML as an alternative) plus attachments.
func (o *Outbound) writeMIME(w io.Writer, tenantID string, h mail.Header, text, html string, parts []attachment) error {
	if text == "" {
		text = htmlToText(sanitizeHTML(html))
	}
	mw, err := mail.CreateWriter(w, h)
	if err != nil {
		return err
	}
	tw, err := mw.CreateInline()
	if err != nil {
		return err
	}
	write := func(ctype, body string) error {
		var ph mail.InlineHeader
		ph.SetContentType(ctype, map[string]string{"charset": "utf-8"})
		pw, err := tw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, body); err != nil {
			return err
		}
		return pw.Close()
	}
	if err := write("text/plain", text); err != nil {
		return err
	}
	if html != "" {
		if err := write("text/html", html); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	for _, p := range parts {
		var ah mail.AttachmentHeader
		ah.SetContentType(p.file.ContentType, nil)
		ah.SetFilename(p.file.Name)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return err
		}
		f, err := o.Media.Open(tenantID, p.file.ID)
		if err != nil {
			return err
		}
		_, err = io.Copy(aw, f)
		f.Close()
		if err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// Wake tells the worker mail is waiting.
func (o *Outbound) Wake() {
	if o.wake != nil {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// Run submits queued mail until ctx ends: at once when woken, and every
// few seconds for retries.
func (o *Outbound) Run(ctx context.Context) {
	if o.wake == nil {
		o.wake = make(chan struct{}, 1)
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		o.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// RunOnce submits the mail due now.
func (o *Outbound) RunOnce(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := o.Store.ClaimDueMail(ctx, 20, 10*time.Minute)
		if err != nil {
			o.log().Warn("claim outbound mail", "err", err)
			return
		}
		if len(due) == 0 {
			return
		}
		for i := range due {
			o.deliver(ctx, &due[i])
		}
	}
}

func (o *Outbound) deliver(ctx context.Context, m *store.OutboundMail) {
	err := o.submit(ctx, m)
	fctx := context.WithoutCancel(ctx)
	if err == nil {
		if ferr := o.Store.FinishMail(fctx, m, store.MailSent, "", time.Time{}); ferr != nil {
			o.log().Error("record sent mail", "id", m.ID, "err", ferr)
		}
		return
	}
	maxAttempts := o.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = 8
	}
	var se *smtp.SMTPError
	permanent := errors.As(err, &se) && se.Code >= 500
	if permanent || m.Attempts >= maxAttempts {
		o.log().Warn("outbound mail failed", "id", m.ID, "attempts", m.Attempts, "err", err)
		if ferr := o.Store.FinishMail(fctx, m, store.MailFailed, err.Error(), time.Time{}); ferr != nil {
			o.log().Error("record failed mail", "id", m.ID, "err", ferr)
		}
		return
	}
	base := o.RetryBase
	if base == 0 {
		base = 30 * time.Second
	}
	wait := time.Duration(math.Min(float64(base)*math.Pow(2, float64(m.Attempts-1)), float64(time.Hour)))
	o.log().Info("outbound mail will be retried", "id", m.ID, "attempts", m.Attempts, "in", wait, "err", err)
	if ferr := o.Store.FinishMail(fctx, m, store.MailQueued, err.Error(), time.Now().Add(wait)); ferr != nil {
		o.log().Error("record mail retry", "id", m.ID, "err", ferr)
	}
}

// submit hands one message to the mailbox's submission server.
func (o *Outbound) submit(ctx context.Context, m *store.OutboundMail) error {
	mb, sec, err := o.Store.MailboxWithSecrets(ctx, m.TenantID, m.MailboxID)
	if err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	if mb.SMTP == nil {
		return &smtp.SMTPError{Code: 554, Message: "mailbox has no outgoing settings"}
	}
	password, err := o.Secrets.Open(sec.SMTPPassword, SecretContext(m.TenantID, "smtp_password"))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "cannot open the stored SMTP password: " + err.Error()}
	}
	f, err := o.Media.Open(m.TenantID, m.RawMediaID)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "the message file is missing"}
	}
	defer f.Close()
	var body io.Reader = f
	if mb.SMTP.DKIMSelector != "" && sec.DKIMKey != "" {
		sig, err := o.dkimSignature(mb, sec.DKIMKey, f)
		if err != nil {
			return &smtp.SMTPError{Code: 554, Message: "DKIM: " + err.Error()}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		body = io.MultiReader(strings.NewReader(sig), f)
	}
	addr := net.JoinHostPort(mb.SMTP.Host, strconv.Itoa(mb.SMTP.Port))
	tlsCfg := o.TLSConfig.Clone()
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	tlsCfg.ServerName = mb.SMTP.Host
	var c *smtp.Client
	switch mb.SMTP.TLS {
	case mailbox.TLSImplicit:
		c, err = smtp.DialTLS(addr, tlsCfg)
	case mailbox.TLSStartTLS:
		c, err = smtp.DialStartTLS(addr, tlsCfg)
	default:
		c, err = smtp.Dial(addr)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer c.Close()
	if mb.SMTP.User != "" {
		if err := c.Auth(sasl.NewPlainClient("", mb.SMTP.User, password)); err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
	}
	if err := c.SendMail(m.MailFrom, m.Recipients, body); err != nil {
		return err
	}
	return c.Quit()
}

// SecretContext binds a sealed credential to its tenant and field.
func SecretContext(tenantID, field string) string { return "tenant:" + tenantID + ":mailbox:" + field }

func (o *Outbound) dkimSignature(mb *mailbox.Mailbox, sealed string, f *os.File) (string, error) {
	keyPEM, err := o.Secrets.Open(sealed, SecretContext(mb.TenantID, "dkim_key"))
	if err != nil {
		return "", err
	}
	key, err := ParseDKIMKey(keyPEM)
	if err != nil {
		return "", err
	}
	domain := mb.SMTP.DKIMDomain
	if domain == "" {
		from := mb.Address
		if mb.SMTP.From != "" {
			from = mb.SMTP.From
		}
		domain = mailbox.Domain(from)
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{Domain: domain, Selector: mb.SMTP.DKIMSelector, Signer: key,
		HeaderKeys: []string{"From", "To", "Cc", "Subject", "Date", "Message-Id", "In-Reply-To", "References", "Mime-Version", "Content-Type"}})
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(s, f); err != nil {
		s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	return s.Signature(), nil
}

// ParseDKIMKey reads an RSA or Ed25519 private key in PEM (PKCS#1 or PKCS#8).
func ParseDKIMKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("the DKIM key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("the DKIM key is neither PKCS#1 nor PKCS#8")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the DKIM key cannot sign")
	}
	return s, nil
}

// AutoAck acknowledges a new conversation to its sender, unless loop
// protection says no (RFC 3834 §2: never answer automatic mail, lists, bulk,
// mailer daemons or ourselves) or the sender had enough acknowledgements
// this hour. It returns "queued" or the reason it did not.
func (o *Outbound) AutoAck(ctx context.Context, mb *mailbox.Mailbox, msg *Message, contact *atende.Contact, c *atende.Conversation) string {
	if !mb.AutoAck.Enabled {
		return "disabled"
	}
	if mb.SMTP == nil {
		return "no outgoing settings"
	}
	if why := NoAutoReply(msg, mb); why != "" {
		return why
	}
	to := msg.From.Address
	if len(msg.ReplyTo) > 0 {
		to = msg.ReplyTo[0].Address
	}
	ok, err := o.Store.AllowAutoReply(ctx, mb.TenantID, to, mb.AutoAck.PerSenderPerHour)
	if err != nil {
		o.log().Warn("auto-acknowledgement rate", "err", err)
		return "error"
	}
	if !ok {
		return "rate limited"
	}
	lang := contact.Language
	if !atende.ValidLanguage(lang) {
		lang = mb.Language
	}
	subject, body := mb.AutoAck.Subject[lang], mb.AutoAck.Body[lang]
	if o.Templates != nil {
		ds, db := o.Templates(lang)
		if subject == "" {
			subject = ds
		}
		if body == "" {
			body = db
		}
	}
	vars := strings.NewReplacer("{{protocol}}", c.Protocol, "{{subject}}", msg.Subject, "{{name}}", contact.Name)
	in := Compose{To: []string{to}, Subject: vars.Replace(subject), Text: vars.Replace(body), Kind: "auto_ack", autoSubmitted: "auto-replied"}
	if _, _, err := o.Send(ctx, atende.SystemActor(mb.TenantID), mb, c, in); err != nil {
		o.log().Warn("auto-acknowledgement", "conversation", c.ID, "err", err)
		return "error"
	}
	return "queued"
}

// NoAutoReply says why a message must not be answered automatically, or "".
func NoAutoReply(msg *Message, mb *mailbox.Mailbox) string {
	from := strings.ToLower(msg.From.Address)
	local, _, _ := strings.Cut(from, "@")
	switch {
	case msg.AutoSubmitted != "" && msg.AutoSubmitted != "no":
		return "auto-submitted"
	case msg.Precedence == "bulk" || msg.Precedence == "list" || msg.Precedence == "junk" || msg.Precedence == "auto_reply":
		return "precedence " + msg.Precedence
	case msg.ListID != "":
		return "mailing list"
	case msg.DSN != nil:
		return "delivery status notification"
	case from == "" || strings.HasSuffix(from, ".invalid"):
		return "no sender"
	case local == "mailer-daemon" || local == "postmaster" || strings.HasPrefix(local, "noreply") || strings.HasPrefix(local, "no-reply") || local == "bounce" || strings.HasPrefix(local, "bounces"):
		return "automatic sender"
	case from == mb.Address || (mb.SMTP != nil && from == mb.SMTP.From):
		return "our own address"
	case mb.Receive != nil && slices.ContainsFunc(mb.Receive.Recipients, func(r string) bool { return r == from || (strings.HasPrefix(r, "@") && strings.HasSuffix(from, r)) }):
		return "our own address"
	}
	return ""
}
