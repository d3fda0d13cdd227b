package httpapi

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice"
)

func TestVoiceSettingsSIPDomainIsUniqueAcrossTenants(t *testing.T) {
	a := newTestAPI(t)
	admin, bAdmin := a.tokens["admin"], a.tokens["b-admin"]
	var v atende.VoiceSettings
	if r := a.do("GET", apiPrefix+"/voice/settings", admin, nil, nil, &v); r.StatusCode != 200 || v.SIPDomain != "" || v.Version != 1 {
		t.Fatalf("defaults: %d %+v", r.StatusCode, v)
	}
	if r := a.do("PATCH", apiPrefix+"/voice/settings", admin, map[string]any{"sip_domain": "Tenant-A.SIP.Example.com"}, map[string]string{"If-Match": `"1"`}, &v); r.StatusCode != 200 || v.SIPDomain != "tenant-a.sip.example.com" {
		t.Fatalf("set domain: %d %+v", r.StatusCode, v)
	}
	wantProblem(t, a.do("PATCH", apiPrefix+"/voice/settings", admin, map[string]any{"sip_domain": "no spaces"}, map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "sip_domain")
	wantProblem(t, a.do("PATCH", apiPrefix+"/voice/settings", admin, map[string]any{"sip_domain": "x.example"}, map[string]string{"If-Match": `"1"`}, nil), 412, atende.EPreconditionFailed, "")
	// Tenant B cannot take A's domain, and is not told whose it is.
	p := wantProblem(t, a.do("PATCH", apiPrefix+"/voice/settings", bAdmin, map[string]any{"sip_domain": "tenant-a.sip.example.com"}, map[string]string{"If-Match": "*"}, nil), 409, atende.EConflict, "sip_domain")
	if strings.Contains(p.Detail, "Tenant A") || strings.Contains(p.Detail, a.tenant["a"].ID) {
		t.Errorf("the conflict names the other tenant: %q", p.Detail)
	}
	id, err := a.store.TenantBySIPDomain(context.Background(), "tenant-a.sip.example.com")
	if err != nil || id != a.tenant["a"].ID {
		t.Fatalf("domain lookup: %q %v", id, err)
	}
}

func TestSIPAccountPasswordIsShownOnceAndStoredSealed(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	base := apiPrefix + "/voice/accounts"
	var acc atende.SIPAccount
	if r := a.do("POST", base, admin, map[string]any{"username": "1001", "user_id": a.users["agent"].ID}, nil, &acc); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if len(acc.Password) < 16 || !acc.Active || acc.UserID != a.users["agent"].ID {
		t.Fatalf("created %+v", acc)
	}
	// Reading never shows it; the store keeps it sealed, not in plain text.
	r := a.do("GET", base+"/"+acc.ID, admin, nil, nil, nil)
	body, _ := io.ReadAll(r.Body)
	if strings.Contains(string(body), acc.Password) || strings.Contains(string(body), `"password"`) {
		t.Fatalf("GET shows the password: %s", body)
	}
	_, sealed, err := a.store.SIPAccountByUsername(context.Background(), a.tenant["a"].ID, "1001")
	if err != nil || sealed == "" || strings.Contains(sealed, acc.Password) {
		t.Fatalf("stored %q %v", sealed, err)
	}
	if plain, err := a.srv.cfg.Secrets.Open(sealed, voice.SecretContext(a.tenant["a"].ID, "sip_password")); err != nil || plain != acc.Password {
		t.Fatalf("the sealed password opens to %q %v", plain, err)
	}
	wantProblem(t, a.do("POST", base, admin, map[string]any{"username": "1001"}, nil, nil), 409, atende.EConflict, "username")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"username": "10 01"}, nil, nil), 400, atende.EInvalid, "username")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"username": "1009", "password": "mine"}, nil, nil), 400, atende.EInvalid, "password")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"username": "1009", "user_id": a.users["b-admin"].ID}, nil, nil), 400, atende.EInvalid, "user_id")
	// Rotation gives a new one and ends the account's registrations.
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.store.PutSIPBinding(context.Background(), &atende.SIPBinding{TenantID: a.tenant["a"].ID, AccountID: acc.ID, Username: "1001",
		Contact: "sip:1001@192.0.2.1", Source: "192.0.2.1:5060", Transport: "udp", CallID: "c", CSeq: 1, Node: "n", Expires: time.Now().Add(time.Hour)}))
	var reg voiceRegistrations
	if r := a.do("GET", apiPrefix+"/voice/registrations", admin, nil, nil, &reg); r.StatusCode != 200 || len(reg.Items) != 1 || reg.Items[0].Source != "192.0.2.1:5060" {
		t.Fatalf("registrations: %d %+v", r.StatusCode, reg)
	}
	var rot sipPassword
	if r := a.do("POST", base+"/"+acc.ID+"/password", admin, nil, nil, &rot); r.StatusCode != 200 || rot.Password == "" || rot.Password == acc.Password || rot.Account.Version != 2 {
		t.Fatalf("rotate: %d %+v", r.StatusCode, rot)
	}
	if r := a.do("GET", apiPrefix+"/voice/registrations?username=1001", admin, nil, nil, &reg); r.StatusCode != 200 || len(reg.Items) != 0 {
		t.Fatalf("registrations after rotation: %+v", reg)
	}
	// Tenant B sees none of it.
	bAdmin := a.tokens["b-admin"]
	wantProblem(t, a.do("GET", base+"/"+acc.ID, bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("POST", base+"/"+acc.ID+"/password", bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	var list struct{ Items []atende.SIPAccount }
	a.do("GET", base, bAdmin, nil, nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("tenant B lists %+v", list.Items)
	}
}

func TestTrunksValidateAndKeepThePasswordWriteOnly(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	base := apiPrefix + "/voice/trunks"
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "mode": "register", "host": "sip.carrier.example", "username": "u", "default_country": "ES"}, "password"},
		{map[string]any{"name": "x", "mode": "register", "host": "not a host", "username": "u", "password": "p", "default_country": "ES"}, "host"},
		{map[string]any{"name": "x", "mode": "register", "host": "sip.carrier.example", "username": "u", "password": "p", "default_country": "ES", "transport": "sctp"}, "transport"},
		{map[string]any{"name": "x", "mode": "register", "host": "sip.carrier.example", "username": "u", "password": "p", "default_country": "ES", "expiry": 10}, "expiry"},
		{map[string]any{"name": "x", "mode": "ip", "default_country": "ES"}, "allowed_cidrs"},
		{map[string]any{"name": "x", "mode": "ip", "allowed_cidrs": []string{"10.0.0.0/33"}, "default_country": "ES"}, "allowed_cidrs"},
		{map[string]any{"name": "x", "mode": "ip", "allowed_cidrs": []string{"10.0.0.1"}, "default_country": "XX"}, "default_country"},
		{map[string]any{"name": "x", "mode": "ip", "allowed_cidrs": []string{"10.0.0.1"}, "default_country": "ES", "caller_id": "12"}, "caller_id"},
		{map[string]any{"name": "x", "mode": "pigeon", "default_country": "ES"}, "mode"},
	} {
		wantProblem(t, a.do("POST", base, admin, c.body, nil, nil), 400, atende.EInvalid, c.field)
	}
	var tr atende.Trunk
	if r := a.do("POST", base, admin, map[string]any{"name": "Operadora", "mode": "register", "host": "sip.carrier.example", "username": "acme",
		"password": "carrier-secret", "default_country": "es", "caller_id": "910 000 002"}, nil, &tr); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if tr.Password != "" || !tr.PasswordSet || tr.Port != 5060 || tr.Transport != "udp" || tr.Expiry != 3600 || tr.CallerID != "+34910000002" || tr.DefaultCountry != "ES" {
		t.Fatalf("created %+v", tr)
	}
	r := a.do("GET", base+"/"+tr.ID, admin, nil, nil, nil)
	raw, _ := io.ReadAll(r.Body)
	if strings.Contains(string(raw), "carrier-secret") {
		t.Fatalf("the password is readable: %s", raw)
	}
	stored, err := a.store.Trunk(context.Background(), a.tenant["a"].ID, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := a.srv.cfg.Secrets.Open(stored.SealedPassword, voice.SecretContext(a.tenant["a"].ID, "trunk_password")); err != nil || plain != "carrier-secret" {
		t.Fatalf("sealed password opens to %q %v", plain, err)
	}
	// A change without a password keeps the stored one.
	var changed atende.Trunk
	if r := a.do("PATCH", base+"/"+tr.ID, admin, map[string]any{"port": 5080}, map[string]string{"If-Match": `"1"`}, &changed); r.StatusCode != 200 || changed.Port != 5080 || !changed.PasswordSet {
		t.Fatalf("patch: %d %+v", r.StatusCode, changed)
	}
	after, _ := a.store.Trunk(context.Background(), a.tenant["a"].ID, tr.ID)
	if after.SealedPassword != stored.SealedPassword {
		t.Fatal("a change without a password replaced it")
	}
	var st atende.TrunkState
	if r := a.do("GET", base+"/"+tr.ID+"/state", admin, nil, nil, &st); r.StatusCode != 200 || st.State != atende.TrunkOff {
		t.Fatalf("state: %d %+v", r.StatusCode, st)
	}
	wantProblem(t, a.do("POST", base, admin, map[string]any{"name": "Operadora", "mode": "ip", "allowed_cidrs": []string{"192.0.2.0/24"}, "default_country": "ES"}, nil, nil), 409, atende.EConflict, "name")
	bAdmin := a.tokens["b-admin"]
	wantProblem(t, a.do("GET", base+"/"+tr.ID, bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("GET", base+"/"+tr.ID+"/state", bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("PATCH", base+"/"+tr.ID, bAdmin, map[string]any{"port": 1}, map[string]string{"If-Match": "*"}, nil), 404, atende.ENotFound, "")
}

func TestDIDsAreE164AndUniqueInTheWholeSystem(t *testing.T) {
	a := newTestAPI(t)
	admin, bAdmin := a.tokens["admin"], a.tokens["b-admin"]
	base := apiPrefix + "/voice/dids"
	var d atende.DID
	// Tenant A's locale is es-ES: a national number is Spanish.
	if r := a.do("POST", base, admin, map[string]any{"number": "910 000 003", "target_kind": "flow", "target_id": a.ids["flow"]}, nil, &d); r.StatusCode != 201 || d.Number != "+34910000003" {
		t.Fatalf("create: %d %+v", r.StatusCode, d)
	}
	wantProblem(t, a.do("POST", base, admin, map[string]any{"number": "12", "target_kind": "flow", "target_id": a.ids["flow"]}, nil, nil), 400, atende.EInvalid, "number")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"number": "+34910000004", "target_kind": "agent", "target_id": a.ids["flow"]}, nil, nil), 400, atende.EInvalid, "target_kind")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"number": "+34910000004", "target_kind": "queue", "target_id": atende.NewID()}, nil, nil), 400, atende.EInvalid, "target_id")
	wantProblem(t, a.do("POST", base, admin, map[string]any{"number": "+34 910 000 003", "target_kind": "queue", "target_id": a.ids["queue"]}, nil, nil), 409, atende.EConflict, "number")
	// Another tenant may not take the number, nor point a DID at A's queue.
	p := wantProblem(t, a.do("POST", base, bAdmin, map[string]any{"number": "+34910000003", "target_kind": "flow", "target_id": atende.NewID()}, nil, nil), 409, atende.EConflict, "number")
	if strings.Contains(p.Detail, "Tenant A") {
		t.Errorf("the conflict names the owner: %q", p.Detail)
	}
	wantProblem(t, a.do("POST", base, bAdmin, map[string]any{"number": "+34910000005", "target_kind": "queue", "target_id": a.ids["queue"]}, nil, nil), 400, atende.EInvalid, "target_id")
	found, err := a.store.DIDByNumber(context.Background(), "+34910000003")
	if err != nil || found.ID != d.ID {
		t.Fatalf("lookup: %+v %v", found, err)
	}
	r := a.do("DELETE", base+"/"+d.ID, bAdmin, nil, map[string]string{"If-Match": "*"}, nil)
	wantProblem(t, r, 404, atende.ENotFound, "")
	if r := a.do("DELETE", base+"/"+d.ID, admin, nil, map[string]string{"If-Match": `"1"`}, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if _, err := a.store.DIDByNumber(context.Background(), "+34910000003"); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("after delete: %v", err)
	}
}
