package survey_test

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
	"github.com/atende/atende/internal/survey"
	"github.com/emersion/go-message/mail"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// world is a tenant with an email queue, a mailbox that sends, and a
// customer with an email address who writes in Portuguese.
type world struct {
	t        *testing.T
	st       *store.Store
	ms       *media.Store
	out      *email.Outbound
	sys      atende.Actor
	tenant   *atende.Tenant
	mailbox  *mailbox.Mailbox
	customer *atende.Contact
	sender   *survey.Sender
}

func newWorld(t *testing.T, st *store.Store, clk *clock) *world {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := media.New(t.TempDir())
	must(err)
	box, _ := secrets.New(make([]byte, secrets.KeySize))
	w := &world{t: t, st: st, ms: ms, out: &email.Outbound{Store: st, Media: ms, Secrets: box}}
	w.tenant = &atende.Tenant{Name: "Loja Azul", Slug: "loja-azul", Locale: "pt-BR", TimeZone: "America/Sao_Paulo"}
	must(st.CreateTenant(ctx, atende.SystemActor(""), w.tenant))
	w.sys = atende.SystemActor(w.tenant.ID)
	q := &atende.Queue{Name: "Email", Channels: []atende.Channel{atende.ChannelEmail}}
	must(st.CreateQueue(ctx, w.sys, q))
	w.mailbox = &mailbox.Mailbox{Name: "Suporte", Address: "suporte@loja-azul.com.br", Active: true, QueueID: q.ID, Language: "pt-BR",
		SMTP: &mailbox.Submission{Host: "smtp.loja-azul.com.br", Port: 587, TLS: "starttls", FromName: "Loja Azul"}}
	must(st.CreateMailbox(ctx, w.sys, w.mailbox))
	w.customer = &atende.Contact{Name: "Ana Souza", Language: "pt-BR", Identities: []atende.Identity{{Kind: atende.IdentityEmail, Value: "ana@example.com.br"}}}
	must(st.CreateContact(ctx, w.sys, w.customer))
	w.sender = &survey.Sender{Store: st, Media: ms, Keys: &survey.Keys{Store: st, Box: box}, PublicURL: "https://contact.example.com/", Now: clk.Now}
	return w
}

