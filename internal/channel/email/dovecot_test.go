package email

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// dovecot is a real Dovecot 2.3 started by the test on loopback ports, with
// its configuration, users and maildirs in a temporary directory: IMAP
// without TLS and LMTP for delivery. Users "soporte" (the tenant's shared
// mailbox) and "ana" (a customer) log in with dovecotPassword.
type dovecot struct {
	imapAddr, lmtpAddr string
	log                string
	// With TLS: IMAPS on imapsAddr, STARTTLS on imapAddr, and a client
	// configuration trusting the test's self-signed certificate.
	imapsAddr string
	clientTLS *tls.Config
}

const dovecotPassword = "pw-9f3b7c1e-imap"

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDovecot runs `dovecot -F` until the test ends. As root (CI), the
// master stays root, its helpers run as Debian's "dovecot"/"dovenull" users
// and the mail as "dovecot" (Dovecot refuses mail access as UID 0), so the
// temporary tree is made traversable and the maildirs belong to dovecot.
// As any other user, everything runs as that user. No service is chrooted
// (an unprivileged master could not chroot them).
func startDovecot(t *testing.T) *dovecot { return startDovecotTLS(t, false) }

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns a client configuration that trusts it.
func selfSigned(t *testing.T, dir string) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func startDovecotTLS(t *testing.T, withTLS bool) *dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr != nil {
			t.Skip("skipped: dovecot not installed (run scripts/install-test-deps.sh)")
		}
		bin = "/usr/sbin/dovecot"
	}
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	internal, login, mailUID, mailGID := me.Username, me.Username, me.Uid, me.Gid
	group := internal
	if g, err := user.LookupGroupId(me.Gid); err == nil {
		group = g.Name
	}
	if os.Geteuid() == 0 {
		du, err := user.Lookup("dovecot")
		if err != nil {
			t.Skip("skipped: running as root but there is no dovecot user (run scripts/install-test-deps.sh)")
		}
		internal, login, mailUID, mailGID, group = "dovecot", "dovecot", du.Uid, du.Gid, "dovecot"
		if _, err := user.Lookup("dovenull"); err == nil {
			login = "dovenull"
		}
		for _, d := range []string{filepath.Dir(dir), dir} {
			os.Chmod(d, 0o755)
		}
	}
	mail := filepath.Join(dir, "mail")
	os.MkdirAll(mail, 0o755)
	if os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(mailUID)
		gid, _ := strconv.Atoi(mailGID)
		os.Chown(mail, uid, gid)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte("soporte:{PLAIN}"+dovecotPassword+"\nana:{PLAIN}"+dovecotPassword+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &dovecot{imapAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), lmtpAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), log: filepath.Join(dir, "dovecot.log")}
	_, imapPort, _ := net.SplitHostPort(d.imapAddr)
	_, lmtpPort, _ := net.SplitHostPort(d.lmtpAddr)
	ssl, imapsPort := "ssl = no", "0"
	if withTLS {
		d.clientTLS = selfSigned(t, dir)
		d.imapsAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		_, imapsPort, _ = net.SplitHostPort(d.imapsAddr)
		ssl = "ssl = yes\nssl_cert = <" + dir + "/cert.pem\nssl_key = <" + dir + "/key.pem"
	}
	conf := `base_dir = ` + dir + `/run
state_dir = ` + dir + `/state
log_path = ` + d.log + `
instance_name = atende-test-` + filepath.Base(dir) + `
protocols = imap lmtp
listen = 127.0.0.1
` + ssl + `
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ` + internal + `
default_internal_group = ` + group + `
default_login_user = ` + login + `
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:` + mail + `/%n
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ` + dir + `/passwd
}
userdb {
  driver = static
  args = uid=` + mailUID + ` gid=` + mailGID + ` home=` + mail + `/%n
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ` + imapPort + `
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ` + imapsPort + `
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ` + lmtpPort + `
  }
}
protocol lmtp {
  postmaster_address = postmaster@acme.test
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Archive {
    auto = create
  }
}
`
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	out, _ := os.Create(filepath.Join(dir, "dovecot.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.imapAddr, time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "* OK") {
				return d
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.out"))
			l, _ := os.ReadFile(d.log)
			t.Fatalf("dovecot exited: %s\n%s\n%s", cmd.ProcessState, b, l)
		default:
		}
		if time.Now().After(deadline) {
			l, _ := os.ReadFile(d.log)
			t.Fatalf("dovecot not answering on %s:\n%s", d.imapAddr, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deliver hands a message to dovecot's LMTP, as a mail server would.
func (d *dovecot) deliver(t testing.TB, from string, to []string, msg io.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", d.lmtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.SendMail(from, to, msg); err != nil {
		t.Fatalf("LMTP delivery to %v: %v", to, err)
	}
}

// login opens an IMAP session as a test user.
func (d *dovecot) login(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, dovecotPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

type imapMsg struct {
	uid   imap.UID
	flags []imap.Flag
	body  string
}

// messages lists a folder with flags and whole bodies.
func (d *dovecot) messages(t testing.TB, user, folder string) []imapMsg {
	t.Helper()
	c := d.login(t, user)
	defer c.Logout()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	bufs, err := c.Fetch(allSeq(), &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []imapMsg
	for _, b := range bufs {
		m := imapMsg{uid: b.UID, flags: b.Flags}
		if len(b.BodySection) > 0 {
			m.body = string(b.BodySection[0].Bytes)
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// startRelay is the tenant's outgoing SMTP server: a go-smtp server that
// hands each message to dovecot's LMTP (a real peer delivering to a real
// mailbox).
func startRelay(t testing.TB, d *dovecot) int {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{d: d}, nil }))
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

type relaySession struct {
	d    *dovecot
	from string
	to   []string
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(f string, _ *smtp.MailOptions) error {
	s.from = f
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	// Only the customer has a mailbox here; others (cc) are dropped.
	if strings.HasSuffix(to, "@cliente.test") {
		s.to = append(s.to, to)
	}
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	if len(s.to) == 0 {
		io.Copy(io.Discard, r)
		return nil
	}
	conn, err := net.Dial("tcp", s.d.lmtpAddr)
	if err != nil {
		return &smtp.SMTPError{Code: 451, Message: err.Error()}
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.SendMail(s.from, s.to, r); err != nil {
		return &smtp.SMTPError{Code: 451, Message: err.Error()}
	}
	return nil
}

// withIMAP gives the env's mailbox IMAP settings for dovecot's "soporte"
// and outgoing settings for the relay.
func (e *env) withIMAP(d *dovecot, after, moveTo string, idle bool, relayPort int) {
	e.t.Helper()
	host, port, _ := net.SplitHostPort(d.imapAddr)
	p, _ := strconv.Atoi(port)
	sealed, err := e.box.Seal(dovecotPassword, SecretContext(e.actor.TenantID, "imap_password"))
	if err != nil {
		e.t.Fatal(err)
	}
	mb, err := e.st.UpdateMailbox(context.Background(), e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error {
		m.Address = "soporte@acme.test"
		m.IMAP = &mailbox.IMAP{Host: host, Port: p, TLS: mailbox.TLSNone, User: "soporte", SealedPassword: sealed,
			Folder: "INBOX", AfterImport: after, MoveTo: moveTo, Idle: idle, PollSeconds: 30}
		if relayPort != 0 {
			m.SMTP = &mailbox.Submission{Host: "127.0.0.1", Port: relayPort, TLS: mailbox.TLSNone}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mb = mb
}

func allSeq() imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, 0) // 1:*
	return s
}

func hasFlags(fl []imap.Flag, want ...imap.Flag) bool {
	for _, w := range want {
		if !slices.Contains(fl, w) {
			return false
		}
	}
	return true
}

func TestIMAPImportFromDovecotThreadsFlagsAndRepliesLand(t *testing.T) {
	d := startDovecot(t)
	e := newEnv(t)
	relay := startRelay(t, d)
	e.withIMAP(d, mailbox.AfterFlag, "", true, relay)
	ctx := context.Background()

	// Two messages wait in the mailbox before atende connects: a new one
	// and the customer's follow-up by In-Reply-To.
	d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(
		mailText("Ana <ana@cliente.test>", "soporte@acme.test", "Pedido 77 no llegó", "i1@cliente.test", "", "Sigo esperando.")))
	d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(
		mailText("Ana <ana@cliente.test>", "soporte@acme.test", "Re: Pedido 77 no llegó", "i2@cliente.test", "In-Reply-To: <i1@cliente.test>\r\n", "¿Alguna novedad?")))

	// A long poll: what arrives later must come by IDLE.
	var logs lockedBuffer
	imp := &IMAPImporter{Importer: e.im, Secrets: e.box, Poll: 20 * time.Second, MinBackoff: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); imp.Run(rctx, e.mb) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 10*time.Second, "2 messages imported into 1 conversation", func() bool {
		c := e.emailConversations()
		return len(c) == 1 && len(e.timeline(c[0].ID)) == 2
	})
	conv := e.emailConversations()[0]
	if conv.Subject != "Pedido 77 no llegó" {
		t.Errorf("subject %q", conv.Subject)
	}
	// Flagged on the server only after the import.
	waitFor(t, 5*time.Second, "both flagged \\Seen $Imported", func() bool {
		ms := d.messages(t, "soporte", "INBOX")
		return len(ms) == 2 && hasFlags(ms[0].flags, imap.FlagSeen, KeywordImported) && hasFlags(ms[1].flags, imap.FlagSeen, KeywordImported)
	})

	// A crash between the import and the flag: the flags are gone, the
	// importer fetches both again and creates nothing new.
	c := d.login(t, "soporte")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(allSeq(), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen, KeywordImported}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout()
	// A new message wakes the IDLE; the pass refetches all three.
	start := time.Now()
	d.deliver(t, "pablo@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(
		mailText("Pablo <pablo@cliente.test>", "soporte@acme.test", "Factura", "i3@cliente.test", "", "Necesito la factura.")))
	waitFor(t, 8*time.Second, "the new message imported by IDLE", func() bool { return len(e.emailConversations()) == 2 })
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("IDLE push took %v (poll is 20 s)", took)
	}
	waitFor(t, 5*time.Second, "all three flagged again", func() bool {
		ms := d.messages(t, "soporte", "INBOX")
		if len(ms) != 3 {
			return false
		}
		for _, m := range ms {
			if !hasFlags(m.flags, imap.FlagSeen, KeywordImported) {
				return false
			}
		}
		return true
	})
	if n := len(e.timeline(conv.ID)); n != 2 {
		t.Fatalf("re-fetch after a lost flag created entries: %d, want 2", n)
	}

	// The agent answers; the reply goes through the outbound queue and the
	// relay into Ana's mailbox on dovecot.
	om, _, err := e.out.Send(ctx, e.actor, e.mb, &conv, Compose{To: []string{"ana@cliente.test"}, Text: "Sale hoy por mensajería."})
	if err != nil {
		t.Fatal(err)
	}
	e.out.RunOnce(ctx)
	var reply imapMsg
	waitFor(t, 5*time.Second, "the reply in ana's INBOX", func() bool {
		for _, m := range d.messages(t, "ana", "INBOX") {
			if strings.Contains(m.body, "Sale hoy") {
				reply = m
				return true
			}
		}
		return false
	})
	for _, want := range []string{"Message-Id: <" + om.MessageID + ">", "In-Reply-To: <i2@cliente.test>", "[#" + conv.Protocol + "]"} {
		if !strings.Contains(reply.body, want) {
			t.Errorf("reply in ana's mailbox lacks %q:\n%s", want, reply.body)
		}
	}
	// Ana answers the reply; it threads back into the conversation.
	d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(
		mailText("Ana <ana@cliente.test>", "soporte@acme.test", "Re: Pedido 77", "i4@cliente.test", "In-Reply-To: <"+om.MessageID+">\r\n", "¡Gracias!")))
	waitFor(t, 8*time.Second, "the answer threaded back", func() bool {
		tl := e.timeline(conv.ID)
		return tl[len(tl)-1].Body == "¡Gracias!"
	})
	if n := len(e.emailConversations()); n != 2 {
		t.Errorf("%d conversations, want 2", n)
	}

	// Stopping ends the importer promptly, even in IDLE.
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("importer did not stop within 5 s")
	}
	if l := logs.String(); !strings.Contains(l, "imap connected") || strings.Contains(l, dovecotPassword) {
		t.Errorf("the log must tell the connection and never the password:\n%s", l)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestIMAPWorkersMoveAfterImportAndStop(t *testing.T) {
	d := startDovecot(t)
	e := newEnv(t)
	e.withIMAP(d, mailbox.AfterMove, "Archive", false, 0) // polling, no IDLE
	for i := range 3 {
		d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(
			mailText("ana@cliente.test", "soporte@acme.test", fmt.Sprintf("Consulta %d", i), fmt.Sprintf("m%d@cliente.test", i), "", "hola")))
	}
	w := &IMAPWorkers{IMAPImporter: IMAPImporter{Importer: e.im, Secrets: e.box, Poll: 200 * time.Millisecond, MinBackoff: 50 * time.Millisecond},
		Reload: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, "3 conversations", func() bool { return len(e.emailConversations()) == 3 })
	waitFor(t, 5*time.Second, "INBOX empty, 3 in Archive", func() bool {
		return len(d.messages(t, "soporte", "INBOX")) == 0 && len(d.messages(t, "soporte", "Archive")) == 3
	})
	if r := w.Running(); len(r) != 1 || r[0] != e.mb.ID {
		t.Errorf("running %v", r)
	}
	// A message put back (a move that "did not happen") is not imported twice.
	c := d.login(t, "soporte")
	if _, err := c.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout()
	waitFor(t, 5*time.Second, "the copy moved away again", func() bool { return len(d.messages(t, "soporte", "INBOX")) == 0 })
	if n := len(e.emailConversations()); n != 3 {
		t.Errorf("%d conversations after a re-fetch, want 3", n)
	}
	// Deactivating the mailbox stops its importer.
	if _, err := e.st.UpdateMailbox(context.Background(), e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error { m.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "no importer running", func() bool { return len(w.Running()) == 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("workers did not stop within 5 s")
	}
}

// proxy forwards loopback connections to target and can cut them all.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestIMAPReconnectsAfterTheConnectionDrops(t *testing.T) {
	d := startDovecot(t)
	e := newEnv(t)
	px := startProxy(t, d.imapAddr)
	e.withIMAP(&dovecot{imapAddr: px.ln.Addr().String()}, mailbox.AfterFlag, "", true, 0)
	imp := &IMAPImporter{Importer: e.im, Secrets: e.box, Poll: 20 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); imp.Run(ctx, e.mb) }()
	defer func() { cancel(); <-done }()
	d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(mailText("ana@cliente.test", "soporte@acme.test", "Uno", "r1@cliente.test", "", "uno")))
	waitFor(t, 8*time.Second, "first message", func() bool { return len(e.emailConversations()) == 1 })
	px.cut() // the server goes away in the middle of IDLE
	d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(mailText("ana@cliente.test", "soporte@acme.test", "Dos", "r2@cliente.test", "", "dos")))
	waitFor(t, 8*time.Second, "second message after reconnecting", func() bool { return len(e.emailConversations()) == 2 })
}

