package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

func wantProblem(t *testing.T, resp *http.Response, status int, typ, field string) Problem {
	t.Helper()
	var p Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("status %d, body is not a problem: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != status || p.Status != status || p.Type != problemBase+typ || p.Field != field {
		t.Fatalf("got %d %+v, want %d type %s field %q", resp.StatusCode, p, status, typ, field)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return p
}

// TestBadInputIsRejectedAndWritesNothing sends every kind of bad body to a
// create and checks the problem names the fault and no contact appears.
func TestBadInputIsRejectedAndWritesNothing(t *testing.T) {
	a := newTestAPI(t)
	tok := a.tokens["admin"]
	count := func() int {
		var page store.Page[atende.Contact]
		a.do("GET", apiPrefix+"/contacts?limit=200&include_merged=true", tok, nil, nil, &page)
		return len(page.Items)
	}
	before := count()
	for _, c := range []struct {
		name, body  string
		status      int
		typ, field  string
		contentType string
	}{
		{"malformed JSON", `{"name": "Ana"`, 400, "invalid_json", "", ""},
		{"not JSON", `name=Ana`, 400, "invalid_json", "", ""},
		{"empty body", ``, 400, "invalid_json", "", ""},
		{"trailing data", `{"name":"Ana"} {"name":"Eva"}`, 400, "invalid_json", "", ""},
		{"unknown field", `{"name":"Ana","nickname":"A"}`, 400, atende.EInvalid, "nickname", ""},
		{"wrong type", `{"name":42}`, 400, atende.EInvalid, "name", ""},
		{"wrong nested type", `{"name":"Ana","identities":[{"kind":"phone","value":612345678}]}`, 400, atende.EInvalid, "identities.value", ""},
		{"invalid phone", `{"name":"Ana","identities":[{"kind":"phone","value":"12"}]}`, 400, atende.EInvalid, "identities.value", ""},
		{"invalid email", `{"name":"Ana","identities":[{"kind":"email","value":"ana@"}]}`, 400, atende.EInvalid, "identities.value", ""},
		{"unknown custom field", `{"name":"Ana","fields":{"shoe_size":42}}`, 400, atende.EInvalid, "fields.shoe_size", ""},
		{"server-set field", `{"name":"Ana","id":"01a211a3-2549-7650-a878-f9a28f5158ca"}`, 400, atende.EInvalid, "id", ""},
		{"bad UTF-8", "{\"name\":\"Ana \xff\xfe\"}", 400, "invalid_json", "", ""},
		{"wrong media type", `{"name":"Ana"}`, 415, "unsupported_media_type", "", "text/plain"},
		{"oversized", `{"name":"` + strings.Repeat("a", maxBody) + `"}`, 413, "body_too_large", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.contentType != "" {
				hdr["Content-Type"] = c.contentType
			}
			resp := a.do("POST", apiPrefix+"/contacts", tok, []byte(c.body), hdr, nil)
			wantProblem(t, resp, c.status, c.typ, c.field)
		})
	}
	if after := count(); after != before {
		t.Fatalf("bad requests wrote contacts: %d before, %d after", before, after)
	}
	// Problem titles follow Accept-Language.
	resp := a.do("GET", apiPrefix+"/contacts/"+atende.NewID(), tok, nil, map[string]string{"Accept-Language": "pt-BR"}, nil)
	if p := wantProblem(t, resp, 404, atende.ENotFound, ""); p.Title != "Não encontrado" {
		t.Fatalf("title %q, want Portuguese", p.Title)
	}
	resp = a.do("GET", apiPrefix+"/no-such-thing", tok, nil, nil, nil)
	wantProblem(t, resp, 404, atende.ENotFound, "")
}

