package email

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
)

// env is a store, media, router and a mailbox on tenant "acme".
type env struct {
	t      testing.TB
	st     *store.Store
	media  *media.Store
	router *routing.Router
	box    *secrets.Box
	actor  atende.Actor
	queue  *atende.Queue
	mb     *mailbox.Mailbox
	im     *Importer
	out    *Outbound
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(ctx, store.Config{DataDir: dir, Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := media.New(dir + "/media")
	if err != nil {
		t.Fatal(err)
	}
	tn := &atende.Tenant{Name: "Acme", Slug: "acme", Locale: "es-ES", TimeZone: "Europe/Madrid"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	a := atende.SystemActor(tn.ID)
	q := &atende.Queue{Name: "Email", Channels: []atende.Channel{atende.ChannelEmail}}
	if err := st.CreateQueue(ctx, a, q); err != nil {
		t.Fatal(err)
	}
	router := routing.NewRouter(routing.EngineConfig{Holder: "test", Store: st, Bus: b, Blending: routing.DefaultBlending()})
	t.Cleanup(router.Close)
	box, _ := secrets.New(make([]byte, 32))
	e := &env{t: t, st: st, media: ms, router: router, box: box, actor: a, queue: q}
	e.out = &Outbound{Store: st, Media: ms, Secrets: box, RetryBase: 10 * time.Millisecond,
		Templates: func(lang string) (string, string) {
			return "Recibido [#{{protocol}}]", "Hola {{name}}, su número de protocolo es {{protocol}}."
		}}
	e.im = &Importer{Store: st, Media: ms, Router: router, Outbound: e.out}
	e.mb = &mailbox.Mailbox{Name: "Soporte", Address: "soporte@acme.es", Active: true, QueueID: q.ID,
		Receive: &mailbox.Receive{Recipients: []string{"soporte@acme.es", "@ayuda.acme.es"}}}
	if err := st.CreateMailbox(ctx, a, e.mb); err != nil {
		t.Fatal(err)
	}
	return e
}

// startSMTP runs the receiving server on a loopback port.
func (e *env) startSMTP() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	s := &ReceiveServer{Importer: e.im, Domain: "mx.test"}
	go s.Serve(ln)
	e.t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

func sendSMTP(t testing.TB, addr, from string, to []string, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail(from, to, strings.NewReader(msg))
}

func mailText(from, to, subject, msgID, extra, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgID + ">\r\nDate: Tue, 25 Nov 2026 10:00:00 +0100\r\n" +
		extra + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

func (e *env) timeline(convID string) []atende.TimelineEvent {
	tl, err := e.st.Timeline(context.Background(), e.actor.TenantID, convID, 0, 500)
	if err != nil {
		e.t.Fatal(err)
	}
	return tl
}

func (e *env) emailConversations() []atende.Conversation {
	p, err := e.st.Conversations(context.Background(), e.actor.TenantID, store.ConversationFilter{Channel: atende.ChannelEmail}, store.ListOptions{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func TestSMTPReceiveThreadsDeduplicatesAndRoutes(t *testing.T) {
	e := newEnv(t)
	addr := e.startSMTP()
	ctx := context.Background()
	if err := sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"},
		mailText("Ana Pérez <ana@cliente.es>", "soporte@acme.es", "=?UTF-8?Q?Factura_duplicada?=", "a1@cliente.es", "Cc: jefe@cliente.es\r\n", "Me han cobrado dos veces.")); err != nil {
		t.Fatal(err)
	}
	convs := e.emailConversations()
	if len(convs) != 1 {
		t.Fatalf("%d conversations", len(convs))
	}
	c := convs[0]
	if c.Subject != "Factura duplicada" || c.QueueID != e.queue.ID {
		t.Errorf("conversation %+v", c)
	}
	tl := e.timeline(c.ID)
	if len(tl) != 1 || !strings.Contains(tl[0].Body, "dos veces") {
		t.Fatalf("timeline %+v", tl)
	}
	var d struct{ Email EventData }
	json.Unmarshal(tl[0].Data, &d)
	if len(d.Email.Cc) != 1 || d.Email.Cc[0].Address != "jefe@cliente.es" || d.Email.RawMediaID == "" {
		t.Errorf("data %s", tl[0].Data)
	}
	contact, err := e.st.ContactByIdentity(ctx, e.actor.TenantID, atende.IdentityEmail, "", "ana@cliente.es")
	if err != nil || contact.Name != "Ana Pérez" || contact.ID != c.ContactID {
		t.Errorf("contact %+v %v", contact, err)
	}
	tasks, _ := e.st.Tasks(ctx, e.actor.TenantID, store.TaskFilter{ConversationID: c.ID}, store.ListOptions{})
	if len(tasks.Items) != 1 || tasks.Items[0].Channel != atende.ChannelEmail {
		t.Fatalf("tasks %+v", tasks.Items)
	}
	// The same message again (a sender retrying after a lost 250): nothing new.
	sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"},
		mailText("Ana <ana@cliente.es>", "soporte@acme.es", "Factura duplicada", "a1@cliente.es", "", "Me han cobrado dos veces."))
	// A reply by In-Reply-To, and one quoting the protocol only.
	sendSMTP(t, addr, "ana@cliente.es", []string{"x@ayuda.acme.es"},
		mailText("ana@cliente.es", "x@ayuda.acme.es", "Re: Factura", "a2@cliente.es", "In-Reply-To: <a1@cliente.es>\r\n", "¿Alguna novedad?\r\n\r\nEl mar, 25 nov 2026 escribió:\r\n> Me han cobrado"))
	sendSMTP(t, addr, "otra@cliente.es", []string{"soporte@acme.es"},
		mailText("otra@cliente.es", "soporte@acme.es", "Sobre [#"+c.Protocol+"]", "a3@cliente.es", "", "Soy su compañera."))
	if n := len(e.emailConversations()); n != 1 {
		t.Fatalf("%d conversations after replies, want 1", n)
	}
	tl = e.timeline(c.ID)
	if len(tl) != 3 {
		t.Fatalf("timeline has %d entries, want 3", len(tl))
	}
	json.Unmarshal(tl[1].Data, &d)
	if d.Email.QuoteAt <= 0 || !strings.HasPrefix(tl[1].Body[d.Email.QuoteAt:], "El mar") {
		t.Errorf("quoted history not found: %d in %q", d.Email.QuoteAt, tl[1].Body)
	}
	tasks, _ = e.st.Tasks(ctx, e.actor.TenantID, store.TaskFilter{ConversationID: c.ID}, store.ListOptions{})
	if len(tasks.Items) != 1 {
		t.Errorf("%d tasks, want the one live task", len(tasks.Items))
	}
	// Unknown recipients are refused at RCPT.
	err = sendSMTP(t, addr, "ana@cliente.es", []string{"nadie@otro.es"}, mailText("a@b.es", "nadie@otro.es", "x", "zz@x", "", "x"))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 550 {
		t.Errorf("unknown recipient: %v", err)
	}
}

func TestSMTPAnswers4xxWhenStorageFails(t *testing.T) {
	e := newEnv(t)
	addr := e.startSMTP()
	// The media directory turns into a file: every write of the message fails.
	dir := t.TempDir() + "/m"
	ms, _ := media.New(dir)
	e.im.Media = ms
	os.RemoveAll(dir)
	os.WriteFile(dir, []byte("not a directory"), 0o600)
	err := sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"}, mailText("ana@cliente.es", "soporte@acme.es", "x", "f1@x", "", "hola"))
	se, ok := err.(*smtp.SMTPError)
	if !ok || se.Code/100 != 4 {
		t.Fatalf("storage failure answered %v, want 4xx", err)
	}
	if n := len(e.emailConversations()); n != 0 {
		t.Fatalf("%d conversations after a failed store", n)
	}
	// And with the store itself closed.
	e.im.Media = e.media
	e.st.Close()
	err = sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"}, mailText("ana@cliente.es", "soporte@acme.es", "x", "f2@x", "", "hola"))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code/100 != 4 {
		t.Fatalf("closed store answered %v, want 4xx", err)
	}
}

// capture is a real SMTP peer that keeps what it receives.
type capture struct {
	mu   sync.Mutex
	msgs []captured
	fail int // answer 451 to this many DATA commands first
	hard bool
}

type captured struct {
	from string
	to   []string
	data string
}

type captureSession struct {
	c    *capture
	from string
	to   []string
}

func (s *captureSession) Reset()        {}
func (s *captureSession) Logout() error { return nil }
func (s *captureSession) Mail(f string, _ *smtp.MailOptions) error {
	s.from = f
	return nil
}
func (s *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *captureSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.hard {
		return &smtp.SMTPError{Code: 550, Message: "no such user"}
	}
	if s.c.fail > 0 {
		s.c.fail--
		return &smtp.SMTPError{Code: 451, Message: "try later"}
	}
	s.c.msgs = append(s.c.msgs, captured{s.from, s.to, string(b)})
	return nil
}

func startCapture(t testing.TB) (*capture, int) {
	c := &capture{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &captureSession{c: c}, nil }))
	srv.Domain = "peer.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c, ln.Addr().(*net.TCPAddr).Port
}

func (c *capture) all() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.msgs...)
}

