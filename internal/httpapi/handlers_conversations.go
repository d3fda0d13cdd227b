package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// messageInput is a message or note to append to a timeline.
type messageInput struct {
	Channel   atende.Channel `json:"channel,omitempty"`   // messages only
	Direction string         `json:"direction,omitempty"` // in (from the customer) or out; default out
	Body      string         `json:"body"`
	// ClientID is the sender's own id for this message: resending it is harmless.
	ClientID string `json:"client_id,omitempty"`
	// Data carries channel details (attachments, delivery ids) as given.
	Data map[string]any `json:"data,omitempty"`
	// Attachments are ids of uploaded files (POST /media), at most 10; the
	// body may then be empty. They are kept in data.attachments.
	Attachments []string `json:"attachments,omitempty"`
}

// conversationInput opens a conversation.
type conversationInput struct {
	// ContactID, or Contact to find or create the contact by an identity.
	ContactID   string                    `json:"contact_id,omitempty"`
	Contact     *atende.Identity          `json:"contact,omitempty"`
	ContactName string                    `json:"contact_name,omitempty"`
	Subject     string                    `json:"subject,omitempty"`
	Channel     atende.Channel            `json:"channel"`
	Status      atende.ConversationStatus `json:"status,omitempty"`
	QueueID     string                    `json:"queue_id,omitempty"`
	AssigneeID  string                    `json:"assignee_id,omitempty"`
	Priority    int                       `json:"priority,omitempty"`
	Tags        []string                  `json:"tags,omitempty"`
	Message     *messageInput             `json:"message,omitempty"`
}

type dispositionInput struct {
	DispositionID string `json:"disposition_id"`
	Note          string `json:"note,omitempty"`
}

// appendResult is an appended timeline entry; Created is false when the
// client_id had been stored before and nothing new was written.
type appendResult struct {
	Event   *atende.TimelineEvent `json:"event"`
	Created bool                  `json:"created"`
}

var conversationReadOnly = append([]string{"protocol", "contact_id", "channel", "channels", "disposition_id", "last_event_seq", "last_activity_at", "closed_at"}, readOnlyFields...)

func (m *messageInput) event(kind atende.EventKind) (*atende.TimelineEvent, error) {
	e := &atende.TimelineEvent{Kind: kind, Channel: m.Channel, Direction: m.Direction, Body: m.Body, ClientID: m.ClientID}
	if kind == atende.KindMessage && e.Direction == "" {
		e.Direction = atende.DirectionOut
	}
	if kind == atende.KindNote && (m.Channel != "" || m.Direction != "") {
		return nil, atende.FieldError("channel", "notes are internal and have no channel or direction")
	}
	if m.Data != nil {
		b, err := json.Marshal(m.Data)
		if err != nil {
			return nil, atende.FieldError("data", "is not encodable")
		}
		e.Data = b
	}
	return e, nil
}

