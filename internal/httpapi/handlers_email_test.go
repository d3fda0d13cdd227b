package httpapi

import (
	"strings"
	"testing"
)

func TestMailboxCredentialsAreWriteOnly(t *testing.T) {
	a := newTestAPI(t)
	body := map[string]any{"name": "Ventas", "address": "ventas@tenant-a.es", "queue_id": a.ids["queue"],
		"imap": map[string]any{"host": "imap.tenant-a.es", "user": "ventas", "password": "imap-secret-1"},
		"smtp": map[string]any{"host": "smtp.tenant-a.es", "user": "ventas", "password": "smtp-secret-2"}}
	var created map[string]any
	resp := a.do("POST", apiPrefix+"/mailboxes", a.tokens["admin"], body, nil, &created)
	raw := readAll(t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	id := created["id"].(string)
	for _, path := range []string{"/mailboxes/" + id, "/mailboxes", "/audit?entity_id=" + id, "/events?after=0"} {
		r := a.do("GET", apiPrefix+path, a.tokens["admin"], nil, nil, nil)
		got := readAll(t, r)
		if strings.Contains(got, "imap-secret-1") || strings.Contains(got, "smtp-secret-2") || strings.Contains(got, "v1:") {
			t.Errorf("GET %s shows a credential: %s", path, got)
		}
	}
	if imap := created["imap"].(map[string]any); imap["password_set"] != true {
		t.Errorf("password_set not reported: %v", imap)
	}
	// A patch that does not mention the password keeps it.
	var up map[string]any
	a.do("PATCH", apiPrefix+"/mailboxes/"+id, a.tokens["admin"], map[string]any{"name": "Ventas ES"}, map[string]string{"If-Match": "*"}, &up)
	if up["imap"].(map[string]any)["password_set"] != true {
		t.Errorf("patch lost the password: %v", up)
	}
	// Agents cannot read mailbox settings.
	if r := a.do("GET", apiPrefix+"/mailboxes/"+id, a.tokens["agent"], nil, nil, nil); r.StatusCode != 403 {
		t.Errorf("agent reads mailboxes: %d", r.StatusCode)
	}
	// An agent replies in a conversation from this mailbox: queued.
	var sent emailSent
	r := a.do("POST", apiPrefix+"/conversations/"+a.ids["conversation"]+"/emails", a.tokens["agent"],
		map[string]any{"mailbox_id": id, "to": []string{"maria@example.es"}, "text": "Hola María"}, nil, &sent)
	if r.StatusCode != 201 || sent.Outbound == nil || sent.Outbound.State != "queued" || sent.Event == nil {
		t.Fatalf("send: %d %+v", r.StatusCode, sent)
	}
	var list []map[string]any
	a.do("GET", apiPrefix+"/conversations/"+a.ids["conversation"]+"/emails", a.tokens["agent"], nil, nil, &list)
	if len(list) != 1 || list[0]["state"] != "queued" {
		t.Errorf("outbound list %v", list)
	}
}
