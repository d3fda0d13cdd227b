package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

type cannedList struct {
	Items []atende.CannedResponse `json:"items"`
}

func TestCannedResponsesOverHTTP(t *testing.T) {
	a := newTestAPI(t)
	agent, sup, admin, qa := a.tokens["agent"], a.tokens["supervisor"], a.tokens["admin"], a.tokens["qa"]
	base := apiPrefix + "/canned-responses"

	// Shared answers need config:manage; personal ones conversations:write.
	shared := map[string]any{"scope": "tenant", "shortcut": "protocolo", "title": "Protocolo", "language": "es",
		"body": "{{contact.first_name}}, su protocolo es {{protocol}}. Le atiende {{agent.name}} ({{queue.name}}, {{tenant.name}})."}
	wantProblem(t, a.do("POST", base, agent, shared, nil, nil), 403, atende.EForbidden, "")
	wantProblem(t, a.do("POST", base, sup, shared, nil, nil), 403, atende.EForbidden, "")
	wantProblem(t, a.do("POST", base, qa, map[string]any{"scope": "personal", "shortcut": "x", "title": "x", "body": "x"}, nil, nil), 403, atende.EForbidden, "")
	var tenantOne atende.CannedResponse
	r := a.do("POST", base, admin, shared, nil, &tenantOne)
	if r.StatusCode != 201 || tenantOne.Scope != atende.CannedTenant || tenantOne.OwnerID != "" || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("create shared: %d %+v", r.StatusCode, tenantOne)
	}
	var mine atende.CannedResponse
	if r := a.do("POST", base, sup, map[string]any{"scope": "personal", "shortcut": "/Gracias", "title": "Gracias", "body": "¡Gracias, {{contact.first_name}}!"}, nil, &mine); r.StatusCode != 201 {
		t.Fatalf("create personal: %d", r.StatusCode)
	}
	if mine.OwnerID != a.users["supervisor"].ID || mine.Shortcut != "gracias" {
		t.Fatalf("personal: %+v", mine)
	}
	// Validation and conflicts are problems naming the field.
	wantProblem(t, a.do("POST", base, sup, map[string]any{"scope": "personal", "shortcut": "GRACIAS", "title": "Otra", "body": "x"}, nil, nil), 409, atende.EConflict, "shortcut")
	wantProblem(t, a.do("POST", base, sup, map[string]any{"scope": "personal", "shortcut": "dos palabras", "title": "x", "body": "x"}, nil, nil), 400, atende.EInvalid, "shortcut")
	wantProblem(t, a.do("POST", base, sup, map[string]any{"scope": "personal", "shortcut": "largo", "title": "x", "body": strings.Repeat("a", 4001)}, nil, nil), 400, atende.EInvalid, "body")
	wantProblem(t, a.do("POST", base, sup, map[string]any{"scope": "team", "shortcut": "x", "title": "x", "body": "x"}, nil, nil), 400, atende.EInvalid, "scope")
	wantProblem(t, a.do("POST", base, sup, map[string]any{"scope": "personal", "shortcut": "x", "title": "x", "body": "x", "owner_id": a.users["agent"].ID}, nil, nil), 400, atende.EInvalid, "owner_id")

	// Each sees the shared ones and their own, by shortcut.
	var list cannedList
	a.do("GET", base, sup, nil, nil, &list)
	if len(list.Items) != 2 || list.Items[0].Shortcut != "gracias" || list.Items[1].Shortcut != "protocolo" {
		t.Fatalf("supervisor lists %+v", list.Items)
	}
	a.do("GET", base, agent, nil, nil, &list)
	if len(list.Items) != 2 || list.Items[0].Shortcut != "hola" || list.Items[1].Shortcut != "protocolo" {
		t.Fatalf("agent lists %+v", list.Items)
	}
	a.do("GET", base+"?q=PROTO&language=es", agent, nil, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != tenantOne.ID {
		t.Fatalf("agent searching lists %+v", list.Items)
	}
	a.do("GET", base+"?language=en", agent, nil, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ids["canned"] {
		t.Fatalf("agent in en lists %+v", list.Items)
	}
	wantProblem(t, a.do("GET", base+"?language=fr", agent, nil, nil, nil), 400, atende.EInvalid, "language")

	// Someone else's personal answer does not exist, whatever their role.
	for _, tok := range []string{agent, admin} {
		wantProblem(t, a.do("GET", base+"/"+mine.ID, tok, nil, nil, nil), 404, atende.ENotFound, "")
		wantProblem(t, a.do("PATCH", base+"/"+mine.ID, tok, map[string]any{"body": "x"}, map[string]string{"If-Match": "*"}, nil), 404, atende.ENotFound, "")
		wantProblem(t, a.do("DELETE", base+"/"+mine.ID, tok, nil, map[string]string{"If-Match": "*"}, nil), 404, atende.ENotFound, "")
		wantProblem(t, a.do("POST", base+"/"+mine.ID+"/render", tok, map[string]any{"conversation_id": a.ids["conversation"]}, nil, nil), 404, atende.ENotFound, "")
	}
	// Shared ones change only with config:manage.
	wantProblem(t, a.do("PATCH", base+"/"+tenantOne.ID, agent, map[string]any{"title": "x"}, map[string]string{"If-Match": "*"}, nil), 403, atende.EForbidden, "")
	wantProblem(t, a.do("DELETE", base+"/"+tenantOne.ID, sup, nil, map[string]string{"If-Match": "*"}, nil), 403, atende.EForbidden, "")

	// The owner patches with If-Match; scope and owner are not theirs to change.
	wantProblem(t, a.do("PATCH", base+"/"+mine.ID, sup, map[string]any{"body": "x"}, nil, nil), 428, "precondition_required", "")
	wantProblem(t, a.do("PATCH", base+"/"+mine.ID, sup, map[string]any{"scope": "tenant"}, map[string]string{"If-Match": `"1"`}, nil), 400, atende.EInvalid, "scope")
	var patched atende.CannedResponse
	if r := a.do("PATCH", base+"/"+mine.ID, sup, map[string]any{"body": "Gracias a usted, {{contact.name}}. {{despedida}}"}, map[string]string{"If-Match": `"1"`}, &patched); r.StatusCode != 200 || patched.Version != 2 {
		t.Fatalf("patch: %d %+v", r.StatusCode, patched)
	}
	wantProblem(t, a.do("PATCH", base+"/"+mine.ID, sup, map[string]any{"title": "x"}, map[string]string{"If-Match": `"1"`}, nil), 412, atende.EPreconditionFailed, "")

	// Rendering fills the variables from the conversation; the agent is the caller.
	conv, err := a.store.Conversation(t.Context(), a.tenant["a"].ID, a.ids["conversation"])
	if err != nil {
		t.Fatal(err)
	}
	var out renderOutput
	if r := a.do("POST", base+"/"+tenantOne.ID+"/render", agent, map[string]any{"conversation_id": conv.ID}, nil, &out); r.StatusCode != 200 {
		t.Fatalf("render: %d", r.StatusCode)
	}
	if want := fmt.Sprintf("María, su protocolo es %s. Le atiende User agent (Soporte, Tenant A).", conv.Protocol); out.Body != want {
		t.Fatalf("render = %q, want %q", out.Body, want)
	}
	a.do("POST", base+"/"+mine.ID+"/render", sup, map[string]any{"conversation_id": conv.ID}, nil, &out)
	if out.Body != "Gracias a usted, María López. {{despedida}}" {
		t.Fatalf("render personal = %q", out.Body)
	}
	wantProblem(t, a.do("POST", base+"/"+tenantOne.ID+"/render", agent, map[string]any{"conversation_id": atende.NewID()}, nil, nil), 400, atende.EInvalid, "conversation_id")
	// QA reads and renders, but writes nothing.
	if r := a.do("POST", base+"/"+tenantOne.ID+"/render", qa, map[string]any{"conversation_id": conv.ID}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("qa render: %d", r.StatusCode)
	}

	// Tenant B sees none of it.
	b := a.tokens["b-admin"]
	a.do("GET", base, b, nil, nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("tenant B lists %+v", list.Items)
	}
	wantProblem(t, a.do("GET", base+"/"+tenantOne.ID, b, nil, nil, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("POST", base+"/"+tenantOne.ID+"/render", b, map[string]any{"conversation_id": conv.ID}, nil, nil), 404, atende.ENotFound, "")

	if r := a.do("DELETE", base+"/"+mine.ID, sup, nil, map[string]string{"If-Match": `"2"`}, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	wantProblem(t, a.do("GET", base+"/"+mine.ID, sup, nil, nil, nil), 404, atende.ENotFound, "")
}

func TestContactTimelineAndSearchOverHTTP(t *testing.T) {
	a := newTestAPI(t)
	agent, admin := a.tokens["agent"], a.tokens["admin"]
	contactID := a.ids["contact"]
	// A second conversation on email, with a note and an answer.
	var conv atende.Conversation
	if r := a.do("POST", apiPrefix+"/conversations", admin, map[string]any{"contact_id": contactID, "channel": "email", "subject": "Factura de marzo",
		"message": map[string]any{"direction": "in", "body": "¿Y mi factura?"}}, nil, &conv); r.StatusCode != 201 {
		t.Fatalf("open: %d", r.StatusCode)
	}
	for i := range 3 {
		if r := a.do("POST", apiPrefix+"/conversations/"+conv.ID+"/notes", agent, map[string]any{"body": fmt.Sprintf("nota %d", i)}, nil, nil); r.StatusCode != 201 {
			t.Fatalf("note: %d", r.StatusCode)
		}
	}
	var page store.ContactTimelinePage
	var all []store.ContactTimelineItem
	path := apiPrefix + "/contacts/" + contactID + "/timeline?limit=2"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the cursor does not end")
		}
		page = store.ContactTimelinePage{}
		if r := a.do("GET", path, a.tokens["qa"], nil, nil, &page); r.StatusCode != 200 {
			t.Fatalf("timeline: %d", r.StatusCode)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			break
		}
		path = apiPrefix + "/contacts/" + contactID + "/timeline?limit=2&before=" + page.Next
	}
	// The fixture chat's greeting, then the email and its three notes, newest first.
	if len(all) != 5 || all[0].Event.Body != "nota 2" || all[4].Event.Body != "Hola" || all[4].Conversation.ID != a.ids["conversation"] ||
		all[3].Conversation.Subject != "Factura de marzo" || all[3].Conversation.Channel != atende.ChannelEmail || all[3].Conversation.Protocol != conv.Protocol {
		t.Fatalf("timeline %+v", all)
	}
	wantProblem(t, a.do("GET", apiPrefix+"/contacts/"+contactID+"/timeline?before=nope", agent, nil, nil, nil), 400, atende.EInvalid, "before")
	wantProblem(t, a.do("GET", apiPrefix+"/contacts/"+contactID+"/timeline?limit=500", agent, nil, nil, nil), 400, atende.EInvalid, "limit")
	wantProblem(t, a.do("GET", apiPrefix+"/contacts/"+contactID+"/timeline", a.tokens["planner"], nil, nil, nil), 403, atende.EForbidden, "")
	wantProblem(t, a.do("GET", apiPrefix+"/contacts/"+contactID+"/timeline", a.tokens["b-admin"], nil, nil, nil), 404, atende.ENotFound, "")

	// Search by protocol, subject and the contact's name or phone.
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{conv.Protocol, []string{conv.ID}},
		{"FACTURA", []string{conv.ID}},
		{"maría", []string{conv.ID, a.ids["conversation"]}},
		{"+34 612 345 678", []string{conv.ID, a.ids["conversation"]}},
		{"nadie", nil},
	} {
		var got store.Page[atende.Conversation]
		if r := a.do("GET", apiPrefix+"/conversations?q="+url.QueryEscape(tc.q), agent, nil, nil, &got); r.StatusCode != http.StatusOK {
			t.Fatalf("search %q: %d", tc.q, r.StatusCode)
		}
		var ids []string
		for _, c := range got.Items {
			ids = append(ids, c.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("search %q = %v, want %v", tc.q, ids, tc.want)
		}
	}
}
