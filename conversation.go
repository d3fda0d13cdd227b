package atende

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ConversationStatus is where a conversation is in its life.
type ConversationStatus string

// Conversation statuses: open (someone must act), pending (waiting for the
// customer or a third party), resolved (done, reopens on a new message), closed
// (final; a new message opens a new conversation).
const (
	StatusOpen     ConversationStatus = "open"
	StatusPending  ConversationStatus = "pending"
	StatusResolved ConversationStatus = "resolved"
	StatusClosed   ConversationStatus = "closed"
)

// ConversationStatuses lists every status.
var ConversationStatuses = []ConversationStatus{StatusOpen, StatusPending, StatusResolved, StatusClosed}

// Conversation is a customer's thread with the tenant; it can span channels and
// carries a protocol number the customer can quote.
type Conversation struct {
	ID             string             `json:"id"`
	TenantID       string             `json:"tenant_id"`
	Protocol       string             `json:"protocol"`
	ContactID      string             `json:"contact_id"`
	Subject        string             `json:"subject"`
	Channel        Channel            `json:"channel"`  // the channel it started on
	Channels       []Channel          `json:"channels"` // every channel seen
	Status         ConversationStatus `json:"status"`
	AssigneeID     string             `json:"assignee_id,omitempty"`
	QueueID        string             `json:"queue_id,omitempty"`
	Priority       int                `json:"priority"`
	Tags           []string           `json:"tags"`
	DispositionID  string             `json:"disposition_id,omitempty"`
	LastEventSeq   int64              `json:"last_event_seq"`
	LastActivityAt time.Time          `json:"last_activity_at"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	ClosedAt       *time.Time         `json:"closed_at,omitempty"`
	Version        int64              `json:"version"`
}

// MaxPriority bounds conversation and task priority (higher is more urgent).
const MaxPriority = 100

// Validate checks the conversation's own fields.
func (c *Conversation) Validate() error {
	c.Subject = strings.TrimSpace(c.Subject)
	if utf8.RuneCountInString(c.Subject) > 500 || !utf8.ValidString(c.Subject) {
		return FieldError("subject", "must be valid text of at most 500 characters")
	}
	if !ValidID(c.ContactID) {
		return FieldError("contact_id", "is required")
	}
	if !ValidChannel(c.Channel) {
		return FieldError("channel", "must be one of voice, chat, email, sms, social")
	}
	if c.Status == "" {
		c.Status = StatusOpen
	}
	if !slices.Contains(ConversationStatuses, c.Status) {
		return FieldError("status", "must be open, pending, resolved or closed")
	}
	if c.Priority < 0 || c.Priority > MaxPriority {
		return FieldError("priority", "must be between 0 and %d", MaxPriority)
	}
	if c.QueueID != "" && !ValidID(c.QueueID) {
		return FieldError("queue_id", "is not an id")
	}
	if c.AssigneeID != "" && !ValidID(c.AssigneeID) {
		return FieldError("assignee_id", "is not an id")
	}
	tags, err := NormalizeTags(c.Tags)
	if err != nil {
		return err
	}
	c.Tags = tags
	return nil
}

// FormatProtocol builds the protocol number customers quote: the date the
// conversation opened in the tenant's time zone and the tenant's running
// sequence, e.g. 20261125-000042. The sequence never restarts, so the number is
// unique per tenant on its own; the date helps people read and dictate it.
func FormatProtocol(opened time.Time, loc *time.Location, seq int64) string {
	return fmt.Sprintf("%s-%06d", opened.In(loc).Format("20060102"), seq)
}

// EventKind is the kind of an entry in a conversation's timeline.
type EventKind string

// Timeline entry kinds.
const (
	KindMessage     EventKind = "message"     // customer or agent message on a channel
	KindNote        EventKind = "note"        // internal note, never shown to the customer
	KindStatus      EventKind = "status"      // status change
	KindAssignment  EventKind = "assignment"  // assignee or queue change
	KindDisposition EventKind = "disposition" // wrap-up code set
	KindTags        EventKind = "tags"        // tags changed
)

// Direction of a message.
const (
	DirectionIn  = "in"  // from the customer
	DirectionOut = "out" // to the customer
)

// TimelineEvent is one entry in a conversation's ordered timeline. Seq orders
// entries within the conversation without gaps.
type TimelineEvent struct {
	ID             string          `json:"id"`
	TenantID       string          `json:"tenant_id"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	Kind           EventKind       `json:"kind"`
	Channel        Channel         `json:"channel,omitempty"`
	Direction      string          `json:"direction,omitempty"`
	AuthorKind     string          `json:"author_kind"` // contact, user, system
	AuthorID       string          `json:"author_id,omitempty"`
	Body           string          `json:"body,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
	ClientID       string          `json:"client_id,omitempty"` // sender's id, for de-duplication
	CreatedAt      time.Time       `json:"created_at"`
}

// MaxBodyLen bounds one message or note body (1 MiB of text).
const MaxBodyLen = 1 << 20

// ValidateMessage checks a message or note before it is appended.
func (e *TimelineEvent) ValidateMessage() error {
	switch e.Kind {
	case KindMessage:
		if !ValidChannel(e.Channel) {
			return FieldError("channel", "must be one of voice, chat, email, sms, social")
		}
		if e.Direction != DirectionIn && e.Direction != DirectionOut {
			return FieldError("direction", "must be in or out")
		}
	case KindNote:
		e.Channel, e.Direction = "", ""
	default:
		return FieldError("kind", "must be message or note")
	}
	if !utf8.ValidString(e.Body) {
		return FieldError("body", "is not valid UTF-8")
	}
	if strings.TrimSpace(e.Body) == "" {
		return FieldError("body", "is required")
	}
	if len(e.Body) > MaxBodyLen {
		return FieldError("body", "is longer than %d bytes", MaxBodyLen)
	}
	if len(e.ClientID) > 100 || !utf8.ValidString(e.ClientID) {
		return FieldError("client_id", "is at most 100 characters")
	}
	return nil
}

// Disposition is a wrap-up code an agent sets when a contact ends.
type Disposition struct {
	ID          string            `json:"id"`
	TenantID    string            `json:"tenant_id"`
	Code        string            `json:"code"`
	Labels      map[string]string `json:"labels"`
	Category    string            `json:"category,omitempty"` // e.g. sale, complaint, info
	Resolves    bool              `json:"resolves"`           // setting it resolves the conversation
	RequireNote bool              `json:"require_note"`
	Active      bool              `json:"active"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Version     int64             `json:"version"`
}

// Validate checks the disposition's fields.
func (d *Disposition) Validate() error {
	if err := validateCode(&d.Code); err != nil {
		return err
	}
	if utf8.RuneCountInString(d.Category) > 64 {
		return FieldError("category", "is longer than 64 characters")
	}
	return validateLabels(d.Labels)
}
