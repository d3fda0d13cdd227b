package store

import (
	"context"
	"encoding/json"

	"github.com/atende/atende"
)

// AuditFilter narrows the audit log; empty fields match everything.
type AuditFilter struct {
	Entity   string // e.g. "queue"
	EntityID string
	ActorID  string
}

// AuditLog lists the tenant's audit entries newest first. The cursor is the
// id of the last entry seen: ids are time-ordered, so older entries have
// smaller ids.
func (s *Store) AuditLog(ctx context.Context, tenantID string, f AuditFilter, o ListOptions) (Page[atende.AuditEntry], error) {
	before, limit, err := o.bounds()
	if err != nil {
		return Page[atende.AuditEntry]{}, err
	}
	query := `SELECT id, tenant_id, actor_kind, actor_id, actor_name, ip, action, entity, entity_id, before_json, after_json, at
		FROM audit_log WHERE tenant_id = ?`
	args := []any{tenantID}
	// Each filter adds a fixed clause, so there are few distinct query texts.
	if f.Entity != "" {
		query += ` AND entity = ?`
		args = append(args, f.Entity)
	}
	if f.EntityID != "" {
		query += ` AND entity_id = ?`
		args = append(args, f.EntityID)
	}
	if f.ActorID != "" {
		query += ` AND actor_id = ?`
		args = append(args, f.ActorID)
	}
	if before != "" {
		query += ` AND id < ?`
		args = append(args, before)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	var items []atende.AuditEntry
	err = s.read("audit.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e atende.AuditEntry
			var b, a string
			if err := rows.Scan(&e.ID, &e.TenantID, &e.ActorKind, &e.ActorID, &e.ActorName, &e.IP, &e.Action, &e.Entity, &e.EntityID, &b, &a, &e.At); err != nil {
				return err
			}
			e.Before, e.After, e.At = rawJSON(b), rawJSON(a), e.At.UTC()
			items = append(items, e)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.AuditEntry]{}, err
	}
	return paginate(items, limit, func(e atende.AuditEntry) string { return e.ID }), nil
}

// rawJSON returns a JSON TEXT column as raw JSON, nil when empty or "null".
func rawJSON(s string) json.RawMessage {
	if s == "" || s == "null" {
		return nil
	}
	return json.RawMessage(s)
}