// TestOptimisticConcurrency: two supervisors edit one queue; the second, who
// read the old version, is refused instead of silently overwriting.
func TestOptimisticConcurrency(t *testing.T) {
	a := newTestAPI(t)
	sup := a.tokens["supervisor"]
	path := apiPrefix + "/queues/" + a.ids["queue"]
	resp := a.do("GET", path, sup, nil, nil, nil)
	tag := resp.Header.Get("ETag")
	if tag != `"1"` {
		t.Fatalf("ETag %q", tag)
	}
	wantProblem(t, a.do("PATCH", path, sup, map[string]any{"priority": 5}, nil, nil), 428, "precondition_required", "")
	var q atende.Queue
	resp = a.do("PATCH", path, sup, map[string]any{"priority": 5, "description": "primera"}, map[string]string{"If-Match": tag}, &q)
	if resp.StatusCode != 200 || q.Priority != 5 || q.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("first edit: %d %+v", resp.StatusCode, q)
	}
	if q.Name != "Soporte" || len(q.Skills) != 1 {
		t.Fatalf("merge patch lost untouched fields: %+v", q)
	}
	wantProblem(t, a.do("PATCH", path, sup, map[string]any{"priority": 9}, map[string]string{"If-Match": tag}, nil), 412, atende.EPreconditionFailed, "")
	wantProblem(t, a.do("PATCH", path, sup, map[string]any{"version": 7}, map[string]string{"If-Match": `"2"`}, nil), 400, atende.EInvalid, "version")
	wantProblem(t, a.do("PATCH", path, sup, map[string]any{"sl_target_pct": 140}, map[string]string{"If-Match": `"2"`}, nil), 400, atende.EInvalid, "sl_target_pct")
	a.do("GET", path, sup, nil, nil, &q)
	if q.Priority != 5 || q.Version != 2 {
		t.Fatalf("refused edits changed the queue: %+v", q)
	}
	// A merge patch of a contact's custom fields merges key by key.
	cpath := apiPrefix + "/contacts/" + a.ids["contact"]
	var c atende.Contact
	resp = a.do("GET", cpath, sup, nil, nil, &c)
	resp = a.do("PATCH", cpath, sup, map[string]any{"fields": map[string]any{"plan": "fibra"}}, map[string]string{"If-Match": resp.Header.Get("ETag")}, &c)
	if resp.StatusCode != 200 || c.Fields["plan"] != "fibra" || len(c.Identities) == 0 {
		t.Fatalf("contact patch: %d %+v", resp.StatusCode, c)
	}
}

func TestIdempotencyKey(t *testing.T) {
	a := newTestAPI(t)
	tok := a.tokens["agent"]
	body := map[string]any{"name": "Lucía", "identities": []map[string]string{{"kind": "email", "value": "Lucia@Example.es"}}}
	key := map[string]string{"Idempotency-Key": "create-lucia-1"}
	var first, second atende.Contact
	r1 := a.do("POST", apiPrefix+"/contacts", tok, body, key, &first)
	r2 := a.do("POST", apiPrefix+"/contacts", tok, body, key, &second)
	if r1.StatusCode != 201 || r2.StatusCode != 201 || first.ID == "" || first.ID != second.ID {
		t.Fatalf("replay: %d %s / %d %s", r1.StatusCode, first.ID, r2.StatusCode, second.ID)
	}
	if r2.Header.Get("Idempotent-Replayed") != "true" || first.Identities[0].Value != "lucia@example.es" {
		t.Fatalf("second response not a replay or email not normalised: %v %+v", r2.Header, first.Identities)
	}
	body["name"] = "Otra"
	wantProblem(t, a.do("POST", apiPrefix+"/contacts", tok, body, key, nil), 422, "idempotency_conflict", "")
	// A failed request does not burn the key.
	bad := map[string]string{"Idempotency-Key": "k2"}
	wantProblem(t, a.do("POST", apiPrefix+"/contacts", tok, map[string]any{"name": 1}, bad, nil), 400, atende.EInvalid, "name")
	if r := a.do("POST", apiPrefix+"/contacts", tok, map[string]any{"name": "Rafa"}, bad, nil); r.StatusCode != 201 {
		t.Fatalf("retry after a failure: %d", r.StatusCode)
	}
	// Keys are per principal: another user's same key is independent.
	if r := a.do("POST", apiPrefix+"/contacts", a.tokens["supervisor"], map[string]any{"name": "Sup"}, key, nil); r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another principal's key collided: %d", r.StatusCode)
	}
}

