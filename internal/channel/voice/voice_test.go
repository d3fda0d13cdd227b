package voice

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// env is a SIP server on loopback with one tenant ("acme.sip.test"), a
// SIP account 1001 and an ip trunk for 127.0.0.2 with a DID.
type env struct {
	st      *store.Store
	box     *secrets.Box
	srv     *Server
	tenant  *atende.Tenant
	actor   atende.Actor
	domain  string
	user    string
	pass    string
	did     *atende.DID
	handler *recordingHandler
	// baseline is the goroutine count before the server started.
	baseline int
}

type envOptions struct {
	handler     bool
	limitRate   float64
	limitBurst  float64
	noIPTrunk   bool
	trunkReload time.Duration
}

func newBox(t testing.TB) *secrets.Box {
	key := make([]byte, secrets.KeySize)
	rand.Read(key)
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// newTenantWithDomain makes a tenant with a SIP domain and one account.
func newTenantWithDomain(t testing.TB, st *store.Store, box *secrets.Box, name, domain, user, pass string) (*atende.Tenant, atende.Actor) {
	t.Helper()
	ctx := context.Background()
	tn := &atende.Tenant{Name: name, Locale: "pt-BR", TimeZone: "America/Sao_Paulo"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	a := atende.SystemActor(tn.ID)
	if _, err := st.UpdateVoiceSettings(ctx, a, 0, func(v *atende.VoiceSettings) error { v.SIPDomain = domain; return nil }); err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal(pass, SecretContext(tn.ID, "sip_password"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSIPAccount(ctx, a, &atende.SIPAccount{Username: user, Active: true}, sealed); err != nil {
		t.Fatal(err)
	}
	return tn, a
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{st: storetest.Open(t, store.Config{DataDir: t.TempDir()}), box: newBox(t), domain: "acme.sip.test", user: "1001", pass: "s3cret-1001"}
	e.tenant, e.actor = newTenantWithDomain(t, e.st, e.box, "Acme", e.domain, e.user, e.pass)
	if !o.noIPTrunk {
		tr := &atende.Trunk{Name: "carrier", Mode: atende.TrunkIP, AllowedCIDRs: []string{"127.0.0.2"}, DefaultCountry: "BR", Active: true}
		if err := e.st.CreateTrunk(ctx, e.actor, tr); err != nil {
			t.Fatal(err)
		}
		e.did = &atende.DID{Number: "+551130000001", TargetKind: atende.DIDToFlow, TargetID: atende.NewID()}
		if err := e.st.CreateDID(ctx, e.actor, e.did); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Store: e.st, Secrets: e.box, Node: "test", LimitRate: o.limitRate, LimitBurst: o.limitBurst, TrunkReload: o.trunkReload}
	if o.handler {
		e.handler = &recordingHandler{calls: make(chan *Call, 10)}
		cfg.Handler = e.handler
	}
	e.baseline = runtime.NumGoroutine()
	e.srv = startServer(t, cfg)
	// The trunks are loaded at start; wait for the ip trunk to be known.
	if !o.noIPTrunk {
		waitFor(t, "the ip trunk is loaded", func() bool { return len(e.srv.trunks.match(mustAddr("127.0.0.2"))) == 1 })
	}
	return e
}

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	ls, err := Listen([]ListenSpec{{UDP, "127.0.0.1:0"}, {TCP, "127.0.0.1:0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, ls)
	if err != nil {
		ls.Close()
		t.Fatal(err)
	}
	srv.Start(context.Background())
	t.Cleanup(func() { srv.Close() })
	return srv
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// recordingHandler records the calls handed to it and refuses them busy,
// unless told to hold them.
type recordingHandler struct {
	calls chan *Call
	mu    sync.Mutex
	hold  func(ctx context.Context, c *Call)
}

func (h *recordingHandler) setHold(f func(ctx context.Context, c *Call)) {
	h.mu.Lock()
	h.hold = f
	h.mu.Unlock()
}

func (h *recordingHandler) HandleCall(ctx context.Context, c *Call) {
	h.calls <- c
	h.mu.Lock()
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		hold(ctx, c)
		return
	}
	c.Dialog.Respond(486, "Busy Here", nil)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newClient is a SIP client on its own user agent.
func newClient(t testing.TB) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-phone"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); ua.Close() })
	return c
}

// registerRequest builds a REGISTER of user@domain sent to the server over
// transport.
func (e *env) registerRequest(transport, user, contact string, expires int) *sip.Request {
	aor := sip.Uri{Scheme: "sip", User: user, Host: e.domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: e.domain})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	var c sip.ContactHeader
	if _, err := sip.ParseAddressValue(contact, &c.Address, &c.Params); err != nil {
		panic(err)
	}
	req.AppendHeader(&c)
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	req.SetTransport(strings.ToUpper(transport))
	req.SetDestination(e.srv.ls.Addr(transport))
	return req
}

func (e *env) do(t *testing.T, c *sipgo.Client, req *sip.Request, password string) (first, final *sip.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if password == "" || (res.StatusCode != 401 && res.StatusCode != 407) {
		return res, res
	}
	final, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: req.From().Address.User, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return res, final
}

func TestRegisterWithDigestThenUnregister(t *testing.T) {
	for _, transport := range []string{UDP, TCP} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t, envOptions{noIPTrunk: true})
			c := newClient(t)
			ctx := context.Background()
			first, res := e.do(t, c, e.registerRequest(transport, e.user, "<sip:1001@127.0.0.1:5999>", 600), e.pass)
			if first.StatusCode != 401 {
				t.Fatalf("first answer %d, want a 401 challenge", first.StatusCode)
			}
			var algs []string
			for _, h := range first.GetHeaders("WWW-Authenticate") {
				c, err := parseAuthParams(strings.TrimPrefix(h.Value(), "Digest "))
				if err != nil {
					t.Fatal(err)
				}
				if c["realm"] != e.domain || c["qop"] != "auth" {
					t.Errorf("challenge %s: want realm %s and qop auth", h.Value(), e.domain)
				}
				algs = append(algs, c["algorithm"])
			}
			if strings.Join(algs, ",") != "MD5,SHA-256" {
				t.Errorf("challenged with %v, want MD5 then SHA-256", algs)
			}
			if res.StatusCode != 200 {
				t.Fatalf("registration answered %d %s", res.StatusCode, res.Reason)
			}
			if h := res.GetHeader("Contact"); h == nil || !strings.Contains(h.Value(), "expires=") {
				t.Fatalf("200 lists no contact with its expiry: %v", res)
			}
			binds, err := e.st.SIPBindings(ctx, e.tenant.ID, e.user)
			if err != nil {
				t.Fatal(err)
			}
			if len(binds) != 1 || binds[0].Contact != "sip:1001@127.0.0.1:5999" || binds[0].Transport != transport ||
				!strings.HasPrefix(binds[0].Source, "127.0.0.1:") || binds[0].Node != "test" {
				t.Fatalf("bindings %+v", binds)
			}
			if left := time.Until(binds[0].Expires); left < 590*time.Second || left > 600*time.Second {
				t.Errorf("binding expires in %v, want 600 s", left)
			}
			// A second contact, then Expires: 0 for one, then "*" for all.
			e.do(t, c, e.registerRequest(transport, e.user, "<sip:1001@127.0.0.1:6000>", 600), e.pass)
			if binds, _ := e.st.SIPBindings(ctx, e.tenant.ID, e.user); len(binds) != 2 {
				t.Fatalf("after a second contact: %d bindings, want 2", len(binds))
			}
			e.do(t, c, e.registerRequest(transport, e.user, "<sip:1001@127.0.0.1:5999>", 0), e.pass)
			if binds, _ := e.st.SIPBindings(ctx, e.tenant.ID, e.user); len(binds) != 1 || binds[0].Contact != "sip:1001@127.0.0.1:6000" {
				t.Fatalf("after unregistering one: %+v", binds)
			}
			_, res = e.do(t, c, e.registerRequest(transport, e.user, "*", 0), e.pass)
			if res.StatusCode != 200 {
				t.Fatalf("Contact: * answered %d", res.StatusCode)
			}
			if binds, _ := e.st.SIPBindings(ctx, e.tenant.ID, e.user); len(binds) != 0 {
				t.Fatalf("after Contact: *: %+v", binds)
			}
		})
	}
}

func TestRegisterRefusals(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	c := newClient(t)
	_, res := e.do(t, c, e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600), "wrong")
	if res.StatusCode != 403 {
		t.Errorf("wrong password: %d, want 403", res.StatusCode)
	}
	_, res = e.do(t, c, e.registerRequest(UDP, "1002", "<sip:1002@127.0.0.1:5999>", 600), e.pass)
	if res.StatusCode != 403 {
		t.Errorf("unknown account: %d, want 403", res.StatusCode)
	}
	_, res = e.do(t, c, e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 10), e.pass)
	if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
		t.Errorf("Expires 10: %d %v, want 423 with Min-Expires: 60", res.StatusCode, res.GetHeader("Min-Expires"))
	}
	req := e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
	req.To().Address.Host = "unknown.sip.test"
	_, res = e.do(t, c, req, e.pass)
	if res.StatusCode != 404 {
		t.Errorf("unknown domain: %d, want 404", res.StatusCode)
	}
	_, res = e.do(t, c, e.registerRequest(UDP, e.user, "*", 600), e.pass)
	if res.StatusCode != 400 {
		t.Errorf("Contact: * with Expires 600: %d, want 400", res.StatusCode)
	}
	// A long registration is cut to the maximum.
	_, res = e.do(t, c, e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 999999), e.pass)
	if res.StatusCode != 200 || !strings.Contains(res.GetHeader("Contact").Value(), "expires=3600") {
		t.Errorf("Expires 999999: %d %v, want 200 with expires=3600", res.StatusCode, res.GetHeader("Contact"))
	}
	for result, want := range map[string]float64{"forbidden": 2, "interval_too_brief": 1, "unknown_domain": 1, "registered": 1} {
		if got := counterValue(e.srv.metrics.registrations.WithLabelValues(result)); got != want {
			t.Errorf("atende_sip_registrations_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if got := counterValue(e.srv.metrics.rejected.WithLabelValues("REGISTER", "wrong_password")); got != 1 {
		t.Errorf("rejected wrong_password = %v, want 1", got)
	}
}

func TestRegisterOutOfOrderIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	c := newClient(t)
	req := e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
	req.AppendHeader(func() *sip.CallIDHeader { id := sip.CallIDHeader("same-call"); return &id }())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 10, MethodName: sip.REGISTER})
	if _, res := e.do(t, c, req, e.pass); res.StatusCode != 200 {
		t.Fatalf("first REGISTER answered %d", res.StatusCode)
	}
	stored, _ := e.st.SIPBindings(context.Background(), e.tenant.ID, e.user)
	if len(stored) != 1 {
		t.Fatalf("bindings %+v", stored)
	}
	// A copy of an older REGISTER of the same Call-ID (its CSeq is below
	// the one stored, which the digest retry raised to 11).
	old := e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 0)
	old.AppendHeader(func() *sip.CallIDHeader { id := sip.CallIDHeader("same-call"); return &id }())
	old.AppendHeader(&sip.CSeqHeader{SeqNo: stored[0].CSeq - 1, MethodName: sip.REGISTER})
	_, res := e.do(t, c, old, e.pass)
	if res.StatusCode != 500 {
		t.Fatalf("out-of-order REGISTER answered %d, want 500", res.StatusCode)
	}
	if binds, _ := e.st.SIPBindings(context.Background(), e.tenant.ID, e.user); len(binds) != 1 {
		t.Fatal("an out-of-order REGISTER removed the binding")
	}
}