func (s *Server) routesConversations() {
	st := s.cfg.Store
	s.handle(route{Method: "GET", Path: "/conversations", Perm: atende.PermConversationsRead, Tag: "conversations", Summary: "List conversations, newest first",
		Out: store.Page[atende.Conversation]{}, Query: append([]param{
			{"status", "string", "open, pending, resolved or closed"},
			{"assignee_id", "string", "assigned to this user"},
			{"queue_id", "string", "in this queue"},
			{"contact_id", "string", "of this contact (the customer's history)"},
			{"channel", "string", "that used this channel"},
			{"tag", "string", "with this tag"},
			{"protocol", "string", "with this protocol number"},
			{"q", "string", "search: protocol number (exact or its start), subject, or the contact's name, email or phone (contains, any case)"},
		}, pageParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			page, err := st.Conversations(r.Context(), p.TenantID, store.ConversationFilter{
				Status: atende.ConversationStatus(q.Get("status")), AssigneeID: q.Get("assignee_id"), QueueID: q.Get("queue_id"),
				ContactID: q.Get("contact_id"), Channel: atende.Channel(q.Get("channel")), Tag: q.Get("tag"), Protocol: q.Get("protocol"),
				Query: q.Get("q"),
			}, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/conversations", Perm: atende.PermConversationsWrite, Tag: "conversations",
		Summary: "Open a conversation, optionally with its first message; gets a protocol number",
		In:      conversationInput{}, Out: atende.Conversation{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in conversationInput
			if err := decode(r, &in); err != nil {
				return err
			}
			ctx := r.Context()
			switch {
			case in.ContactID != "" && in.Contact != nil:
				return atende.FieldError("contact", "send contact_id or contact, not both")
			case in.Contact != nil:
				c, _, err := st.FindOrCreateContact(ctx, p.actor(r), *in.Contact, in.ContactName)
				if err != nil {
					return err
				}
				in.ContactID = c.ID
			case !atende.ValidID(in.ContactID):
				return atende.FieldError("contact_id", "is required (or send contact with an identity)")
			}
			c := atende.Conversation{ContactID: in.ContactID, Subject: in.Subject, Channel: in.Channel, Status: in.Status,
				QueueID: in.QueueID, AssigneeID: in.AssigneeID, Priority: in.Priority, Tags: in.Tags}
			var first *atende.TimelineEvent
			if in.Message != nil {
				if in.Message.Channel == "" {
					in.Message.Channel = in.Channel
				}
				var err error
				if first, err = in.Message.event(atende.KindMessage); err != nil {
					return err
				}
			}
			if err := st.CreateConversation(ctx, p.actor(r), &c, first); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, c, c.Version)
		}})
	s.handle(route{Method: "GET", Path: "/conversations/{id}", Perm: atende.PermConversationsRead, Tag: "conversations", Summary: "Get a conversation",
		Out: atende.Conversation{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := st.Conversation(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/conversations/{id}", Perm: atende.PermConversationsWrite, Tag: "conversations",
		Summary: "Change subject, status, assignee, queue, priority or tags", In: atende.Conversation{}, Out: atende.Conversation{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			c, err := patchEntity(r, p, id, conversationReadOnly, st.UpdateConversation)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
	s.handle(route{Method: "GET", Path: "/conversations/{id}/events", Perm: atende.PermConversationsRead, Tag: "conversations",
		Summary: "The conversation's timeline in order", Out: map[string][]atende.TimelineEvent{}, Query: []param{
			{"after_seq", "integer", "only entries after this sequence number"},
			{"limit", "integer", "at most this many entries, 1-500 (default 100)"},
		},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			after, err := queryInt(r, "after_seq", 0)
			if err != nil {
				return err
			}
			limit, err := queryInt(r, "limit", 100)
			if err != nil {
				return err
			}
			if limit < 1 {
				return atende.FieldError("limit", "must be between 1 and 500")
			}
			evs, err := st.Timeline(r.Context(), p.TenantID, id, int64(after), limit)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": evs})
		}})
	for _, kind := range []atende.EventKind{atende.KindMessage, atende.KindNote} {
		summary := "Send or record a message (client_id makes resending safe)"
		path := "/conversations/{id}/messages"
		if kind == atende.KindNote {
			summary, path = "Add an internal note", "/conversations/{id}/notes"
		}
		s.handle(route{Method: "POST", Path: path, Perm: atende.PermConversationsWrite, Tag: "conversations", Summary: summary,
			In: messageInput{}, Out: appendResult{}, Status: http.StatusCreated,
			handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				var in messageInput
				if err := decode(r, &in); err != nil {
					return err
				}
				e, err := in.event(kind)
				if err != nil {
					return err
				}
				if err := in.attach(r.Context(), st, p.TenantID, e); err != nil {
					return err
				}
				out, created, err := st.AppendMessage(r.Context(), p.actor(r), id, e)
				if err != nil {
					return err
				}
				status := http.StatusCreated
				if !created {
					status = http.StatusOK
				}
				return writeJSON(w, status, appendResult{Event: out, Created: created})
			}})
	}
	s.handle(route{Method: "POST", Path: "/conversations/{id}/disposition", Perm: atende.PermConversationsWrite, Tag: "conversations",
		Summary: "Set the wrap-up code (disposition), with a note when it requires one", In: dispositionInput{}, Out: atende.Conversation{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in dispositionInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if !atende.ValidID(in.DispositionID) {
				return atende.FieldError("disposition_id", "is not an active disposition of this tenant")
			}
			c, err := st.SetDisposition(r.Context(), p.actor(r), id, in.DispositionID, in.Note)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, c, c.Version)
		}})
}

// queryInt reads an integer query parameter.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, atende.FieldError(name, "must be a whole number")
	}
	return n, nil
}