// login logs in through the API and returns the session cookie and CSRF token.
func (a *testAPI) login(email, password string) (*http.Cookie, string, *http.Response) {
	a.t.Helper()
	var me Me
	resp := a.do("POST", apiPrefix+"/auth/login", "", map[string]string{"email": email, "password": password}, nil, &me)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c, me.CSRFToken, resp
		}
	}
	return nil, "", resp
}

func TestSessionCookieAndCSRF(t *testing.T) {
	a := newTestAPI(t)
	cookie, csrf, resp := a.login("AGENT@example.com", testPassword)
	if cookie == nil || csrf == "" {
		t.Fatalf("login failed: %d", resp.StatusCode)
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("cookie flags: %+v", cookie)
	}
	send := func(method, path string, body any, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(method, a.http.URL+path, strings.NewReader(mustMarshal(body)))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookie)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := a.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	var me Me
	r := send("GET", apiPrefix+"/auth/me", nil, nil)
	json.NewDecoder(r.Body).Decode(&me)
	if r.StatusCode != 200 || me.User.Email != "agent@example.com" || me.Via != "session" {
		t.Fatalf("me: %d %+v", r.StatusCode, me)
	}
	note := map[string]string{"body": "nota interna"}
	path := apiPrefix + "/conversations/" + a.ids["conversation"] + "/notes"
	wantProblem(t, send("POST", path, note, nil), 403, "csrf", "")
	wantProblem(t, send("POST", path, note, map[string]string{"X-CSRF-Token": "wrong"}), 403, "csrf", "")
	if r := send("POST", path, note, map[string]string{"X-CSRF-Token": csrf}); r.StatusCode != 201 {
		t.Fatalf("with CSRF token: %d", r.StatusCode)
	}
	if r := send("POST", apiPrefix+"/auth/logout", nil, map[string]string{"X-CSRF-Token": csrf}); r.StatusCode != 204 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	wantProblem(t, send("GET", apiPrefix+"/auth/me", nil, nil), 401, atende.EUnauthorized, "")
}

func TestLoginRateLimit(t *testing.T) {
	a := newTestAPI(t)
	for i := range 5 {
		_, _, resp := a.login("qa@example.com", "wrong password "+string(rune('a'+i)))
		wantProblem(t, resp, 401, atende.EUnauthorized, "")
	}
	_, _, resp := a.login("qa@example.com", "still wrong")
	wantProblem(t, resp, 401, atende.EUnauthorized, "")
	// Past the free attempts, even the right password must wait.
	_, _, resp = a.login("qa@example.com", testPassword)
	p := wantProblem(t, resp, 429, atende.ERateLimited, "")
	if resp.Header.Get("Retry-After") == "" || p.RetryAfter < 1 {
		t.Fatalf("no Retry-After: %v %+v", resp.Header, p)
	}
	// Another account from the same address is not locked yet.
	if c, _, resp := a.login("planner@example.com", testPassword); c == nil {
		t.Fatalf("other account blocked: %d", resp.StatusCode)
	}
	// Unknown users and unknown tenants fail the same way as wrong passwords.
	_, _, resp = a.login("nobody@example.com", testPassword)
	wantProblem(t, resp, 401, atende.EUnauthorized, "")
}