func TestStaleNonceIsChallengedAgainWithStale(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	// A nonce of the server's key issued an hour ago.
	past := &nonces{key: e.srv.nonces.key, ttl: e.srv.nonces.ttl, now: func() time.Time { return time.Now().Add(-time.Hour) }}
	old := past.issue(e.domain)
	cred := &Credentials{Username: e.user, Realm: e.domain, Nonce: old, URI: "sip:" + e.domain, Algorithm: "MD5", QOP: "auth", CNonce: "abc", NC: "00000001"}
	auth := func(password string) string {
		cred.Response = cred.expectedResponse("REGISTER", password)
		return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, cnonce="abc", nc=00000001`,
			cred.Username, cred.Realm, cred.Nonce, cred.URI, cred.Response)
	}
	c := newClient(t)
	req := e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
	req.AppendHeader(sip.NewHeader("Authorization", auth(e.pass)))
	_, res := e.do(t, c, req, "")
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("right password, old nonce: %d %v; want 401 with stale=true", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	req = e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
	req.AppendHeader(sip.NewHeader("Authorization", auth("wrong")))
	if _, res = e.do(t, c, req, ""); res.StatusCode != 403 {
		t.Fatalf("wrong password, old nonce: %d; want 403", res.StatusCode)
	}
	// SHA-256 works as well as MD5.
	cred.Nonce, cred.Algorithm = e.srv.nonces.issue(e.domain), "SHA-256"
	cred.Response = cred.expectedResponse("REGISTER", e.pass)
	req = e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
	req.AppendHeader(sip.NewHeader("Authorization", fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=SHA-256, qop=auth, cnonce="abc", nc=00000001`,
		cred.Username, cred.Realm, cred.Nonce, cred.URI, cred.Response)))
	if _, res = e.do(t, c, req, ""); res.StatusCode != 200 {
		t.Fatalf("SHA-256 digest: %d; want 200", res.StatusCode)
	}
}

func TestOptionsIsAnswered(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	resp := exchangeUDP(t, "127.0.0.1", e.srv.ls.Addr(UDP), optionsMsg("127.0.0.1", "1"))
	if !strings.HasPrefix(resp, "SIP/2.0 200") || !strings.Contains(resp, "Allow:") {
		t.Fatalf("OPTIONS answered:\n%s", resp)
	}
	// rport: the answer says where the request came from.
	if !strings.Contains(resp, "received=127.0.0.1") || !strings.Contains(resp, ";rport=") {
		t.Errorf("Via of the answer lacks received/rport:\n%s", resp)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
