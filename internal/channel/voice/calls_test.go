package voice

import (
	"context"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/emiago/sipgo/sip"
)

// inviteRequest builds an INVITE from user@domain to target, sent over UDP.
func (e *env) inviteRequest(from string, target sip.Uri) *sip.Request {
	req := sip.NewRequest(sip.INVITE, target)
	f := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: e.domain}, Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(f)
	req.AppendHeader(&sip.ToHeader{Address: target})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1", Port: 5999}})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdpOffer))
	req.SetTransport("UDP")
	req.SetDestination(e.srv.ls.Addr(UDP))
	return req
}

func TestPhoneCallsAreAuthenticatedAndFindTheirTarget(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	ctx := context.Background()
	sealed, _ := e.box.Seal("pw-1002", SecretContext(e.tenant.ID, "sip_password"))
	callee := &atende.SIPAccount{Username: "1002", Active: true}
	if err := e.st.CreateSIPAccount(ctx, e.actor, callee, sealed); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateSIPAccount(ctx, e.actor, &atende.SIPAccount{Username: "1003", Active: true}, sealed); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutSIPBinding(ctx, &atende.SIPBinding{TenantID: e.tenant.ID, AccountID: callee.ID, Username: "1002",
		Contact: "sip:1002@127.0.0.1:6002", Source: "127.0.0.1:6002", Transport: "udp", CallID: "x", CSeq: 1, Node: "test", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	uri := func(user string) sip.Uri { return sip.Uri{Scheme: "sip", User: user, Host: e.domain} }

	first, res := e.do(t, c, e.inviteRequest(e.user, uri("1002")), e.pass)
	if first.StatusCode != 407 || first.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("first answer %d, want a 407 challenge", first.StatusCode)
	}
	if res.StatusCode != 486 {
		t.Fatalf("authenticated call to 1002 answered %d, want the handler's 486", res.StatusCode)
	}
	call := <-e.handler.calls
	if call.TenantID != e.tenant.ID || call.Account == nil || call.Account.Username != e.user || call.Callee != "1002" ||
		len(call.Bindings) != 1 || call.Bindings[0].Contact != "sip:1002@127.0.0.1:6002" || call.DID != nil || call.Trunk != nil {
		t.Fatalf("call %+v", call)
	}
	// A user with no phone registered: 480.
	if _, res := e.do(t, c, e.inviteRequest(e.user, uri("1003")), e.pass); res.StatusCode != 480 {
		t.Fatalf("call to unregistered 1003 answered %d, want 480", res.StatusCode)
	}
	// A DID of the tenant, dialled from a phone.
	if _, res := e.do(t, c, e.inviteRequest(e.user, uri("+551130000001")), e.pass); res.StatusCode != 486 {
		t.Fatalf("call to the DID answered %d", res.StatusCode)
	}
	if call := <-e.handler.calls; call.DID == nil || call.DID.ID != e.did.ID || call.Callee != "" {
		t.Fatalf("DID call %+v", call)
	}
	// Nobody: 404. A wrong password: 403.
	if _, res := e.do(t, c, e.inviteRequest(e.user, uri("9999")), e.pass); res.StatusCode != 404 {
		t.Fatalf("call to 9999 answered %d, want 404", res.StatusCode)
	}
	if _, res := e.do(t, c, e.inviteRequest(e.user, uri("1002")), "wrong"); res.StatusCode != 403 {
		t.Fatalf("wrong password answered %d, want 403", res.StatusCode)
	}
	if len(e.handler.calls) != 0 {
		t.Fatal("a refused call reached the handler")
	}
}
