package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/survey"
)

// surveyLinks signs survey links with the tenants' real keys (the test
// server's secret key is all zeros).
func (a *testAPI) surveyLinks() *survey.Keys {
	box, _ := secrets.New(make([]byte, secrets.KeySize))
	return &survey.Keys{Store: a.store, Box: box}
}

// emailConversation is an email conversation of tenant key held by agentID.
func (a *testAPI) emailConversation(tenantKey, agentID string) *atende.Conversation {
	a.t.Helper()
	ctx := context.Background()
	sys := atende.SystemActor(a.tenant[tenantKey].ID)
	ct := &atende.Contact{Name: "Cliente", Identities: []atende.Identity{{Kind: atende.IdentityEmail, Value: atende.NewID()[24:] + "@example.com"}}}
	if err := a.store.CreateContact(ctx, sys, ct); err != nil {
		a.t.Fatal(err)
	}
	c := &atende.Conversation{ContactID: ct.ID, Channel: atende.ChannelEmail, Subject: "Factura", AssigneeID: agentID, Status: atende.StatusResolved}
	if err := a.store.CreateConversation(ctx, sys, c, &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: "in", Body: "Hola"}); err != nil {
		a.t.Fatal(err)
	}
	return c
}

func (a *testAPI) link(key []byte, tenantID, convID, kind string, exp time.Time) string {
	return survey.Sign(key, survey.Claims{TenantID: tenantID, ConversationID: convID, Kind: kind, Lang: "es", Expires: exp.Unix()})
}

func (a *testAPI) openSurvey(tok, query string) (*http.Response, string) {
	a.t.Helper()
	r, err := http.Get(a.http.URL + "/s/" + tok + query)
	if err != nil {
		a.t.Fatal(err)
	}
	return r, readAll(a.t, r)
}

func (a *testAPI) answerSurvey(tok string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	r, err := http.PostForm(a.http.URL+"/s/"+tok, form)
	if err != nil {
		a.t.Fatal(err)
	}
	return r, readAll(a.t, r)
}

