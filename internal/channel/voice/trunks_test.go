package voice

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
)

// TestTrunkRegistersWithProvider runs two SIP servers: a "provider" (our
// own registrar, with an account for the trunk) and the tenant's server
// whose register trunk logs in to it.
func TestTrunkRegistersWithProvider(t *testing.T) {
	ctx := context.Background()
	// The provider.
	pst := storetest.Open(t, store.Config{DataDir: t.TempDir()})
	pbox := newBox(t)
	ptenant, _ := newTenantWithDomain(t, pst, pbox, "Carrier", "carrier.sip.test", "acme-trunk", "trunk-pass")
	provider := startServer(t, Config{Store: pst, Secrets: pbox, Node: "provider"})

	e := newEnv(t, envOptions{noIPTrunk: true, trunkReload: 100 * time.Millisecond})
	seal := func(pw string) string {
		v, err := e.box.Seal(pw, SecretContext(e.tenant.ID, "trunk_password"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	_, port := splitHostPort(provider.ls.Addr(UDP))
	good := &atende.Trunk{Name: "carrier", Mode: atende.TrunkRegister, Host: "127.0.0.1", Port: port, Domain: "carrier.sip.test",
		Username: "acme-trunk", SealedPassword: seal("trunk-pass"), Expiry: 120, DefaultCountry: "BR", Active: true}
	if err := e.st.CreateTrunk(ctx, e.actor, good); err != nil {
		t.Fatal(err)
	}
	bad := &atende.Trunk{Name: "wrong", Mode: atende.TrunkRegister, Host: "127.0.0.1", Port: port, Domain: "carrier.sip.test",
		Username: "acme-trunk", SealedPassword: seal("not-the-password"), Expiry: 120, DefaultCountry: "BR", Active: true}
	if err := e.st.CreateTrunk(ctx, e.actor, bad); err != nil {
		t.Fatal(err)
	}
	state := func(id string) *atende.TrunkState {
		st, err := e.st.TrunkState(ctx, e.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor(t, "the trunk is registered", func() bool { return state(good.ID).State == atende.TrunkRegistered })
	if st := state(good.ID); time.Until(st.Expires) < 100*time.Second || time.Until(st.Expires) > 120*time.Second {
		t.Errorf("registered until %v, want about 120 s from now", st.Expires)
	}
	binds, err := pst.SIPBindings(ctx, ptenant.ID, "acme-trunk")
	if err != nil {
		t.Fatal(err)
	}
	if len(binds) != 1 || !strings.Contains(binds[0].Contact, "acme-trunk@127.0.0.1:") {
		t.Fatalf("the provider has %+v", binds)
	}
	waitFor(t, "the wrong password fails", func() bool { return state(bad.ID).State == atende.TrunkFailed })
	if st := state(bad.ID); !strings.Contains(st.LastError, "403") {
		t.Errorf("last error %q, want the provider's 403", st.LastError)
	}
	// The registered trunk's host is a source of calls now.
	if got := e.srv.trunks.match(mustAddr("127.0.0.1")); len(got) != 2 {
		t.Errorf("127.0.0.1 matches %d trunks, want 2", len(got))
	}
	// Deactivating the trunk unregisters it from the provider.
	if _, err := e.st.UpdateTrunk(ctx, e.actor, good.ID, 0, func(tr *atende.Trunk) error { tr.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the provider forgets the trunk", func() bool {
		binds, err := pst.SIPBindings(ctx, ptenant.ID, "acme-trunk")
		return err == nil && len(binds) == 0
	})
	waitFor(t, "the trunk is off", func() bool { return state(good.ID).State == atende.TrunkOff })
}

func TestCloseStopsATrunkRegistrationWaitingForAnAnswer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{noIPTrunk: true, trunkReload: 100 * time.Millisecond})
	silent := udpConn(t, "127.0.0.1") // reads nothing, answers nothing
	_, port := splitHostPort(silent.LocalAddr().String())
	sealed, _ := e.box.Seal("pw", SecretContext(e.tenant.ID, "trunk_password"))
	tr := &atende.Trunk{Name: "silent", Mode: atende.TrunkRegister, Host: "127.0.0.1", Port: port,
		Username: "u", SealedPassword: sealed, DefaultCountry: "ES", Active: true}
	if err := e.st.CreateTrunk(ctx, e.actor, tr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the registration is attempted", func() bool {
		st, _ := e.st.TrunkState(ctx, e.tenant.ID, tr.ID)
		return st.State == atende.TrunkRegistering
	})
	// Closing while a registration waits for an answer ends at once.
	start := time.Now()
	e.srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}