func TestAgentStateRules(t *testing.T) {
	a := newTestAPI(t)
	agent := a.users["agent"]
	path := apiPrefix + "/users/" + agent.ID + "/state"
	var st atende.AgentState
	if r := a.do("PUT", path, a.tokens["agent"], map[string]string{"status": "away", "reason_code": "lunch"}, nil, &st); r.StatusCode != 200 || st.Status != "away" {
		t.Fatalf("own state: %d %+v", r.StatusCode, st)
	}
	wantProblem(t, a.do("PUT", path, a.tokens["agent"], map[string]string{"status": "away"}, nil, nil), 400, atende.EInvalid, "reason_code")
	wantProblem(t, a.do("PUT", path, a.tokens["agent"], map[string]string{"status": "away", "reason_code": "nap"}, nil, nil), 400, atende.EInvalid, "reason_code")
	other := apiPrefix + "/users/" + a.users["qa"].ID + "/state"
	wantProblem(t, a.do("PUT", other, a.tokens["agent"], map[string]string{"status": "available"}, nil, nil), 403, atende.EForbidden, "")
	if r := a.do("PUT", path, a.tokens["supervisor"], map[string]string{"status": "available"}, nil, &st); r.StatusCode != 200 || st.Status != "available" {
		t.Fatalf("supervisor sets agent state: %d", r.StatusCode)
	}
	var hist store.Page[atende.AgentStateChange]
	a.do("GET", apiPrefix+"/users/"+agent.ID+"/state-history", a.tokens["agent"], nil, nil, &hist)
	if len(hist.Items) != 2 || hist.Items[0].Status != "available" || hist.Items[1].EndedAt == nil || hist.Items[1].ReasonCode != "lunch" {
		t.Fatalf("history: %+v", hist.Items)
	}
	wantProblem(t, a.do("GET", apiPrefix+"/users/"+a.users["qa"].ID+"/state-history", a.tokens["agent"], nil, nil, nil), 403, atende.EForbidden, "")
}

func TestConversationFlowThroughAPI(t *testing.T) {
	a := newTestAPI(t)
	tok := a.tokens["agent"]
	var c atende.Conversation
	r := a.do("POST", apiPrefix+"/conversations", tok, map[string]any{
		"contact": map[string]string{"kind": "phone", "value": "+55 (11) 98765-4321"}, "contact_name": "João",
		"channel": "sms", "message": map[string]string{"direction": "in", "body": "Oi, minha internet caiu", "client_id": "sms-1"},
	}, nil, &c)
	if r.StatusCode != 201 || !strings.Contains(c.Protocol, "-") || c.LastEventSeq != 1 {
		t.Fatalf("create: %d %+v", r.StatusCode, c)
	}
	var contact atende.Contact
	a.do("GET", apiPrefix+"/contacts/lookup?kind=phone&value=0055%2011%2098765%204321", tok, nil, nil, &contact)
	if contact.ID != c.ContactID {
		t.Fatalf("lookup with another spelling: %+v, want %s", contact, c.ContactID)
	}
	msgs := apiPrefix + "/conversations/" + c.ID + "/messages"
	var res appendResult
	if r := a.do("POST", msgs, tok, map[string]string{"channel": "chat", "body": "Olá João, vamos verificar", "client_id": "m2"}, nil, &res); r.StatusCode != 201 || !res.Created || res.Event.Seq != 2 {
		t.Fatalf("append: %d %+v", r.StatusCode, res)
	}
	if r := a.do("POST", msgs, tok, map[string]string{"channel": "chat", "body": "Olá João, vamos verificar", "client_id": "m2"}, nil, &res); r.StatusCode != 200 || res.Created || res.Event.Seq != 2 {
		t.Fatalf("resend: %d %+v", r.StatusCode, res)
	}
	var disp atende.Conversation
	if r := a.do("POST", apiPrefix+"/conversations/"+c.ID+"/disposition", tok, map[string]string{"disposition_id": a.ids["disposition"]}, nil, &disp); r.StatusCode != 200 || disp.Status != atende.StatusResolved {
		t.Fatalf("disposition: %d %+v", r.StatusCode, disp)
	}
	var tl struct{ Items []atende.TimelineEvent }
	a.do("GET", apiPrefix+"/conversations/"+c.ID+"/events", tok, nil, nil, &tl)
	var kinds []string
	for i, e := range tl.Items {
		if e.Seq != int64(i+1) {
			t.Fatalf("seq gap: %+v", tl.Items)
		}
		kinds = append(kinds, string(e.Kind))
	}
	if strings.Join(kinds, ",") != "message,message,disposition,status" {
		t.Fatalf("timeline kinds %v", kinds)
	}
	var page store.Page[atende.Conversation]
	a.do("GET", apiPrefix+"/conversations?channel=chat&contact_id="+c.ContactID, tok, nil, nil, &page)
	if len(page.Items) != 1 || len(page.Items[0].Channels) != 2 {
		t.Fatalf("cross-channel conversation: %+v", page.Items)
	}
}