func TestReplyThreadsBackWithDKIMAndAutoAck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	peer, port := startCapture(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sealedKey, _ := e.box.Seal(string(keyPEM), SecretContext(e.actor.TenantID, "dkim_key"))
	mb, err := e.st.UpdateMailbox(ctx, e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error {
		m.SMTP = &mailbox.Submission{Host: "127.0.0.1", Port: port, TLS: mailbox.TLSNone, DKIMSelector: "s1", SealedDKIMKey: sealedKey}
		m.AutoAck.Enabled = true
		m.Signature = map[string]string{"es": "Equipo de Soporte de Acme"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mb = mb
	addr := e.startSMTP()
	sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"}, mailText("Ana <ana@cliente.es>", "soporte@acme.es", "Pedido roto", "p1@cliente.es", "", "Llegó roto."))
	// An automatic message must never be acknowledged (RFC 3834).
	sendSMTP(t, addr, "bot@cliente.es", []string{"soporte@acme.es"}, mailText("bot@cliente.es", "soporte@acme.es", "Out of office", "p2@cliente.es", "Auto-Submitted: auto-replied\r\n", "Fuera."))
	sendSMTP(t, addr, "list@cliente.es", []string{"soporte@acme.es"}, mailText("list@cliente.es", "soporte@acme.es", "News", "p3@cliente.es", "Precedence: bulk\r\n", "Noticias."))
	c := e.emailConversations()
	var conv atende.Conversation
	for _, x := range c {
		if x.Subject == "Pedido roto" {
			conv = x
		}
	}
	agent := atende.Actor{TenantID: e.actor.TenantID, Kind: "system", Name: "agent"}
	om, ev, err := e.out.Send(ctx, agent, e.mb, &conv, Compose{To: []string{"ana@cliente.es"}, Cc: []string{"jefe@cliente.es"}, Bcc: []string{"audit@acme.es"}, Text: "Le enviamos otro.", HTML: "<p>Le enviamos <b>otro</b>.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if ev == nil || om.State != store.MailQueued {
		t.Fatalf("queued %+v", om)
	}
	e.out.RunOnce(ctx)
	got := peer.all()
	if len(got) != 2 {
		t.Fatalf("peer received %d messages, want the auto-ack and the reply", len(got))
	}
	ack, reply := got[0], got[1]
	if !strings.Contains(ack.data, "Auto-Submitted: auto-replied") || !strings.Contains(ack.data, conv.Protocol) {
		t.Errorf("auto-ack:\n%s", ack.data)
	}
	for _, want := range []string{"In-Reply-To: <p1@cliente.es>", "[#" + conv.Protocol + "]", "Equipo de Soporte de Acme", "DKIM-Signature:"} {
		if !strings.Contains(reply.data, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply.data)
		}
	}
	if strings.Contains(reply.data, "audit@acme.es") || len(reply.to) != 3 {
		t.Errorf("bcc: header shows it or envelope lacks it: %v", reply.to)
	}
	// The DKIM signature verifies against the public key.
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	vs, err := dkim.VerifyWithOptions(strings.NewReader(reply.data), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) {
		return []string{"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Errorf("DKIM verify: %v %+v", err, vs)
	}
	// The customer's answer threads back by In-Reply-To.
	msgID := om.MessageID
	sendSMTP(t, addr, "ana@cliente.es", []string{"soporte@acme.es"}, mailText("ana@cliente.es", "soporte@acme.es", "Re: Pedido roto", "p4@cliente.es", "In-Reply-To: <"+msgID+">\r\n", "Gracias."))
	tl := e.timeline(conv.ID)
	if last := tl[len(tl)-1]; last.Body != "Gracias." {
		t.Errorf("reply did not thread back; last entry %q", last.Body)
	}
	// A bounce of our reply is shown on it.
	dsn := "From: MAILER-DAEMON@peer.test\r\nTo: soporte@acme.es\r\nSubject: Undelivered\r\nMessage-ID: <dsn1@peer.test>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; peer.test\r\n\r\nFinal-Recipient: rfc822; jefe@cliente.es\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 no such user\r\n" +
		"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + msgID + ">\r\nSubject: x\r\n\r\n--B--\r\n"
	sendSMTP(t, addr, "", []string{"soporte@acme.es"}, dsn)
	outs, _ := e.st.OutboundMails(ctx, e.actor.TenantID, conv.ID)
	var bounced bool
	for _, o := range outs {
		if o.MessageID == msgID && o.State == store.MailBounced && strings.Contains(o.LastError, "5.1.1") {
			bounced = true
		}
	}
	if !bounced {
		t.Errorf("bounce not recorded on the message: %+v", outs)
	}
	if tl := e.timeline(conv.ID); !strings.Contains(string(tl[len(tl)-1].Data), `"bounce_of":"`+msgID) {
		t.Errorf("bounce not shown in the conversation")
	}
}

func TestOutboundRetriesThenFails(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	peer, port := startCapture(t)
	peer.fail = 2
	mb, _ := e.st.UpdateMailbox(ctx, e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error {
		m.SMTP = &mailbox.Submission{Host: "127.0.0.1", Port: port, TLS: mailbox.TLSNone}
		return nil
	})
	_, _, err := e.out.Send(ctx, e.actor, mb, nil, Compose{To: []string{"x@cliente.es"}, Subject: "Hola", Text: "hola", Kind: "new"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(peer.all()) == 0 && time.Now().Before(deadline) {
		e.out.RunOnce(ctx)
		time.Sleep(20 * time.Millisecond)
	}
	if len(peer.all()) != 1 {
		t.Fatal("not delivered after transient failures")
	}
	// A permanent refusal fails at once, visibly.
	peer.hard = true
	om, _, err := e.out.Send(ctx, e.actor, mb, nil, Compose{To: []string{"y@cliente.es"}, Subject: "Hola", Text: "hola", Kind: "new"})
	if err != nil {
		t.Fatal(err)
	}
	e.out.RunOnce(ctx)
	due, _ := e.st.ClaimDueMail(ctx, 10, time.Hour)
	if len(due) != 0 {
		t.Errorf("failed mail still due")
	}
	mails, err := e.st.OutboundMails(ctx, e.actor.TenantID, om.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	var got *store.OutboundMail
	for i := range mails {
		if mails[i].ID == om.ID {
			got = &mails[i]
		}
	}
	if got == nil || got.State != "failed" || got.LastError == "" {
		t.Fatalf("permanently refused mail: %+v", got)
	}
}

func TestParseCorpusNeverFails(t *testing.T) {
	files, _ := os.ReadDir("testdata/corpus")
	if len(files) == 0 {
		t.Skip("no corpus")
	}
	e := newEnv(t)
	for _, f := range files {
		t.Run(f.Name(), func(t *testing.T) {
			r, err := os.Open("testdata/corpus/" + f.Name())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			res, err := e.im.Import(context.Background(), e.mb, Envelope{MailFrom: "x@y.es"}, r, 50<<20)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if !res.Created || res.ConversationID == "" {
				t.Fatalf("result %+v", res)
			}
			t.Logf("%s: conversation %s, %d warnings %v, unparsable=%v", f.Name(), res.Protocol, len(res.Warnings), res.Warnings, res.Unparsable)
		})
	}
}

var _ = fmt.Sprint
