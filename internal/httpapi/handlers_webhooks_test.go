package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/webhook"
)

func TestWebhookCRUDShowsTheSecretOnce(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	var created atende.Webhook
	resp := a.do("POST", apiPrefix+"/webhooks", admin, map[string]any{"url": "https://93.184.215.14/atende", "events": []string{"task.*", "alert.*"}, "description": "CRM"}, nil, &created)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(created.Secret, "whsec_") || !created.Active || created.State != atende.WebhookHealthy ||
		resp.Header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %+v", resp.StatusCode, created)
	}
	path := apiPrefix + "/webhooks/" + created.ID
	for _, p := range []string{path, apiPrefix + "/webhooks"} {
		if body := readAll(t, a.do("GET", p, admin, nil, nil, nil)); strings.Contains(body, created.Secret) || strings.Contains(body, `"secret"`) {
			t.Fatalf("GET %s shows the secret: %s", p, body)
		}
	}
	// Settings change with If-Match; the delivery state is read-only.
	if r := a.do("PATCH", path, admin, map[string]any{"active": false}, nil, nil); r.StatusCode != http.StatusPreconditionRequired {
		t.Fatalf("patch without If-Match: %d", r.StatusCode)
	}
	for field, v := range map[string]any{"state": "healthy", "cursor": 0, "secret": "whsec_mine", "failures": 0} {
		var p Problem
		if r := a.do("PATCH", path, admin, map[string]any{field: v}, map[string]string{"If-Match": `"1"`}, &p); r.StatusCode != 400 || p.Field != field {
			t.Errorf("patch %s: %d %+v", field, r.StatusCode, p)
		}
	}
	var up atende.Webhook
	if r := a.do("PATCH", path, admin, map[string]any{"events": []string{"conversation.*"}, "active": false}, map[string]string{"If-Match": `"1"`}, &up); r.StatusCode != 200 ||
		up.Version != 2 || up.Active || len(up.Events) != 1 || up.Events[0] != "conversation.*" || up.Description != "CRM" {
		t.Fatalf("patch: %d %+v", r.StatusCode, up)
	}
	if r := a.do("PATCH", path, admin, map[string]any{"active": true}, map[string]string{"If-Match": `"1"`}, nil); r.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("patch at an old version: %d", r.StatusCode)
	}
	var rot atende.Webhook
	if r := a.do("POST", path+"/rotate-secret", admin, nil, nil, &rot); r.StatusCode != 200 || !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == created.Secret || rot.Version != 3 {
		t.Fatalf("rotate: %d %+v", r.StatusCode, rot)
	}
	if r := a.do("POST", path+"/resume", admin, nil, map[string]string{"If-Match": `"1"`}, nil); r.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("resume at an old version: %d", r.StatusCode)
	}
	var res atende.Webhook
	if r := a.do("POST", path+"/resume", admin, nil, nil, &res); r.StatusCode != 200 || res.Version != 4 || res.Secret != "" {
		t.Fatalf("resume: %d %+v", r.StatusCode, res)
	}
	var log struct{ Items []atende.WebhookDelivery }
	if r := a.do("GET", path+"/deliveries", admin, nil, nil, &log); r.StatusCode != 200 || log.Items == nil || len(log.Items) != 0 {
		t.Fatalf("deliveries: %d %+v", r.StatusCode, log)
	}
	if r := a.do("DELETE", path, admin, nil, map[string]string{"If-Match": `"4"`}, nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := a.do("GET", path, admin, nil, nil, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("get after delete: %d", r.StatusCode)
	}
}

func TestWebhookRefusesAddressesItMustNotReach(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://93.184.215.14/in"}, "url"},
		{map[string]any{"url": "https://127.0.0.1/in"}, "url"},
		{map[string]any{"url": "https://localhost/in"}, "url"},
		{map[string]any{"url": "https://10.0.0.8/in"}, "url"},
		{map[string]any{"url": "https://169.254.169.254/latest/meta-data/"}, "url"},
		{map[string]any{"url": "https://[fd00:ec2::254]/"}, "url"},
		{map[string]any{"url": "https://[::ffff:192.168.0.1]/"}, "url"},
		{map[string]any{"url": "https://93.184.215.14/in", "events": []string{"Task created"}}, "events"},
		{map[string]any{"url": "https://93.184.215.14/in", "secret": "whsec_x"}, "secret"},
	} {
		var p Problem
		r := a.do("POST", apiPrefix+"/webhooks", admin, tc.body, nil, &p)
		if r.StatusCode != 400 || p.Type != problemBase+atende.EInvalid || p.Field != tc.field {
			t.Errorf("%v: %d %+v", tc.body, r.StatusCode, p)
		}
	}
	var p Problem
	path := apiPrefix + "/webhooks/" + a.ids["webhook"]
	if r := a.do("PATCH", path, admin, map[string]any{"url": "https://192.168.1.1/"}, map[string]string{"If-Match": "*"}, &p); r.StatusCode != 400 || p.Field != "url" {
		t.Fatalf("patch to a private address: %d %+v", r.StatusCode, p)
	}
}

// TestWebhookRegisteredThroughTheAPIReceivesSignedEvents is the whole path:
// an administrator registers a local receiver (the loopback setting on), a
// change happens, the worker delivers it, and the secret shown at creation
// verifies the signature.
func TestWebhookRegisteredThroughTheAPIReceivesSignedEvents(t *testing.T) {
	a := newTestAPI(t)
	guard := &webhook.Guard{AllowLoopback: true}
	a.srv.cfg.Webhooks = guard
	var mu sync.Mutex
	var bodies [][]byte
	var sigs []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, sigs = append(bodies, b), append(sigs, r.Header.Get("Atende-Signature"))
		mu.Unlock()
	}))
	defer rc.Close()
	var hook atende.Webhook
	if r := a.do("POST", apiPrefix+"/webhooks", a.tokens["admin"], map[string]any{"url": rc.URL + "/in", "events": []string{"skill.created"}}, nil, &hook); r.StatusCode != 201 {
		t.Fatalf("create: %d %s", r.StatusCode, readAll(t, r))
	}
	if r := a.do("POST", apiPrefix+"/skills", a.tokens["admin"], map[string]any{"name": "Portugués"}, nil, nil); r.StatusCode != 201 {
		t.Fatalf("skill: %d", r.StatusCode)
	}
	box, _ := secrets.New(make([]byte, secrets.KeySize))
	w := &webhook.Worker{Store: a.store, Secrets: box, Guard: guard, Holder: "test"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.Contains(string(bodies[0]), `"type":"skill.created"`) || !strings.Contains(string(bodies[0]), "Portugués") {
		t.Fatalf("delivered %q", bodies)
	}
	if err := webhook.Verify(hook.Secret, sigs[0], bodies[0], 5*time.Minute, time.Now()); err != nil {
		t.Fatalf("the secret from the create answer does not verify: %v", err)
	}
}