func mustMarshal(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRouterErrorsAreProblems(t *testing.T) {
	a := newTestAPI(t)
	resp := a.do("DELETE", apiPrefix+"/contacts", a.tokens["admin"], nil, nil, nil)
	wantProblem(t, resp, 405, "method_not_allowed", "")
	if !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Fatalf("Allow %q", resp.Header.Get("Allow"))
	}
	wantProblem(t, a.do("GET", apiPrefix+"/nothing/here", a.tokens["admin"], nil, nil, nil), 404, atende.ENotFound, "")
}

// TestRevocationTakesEffectAtOnce: credentials are cached, but revoking a
// token or deactivating a user through the API stops them on the next request.
func TestRevocationTakesEffectAtOnce(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	var tok createdToken
	if r := a.do("POST", apiPrefix+"/tokens", admin, map[string]string{"name": "crm"}, nil, &tok); r.StatusCode != 201 {
		t.Fatalf("create token: %d", r.StatusCode)
	}
	me := apiPrefix + "/auth/me"
	if r := a.do("GET", me, tok.Secret, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("new token: %d", r.StatusCode)
	}
	if r := a.do("DELETE", apiPrefix+"/tokens/"+tok.ID, admin, nil, nil, nil); r.StatusCode != 204 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	wantProblem(t, a.do("GET", me, tok.Secret, nil, nil, nil), 401, atende.EUnauthorized, "")

	agent := a.tokens["agent"]
	if r := a.do("GET", me, agent, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("agent: %d", r.StatusCode)
	}
	path := apiPrefix + "/users/" + a.users["agent"].ID
	if r := a.do("PATCH", path, admin, map[string]any{"active": false}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("deactivate: %d", r.StatusCode)
	}
	wantProblem(t, a.do("GET", me, agent, nil, nil, nil), 401, atende.EUnauthorized, "")
	// Losing a role is immediate too.
	sup := a.tokens["supervisor"]
	if r := a.do("GET", apiPrefix+"/users", sup, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("supervisor lists users: %d", r.StatusCode)
	}
	if r := a.do("PATCH", apiPrefix+"/users/"+a.users["supervisor"].ID, admin, map[string]any{"roles": []string{"agent"}}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("demote: %d", r.StatusCode)
	}
	wantProblem(t, a.do("GET", apiPrefix+"/users", sup, nil, nil, nil), 403, atende.EForbidden, "")
}

func TestUsersChooseTheirOwnLanguage(t *testing.T) {
	a := newTestAPI(t)
	var u atende.User
	if r := a.do("PUT", apiPrefix+"/auth/language", a.tokens["qa"], map[string]string{"language": "pt-BR"}, nil, &u); r.StatusCode != 200 || u.Language != "pt-BR" {
		t.Fatalf("set language: %d %+v", r.StatusCode, u)
	}
	// Problem titles now come in the user's language when the browser asks for none.
	p := wantProblem(t, a.do("GET", apiPrefix+"/audit", a.tokens["qa"], nil, nil, nil), 403, atende.EForbidden, "")
	if p.Title != "Você não tem permissão para fazer isso" {
		t.Fatalf("title %q", p.Title)
	}
	wantProblem(t, a.do("PUT", apiPrefix+"/auth/language", a.tokens["qa"], map[string]string{"language": "fr"}, nil, nil), 400, atende.EInvalid, "language")
}
