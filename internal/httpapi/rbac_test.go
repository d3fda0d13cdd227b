package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/atende/atende"
)

// fixtureFor names the tenant-A fixture a route's {id} stands for.
func fixtureFor(path string) string {
	for prefix, kind := range map[string]string{
		"/teams/": "team", "/skills/": "skill", "/reason-codes/": "reason", "/queues/": "queue",
		"/dispositions/": "disposition", "/contact-fields/": "field", "/contacts/": "contact",
		"/contact-merges/": "merge", "/conversations/": "conversation", "/tokens/": "token", "/users/": "user",
		"/tasks/": "task", "/mailboxes/": "mailbox", "/chat-widgets/": "chat_widget",
		"/canned-responses/": "canned", "/media/": "media", "/webhooks/": "webhook", "/voice/flows/": "flow",
		"/voice/accounts/": "sip_account", "/voice/trunks/": "trunk", "/voice/dids/": "did",
	} {
		if strings.HasPrefix(path, prefix) {
			return kind
		}
	}
	return ""
}

// concrete fills a route's wildcards with tenant A's fixtures.
func (a *testAPI) concrete(rt route) string {
	p := rt.Path
	if strings.Contains(p, "{id}") {
		kind := fixtureFor(p)
		if kind == "" {
			a.t.Fatalf("route %s has an {id} with no fixture; add one to fixtureFor", p)
		}
		p = strings.Replace(p, "{id}", a.ids[kind], 1)
	}
	return apiPrefix + p
}

// requestBody is a syntactically valid body for routes that take one; the
// matrix checks authorisation, not validation.
func requestBody(rt route) any {
	if rt.In == nil {
		return nil
	}
	return map[string]any{}
}

// TestRBACMatrix walks every route as every role of tenant A: a role without
// the route's permission gets 403, a role with it never does. Nobody gets in
// without credentials.
func TestRBACMatrix(t *testing.T) {
	a := newTestAPI(t)
	roles := []atende.Role{atende.RolePlanner, atende.RoleQA, atende.RoleAgent, atende.RoleSupervisor, atende.RoleAdmin}
	for _, rt := range a.srv.routes {
		if rt.Public {
			continue
		}
		path := a.concrete(rt)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			hdr := map[string]string{"If-Match": "*"}
			if resp := a.do(rt.Method, path, "", requestBody(rt), hdr, nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without credentials: status %d, want 401", resp.StatusCode)
			}
			if resp := a.do(rt.Method, path, "atk_not-a-real-token", requestBody(rt), hdr, nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("with a made-up token: status %d, want 401", resp.StatusCode)
			}
			if rt.Perm == "" {
				return // any logged-in user; checked by their own tests
			}
			for _, role := range roles {
				allowed := atende.GrantsFor([]atende.Role{role}, nil)[rt.Perm]
				resp := a.do(rt.Method, path, a.tokens[string(role)], requestBody(rt), hdr, nil)
				got := resp.StatusCode
				switch {
				case !allowed && got != http.StatusForbidden:
					t.Errorf("%s lacks %s but got %d", role, rt.Perm, got)
				case allowed && (got == http.StatusForbidden || got == http.StatusUnauthorized):
					t.Errorf("%s holds %s but got %d", role, rt.Perm, got)
				case got >= 500:
					t.Errorf("%s: server error %d", role, got)
				}
				if !allowed {
					var p Problem
					a.do(rt.Method, path, a.tokens[string(role)], requestBody(rt), hdr, &p)
					if p.Type != problemBase+atende.EForbidden {
						t.Errorf("%s: 403 body type %q", role, p.Type)
					}
				}
			}
		})
	}
}

// TestTenantIsolation walks every route as the admin of tenant B: every id of
// tenant A answers 404, and no list or lookup shows any of A's ids.
func TestTenantIsolation(t *testing.T) {
	a := newTestAPI(t)
	token := a.tokens["b-admin"]
	forbidden := []string{a.tenant["a"].ID}
	for _, id := range a.ids {
		forbidden = append(forbidden, id)
	}
	for _, u := range a.users {
		if u.TenantID == a.tenant["a"].ID {
			forbidden = append(forbidden, u.ID)
		}
	}
	for _, rt := range a.srv.routes {
		if rt.Public || rt.Path == "/ws" {
			continue
		}
		path := a.concrete(rt)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			resp := a.do(rt.Method, path, token, a.validBody(rt), map[string]string{"If-Match": "*"}, nil)
			// The problem's "instance" repeats the path asked for; that is no leak.
			body := strings.ReplaceAll(readAll(t, resp), path, "")
			if strings.Contains(rt.Path, "{id}") && resp.StatusCode != http.StatusNotFound {
				t.Errorf("tenant B got %d for tenant A's id, want 404: %s", resp.StatusCode, body)
			}
			for _, id := range forbidden {
				if strings.Contains(body, id) {
					t.Errorf("tenant B's response holds tenant A's id %s: %s", id, body)
				}
			}
		})
	}
	// Lookups by value must not cross tenants either.
	for _, q := range []string{
		"/contacts?q=612345678", "/contacts?q=maria", "/contacts/lookup?kind=phone&value=%2B34612345678",
		"/conversations?contact_id=" + a.ids["contact"], "/conversations?q=maria", "/conversations?q=612345678", "/users?q=agent", "/audit?entity_id=" + a.ids["queue"],
		"/events?after=0",
	} {
		resp := a.do("GET", apiPrefix+q, token, nil, nil, nil)
		body := readAll(t, resp)
		for _, id := range forbidden {
			if strings.Contains(body, id) {
				t.Errorf("GET %s as tenant B leaks tenant A's id %s", q, id)
			}
		}
	}
}

// validBody is a body the route would accept in tenant A, so that the only
// thing wrong for tenant B is whose ids it names.
func (a *testAPI) validBody(rt route) any {
	switch rt.Path {
	case "/conversations/{id}/messages":
		return map[string]any{"channel": "chat", "direction": "out", "body": "hola"}
	case "/conversations/{id}/notes":
		return map[string]any{"body": "nota"}
	case "/conversations/{id}/disposition":
		return map[string]any{"disposition_id": a.ids["disposition"]}
	case "/contacts/{id}/merge":
		return map[string]any{"source_id": atende.NewID()}
	case "/users/{id}/password":
		return map[string]any{"password": "a-long-enough-password"}
	case "/canned-responses/{id}/render":
		return map[string]any{"conversation_id": a.ids["conversation"]}
	case "/tasks/{id}/transfer":
		return map[string]any{"queue_id": a.ids["queue"]}
	case "/users/{id}/state":
		return map[string]any{"status": "available"}
	}
	return requestBody(rt)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
