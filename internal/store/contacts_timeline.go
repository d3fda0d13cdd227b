package store

import (
	"context"
	"time"

	"github.com/atende/atende"
)

// ConversationSummary is what the contact's unified history shows of the
// conversation an entry belongs to.
type ConversationSummary struct {
	ID        string                    `json:"id"`
	Protocol  string                    `json:"protocol"`
	Channel   atende.Channel            `json:"channel"`
	Subject   string                    `json:"subject"`
	Status    atende.ConversationStatus `json:"status"`
	CreatedAt time.Time                 `json:"created_at"`
}

// ContactTimelineItem is one timeline entry with its conversation.
type ContactTimelineItem struct {
	Event        atende.TimelineEvent `json:"event"`
	Conversation ConversationSummary  `json:"conversation"`
}

// ContactTimelinePage is one page of a contact's unified history and the
// cursor of the next (older) one, empty at the end.
type ContactTimelinePage struct {
	Items []ContactTimelineItem `json:"items"`
	Next  string                `json:"next,omitempty"`
}

// ContactTimeline returns every timeline entry of every conversation of a
// contact of the tenant, on all channels, newest first. o.Cursor is the Next
// of the previous page. Each page is one range of the
// conversation_events_contact index joined to its conversations.
func (s *Store) ContactTimeline(ctx context.Context, tenantID, contactID string, o ListOptions) (ContactTimelinePage, error) {
	before, limit, err := o.bounds()
	if err != nil {
		return ContactTimelinePage{}, err
	}
	query := contactTimelineQuery(before != "")
	args := []any{tenantID, contactID}
	if before != "" {
		args = append(args, before)
	}
	args = append(args, limit+1)
	var items []ContactTimelineItem
	err = s.read("contact.timeline", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it ContactTimelineItem
			e, cs := &it.Event, &it.Conversation
			var data string
			var clientID *string
			if err := rows.Scan(&e.ID, &e.TenantID, &e.ConversationID, &e.Seq, &e.Kind, &e.Channel, &e.Direction, &e.AuthorKind, &e.AuthorID, &e.Body, &data, &clientID, &e.CreatedAt,
				&cs.Protocol, &cs.Channel, &cs.Subject, &cs.Status, &cs.CreatedAt); err != nil {
				return err
			}
			if data != "" {
				e.Data = []byte(data)
			}
			if clientID != nil {
				e.ClientID = *clientID
			}
			e.CreatedAt, cs.CreatedAt = e.CreatedAt.UTC(), cs.CreatedAt.UTC()
			cs.ID = e.ConversationID
			items = append(items, it)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(items) > 0 {
			return nil
		}
		// Nothing to show: an unknown contact is not found, a quiet one is
		// an empty history.
		_, err = s.contact(ctx, s.rdb, tenantID, contactID, "")
		return err
	})
	if err != nil {
		return ContactTimelinePage{}, err
	}
	return ContactTimelinePage(paginate(items, limit, func(it ContactTimelineItem) string { return it.Event.ID })), nil
}

// contactTimelineQuery selects a page of a contact's entries with their
// conversations; its arguments are tenant, contact, the id to list before
// (when before) and the limit.
func contactTimelineQuery(before bool) string {
	query := `SELECT e.id, e.tenant_id, e.conversation_id, e.seq, e.kind, e.channel, e.direction, e.author_kind, e.author_id, e.body, e.data, e.client_id, e.created_at,
		c.protocol, c.channel, c.subject, c.status, c.created_at
		FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id AND c.tenant_id = e.tenant_id
		WHERE e.tenant_id = ? AND e.contact_id = ?`
	if before {
		query += ` AND e.id < ?`
	}
	return query + ` ORDER BY e.id DESC LIMIT ?`
}