func (a *testAPI) surveyOf(tenantKey, convID, kind string) *store.Survey {
	a.t.Helper()
	sv, err := a.store.SurveyFor(context.Background(), a.tenant[tenantKey].ID, convID, kind)
	if atende.ErrorCode(err) == atende.ENotFound {
		return nil
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return sv
}

// TestSurveyPageAnswersOnce: the link from the email opens a page with the
// clicked score chosen and stores nothing; the form stores the answer (the
// agent and channel of the conversation) and its survey.answered event;
// a second answer, a forged, expired or other tenant's link are refused.
func TestSurveyPageAnswersOnce(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	keys := a.surveyLinks()
	tenantA, tenantB := a.tenant["a"].ID, a.tenant["b"].ID
	keyA, err := keys.Key(ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	agent := a.users["agent"].ID
	c := a.emailConversation("a", agent)
	tok := a.link(keyA, tenantA, c.ID, "csat", time.Now().Add(survey.LinkTTL))

	r, body := a.openSurvey(tok, "?score=4")
	if r.StatusCode != 200 || r.Header.Get("Content-Security-Policy") != survey.CSP || r.Header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %v", r.StatusCode, r.Header)
	}
	for _, want := range []string{`<html lang="es">`, "Tenant A", `value="4" checked`, i18n.T("es", "survey.question.csat"), `action="/s/` + tok + `"`, `<textarea`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, never := range []string{"<script", "style=", "onclick"} {
		if strings.Contains(body, never) {
			t.Errorf("page has %q", never)
		}
	}
	if a.surveyOf("a", c.ID, "csat") != nil {
		t.Fatal("opening the link answered the survey")
	}
	if css, err := http.Get(a.http.URL + "/s/survey.css"); err != nil || css.StatusCode != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %v %v", css, err)
	}

	if r, _ := a.answerSurvey(tok, url.Values{"comment": {"sin nota"}}); r.StatusCode != 400 {
		t.Fatalf("no score: %d", r.StatusCode)
	}
	if r, _ := a.answerSurvey(tok, url.Values{"score": {"6"}}); r.StatusCode != 400 {
		t.Fatalf("score 6 of csat: %d", r.StatusCode)
	}
	r, body = a.answerSurvey(tok, url.Values{"score": {"4"}, "comment": {"Muy <script>alert(1)</script>amables"}})
	if r.StatusCode != 200 || !strings.Contains(body, i18n.T("es", "survey.page.thanks")) {
		t.Fatalf("answer: %d\n%s", r.StatusCode, body)
	}
	sv := a.surveyOf("a", c.ID, "csat")
	if sv == nil || sv.Score != 4 || sv.AgentID != agent || sv.Channel != atende.ChannelEmail || sv.Comment != "Muy amables" {
		t.Fatalf("stored %+v", sv)
	}
	evs, err := a.store.Events(ctx, tenantA, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, e := range evs {
		if e.Type == "survey.answered" && e.Subject == c.ID {
			answered++
		}
	}
	if answered != 1 {
		t.Fatalf("%d survey.answered events", answered)
	}

	// Once only.
	if r, body := a.answerSurvey(tok, url.Values{"score": {"1"}}); r.StatusCode != 409 || !strings.Contains(body, i18n.T("es", "survey.page.already")) {
		t.Fatalf("second answer: %d\n%s", r.StatusCode, body)
	}
	if r, _ := a.openSurvey(tok, "?score=1"); r.StatusCode != 409 {
		t.Fatalf("opening an answered survey: %d", r.StatusCode)
	}
	if sv := a.surveyOf("a", c.ID, "csat"); sv.Score != 4 {
		t.Fatalf("changed to %+v", sv)
	}

	// Forged, expired, tampered, other tenants: the same "not valid" page.
	other := a.emailConversation("a", agent)
	keyB, err := keys.Key(ctx, tenantB)
	if err != nil {
		t.Fatal(err)
	}
	convB := a.emailConversation("b", "")
	for name, bad := range map[string]string{
		"signed with another key":                 a.link(make([]byte, 32), tenantA, other.ID, "csat", time.Now().Add(time.Hour)),
		"signed with tenant B's key":              a.link(keyB, tenantA, other.ID, "csat", time.Now().Add(time.Hour)),
		"expired":                                 a.link(keyA, tenantA, other.ID, "csat", time.Now().Add(-time.Second)),
		"tampered":                                strings.Replace(tok, tok[len(survey.LinkPrefix)+5:len(survey.LinkPrefix)+6], "x", 1),
		"tenant B's conversation under A's key":   a.link(keyA, tenantA, convB.ID, "csat", time.Now().Add(time.Hour)),
		"claims tenant B, signed with A's key":    a.link(keyA, tenantB, convB.ID, "csat", time.Now().Add(time.Hour)),
		"not a token":                             "hello",
		"tenant B's conversation, with B's claim": a.link(keyA, tenantB, other.ID, "nps", time.Now().Add(time.Hour)),
	} {
		if r, body := a.answerSurvey(bad, url.Values{"score": {"2"}}); r.StatusCode != 404 || !strings.Contains(body, i18n.T("en", "survey.page.invalid")) && !strings.Contains(body, i18n.T("es", "survey.page.invalid")) {
			t.Errorf("%s: %d\n%s", name, r.StatusCode, body)
		}
		if r, _ := a.openSurvey(bad, "?score=2"); r.StatusCode != 404 {
			t.Errorf("%s: page %d", name, r.StatusCode)
		}
	}
	if a.surveyOf("a", other.ID, "csat") != nil || a.surveyOf("b", convB.ID, "csat") != nil || a.surveyOf("a", other.ID, "nps") != nil {
		t.Fatal("a bad link stored an answer")
	}

	// Tenant B's own link works for B only.
	tokB := a.link(keyB, tenantB, convB.ID, "nps", time.Now().Add(time.Hour))
	if r, body := a.answerSurvey(tokB, url.Values{"score": {"10"}}); r.StatusCode != 200 {
		t.Fatalf("tenant B answer: %d %s", r.StatusCode, body)
	}

	// QA lists the answers with comments; each tenant its own.
	var page store.Page[store.Survey]
	if r := a.do("GET", apiPrefix+"/surveys?channel=email&kind=csat&agent_id="+agent+"&from="+time.Now().Format(time.DateOnly), a.tokens["supervisor"], nil, nil, &page); r.StatusCode != 200 ||
		len(page.Items) != 1 || page.Items[0].Comment != "Muy amables" {
		t.Fatalf("list: %d %+v", r.StatusCode, page)
	}
	if a.do("GET", apiPrefix+"/surveys?kind=nps", a.tokens["supervisor"], nil, nil, &page); len(page.Items) != 0 {
		t.Fatalf("tenant A sees %+v", page.Items)
	}
	if a.do("GET", apiPrefix+"/surveys", a.tokens["b-admin"], nil, nil, &page); len(page.Items) != 1 || page.Items[0].ConversationID != convB.ID {
		t.Fatalf("tenant B sees %+v", page.Items)
	}
	wantProblem(t, a.do("GET", apiPrefix+"/surveys?kind=ces", a.tokens["supervisor"], nil, nil, nil), 400, atende.EInvalid, "kind")
	wantProblem(t, a.do("GET", apiPrefix+"/surveys?from=ayer", a.tokens["supervisor"], nil, nil, nil), 400, atende.EInvalid, "from")
}

func TestSurveyListPages(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		c := a.emailConversation("a", "")
		if err := a.store.CreateSurvey(ctx, atende.SystemActor(a.tenant["a"].ID), &store.Survey{ConversationID: c.ID, Kind: "nps", Score: 7 + i}); err != nil {
			t.Fatal(err)
		}
	}
	var p1, p2 store.Page[store.Survey]
	a.do("GET", apiPrefix+"/surveys?limit=2", a.tokens["supervisor"], nil, nil, &p1)
	if len(p1.Items) != 2 || p1.Next == "" {
		t.Fatalf("first page %+v", p1)
	}
	a.do("GET", apiPrefix+"/surveys?limit=2&cursor="+p1.Next, a.tokens["supervisor"], nil, nil, &p2)
	if len(p2.Items) != 1 || p2.Next != "" || p2.Items[0].Score != 9 {
		t.Fatalf("second page %+v", p2)
	}
}

func TestSurveySettings(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	var set atende.SurveySettings
	r := a.do("GET", apiPrefix+"/survey-settings", a.tokens["supervisor"], nil, nil, &set)
	if r.StatusCode != 200 || r.Header.Get("ETag") != `"1"` || set.Email.Enabled || set.Email.DelayMin != 10 || set.PerContactDays != 7 || !set.Chat.Asks("csat") {
		t.Fatalf("defaults: %d %+v", r.StatusCode, set)
	}
	patch := map[string]any{"email": map[string]any{"enabled": true, "kind": "both"}, "questions": map[string]any{"nps": map[string]any{"es": "¿Nos recomendaría?"}}}
	wantProblem(t, a.do("PATCH", apiPrefix+"/survey-settings", admin, patch, nil, nil), 428, "precondition_required", "")
	r = a.do("PATCH", apiPrefix+"/survey-settings", admin, patch, map[string]string{"If-Match": `"1"`}, &set)
	if r.StatusCode != 200 || r.Header.Get("ETag") != `"2"` || !set.Email.Asks("nps") || set.Email.DelayMin != 10 || set.Question("nps", "es") != "¿Nos recomendaría?" {
		t.Fatalf("patched: %d %+v", r.StatusCode, set)
	}
	wantProblem(t, a.do("PATCH", apiPrefix+"/survey-settings", admin, patch, map[string]string{"If-Match": `"1"`}, nil), 412, atende.EPreconditionFailed, "")
	wantProblem(t, a.do("PATCH", apiPrefix+"/survey-settings", admin, map[string]any{"chat": map[string]any{"kind": "ces"}}, map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "chat.kind")
	wantProblem(t, a.do("PATCH", apiPrefix+"/survey-settings", admin, map[string]any{"per_contact_days": 400}, map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "per_contact_days")
	wantProblem(t, a.do("PATCH", apiPrefix+"/survey-settings", admin, map[string]any{"questions": map[string]any{"csat": map[string]any{"de": "Wie?"}}}, map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "questions.csat")
	// Tenant B still has the defaults.
	a.do("GET", apiPrefix+"/survey-settings", a.tokens["b-admin"], nil, nil, &set)
	if set.Email.Enabled || set.TenantID != a.tenant["b"].ID {
		t.Fatalf("tenant B: %+v", set)
	}
}

func TestChatNPS(t *testing.T) {
	a := newTestAPI(t)
	s := a.startChat(a.ids["chat_widget"], chatIn)
	var cs chatSurvey
	if r := a.chatDo("GET", "/chat/survey", s.Token, nil, &cs); r.StatusCode != 200 || len(cs.Kinds) != 1 || cs.Kinds[0] != "csat" || cs.Language != "es" {
		t.Fatalf("survey: %d %+v", r.StatusCode, cs)
	}
	wantProblem(t, a.chatDo("POST", "/chat/nps", s.Token, map[string]any{"score": 9}, nil), 409, atende.EConflict, "")
	if r := a.do("PATCH", apiPrefix+"/survey-settings", a.tokens["admin"], map[string]any{"chat": map[string]any{"kind": "both"}}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("settings: %d", r.StatusCode)
	}
	a.chatDo("GET", "/chat/survey", s.Token, nil, &cs)
	if len(cs.Kinds) != 2 || !strings.Contains(cs.Questions["nps"], "Tenant A") {
		t.Fatalf("survey: %+v", cs)
	}
	wantProblem(t, a.chatDo("POST", "/chat/nps", s.Token, map[string]any{"score": 11}, nil), 400, atende.EInvalid, "score")
	wantProblem(t, a.chatDo("POST", "/chat/nps", "vt_forged.x", map[string]any{"score": 9}, nil), 401, atende.EUnauthorized, "")
	var sv store.Survey
	if r := a.chatDo("POST", "/chat/nps", s.Token, map[string]any{"score": 9, "comment": "<b>Genial</b>"}, &sv); r.StatusCode != 201 ||
		sv.Kind != "nps" || sv.Score != 9 || sv.Channel != atende.ChannelChat || sv.Comment != "Genial" {
		t.Fatalf("nps: %d %+v", r.StatusCode, sv)
	}
	wantProblem(t, a.chatDo("POST", "/chat/nps", s.Token, map[string]any{"score": 3}, nil), 409, atende.EConflict, "")
	// CSAT is still its own question.
	if r := a.chatDo("POST", "/chat/csat", s.Token, map[string]any{"score": 5}, nil); r.StatusCode != 201 {
		t.Fatalf("csat: %d", r.StatusCode)
	}
}

func TestSurveyPageRateLimit(t *testing.T) {
	a := newTestAPI(t)
	limited := 0
	for i := 0; i < surveyPageBurst+5; i++ {
		r, _ := a.openSurvey("sv_nothing", "")
		if r.StatusCode == http.StatusTooManyRequests {
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		} else if r.StatusCode != 404 {
			t.Fatalf("status %d", r.StatusCode)
		}
	}
	// The bucket refills at 2/s; the loop takes well under a second.
	if limited < 4 {
		t.Fatalf("%d of %d requests limited", limited, surveyPageBurst+5)
	}
}
