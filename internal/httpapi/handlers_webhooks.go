package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/webhook"
)

// webhookInput is what an administrator sets on a webhook.
type webhookInput struct {
	URL string `json:"url"`
	// Events: exact types ("task.created"), prefixes ("task.*") or "*".
	Events      []string `json:"events"`
	Active      *bool    `json:"active,omitempty"` // default true
	Description string   `json:"description,omitempty"`
}

// webhookReadOnly are the fields of a webhook only the server sets.
var webhookReadOnly = append([]string{"secret", "state", "cursor", "failures", "next_attempt_at", "last_error", "last_success_at", "last_failure_at"},
	readOnlyFields...)

func (s *Server) webhookGuard() *webhook.Guard {
	if s.cfg.Webhooks != nil {
		return s.cfg.Webhooks
	}
	return &webhook.Guard{}
}

// newWebhookSecret makes a signing secret and seals it for storing.
func (s *Server) newWebhookSecret(tenantID string) (plain, sealed string, err error) {
	if s.cfg.Secrets == nil {
		return "", "", &decodeError{"unavailable", "no secret key is configured to encrypt webhook secrets (setting secret-key-file)", ""}
	}
	plain = webhook.NewSecret()
	sealed, err = s.cfg.Secrets.Seal(plain, webhook.SecretContext(tenantID))
	return plain, sealed, err
}

// optionalIfMatch reads If-Match when sent: actions may be made conditional.
func optionalIfMatch(r *http.Request) (int64, error) {
	if strings.TrimSpace(r.Header.Get("If-Match")) == "" {
		return 0, nil
	}
	return ifMatch(r)
}

func (s *Server) routesWebhooks() {
	st := s.cfg.Store
	const tag = "webhooks"
	s.handle(route{Method: "GET", Path: "/webhooks", Perm: atende.PermConfigManage, Tag: tag, Summary: "List webhooks",
		Out: store.Page[atende.Webhook]{}, Query: pageParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			page, err := st.Webhooks(r.Context(), p.TenantID, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/webhooks", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "Register a webhook; the answer holds its signing secret, shown only this once",
		In:      webhookInput{}, Out: atende.Webhook{}, Status: http.StatusCreated,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in webhookInput
			if err := decode(r, &in); err != nil {
				return err
			}
			wh := atende.Webhook{URL: in.URL, Events: in.Events, Active: true, Description: in.Description}
			if in.Active != nil {
				wh.Active = *in.Active
			}
			if err := wh.Validate(); err != nil {
				return err
			}
			if err := s.webhookGuard().CheckURL(r.Context(), wh.URL); err != nil {
				return err
			}
			plain, sealed, err := s.newWebhookSecret(p.TenantID)
			if err != nil {
				return err
			}
			if err := st.CreateWebhook(r.Context(), p.actor(r), &wh, sealed); err != nil {
				return err
			}
			wh.Secret = plain
			return writeVersioned(w, http.StatusCreated, wh, wh.Version)
		}})
	s.handle(route{Method: "GET", Path: "/webhooks/{id}", Perm: atende.PermConfigManage, Tag: tag, Summary: "Get a webhook and its delivery state",
		Out: atende.Webhook{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			wh, err := st.Webhook(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, wh, wh.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/webhooks/{id}", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "Change a webhook's url, events, active or description", In: webhookInput{}, Out: atende.Webhook{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			ver, err := ifMatch(r)
			if err != nil {
				return err
			}
			body, err := readJSONBody(r)
			if err != nil {
				return err
			}
			// A new address is checked before the transaction: resolving
			// a name must not hold the database's writer.
			var peek struct {
				URL *string `json:"url"`
			}
			if json.Unmarshal(body, &peek) == nil && peek.URL != nil {
				if err := s.webhookGuard().CheckURL(r.Context(), *peek.URL); err != nil {
					return err
				}
			}
			wh, err := st.UpdateWebhook(r.Context(), p.actor(r), id, ver, func(cur *atende.Webhook) error {
				var next atende.Webhook
				if err := applyMergePatch(body, cur, &next, webhookReadOnly); err != nil {
					return err
				}
				*cur = next
				return nil
			})
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, wh, wh.Version)
		}})
	s.handle(route{Method: "DELETE", Path: "/webhooks/{id}", Perm: atende.PermConfigManage, Tag: tag, Summary: "Delete a webhook and its delivery log",
		Status: http.StatusNoContent, Patch: true,
		handler: deleteVersioned(func(r *http.Request, p *principal, id string, ver int64) error {
			return st.DeleteWebhook(r.Context(), p.actor(r), id, ver)
		})})
	s.handle(route{Method: "POST", Path: "/webhooks/{id}/rotate-secret", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "Replace a webhook's signing secret; the answer holds the new one, shown only this once (If-Match optional)", Out: atende.Webhook{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			ver, err := optionalIfMatch(r)
			if err != nil {
				return err
			}
			plain, sealed, err := s.newWebhookSecret(p.TenantID)
			if err != nil {
				return err
			}
			wh, err := st.RotateWebhookSecret(r.Context(), p.actor(r), id, ver, sealed)
			if err != nil {
				return err
			}
			wh.Secret = plain
			return writeVersioned(w, http.StatusOK, wh, wh.Version)
		}})
	s.handle(route{Method: "POST", Path: "/webhooks/{id}/resume", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "Deliver again at once to a paused or failing webhook, from the event it stopped at (If-Match optional)", Out: atende.Webhook{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			ver, err := optionalIfMatch(r)
			if err != nil {
				return err
			}
			wh, err := st.ResumeWebhook(r.Context(), p.actor(r), id, ver)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, wh, wh.Version)
		}})
	s.handle(route{Method: "GET", Path: "/webhooks/{id}/deliveries", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "A webhook's latest delivery attempts (up to 100), newest first", Out: map[string][]atende.WebhookDelivery{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			items, err := st.WebhookDeliveries(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": items})
		}})
}
