package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/channel/voice"
	"github.com/atende/atende/internal/channel/webchat/widget"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// testAPI is a running API on a fresh SQLite store with two tenants: A, with
// one user and API token per role and one of every resource, and B, with an
// admin who must never see A's data.
type testAPI struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	store  *store.Store
	tenant map[string]*atende.Tenant // "a", "b"
	users  map[string]*atende.User   // role name, or "b-admin"
	tokens map[string]string         // same keys as users
	ids    map[string]string         // fixture ids of tenant A by kind
}

// testPassword is the password of every test user.
const testPassword = "correct-horse-battery"

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Bus: b, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	router := routing.NewRouter(routing.EngineConfig{Holder: "test", Store: st, Bus: b, Blending: routing.DefaultBlending()})
	t.Cleanup(router.Close)
	ms, err := media.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secrets.New(make([]byte, secrets.KeySize))
	srv, err := New(Config{Store: st, Bus: b, Registry: reg, Version: "test", Router: router, Secrets: box,
		Email: &email.Outbound{Store: st, Media: ms, Secrets: box}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	a := &testAPI{t: t, srv: srv, http: hs, store: st, tenant: map[string]*atende.Tenant{}, users: map[string]*atende.User{},
		tokens: map[string]string{}, ids: map[string]string{}}
	for key, tn := range map[string]*atende.Tenant{
		"a": {Name: "Tenant A", Slug: "tenant-a", Locale: "es-ES", TimeZone: "Europe/Madrid"},
		"b": {Name: "Tenant B", Slug: "tenant-b", Locale: "pt-BR", TimeZone: "America/Sao_Paulo"},
	} {
		if err := st.CreateTenant(ctx, atende.SystemActor(""), tn); err != nil {
			t.Fatal(err)
		}
		a.tenant[key] = tn
	}
	sysA := atende.SystemActor(a.tenant["a"].ID)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	addUser := func(key, tenantKey string, roles ...atende.Role) {
		u := &atende.User{Email: key + "@example.com", Name: "User " + key, Roles: roles, Active: true}
		must(st.CreateUser(ctx, atende.SystemActor(a.tenant[tenantKey].ID), u, testPassword))
		secret, _, err := st.CreateAPIToken(ctx, atende.SystemActor(a.tenant[tenantKey].ID), u.ID, "test "+key, nil, nil)
		must(err)
		a.users[key], a.tokens[key] = u, secret
	}
	for _, r := range atende.Roles {
		addUser(string(r), "a", r)
	}
	addUser("b-admin", "b", atende.RoleAdmin)

	skill := &atende.Skill{Name: "Billing"}
	must(st.CreateSkill(ctx, sysA, skill))
	team := &atende.Team{Name: "Madrid", MemberIDs: []string{a.users["agent"].ID}}
	must(st.CreateTeam(ctx, sysA, team))
	reason := &atende.ReasonCode{Code: "lunch", Labels: map[string]string{"es": "Comida", "en": "Lunch"}, Active: true}
	must(st.CreateReasonCode(ctx, sysA, reason))
	queue := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat}, Skills: []atende.RequiredSkill{{SkillID: skill.ID, MinProficiency: 3}}}
	must(st.CreateQueue(ctx, sysA, queue))
	disp := &atende.Disposition{Code: "resolved", Labels: map[string]string{"es": "Resuelto"}, Resolves: true, Active: true}
	must(st.CreateDisposition(ctx, sysA, disp))
	field := &atende.FieldDef{Key: "plan", Labels: map[string]string{"es": "Plan"}, Type: atende.FieldText}
	must(st.CreateFieldDef(ctx, sysA, field))
	contact := &atende.Contact{Name: "María López", Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: "612 345 678"}}}
	must(st.CreateContact(ctx, sysA, contact))
	other := &atende.Contact{Name: "Maria L.", Identities: []atende.Identity{{Kind: atende.IdentityEmail, Value: "maria@example.es"}}}
	must(st.CreateContact(ctx, sysA, other))
	merge, err := st.MergeContacts(ctx, sysA, contact.ID, other.ID)
	must(err)
	conv := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, QueueID: queue.ID}
	must(st.CreateConversation(ctx, sysA, conv, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: "in", Body: "Hola"}))
	_, tok, err := st.CreateAPIToken(ctx, sysA, a.users["admin"].ID, "fixture", nil, nil)
	must(err)
	var task routing.Task
	if r := a.do("POST", apiPrefix+"/tasks", a.tokens["admin"], map[string]any{"queue_id": queue.ID, "channel": "chat"}, nil, &task); r.StatusCode != 201 {
		t.Fatalf("fixture task: %d", r.StatusCode)
	}
	mbox := &mailbox.Mailbox{Name: "Soporte", Address: "soporte@tenant-a.es", Active: true, QueueID: queue.ID,
		Receive: &mailbox.Receive{Recipients: []string{"soporte@tenant-a.es"}}}
	must(st.CreateMailbox(ctx, sysA, mbox))
	a.ids["mailbox"] = mbox.ID
	wd := widget.Defaults()
	wd.Name, wd.QueueID, wd.AllowedOrigins = "Web", queue.ID, []string{"https://shop.tenant-a.es"}
	must(st.CreateChatWidget(ctx, sysA, wd))
	a.ids["chat_widget"] = wd.ID
	// The agent's own canned response: the agent may change it, everyone
	// else is told it does not exist.
	canned := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: a.users["agent"].ID, Shortcut: "hola", Title: "Hola", Body: "Hola {{contact.first_name}}"}
	must(st.CreateCannedResponse(ctx, atende.Actor{TenantID: a.tenant["a"].ID, UserID: a.users["agent"].ID, Kind: "user"}, canned, false))
	a.ids["canned"] = canned.ID
	hook := &atende.Webhook{URL: "https://hooks.tenant-a.es/atende", Events: []string{"task.*"}, Active: true}
	hookSecret, err := box.Seal("whsec_fixture", "tenant:"+a.tenant["a"].ID+":webhook:secret")
	must(err)
	must(st.CreateWebhook(ctx, sysA, hook, hookSecret))
	a.ids["webhook"] = hook.ID
	ivr, err := atende.PresetFlow("basic", "Principal", "es", queue.ID)
	must(err)
	must(st.CreateFlow(ctx, sysA, ivr))
	a.ids["flow"] = ivr.ID
	sipPW, err := box.Seal("sip-fixture", voice.SecretContext(a.tenant["a"].ID, "sip_password"))
	must(err)
	account := &atende.SIPAccount{Username: "2001", Active: true}
	must(st.CreateSIPAccount(ctx, sysA, account, sipPW))
	a.ids["sip_account"] = account.ID
	trunk := &atende.Trunk{Name: "Carrier", Mode: atende.TrunkIP, AllowedCIDRs: []string{"203.0.113.0/24"}, DefaultCountry: "ES", Active: true}
	must(st.CreateTrunk(ctx, sysA, trunk))
	a.ids["trunk"] = trunk.ID
	did := &atende.DID{Number: "+34910000001", TargetKind: atende.DIDToQueue, TargetID: queue.ID}
	must(st.CreateDID(ctx, sysA, did))
	a.ids["did"] = did.ID
	file, err := ms.Put(ctx, a.tenant["a"].ID, "factura.pdf", "application/pdf", strings.NewReader("%PDF-1.4 fixture"), 1<<20)
	must(err)
	must(st.AddMedia(ctx, sysA, file))
	a.ids["media"] = file.ID
	for k, v := range map[string]string{"skill": skill.ID, "team": team.ID, "reason": reason.ID, "queue": queue.ID, "disposition": disp.ID,
		"field": field.ID, "contact": contact.ID, "merge": merge.ID, "conversation": conv.ID, "token": tok.ID, "user": a.users["agent"].ID, "task": task.ID} {
		a.ids[k] = v
	}
	return a
}

// do sends a request with a bearer token (or none when token is "") and
// decodes a JSON response into out when out is not nil.
func (a *testAPI) do(method, path, token string, body any, hdr map[string]string, out any) *http.Response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.http.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.http.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}
