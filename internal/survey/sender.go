package survey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/store"
	"github.com/emersion/go-message/mail"
)

// Sender schedules a survey email when an email conversation is resolved
// and queues it, through the durable outbound mail queue, when it is due.
//
// Scheduling follows the stored events (conversation.updated with status
// resolved or closed, which a resolving disposition also emits) from a cursor
// kept in the store and moved in the same transaction as the requests it
// produced, so a crash repeats nothing and skips nothing; several nodes may
// run a Sender. A request is sent at most once: the mail is queued and the
// request marked sent in one transaction.
type Sender struct {
	Store *store.Store
	Media *media.Store
	Keys  *Keys
	// PublicURL is where customers reach this server
	// ("https://contact.example.com"); the links start with it.
	PublicURL string
	// Wake, when not nil, tells the outbound mail worker mail is waiting.
	Wake func()
	Log  *slog.Logger
	// Now is the clock (default time.Now); tests pass the store's fake one.
	Now func() time.Time
	// Every is how often the events are read and due surveys sent
	// (default 15 s).
	Every time.Duration
	// Lag keeps the reader this far behind the present, so an event whose
	// transaction committed after one with a higher id is not passed over
	// (default 2 s).
	Lag time.Duration
}

// Limits of the sender.
const (
	eventBatch = 500
	dueBatch   = 50
	// staleAfter: a survey due this long ago is no longer sent (the server
	// was down, or the mailbox could not send): a late survey annoys more
	// than it tells.
	staleAfter = 72 * time.Hour
)

