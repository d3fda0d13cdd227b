package voice

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Raw SIP over sockets, for what a well-behaved client library would not
// send: floods, torture messages, calls from a given source address.

func udpConn(t testing.TB, from string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchangeUDP sends msg from a new socket on host from and returns the
// first final answer ("" when none comes within a second).
func exchangeUDP(t testing.TB, from, to, msg string) string {
	t.Helper()
	c := udpConn(t, from)
	return sendOn(t, c, to, msg, time.Second)
}

func sendOn(t testing.TB, c *net.UDPConn, to, msg string, wait time.Duration) string {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	msg = strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())
	if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(wait)
	for {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		resp := string(buf[:n])
		if strings.HasPrefix(resp, "SIP/2.0 1") {
			continue // provisional
		}
		return resp
	}
}

func optionsMsg(host, id string) string {
	return "OPTIONS sip:" + host + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-opt" + id + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@example.com>;tag=o" + id + "\r\n" +
		"To: <sip:" + host + ">\r\n" +
		"Call-ID: opt-" + id + "\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
}

const sdpOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func inviteMsg(ruri, id string) string {
	return "INVITE " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-inv" + id + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:+5511999990000@carrier.example>;tag=i" + id + "\r\n" +
		"To: <" + ruri + ">\r\n" +
		"Call-ID: inv-" + id + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:+5511999990000@LOCAL>\r\n" +
		"Content-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(sdpOffer)) + sdpOffer
}

func status(resp string) string {
	line, _, _ := strings.Cut(resp, "\r\n")
	return strings.TrimPrefix(line, "SIP/2.0 ")
}

func TestInviteFromTrunkIsIdentifiedByDID(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	to := e.srv.ls.Addr(UDP)
	// The DID in national form, as the carrier sends it: the trunk's
	// country (BR) makes it E.164.
	resp := exchangeUDP(t, "127.0.0.2", to, inviteMsg("sip:1130000001@127.0.0.1", "1"))
	if !strings.HasPrefix(status(resp), "486") {
		t.Fatalf("INVITE to the DID answered %q, want the handler's 486", status(resp))
	}
	select {
	case c := <-e.handler.calls:
		if c.TenantID != e.tenant.ID || c.DID == nil || c.DID.ID != e.did.ID || c.Trunk == nil || c.Trunk.Name != "carrier" || c.Caller != "+5511999990000" {
			t.Fatalf("call %+v", c)
		}
	default:
		t.Fatal("the handler got no call")
	}
	// Unknown number from the trunk: 404, and no dialog for the handler.
	if resp := exchangeUDP(t, "127.0.0.2", to, inviteMsg("sip:+551130009999@127.0.0.1", "2")); !strings.HasPrefix(status(resp), "404") {
		t.Fatalf("INVITE to an unknown DID answered %q, want 404", status(resp))
	}
	// Not a trunk, not a tenant's domain: 403.
	if resp := exchangeUDP(t, "127.0.0.1", to, inviteMsg("sip:1130000001@127.0.0.1", "3")); !strings.HasPrefix(status(resp), "403") {
		t.Fatalf("INVITE from an unknown source answered %q, want 403", status(resp))
	}
	// To the tenant's domain without credentials: a 407 challenge.
	if resp := exchangeUDP(t, "127.0.0.1", to, inviteMsg("sip:1001@acme.sip.test", "4")); !strings.HasPrefix(status(resp), "407") || !strings.Contains(resp, "Proxy-Authenticate:") {
		t.Fatalf("unauthenticated INVITE to the domain answered %q, want 407", status(resp))
	}
	if len(e.handler.calls) != 0 {
		t.Fatal("a refused INVITE reached the handler")
	}
}

func TestInviteWithoutHandlerIsTemporarilyUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp := exchangeUDP(t, "127.0.0.2", e.srv.ls.Addr(UDP), inviteMsg("sip:+551130000001@127.0.0.1", "1"))
	if !strings.HasPrefix(status(resp), "480") {
		t.Fatalf("answered %q, want 480", status(resp))
	}
}

func TestCancelWhileRinging(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	ended := make(chan struct{})
	e.handler.setHold(func(ctx context.Context, c *Call) {
		c.Dialog.Ringing()
		<-ctx.Done()
		close(ended)
	})
	conn := udpConn(t, "127.0.0.2")
	to := e.srv.ls.Addr(UDP)
	dst, _ := net.ResolveUDPAddr("udp", to)
	send := func(m string) {
		if _, err := conn.WriteToUDP([]byte(strings.ReplaceAll(m, "LOCAL", conn.LocalAddr().String())), dst); err != nil {
			t.Fatal(err)
		}
	}
	read := func(want string) string {
		buf := make([]byte, 65536)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if r := string(buf[:n]); strings.HasPrefix(status(r), want) {
				return r
			}
		}
	}
	send(inviteMsg("sip:+551130000001@127.0.0.1", "c1"))
	read("180")
	cancel := "CANCEL sip:+551130000001@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-invc1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:+5511999990000@carrier.example>;tag=ic1\r\nTo: <sip:+551130000001@127.0.0.1>\r\n" +
		"Call-ID: inv-c1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
	send(cancel)
	read("487")
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end with the CANCEL")
	}
}