func TestIMAPOverTLSAndSTARTTLS(t *testing.T) {
	d := startDovecotTLS(t, true)
	for _, mode := range []string{mailbox.TLSImplicit, mailbox.TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			addr := d.imapAddr
			if mode == mailbox.TLSImplicit {
				addr = d.imapsAddr
			}
			e.withIMAP(&dovecot{imapAddr: addr}, mailbox.AfterFlag, "", true, 0)
			mb, err := e.st.UpdateMailbox(context.Background(), e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error { m.IMAP.TLS = mode; return nil })
			if err != nil {
				t.Fatal(err)
			}
			id := "tls-" + mode + "@cliente.test"
			d.deliver(t, "ana@cliente.test", []string{"soporte@acme.test"}, strings.NewReader(mailText("ana@cliente.test", "soporte@acme.test", "Cifrado "+mode, id, "", "hola")))
			// The certificate is checked: without the test's CA, no session.
			untrusting := &IMAPImporter{Importer: e.im, Secrets: e.box}
			if err := untrusting.session(context.Background(), mb); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("session with an untrusted certificate: %v", err)
			}
			imp := &IMAPImporter{Importer: e.im, Secrets: e.box, TLSConfig: d.clientTLS, Poll: 20 * time.Second, MinBackoff: 50 * time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); imp.Run(ctx, mb) }()
			defer func() { cancel(); <-done }()
			waitFor(t, 8*time.Second, "imported over "+mode, func() bool {
				for _, c := range e.emailConversations() {
					if c.Subject == "Cifrado "+mode {
						return true
					}
				}
				return false
			})
		})
	}
}