func (s *Sender) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Run schedules and sends surveys until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	every := s.Every
	if every == 0 {
		every = 15 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("surveys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce schedules the surveys of the events stored so far and sends the
// ones due.
func (s *Sender) RunOnce(ctx context.Context) error {
	if err := s.Schedule(ctx); err != nil {
		return fmt.Errorf("schedule surveys: %w", err)
	}
	return s.SendDue(ctx)
}

// Schedule reads the events after the cursor and stores a request for every
// email conversation resolved in a tenant whose settings send email surveys.
func (s *Sender) Schedule(ctx context.Context) error {
	lag := s.Lag
	if lag == 0 {
		lag = 2 * time.Second
	}
	settings := map[string]*atende.SurveySettings{}
	for ctx.Err() == nil {
		prev, err := s.Store.SurveyProgress(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		evs, err := s.Store.EventsSince(ctx, prev, now.Add(-lag), eventBatch)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		var reqs []store.SurveyRequest
		for _, e := range evs {
			if e.Type != "conversation.updated" {
				continue
			}
			var c atende.Conversation
			if err := json.Unmarshal(e.Data, &c); err != nil {
				s.log().Warn("survey: unreadable event", "id", e.ID, "err", err)
				continue
			}
			if c.Channel != atende.ChannelEmail || (c.Status != atende.StatusResolved && c.Status != atende.StatusClosed) {
				continue
			}
			set, ok := settings[e.TenantID]
			if !ok {
				if set, err = s.Store.SurveySettings(ctx, e.TenantID); err != nil {
					return err
				}
				settings[e.TenantID] = set
			}
			if !set.Email.Enabled || len(set.Email.Kinds()) == 0 {
				continue
			}
			due := e.At.Add(time.Duration(set.Email.DelayMin) * time.Minute)
			if now.Sub(due) > staleAfter {
				continue
			}
			reqs = append(reqs, store.SurveyRequest{TenantID: e.TenantID, ConversationID: c.ID, ContactID: c.ContactID, Channel: c.Channel, DueAt: due})
		}
		err = s.Store.ScheduleSurveys(ctx, prev, evs[len(evs)-1].ID, reqs)
		if err != nil && !errors.Is(err, store.ErrSurveyProgressMoved) {
			return err
		}
		if len(evs) < eventBatch && err == nil {
			return nil
		}
	}
	return ctx.Err()
}

// SendDue sends the surveys whose time has come.
func (s *Sender) SendDue(ctx context.Context) error {
	for ctx.Err() == nil {
		due, err := s.Store.DueSurveyRequests(ctx, dueBatch)
		if err != nil {
			return err
		}
		progressed := false
		for i := range due {
			r := &due[i]
			skip, err := s.send(ctx, r)
			if err == nil && skip == "" {
				progressed = true
				continue
			}
			if err != nil && atende.ErrorCode(err) != atende.ENotFound {
				// Left scheduled: tried again at the next pass, until stale.
				s.log().Warn("survey email", "conversation", r.ConversationID, "err", err)
				if s.now().Sub(r.DueAt) <= staleAfter {
					continue
				}
				skip = "could not be sent: " + err.Error()
			} else if err != nil {
				skip = "not found: " + err.Error()
			}
			if err := s.Store.SkipSurveyRequest(ctx, r, skip); err != nil {
				return err
			}
			progressed = true
		}
		if len(due) < dueBatch || !progressed {
			return nil
		}
	}
	return ctx.Err()
}

// send queues one survey email; skip says why it was not sent, when that is
// for good.
func (s *Sender) send(ctx context.Context, r *store.SurveyRequest) (skip string, err error) {
	st := s.Store
	set, err := st.SurveySettings(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	kinds := set.Email.Kinds()
	if !set.Email.Enabled || len(kinds) == 0 {
		return "email surveys are turned off", nil
	}
	c, err := st.Conversation(ctx, r.TenantID, r.ConversationID)
	if err != nil {
		return "", err
	}
	if c.Status == atende.StatusOpen || c.Status == atende.StatusPending {
		return "the conversation was reopened", nil
	}
	contact, err := st.Contact(ctx, r.TenantID, c.ContactID)
	if err != nil {
		return "", err
	}
	to := ""
	for _, id := range contact.Identities {
		if id.Kind == atende.IdentityEmail {
			to = id.Value
			break
		}
	}
	if to == "" {
		return "the contact has no email address", nil
	}
	mbID, err := st.ConversationMailbox(ctx, r.TenantID, c.ID)
	if err != nil {
		return "", err
	}
	if mbID == "" {
		return "the conversation has no mailbox", nil
	}
	mb, err := st.Mailbox(ctx, r.TenantID, mbID)
	if err != nil {
		return "", err
	}
	if mb.SMTP == nil || !mb.Active {
		return "the mailbox does not send mail", nil
	}
	tn, err := st.Tenant(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	lang := contact.Language
	if !atende.ValidLanguage(lang) {
		lang = mb.Language
	}
	if !atende.ValidLanguage(lang) {
		lang = tn.Language
	}
	key, err := s.Keys.Key(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	refs, inReplyTo, err := st.ThreadHeaders(ctx, r.TenantID, c.ID)
	if err != nil {
		return "", err
	}
	m := Mail{Lang: lang, TenantName: tn.Name, ContactName: contact.Name, Protocol: c.Protocol}
	exp := s.now().Add(LinkTTL).Unix()
	for _, kind := range kinds {
		tok := Sign(key, Claims{TenantID: r.TenantID, ConversationID: c.ID, Kind: kind, Lang: lang, Expires: exp})
		q := MailQuestion{Text: Question(set, kind, lang, tn.Name)}
		for _, score := range Scores(kind) {
			q.Links = append(q.Links, MailLink{Score: score, Label: ScoreLabel(kind, lang, score), URL: s.Link(tok, score)})
		}
		m.Questions = append(m.Questions, q)
	}
	from, fromName := mb.Address, mb.SMTP.FromName
	if mb.SMTP.From != "" {
		from = mb.SMTP.From
	}
	msgID := atende.NewID() + "@" + mailbox.Domain(from)
	if inReplyTo == "" && len(refs) > 0 {
		inReplyTo = refs[len(refs)-1]
	}
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf, MailHeader{From: from, FromName: fromName, To: to, MessageID: msgID, InReplyTo: inReplyTo, References: refs, Date: s.now()}); err != nil {
		return "", err
	}
	raw, err := s.Media.Put(ctx, r.TenantID, "survey.eml", "message/rfc822", &buf, 1<<20)
	if err != nil {
		return "", fmt.Errorf("store survey message: %w", err)
	}
	om := &store.OutboundMail{MailboxID: mb.ID, MessageID: msgID, MailFrom: from, Recipients: []string{to}, Kind: "survey"}
	sent, err := st.SendSurveyRequest(ctx, r, set.PerContactDays, om, raw)
	if err != nil || !sent {
		s.Media.Delete(r.TenantID, raw.ID)
	}
	if err != nil {
		return "", err
	}
	if sent && s.Wake != nil {
		s.Wake()
	}
	return "", nil
}

// Link is the address of the public page that answers score with token.
func (s *Sender) Link(token string, score int) string {
	return strings.TrimRight(s.PublicURL, "/") + "/s/" + url.PathEscape(token) + "?score=" + strconv.Itoa(score)
}

// Mail is a survey email: one question per kind, each with a link per score.
type Mail struct {
	Lang, TenantName, ContactName, Protocol string
	Questions                               []MailQuestion
}

// MailQuestion is one question of a survey email.
type MailQuestion struct {
	Text  string
	Links []MailLink
}

// MailLink answers a question with a score in one click.
type MailLink struct {
	Score int
	Label string
	URL   string
}

// MailHeader is the envelope of a survey email.
type MailHeader struct {
	From, FromName, To, MessageID, InReplyTo string
	References                               []string
	Date                                     time.Time
}

func (m *Mail) vars() map[string]string {
	name := m.ContactName
	if strings.TrimSpace(name) == "" {
		name = i18n.T(m.Lang, "survey.email.customer")
	}
	return map[string]string{"protocol": m.Protocol, "tenant": m.TenantName, "name": name}
}

// Subject is the email's subject; it carries the protocol tag, so an answer
// by email threads back to the conversation.
func (m *Mail) Subject() string {
	return fill(i18n.T(m.Lang, "survey.email.subject"), m.vars())
}

// Text is the plain-text body.
func (m *Mail) Text() string {
	v := m.vars()
	var b strings.Builder
	b.WriteString(fill(i18n.T(m.Lang, "survey.email.greeting"), v) + "\n\n")
	b.WriteString(fill(i18n.T(m.Lang, "survey.email.intro"), v) + "\n")
	for _, q := range m.Questions {
		b.WriteString("\n" + q.Text + "\n\n")
		for _, l := range q.Links {
			b.WriteString(l.Label + ": " + l.URL + "\n")
		}
	}
	b.WriteString("\n" + fill(i18n.T(m.Lang, "survey.email.footer"), v) + "\n")
	return b.String()
}

var mailHTML = template.Must(template.New("mail").Funcs(template.FuncMap{"last": func(l []MailLink) int { return len(l) - 1 }}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;color:#1f2933;background:#ffffff">
<p>{{.Greeting}}</p>
<p>{{.Intro}}</p>
{{range .Questions}}<h2 style="font-size:18px;margin:24px 0 8px">{{.Text}}</h2>
<table role="presentation" cellspacing="0" cellpadding="0"><tr>{{range .Links}}<td style="padding:2px"><a href="{{.URL}}" aria-label="{{.Label}}" style="display:inline-block;min-width:32px;padding:10px 6px;text-align:center;border:1px solid #1d4ed8;border-radius:6px;color:#1d4ed8;text-decoration:none;font-weight:bold">{{.Score}}</a></td>{{end}}</tr></table>
<p style="font-size:13px;color:#52606d;margin:4px 0 0">{{(index .Links 0).Label}} &middot; {{(index .Links (last .Links)).Label}}</p>
{{end}}<p style="font-size:13px;color:#52606d;margin-top:24px">{{.Footer}}</p>
</body></html>`))

// HTML is the HTML body: the same as the text, with the scores as buttons.
func (m *Mail) HTML() (string, error) {
	v := m.vars()
	data := struct {
		Lang, Subject, Greeting, Intro, Footer string
		Questions                              []MailQuestion
	}{m.Lang, m.Subject(), fill(i18n.T(m.Lang, "survey.email.greeting"), v), fill(i18n.T(m.Lang, "survey.email.intro"), v),
		fill(i18n.T(m.Lang, "survey.email.footer"), v), m.Questions}
	var b strings.Builder
	if err := mailHTML.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Write writes the whole message: automatic (Auto-Submitted:
// auto-generated, RFC 3834), text and HTML alternatives.
func (m *Mail) Write(w io.Writer, h MailHeader) error {
	html, err := m.HTML()
	if err != nil {
		return err
	}
	var mh mail.Header
	mh.SetDate(h.Date)
	mh.SetAddressList("From", []*mail.Address{{Name: h.FromName, Address: h.From}})
	mh.SetAddressList("To", []*mail.Address{{Address: h.To}})
	mh.SetSubject(m.Subject())
	mh.SetMessageID(h.MessageID)
	if h.InReplyTo != "" {
		mh.SetMsgIDList("In-Reply-To", []string{h.InReplyTo})
		mh.SetMsgIDList("References", slices.Clone(h.References))
	}
	mh.Set("Auto-Submitted", "auto-generated")
	mh.Set("X-Auto-Response-Suppress", "All")
	mw, err := mail.CreateInlineWriter(w, mh)
	if err != nil {
		return err
	}
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text()}, {"text/html", html}} {
		var ph mail.InlineHeader
		ph.SetContentType(part.ctype, map[string]string{"charset": "utf-8"})
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, part.body); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}
