package store

import (
	"context"
	"time"

	"github.com/atende/atende"
)

// Events returns the tenant's stored events with id greater than afterID, in
// order, at most limit. A WebSocket client resumes from the last id it saw.
func (s *Store) Events(ctx context.Context, tenantID string, afterID int64, limit int) ([]atende.Event, error) {
	return s.events(ctx, "event.list", `WHERE tenant_id = ? AND id > ?`, tenantID, afterID, limit)
}

// events reads the stored events a condition selects, in id order; the last
// argument is the limit.
func (s *Store) events(ctx context.Context, kind, where string, args ...any) ([]atende.Event, error) {
	out := []atende.Event{}
	err := s.read(kind, func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT id, tenant_id, type, subject, perm, audience, data, at FROM events `+where+` ORDER BY id LIMIT ?`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e atende.Event
			var data string
			if err := rows.Scan(&e.ID, &e.TenantID, &e.Type, &e.Subject, &e.Perm, &e.Audience, &data, &e.At); err != nil {
				return err
			}
			e.Data = []byte(data)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// LastEventID returns the id of the tenant's latest event, 0 when none.
func (s *Store) LastEventID(ctx context.Context, tenantID string) (int64, error) {
	var id int64
	err := s.read("event.last", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?`), tenantID).Scan(&id)
	})
	return id, err
}

// IdempotentResponse is the stored outcome of a create sent with an
// Idempotency-Key.
type IdempotentResponse struct {
	RequestHash string
	Status      int // 0 while the first request is still running
	Body        []byte
}

// ReserveIdempotencyKey claims key for a request. It returns nil when the key
// is new (the caller must then Complete or Release it), or the stored
// response of the earlier request with that key.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, tenantID, principal, key, requestHash string) (*IdempotentResponse, error) {
	err := s.write(ctx, "idempotency.reserve", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, 0, '', ?)`,
			tenantID, principal, key, requestHash, tx.now)
		return err
	})
	if err == nil {
		return nil, nil
	}
	if atende.ErrorCode(err) != atende.EConflict {
		return nil, err
	}
	var r IdempotentResponse
	var body string
	err = s.read("idempotency.get", func() error {
		return s.wdb.QueryRowContext(ctx, s.q(`SELECT request_hash, status, response FROM idempotency_keys WHERE tenant_id = ? AND principal = ? AND key = ?`),
			tenantID, principal, key).Scan(&r.RequestHash, &r.Status, &body)
	})
	r.Body = []byte(body)
	return &r, err
}

// CompleteIdempotencyKey stores the response of the request that reserved key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, tenantID, principal, key string, status int, body []byte) error {
	return s.write(ctx, "idempotency.complete", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE idempotency_keys SET status = ?, response = ? WHERE tenant_id = ? AND principal = ? AND key = ?`, status, string(body), tenantID, principal, key)
		return err
	})
}

// ReleaseIdempotencyKey forgets a reservation whose request failed without
// changing anything, so the client may retry with the same key.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, tenantID, principal, key string) error {
	return s.write(ctx, "idempotency.release", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM idempotency_keys WHERE tenant_id = ? AND principal = ? AND key = ? AND status = 0`, tenantID, principal, key)
		return err
	})
}

// PruneIdempotencyKeys forgets keys older than maxAge.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, maxAge time.Duration) error {
	return s.write(ctx, "idempotency.prune", atende.Actor{Kind: "system"}, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM idempotency_keys WHERE created_at < ?`, tx.now.Add(-maxAge))
		return err
	})
}
