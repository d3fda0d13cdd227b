package atende

import (
	"context"
	"encoding/json"
	"time"
)

// Event is a domain change announced on the bus: desktops and wallboards update
// from it, reports fold it, webhooks deliver it. Events are written to the store
// in the same transaction as the change they describe, so ID is a durable,
// increasing cursor per store.
type Event struct {
	ID       int64      `json:"id"`
	TenantID string     `json:"tenant_id"`
	Type     string     `json:"type"`    // e.g. conversation.created
	Subject  string     `json:"subject"` // id of the entity changed
	Perm     Permission `json:"-"`       // who may see it
	// Audience, when set, is the one user a personal event is about (an
	// offer to an agent): users without the permission to see everyone's
	// (tasks:manage) only receive personal events addressed to them.
	Audience string          `json:"audience,omitempty"`
	Data     json.RawMessage `json:"data"`
	At       time.Time       `json:"at"`
}

// Bus carries events to subscribers. The in-process implementation serves a
// single node; a NATS JetStream one serves a cluster behind the same interface.
type Bus interface {
	// Publish announces events already stored durably.
	Publish(ctx context.Context, events ...Event)
	// Subscribe delivers every later event of tenantID until ctx ends. The
	// channel is closed when the subscriber falls too far behind; it must then
	// resume from the store.
	Subscribe(ctx context.Context, tenantID string) <-chan Event
}

// AuditEntry records an administrative change: who, what, when, before/after.
type AuditEntry struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"tenant_id"`
	ActorKind string          `json:"actor_kind"`
	ActorID   string          `json:"actor_id,omitempty"`
	ActorName string          `json:"actor_name"`
	IP        string          `json:"ip,omitempty"`
	Action    string          `json:"action"` // e.g. user.update
	Entity    string          `json:"entity"` // e.g. user
	EntityID  string          `json:"entity_id"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	At        time.Time       `json:"at"`
}
