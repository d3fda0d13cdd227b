package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

var contactReadOnly = append([]string{"merged_into"}, readOnlyFields...)

type mergeInput struct {
	// SourceID is the contact merged away into the one in the path.
	SourceID string `json:"source_id"`
}

func (s *Server) routesContacts() {
	st := s.cfg.Store
	s.handle(route{Method: "GET", Path: "/contacts", Perm: atende.PermContactsRead, Tag: "contacts", Summary: "Search contacts",
		Out: store.Page[atende.Contact]{}, Query: append([]param{
			{"q", "string", "name contains, or an identity (phone in any usual format, email, handle)"},
			{"tag", "string", "only contacts with this tag"},
			{"include_merged", "boolean", "also list contacts merged into others"},
		}, pageParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			page, err := st.Contacts(r.Context(), p.TenantID, store.ContactFilter{Query: q.Get("q"), Tag: q.Get("tag"), IncludeMerged: q.Get("include_merged") == "true"}, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/contacts", Perm: atende.PermContactsWrite, Tag: "contacts", Summary: "Create a contact with identities, custom fields and tags",
		In: atende.Contact{}, Out: atende.Contact{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var c atende.Contact
			if err := decodeCreate(r, &c, contactReadOnly); err != nil {
				return err
			}
			if err := st.CreateContact(r.Context(), p.actor(r), &c); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, c, c.Version)
		}})
	s.handle(route{Method: "GET", Path: "/contacts/lookup", Perm: atende.PermContactsRead, Tag: "contacts", Summary: "Find the contact with an identity",
		Out: atende.Contact{}, Query: []param{
			{"kind", "string", "phone, email, chat or social"},
			{"network", "string", "social network, for social identities"},
			{"value", "string", "the address, in any usual format"},
		},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			q := r.URL.Query()
			c, err := st.ContactByIdentity(r.Context(), p.TenantID, atende.IdentityKind(q.Get("kind")), q.Get("network"), q.Get("value"))
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "GET", Path: "/contacts/{id}", Perm: atende.PermContactsRead, Tag: "contacts", Summary: "Get a contact", Out: atende.Contact{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := st.Contact(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/contacts/{id}", Perm: atende.PermContactsWrite, Tag: "contacts",
		Summary: "Change a contact (JSON merge patch: fields merge key by key, null removes)", In: atende.Contact{}, Out: atende.Contact{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := patchEntity(r, p, id, contactReadOnly, st.UpdateContact)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "POST", Path: "/contacts/{id}/merge", Perm: atende.PermContactsMerge, Tag: "contacts",
		Summary: "Merge another contact into this one (identities and conversations move here; reversible)", In: mergeInput{}, Out: atende.ContactMerge{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in mergeInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if !atende.ValidID(in.SourceID) {
				return atende.FieldError("source_id", "is not a contact of this tenant")
			}
			m, err := st.MergeContacts(r.Context(), p.actor(r), id, in.SourceID)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, m)
		}})
	s.handle(route{Method: "GET", Path: "/contacts/{id}/merges", Perm: atende.PermContactsRead, Tag: "contacts", Summary: "Merges this contact took part in, newest first",
		Out: []atende.ContactMerge{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if _, err := st.Contact(r.Context(), p.TenantID, id); err != nil {
				return err
			}
			m, err := st.ContactMerges(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			if m == nil {
				m = []atende.ContactMerge{}
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": m})
		}})
	s.handle(route{Method: "GET", Path: "/contacts/{id}/timeline", Perm: atende.PermConversationsRead, Tag: "contacts",
		Summary: "The customer's unified history: every timeline entry of every conversation of the contact, on all channels, newest first",
		Out:     store.ContactTimelinePage{}, Query: []param{
			{"before", "string", "next of the previous page: entries older than it"},
			{"limit", "integer", "entries per page, 1-200 (default 50)"},
		},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			o := store.ListOptions{Cursor: r.URL.Query().Get("before")}
			if l := r.URL.Query().Get("limit"); l != "" {
				if o.Limit, err = strconv.Atoi(l); err != nil {
					return atende.FieldError("limit", "must be a number")
				}
			}
			page, err := st.ContactTimeline(r.Context(), p.TenantID, id, o)
			if err != nil {
				var e *atende.Error
				if errors.As(err, &e) && e.Field == "cursor" {
					return atende.FieldError("before", "%s", e.Message)
				}
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/contact-merges/{id}/undo", Perm: atende.PermContactsMerge, Tag: "contacts", Summary: "Undo a merge; returns the restored contact",
		Out: atende.Contact{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := st.UndoMerge(r.Context(), p.actor(r), id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
}
