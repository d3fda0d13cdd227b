package voice

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
)

// Fuzz tests of everything that reads what a peer sends.

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="1001", realm="acme.sip.test", nonce="abc", uri="sip:acme.sip.test", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, cnonce="x", nc=00000001`)
	f.Add(`Digest username="a\"b", realm="r", nonce="n", uri="u", response="r"`)
	f.Add(`Digest username=, realm`)
	f.Add(`Basic dXNlcjpwYXNz`)
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCredentials(v)
		if err != nil {
			return
		}
		if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" || newHash(c.Algorithm) == nil {
			t.Fatalf("accepted incomplete credentials %+v from %q", c, v)
		}
		// Verifying never panics and a response made for a password
		// verifies with it.
		c.Response = c.expectedResponse("REGISTER", "pw")
		if !c.Verify("REGISTER", "pw") || c.Verify("REGISTER", "other") {
			t.Fatalf("verify disagrees with the expected response for %+v", c)
		}
	})
}

func FuzzDialledNumber(f *testing.F) {
	for _, s := range []string{"+551130000001", "1130000001", "005511300000001", "34912345678", "+1 (212) 555-0100", "1001", "abc", "+", "1130000001;npdi;rn=+5511"} {
		f.Add(s, "BR")
	}
	f.Fuzz(func(t *testing.T, user, region string) {
		n, err := DialledNumber(user, region)
		if err != nil {
			return
		}
		if !strings.HasPrefix(n, "+") || len(n) > 16 {
			t.Fatalf("%q in %q gave %q, not E.164", user, region, n)
		}
		// E.164 reads back as itself, in any region.
		if again, err := DialledNumber(n, "US"); err != nil || again != n {
			t.Fatalf("%q does not read back as itself: %q %v", n, again, err)
		}
	})
}

func FuzzSDP(f *testing.F) {
	f.Add([]byte(sdpOffer))
	f.Add([]byte("v=0\r\nm=audio x RTP/AVP\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkSDP(data) != nil {
			return
		}
		// An offer checkSDP accepts is read by the media layer without a
		// panic (a panic would fail this test).
		sd := sdp.SessionDescription{}
		if err := sdp.Unmarshal(data, &sd); err != nil {
			t.Fatalf("accepted an offer that does not parse: %v", err)
		}
		sd.SessionInformation()
		md, _ := sd.MediaDescription("audio")
		media.CodecsFromSDPRead(md.Formats, sd.Values("a"), make([]media.Codec, len(md.Formats)))
		sd.ConnectionInformation()
	})
}

func TestMalformedSDPIsRefusedBeforeADialog(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	bad := strings.Replace(inviteMsg("sip:+551130000001@127.0.0.1", "sdp"), "c=IN IP4 127.0.0.2", "c=IN IP4", 1)
	bad = strings.Replace(bad, fmt.Sprintf("Content-Length: %d", len(sdpOffer)), fmt.Sprintf("Content-Length: %d", len(sdpOffer)-len(" 127.0.0.2")), 1)
	if resp := exchangeUDP(t, "127.0.0.2", e.srv.ls.Addr(UDP), bad); !strings.HasPrefix(status(resp), "488") {
		t.Fatalf("INVITE with c=IN IP4 and no address answered %q, want 488", status(resp))
	}
	if len(e.handler.calls) != 0 {
		t.Fatal("the malformed offer reached the call handler")
	}
}

// fakeTx records the answers of handlers run outside a transport.
type fakeTx struct {
	sip.ServerTransaction
	answers []*sip.Response
}

func (f *fakeTx) Respond(res *sip.Response) error {
	f.answers = append(f.answers, res)
	return nil
}

// FuzzSIPRequest parses a datagram the way the transport does and runs our
// handlers on it: each request is answered at most once with a valid
// status, and nothing panics.
func FuzzSIPRequest(f *testing.F) {
	for _, m := range torture {
		f.Add([]byte(strings.ReplaceAll(m, "LOCAL", "127.0.0.9:5070")))
	}
	f.Add([]byte(strings.ReplaceAll(optionsMsg("127.0.0.1", "f"), "LOCAL", "127.0.0.9:5070")))
	f.Add([]byte(strings.ReplaceAll(inviteMsg("sip:1001@acme.sip.test", "f"), "LOCAL", "127.0.0.9:5070")))
	// No rate limit: the fuzzer sends everything from one address.
	e := newEnv(f, envOptions{noIPTrunk: true, limitRate: 1e9, limitBurst: 1e9})
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("127.0.0.9:5070")
		tx := &fakeTx{}
		switch req.Method {
		case sip.REGISTER:
			e.srv.checked(e.srv.handleRegister)(req, tx)
		case sip.OPTIONS:
			e.srv.checked(e.srv.handleOptions)(req, tx)
		case sip.INVITE:
			e.srv.inviteMiddleware(func(*sip.Request, sip.ServerTransaction) {
				t.Fatal("an unauthenticated INVITE was passed on")
			})(req, tx)
		default:
			return
		}
		if len(tx.answers) > 1 {
			t.Fatalf("answered %d times", len(tx.answers))
		}
		for _, a := range tx.answers {
			if a.StatusCode < 200 || a.StatusCode > 699 {
				t.Fatalf("answered %d", a.StatusCode)
			}
		}
	})
}
