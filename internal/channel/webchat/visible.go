package webchat

import (
	"encoding/json"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// Message is a timeline entry as the visitor sees it: no internal ids of
// agents, no notes, no system entries.
type Message struct {
	Seq       int64     `json:"seq"`
	Direction string    `json:"direction"` // in: the visitor's; out: the agent's
	Author    string    `json:"author"`    // visitor or agent
	Body      string    `json:"body"`
	ClientID  string    `json:"client_id,omitempty"`
	At        time.Time `json:"at"`
	// Attachments are the files the message carries (either side's); the
	// visitor downloads them from /chat/files/{id}.
	Attachments []store.Attachment `json:"attachments,omitempty"`
}

// Visible picks what a customer may see of a timeline: messages in either
// direction; never notes, status, assignment or other system entries.
func Visible(events []atende.TimelineEvent) []Message {
	out := []Message{}
	for _, e := range events {
		if m, ok := VisibleOne(e); ok {
			out = append(out, m)
		}
	}
	return out
}

// VisibleOne is Visible for one entry.
func VisibleOne(e atende.TimelineEvent) (Message, bool) {
	if e.Kind != atende.KindMessage || (e.AuthorKind != "contact" && e.AuthorKind != "user") {
		return Message{}, false
	}
	m := Message{Seq: e.Seq, Direction: e.Direction, Author: "agent", Body: e.Body, At: e.CreatedAt, Attachments: store.AttachmentsOf(e.Data)}
	if e.Direction == atende.DirectionIn {
		m.Author, m.ClientID = "visitor", e.ClientID
	}
	return m, true
}

// Transient event types: carried on the bus with ID 0, never stored.
const (
	EventTyping = "chat.typing"
)

// Typing is the data of a chat.typing event.
type Typing struct {
	ConversationID string `json:"conversation_id"`
	Side           string `json:"side"` // visitor or agent
	AgentID        string `json:"agent_id,omitempty"`
	Typing         bool   `json:"typing"`
}

// TypingEvent builds the transient event announcing that one side types.
func TypingEvent(tenantID string, t Typing, now time.Time) atende.Event {
	b, _ := json.Marshal(t)
	return atende.Event{TenantID: tenantID, Type: EventTyping, Subject: t.ConversationID, Perm: atende.PermConversationsRead, Data: b, At: now}
}
