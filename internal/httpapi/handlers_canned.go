package httpapi

import (
	"context"
	"net/http"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// cannedInput creates a canned response; personal ones belong to the caller.
type cannedInput struct {
	Scope    atende.CannedScope `json:"scope"` // tenant or personal
	Shortcut string             `json:"shortcut"`
	Title    string             `json:"title"`
	Body     string             `json:"body"`
	Language string             `json:"language,omitempty"`
}

type renderInput struct {
	ConversationID string `json:"conversation_id"`
}

type renderOutput struct {
	Body string `json:"body"`
}

var cannedReadOnly = append([]string{"scope", "owner_id"}, readOnlyFields...)

func (s *Server) routesCanned() {
	st := s.cfg.Store
	s.handle(route{Method: "GET", Path: "/canned-responses", Perm: atende.PermConversationsRead, Tag: "canned responses",
		Summary: "The tenant's shared canned responses and your own, by shortcut", Out: map[string][]atende.CannedResponse{}, Query: []param{
			{"q", "string", "shortcut starts with, or title or body contains (any case)"},
			{"language", "string", "only those in this language (es, pt-BR, en) or for any language"},
		},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			q := r.URL.Query()
			items, err := st.CannedResponses(r.Context(), p.TenantID, p.UserID, store.CannedFilter{Query: q.Get("q"), Language: q.Get("language")})
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": items})
		}})
	s.handle(route{Method: "POST", Path: "/canned-responses", Perm: atende.PermConversationsWrite, Tag: "canned responses",
		Summary: "Create a canned response: personal (yours) or shared by the tenant (needs config:manage)",
		In:      cannedInput{}, Out: atende.CannedResponse{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in cannedInput
			if err := decode(r, &in); err != nil {
				return err
			}
			c := atende.CannedResponse{Scope: in.Scope, Shortcut: in.Shortcut, Title: in.Title, Body: in.Body, Language: in.Language}
			if c.Scope == atende.CannedPersonal {
				c.OwnerID = p.UserID
			}
			if err := st.CreateCannedResponse(r.Context(), p.actor(r), &c, p.can(atende.PermConfigManage)); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, c, c.Version)
		}})
	s.handle(route{Method: "GET", Path: "/canned-responses/{id}", Perm: atende.PermConversationsRead, Tag: "canned responses",
		Summary: "Get a canned response (someone else's personal ones do not exist for you)", Out: atende.CannedResponse{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := st.CannedResponse(r.Context(), p.TenantID, p.UserID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/canned-responses/{id}", Perm: atende.PermConversationsWrite, Tag: "canned responses",
		Summary: "Change a canned response: your own, or a shared one with config:manage", In: atende.CannedResponse{}, Out: atende.CannedResponse{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			manage := p.can(atende.PermConfigManage)
			c, err := patchEntity(r, p, id, cannedReadOnly, func(ctx context.Context, a atende.Actor, id string, ver int64, change func(*atende.CannedResponse) error) (*atende.CannedResponse, error) {
				return st.UpdateCannedResponse(ctx, a, id, ver, manage, change)
			})
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "DELETE", Path: "/canned-responses/{id}", Perm: atende.PermConversationsWrite, Tag: "canned responses",
		Summary: "Delete a canned response: your own, or a shared one with config:manage", Status: http.StatusNoContent, Patch: true,
		handler: deleteVersioned(func(r *http.Request, p *principal, id string, ver int64) error {
			return st.DeleteCannedResponse(r.Context(), p.actor(r), id, ver, p.can(atende.PermConfigManage))
		})})
	s.handle(route{Method: "POST", Path: "/canned-responses/{id}/render", Perm: atende.PermConversationsRead, Tag: "canned responses",
		Summary: "Fill a canned response's variables from a conversation (you are the agent)", In: renderInput{}, Out: renderOutput{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in renderInput
			if err := decode(r, &in); err != nil {
				return err
			}
			body, err := st.RenderCannedResponse(r.Context(), p.TenantID, p.UserID, id, in.ConversationID)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, renderOutput{Body: body})
		}})
}
