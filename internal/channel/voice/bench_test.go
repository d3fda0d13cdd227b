package voice

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

// BenchmarkRegister measures a phone's registration over UDP on loopback:
// the 401 challenge, the authenticated REGISTER, the stored binding and
// the 200.
func BenchmarkRegister(b *testing.B) {
	e := newEnv(b, envOptions{noIPTrunk: true, limitRate: 1e9, limitBurst: 1e9})
	c := newClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	for b.Loop() {
		req := e.registerRequest(UDP, e.user, "<sip:1001@127.0.0.1:5999>", 600)
		res, err := c.Do(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: e.user, Password: e.pass})
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("%v %v", res, err)
		}
	}
}

// BenchmarkDigestVerify is the cost of checking one Authorization header.
func BenchmarkDigestVerify(b *testing.B) {
	n := newNonces(time.Minute)
	c := &Credentials{Username: "1001", Realm: "acme.sip.test", Nonce: n.issue("acme.sip.test"), URI: "sip:acme.sip.test", Algorithm: "MD5", QOP: "auth", CNonce: "x", NC: "00000001"}
	c.Response = c.expectedResponse("REGISTER", "pw")
	for b.Loop() {
		if n.check(c.Nonce, c.Realm) != nonceValid || !c.Verify("REGISTER", "pw") {
			b.Fatal("does not verify")
		}
	}
}
