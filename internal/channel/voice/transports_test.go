package voice

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acme.sip.test"},
		DNSNames: []string{"acme.sip.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRegisterOverTLSAndWebSocket registers with digest over the TLS and
// WebSocket listeners.
func TestRegisterOverTLSAndWebSocket(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	ls, err := Listen([]ListenSpec{{TLS, "127.0.0.1:0"}, {WS, "127.0.0.1:0"}}, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: e.st, Secrets: e.box, Node: "tls"}, ls)
	if err != nil {
		ls.Close()
		t.Fatal(err)
	}
	srv.Start(t.Context())
	t.Cleanup(func() { srv.Close() })
	e.srv = srv

	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); ua.Close() })
	for _, transport := range []string{TLS, WS} {
		_, res := e.do(t, c, e.registerRequest(transport, e.user, "<sip:1001@127.0.0.1:5999;transport="+transport+">", 300), e.pass)
		if res.StatusCode != 200 {
			t.Fatalf("%s: registration answered %d", transport, res.StatusCode)
		}
		binds, err := e.st.SIPBindings(t.Context(), e.tenant.ID, e.user)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range binds {
			found = found || (b.Transport == transport && strings.HasSuffix(b.Contact, "transport="+transport))
		}
		if !found {
			t.Fatalf("%s: no binding over %s in %+v", transport, transport, binds)
		}
	}
}

// TestAnswersGoWhereTheRequestCameFrom: with rport the answer goes to the
// source address and port, whatever the Via says (a phone behind NAT).
func TestAnswersGoWhereTheRequestCameFrom(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	msg := strings.Replace(optionsMsg("127.0.0.1", "nat"), "Via: SIP/2.0/UDP LOCAL", "Via: SIP/2.0/UDP 192.168.1.20:5060", 1)
	resp := exchangeUDP(t, "127.0.0.1", e.srv.ls.Addr(UDP), msg)
	if !strings.HasPrefix(status(resp), "200") {
		t.Fatalf("the answer did not come back to the source: %q", resp)
	}
	if !strings.Contains(resp, "received=127.0.0.1") {
		t.Errorf("Via lacks received=127.0.0.1:\n%s", resp)
	}
}

func TestUnauthenticatedInviteFloodIsRateLimited(t *testing.T) {
	e := newEnv(t, envOptions{limitRate: 0.5, limitBurst: 3})
	conn := udpConn(t, "127.0.0.4")
	refused := 0
	for i := range 15 {
		resp := sendOn(t, conn, e.srv.ls.Addr(UDP), inviteMsg("sip:1001@acme.sip.test", "flood"+string(rune('a'+i))), 300*time.Millisecond)
		if strings.HasPrefix(status(resp), "503") || resp == "" {
			refused++
		}
	}
	if refused < 10 {
		t.Fatalf("%d of 15 unauthenticated INVITEs refused, want all after the burst of 3", refused)
	}
	// A trunk's calls are never limited.
	for i := range 10 {
		resp := exchangeUDP(t, "127.0.0.2", e.srv.ls.Addr(UDP), inviteMsg("sip:+551130000001@127.0.0.1", "trunk"+string(rune('a'+i))))
		if !strings.HasPrefix(status(resp), "480") {
			t.Fatalf("trunk INVITE %d answered %q, want 480 (no handler)", i, status(resp))
		}
	}
}