func TestUnauthenticatedFloodIsRateLimited(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true, limitRate: 0.5, limitBurst: 5})
	conn := udpConn(t, "127.0.0.1")
	to := e.srv.ls.Addr(UDP)
	counts := map[string]int{}
	var retryAfter string
	for i := range 40 {
		msg := "REGISTER sip:acme.sip.test SIP/2.0\r\n" +
			fmt.Sprintf("Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-flood%d;rport\r\n", i) +
			"Max-Forwards: 70\r\nFrom: <sip:1001@acme.sip.test>;tag=f\r\nTo: <sip:1001@acme.sip.test>\r\n" +
			fmt.Sprintf("Call-ID: flood-%d\r\nCSeq: 1 REGISTER\r\n", i) +
			"Contact: <sip:1001@LOCAL>\r\nContent-Length: 0\r\n\r\n"
		resp := sendOn(t, conn, to, msg, 300*time.Millisecond)
		code := strings.SplitN(status(resp), " ", 2)[0]
		if code == "" {
			code = "dropped"
		}
		counts[code]++
		if code == "503" {
			for _, l := range strings.Split(resp, "\r\n") {
				if strings.HasPrefix(l, "Retry-After:") {
					retryAfter = l
				}
			}
		}
	}
	if counts["401"] < 5 || counts["401"] > 7 {
		t.Errorf("challenges %d, want about the burst of 5 (%v)", counts["401"], counts)
	}
	if counts["503"] == 0 || retryAfter == "" {
		t.Errorf("no 503 with Retry-After (%v)", counts)
	}
	if counts["dropped"] == 0 {
		t.Errorf("a source that keeps flooding is never dropped (%v)", counts)
	}
	// Another source is not affected.
	if resp := exchangeUDP(t, "127.0.0.3", to, strings.ReplaceAll(optionsMsg("127.0.0.1", "x"), "OPTIONS sip:", "OPTIONS sip:")); !strings.HasPrefix(status(resp), "200") {
		t.Errorf("OPTIONS from another source answered %q", status(resp))
	}
}

// torture are malformed messages in the spirit of RFC 4475.
var torture = map[string]string{
	"content length beyond the body": "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\nshort",
	"negative content length":        "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t2\r\nCSeq: 1 OPTIONS\r\nContent-Length: -5\r\n\r\n",
	"no Call-ID":                     "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	"no Via":                         "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t4\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	"bad CSeq":                       "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t5\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t5\r\nCSeq: -1x OPTIONS\r\nContent-Length: 0\r\n\r\n",
	"CSeq method mismatch":           "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t6\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t6\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	"unknown method":                 "NEWMETHOD sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t7\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t7\r\nCSeq: 1 NEWMETHOD\r\nContent-Length: 0\r\n\r\n",
	"huge header":                    "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t8\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t8\r\nCSeq: 1 OPTIONS\r\nSubject: " + strings.Repeat("x", 60000) + "\r\nContent-Length: 0\r\n\r\n",
	"not UTF-8":                      "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t9\r\nFrom: \"\xff\xfe\xc3\" <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: t9\xff\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	"garbage":                        "\x00\x01\x02 not sip at all \r\n\r\n",
	"INVITE without Contact":         "INVITE sip:+551130000001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t10\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:+551130000001@127.0.0.1>\r\nCall-ID: t10\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	"REGISTER with bad Expires":      "REGISTER sip:acme.sip.test SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t11\r\nFrom: <sip:1001@acme.sip.test>;tag=1\r\nTo: <sip:1001@acme.sip.test>\r\nCall-ID: t11\r\nCSeq: 1 REGISTER\r\nExpires: soon\r\nContact: <sip:1001@LOCAL>\r\nContent-Length: 0\r\n\r\n",
	"Authorization garbage":          "REGISTER sip:acme.sip.test SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-t12\r\nFrom: <sip:1001@acme.sip.test>;tag=1\r\nTo: <sip:1001@acme.sip.test>\r\nCall-ID: t12\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username=\"1001\r\nContact: <sip:1001@LOCAL>\r\nContent-Length: 0\r\n\r\n",
}

func TestTortureMessagesGetAnAnswerOrAreDropped(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	before := e.baseline
	udp, tcp := e.srv.ls.Addr(UDP), e.srv.ls.Addr(TCP)
	for name, msg := range torture {
		t.Run(name, func(t *testing.T) {
			resp := exchangeUDP(t, "127.0.0.2", udp, msg)
			if resp != "" && !strings.HasPrefix(status(resp), "4") && !strings.HasPrefix(status(resp), "5") {
				t.Errorf("UDP answered %q, want a 4xx/5xx or nothing", status(resp))
			}
			c, err := net.Dial("tcp", tcp)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())))
			c.SetReadDeadline(time.Now().Add(time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			if line != "" && !strings.HasPrefix(line, "SIP/2.0 4") && !strings.HasPrefix(line, "SIP/2.0 5") {
				t.Errorf("TCP answered %q, want a 4xx/5xx or nothing", line)
			}
		})
	}
	// The server is still well.
	if resp := exchangeUDP(t, "127.0.0.1", udp, optionsMsg("127.0.0.1", "after")); !strings.HasPrefix(status(resp), "200") {
		t.Fatalf("OPTIONS after the torture answered %q", status(resp))
	}
	if len(e.handler.calls) != 0 {
		t.Fatal("a torture message reached the call handler")
	}
	e.srv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