// emailConversation opens an email conversation the mailbox answered, so it
// has a mailbox and a thread.
func (w *world) emailConversation() *atende.Conversation {
	ctx := context.Background()
	c := &atende.Conversation{ContactID: w.customer.ID, Channel: atende.ChannelEmail, Subject: "Pedido atrasado"}
	if err := w.st.CreateConversation(ctx, w.sys, c, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: "in", Body: "Meu pedido não chegou"}); err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := w.out.Send(ctx, w.sys, w.mailbox, c, email.Compose{To: []string{"ana@example.com.br"}, Text: "Já foi enviado."}); err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) resolve(c *atende.Conversation) {
	if _, err := w.st.UpdateConversation(context.Background(), w.sys, c.ID, 0, func(c *atende.Conversation) error {
		c.Status = atende.StatusResolved
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) run() {
	w.t.Helper()
	if err := w.sender.RunOnce(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// surveyMails claims the queued mail and returns the survey emails.
func (w *world) surveyMails() []store.OutboundMail {
	w.t.Helper()
	due, err := w.st.ClaimDueMail(context.Background(), 100, time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []store.OutboundMail
	for _, m := range due {
		if m.Kind == "survey" {
			out = append(out, m)
		}
	}
	return out
}

func (w *world) request(c *atende.Conversation) *store.SurveyRequest {
	w.t.Helper()
	r, err := w.st.SurveyRequest(context.Background(), w.tenant.ID, c.ID)
	if err != nil {
		w.t.Fatalf("survey request of %s: %v", c.ID, err)
	}
	return r
}

var linkRE = regexp.MustCompile(`https://contact\.example\.com/s/(sv_[A-Za-z0-9_\-.]+)\?score=(\d+)`)

func TestEmailSurveyIsSentAfterTheDelayWithWorkingLinks(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 13, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	storetest.ForEach(t, store.Config{Clock: clk}, func(t *testing.T, st *store.Store) {
		clk.now = t0
		ctx := context.Background()
		w := newWorld(t, st, clk)
		if _, err := st.UpdateSurveySettings(ctx, w.sys, 0, func(s *atende.SurveySettings) error {
			s.Email = atende.SurveyChannel{Enabled: true, Kind: atende.SurveyKindBoth, DelayMin: 10}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c := w.emailConversation()
		w.surveyMails() // the agent's reply
		w.resolve(c)

		clk.now = t0.Add(5 * time.Second)
		w.run()
		r := w.request(c)
		if r.State != store.SurveyScheduled || !r.DueAt.Equal(t0.Add(10*time.Minute)) || r.ContactID != w.customer.ID {
			t.Fatalf("scheduled %+v", r)
		}
		clk.now = t0.Add(9 * time.Minute)
		w.run()
		if got := w.surveyMails(); len(got) != 0 || w.request(c).State != store.SurveyScheduled {
			t.Fatalf("sent before the delay: %+v", got)
		}

		clk.now = t0.Add(10 * time.Minute)
		w.run()
		w.run() // a second pass sends nothing more
		mails := w.surveyMails()
		if len(mails) != 1 {
			t.Fatalf("survey mails %+v", mails)
		}
		m := mails[0]
		if r := w.request(c); r.State != store.SurveySent || r.MailID != m.ID || m.MailboxID != w.mailbox.ID ||
			len(m.Recipients) != 1 || m.Recipients[0] != "ana@example.com.br" || m.ConversationID != "" {
			t.Fatalf("request %+v mail %+v", r, m)
		}
		f, err := w.ms.Open(w.tenant.ID, m.RawMediaID)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		mr, err := mail.CreateReader(f)
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := mr.Header.Subject()
		if mr.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(subject, "[#"+c.Protocol+"]") ||
			!strings.HasPrefix(subject, "Como nos saímos?") || mr.Header.Get("In-Reply-To") == "" {
			t.Fatalf("header: subject %q, %v", subject, mr.Header.Map())
		}
		var text string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p.Body)
			if ct, _, _ := p.Header.(*mail.InlineHeader).ContentType(); ct == "text/plain" {
				text = string(b)
			}
		}
		if !strings.Contains(text, "Olá, Ana Souza") || !strings.Contains(text, c.Protocol) {
			t.Fatalf("text:\n%s", text)
		}
		links := linkRE.FindAllStringSubmatch(text, -1)
		if len(links) != 5+11 {
			t.Fatalf("%d links in:\n%s", len(links), text)
		}
		key, err := w.sender.Keys.Key(ctx, w.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		scores := map[string][]int{}
		for _, l := range links {
			cl, err := survey.Verify(key, l[1], clk.now)
			if err != nil {
				t.Fatalf("link %s: %v", l[0], err)
			}
			if cl.TenantID != w.tenant.ID || cl.ConversationID != c.ID || cl.Lang != "pt-BR" || cl.Expires != t0.Add(10*time.Minute+survey.LinkTTL).Unix() {
				t.Fatalf("claims %+v", cl)
			}
			n, _ := strconv.Atoi(l[2])
			scores[cl.Kind] = append(scores[cl.Kind], n)
		}
		if len(scores["csat"]) != 5 || scores["csat"][0] != 1 || len(scores["nps"]) != 11 || scores["nps"][0] != 0 || scores["nps"][10] != 10 {
			t.Fatalf("scores %v", scores)
		}
	})
}

func TestEmailSurveyPolicy(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 13, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	storetest.ForEach(t, store.Config{Clock: clk}, func(t *testing.T, st *store.Store) {
		clk.now = t0
		ctx := context.Background()
		w := newWorld(t, st, clk)

		// Off (the default): nothing is scheduled.
		off := w.emailConversation()
		w.resolve(off)
		clk.now = clk.now.Add(time.Minute)
		w.run()
		if _, err := st.SurveyRequest(ctx, w.tenant.ID, off.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("scheduled while off: %v", err)
		}

		if _, err := st.UpdateSurveySettings(ctx, w.sys, 0, func(s *atende.SurveySettings) error {
			s.Email = atende.SurveyChannel{Enabled: true, Kind: atende.SurveyKindCSAT, DelayMin: 0}
			s.PerContactDays = 7
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		first, second, reopened := w.emailConversation(), w.emailConversation(), w.emailConversation()
		w.surveyMails()
		w.resolve(first)
		w.resolve(second)
		w.resolve(reopened)
		if _, _, err := st.AppendMessage(ctx, w.sys, reopened.ID, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: "in", Body: "Ainda não chegou"}); err != nil {
			t.Fatal(err)
		}
		clk.now = clk.now.Add(time.Minute)
		w.run()
		if got := w.surveyMails(); len(got) != 1 {
			t.Fatalf("%d survey mails, want 1 (one per contact per 7 days)", len(got))
		}
		if r := w.request(first); r.State != store.SurveySent {
			t.Fatalf("first %+v", r)
		}
		if r := w.request(second); r.State != store.SurveySkipped || r.Reason != "contact surveyed recently" {
			t.Fatalf("second %+v", r)
		}
		if r := w.request(reopened); r.State != store.SurveySkipped || r.Reason != "the conversation was reopened" {
			t.Fatalf("reopened %+v", r)
		}

		// A week later the same contact may be asked again.
		clk.now = clk.now.Add(7*24*time.Hour + time.Minute)
		later := w.emailConversation()
		w.surveyMails()
		w.resolve(later)
		clk.now = clk.now.Add(time.Minute)
		w.run()
		if got := w.surveyMails(); len(got) != 1 || w.request(later).State != store.SurveySent {
			t.Fatalf("a week later: %+v %+v", got, w.request(later))
		}
	})
}

func TestSenderStopsWithItsContext(t *testing.T) {
	st := storetest.Open(t, store.Config{DataDir: t.TempDir()})
	ms, err := media.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &survey.Sender{Store: st, Media: ms, Keys: &survey.Keys{Store: st}, Every: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
