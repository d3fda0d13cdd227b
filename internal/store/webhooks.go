package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
)

var errWebhookNotFound = atende.Errorf(atende.ENotFound, "webhook not found")

// Webhook events are for those who may manage webhooks: a URL may carry an
// integrator's token, so they are not announced with config:read.

// ErrWebhookLeaseLost is returned when a delivery is recorded by a worker
// whose lease on the webhook has passed to another.
var ErrWebhookLeaseLost = errors.New("webhook lease lost: another worker delivers this webhook")

// MaxWebhookDeliveries is how many of a webhook's latest attempts are kept.
const MaxWebhookDeliveries = 100

const webhookCols = `id, tenant_id, url, events, active, description, state, last_event_id, failures, next_attempt_at, last_error,
	last_success_at, last_failure_at, created_at, updated_at, version`

func scanWebhook(row interface{ Scan(...any) error }, extra ...any) (*atende.Webhook, error) {
	var w atende.Webhook
	var events string
	var next time.Time
	var ok, failed sql.NullTime
	dest := append([]any{&w.ID, &w.TenantID, &w.URL, &events, &w.Active, &w.Description, &w.State, &w.Cursor, &w.Failures, &next, &w.LastError,
		&ok, &failed, &w.CreatedAt, &w.UpdatedAt, &w.Version}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errWebhookNotFound
		}
		return nil, err
	}
	if err := fromJSON(events, &w.Events); err != nil {
		return nil, err
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	if w.State != atende.WebhookHealthy {
		next = next.UTC()
		w.NextAttemptAt = &next
	}
	w.LastSuccessAt, w.LastFailureAt = timePtr(ok), timePtr(failed)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

// CreateWebhook stores a new webhook in the actor's tenant with its signing
// secret already sealed. It receives the events stored after it.
func (s *Store) CreateWebhook(ctx context.Context, a atende.Actor, w *atende.Webhook, sealedSecret string) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if sealedSecret == "" {
		return errors.New("create webhook: no sealed secret")
	}
	return s.write(ctx, "webhook.create", a, func(tx *tx) error {
		var last int64
		if err := tx.queryRow(`SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?`, a.TenantID).Scan(&last); err != nil {
			return err
		}
		w.ID, w.TenantID, w.State, w.Cursor, w.Failures, w.LastError = atende.NewID(), a.TenantID, atende.WebhookHealthy, last, 0, ""
		w.NextAttemptAt, w.LastSuccessAt, w.LastFailureAt = nil, nil, nil
		w.CreatedAt, w.UpdatedAt, w.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO webhooks (`+webhookCols+`, secret, lease_holder, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`,
			w.ID, w.TenantID, w.URL, jsonText(w.Events), w.Active, w.Description, w.State, w.Cursor, w.Failures, tx.now, w.LastError,
			nil, nil, w.CreatedAt, w.UpdatedAt, w.Version, sealedSecret, time.Unix(0, 0).UTC()); err != nil {
			return err
		}
		return tx.change("webhook.created", "webhook", w.ID, atende.PermConfigManage, nil, w)
	})
}

// Webhook returns a webhook of the tenant, without its secret.
func (s *Store) Webhook(ctx context.Context, tenantID, id string) (*atende.Webhook, error) {
	var w *atende.Webhook
	err := s.read("webhook.get", func() (err error) {
		w, err = scanWebhook(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return w, err
}

// Webhooks lists the tenant's webhooks by id.
func (s *Store) Webhooks(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Webhook], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Webhook]{}, err
	}
	var items []atende.Webhook
	err = s.read("webhook.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				return err
			}
			items = append(items, *w)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Webhook]{}, err
	}
	return paginate(items, limit, func(w atende.Webhook) string { return w.ID }), nil
}

// lockWebhook reads a webhook of the actor's tenant for a change and checks
// the version the change is conditional on.
func (tx *tx) lockWebhook(id string, ifVersion int64) (*atende.Webhook, error) {
	w, err := scanWebhook(tx.queryRow(`SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`+tx.rowLock(), tx.actor.TenantID, id))
	if err != nil {
		return nil, err
	}
	return w, checkVersion(ifVersion, w.Version)
}

// UpdateWebhook applies change to the settings of a webhook of the actor's
// tenant (url, events, active, description); its delivery state is the
// worker's and stays as it is.
func (s *Store) UpdateWebhook(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Webhook) error) (*atende.Webhook, error) {
	var out *atende.Webhook
	err := s.write(ctx, "webhook.update", a, func(tx *tx) error {
		before, err := tx.lockWebhook(id, ifVersion)
		if err != nil {
			return err
		}
		w := *before
		w.Events = append([]string(nil), before.Events...)
		if err := change(&w); err != nil {
			return err
		}
		if err := w.Validate(); err != nil {
			return err
		}
		// Only the settings come from change.
		next := *before
		next.URL, next.Events, next.Active, next.Description = w.URL, w.Events, w.Active, w.Description
		next.Secret = ""
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errWebhookNotFound, `UPDATE webhooks SET url = ?, events = ?, active = ?, description = ?, updated_at = ?, version = ?
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			next.URL, jsonText(next.Events), next.Active, next.Description, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return err
		}
		out = &next
		return tx.change("webhook.updated", "webhook", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// DeleteWebhook removes a webhook and its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "webhook.delete", a, func(tx *tx) error {
		before, err := tx.lockWebhook(id, ifVersion)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?`, a.TenantID, id); err != nil {
			return err
		}
		if err := tx.execOne(errWebhookNotFound, `DELETE FROM webhooks WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		if err := tx.audit("webhook.deleted", "webhook", id, before, nil); err != nil {
			return err
		}
		return tx.emit("webhook.deleted", id, atende.PermConfigManage, before)
	})
}

// RotateWebhookSecret replaces a webhook's signing secret with a new sealed
// one; deliveries from then on are signed with it.
func (s *Store) RotateWebhookSecret(ctx context.Context, a atende.Actor, id string, ifVersion int64, sealedSecret string) (*atende.Webhook, error) {
	if sealedSecret == "" {
		return nil, errors.New("rotate webhook secret: no sealed secret")
	}
	var out *atende.Webhook
	err := s.write(ctx, "webhook.rotate_secret", a, func(tx *tx) error {
		before, err := tx.lockWebhook(id, ifVersion)
		if err != nil {
			return err
		}
		next := *before
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errWebhookNotFound, `UPDATE webhooks SET secret = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			sealedSecret, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return err
		}
		out = &next
		return tx.change("webhook.secret_rotated", "webhook", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// ResumeWebhook makes a paused or failing webhook deliver again at once,
// from the event it stopped at.
func (s *Store) ResumeWebhook(ctx context.Context, a atende.Actor, id string, ifVersion int64) (*atende.Webhook, error) {
	var out *atende.Webhook
	err := s.write(ctx, "webhook.resume", a, func(tx *tx) error {
		before, err := tx.lockWebhook(id, ifVersion)
		if err != nil {
			return err
		}
		next := *before
		next.State, next.Failures, next.NextAttemptAt = atende.WebhookHealthy, 0, nil
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errWebhookNotFound, `UPDATE webhooks SET state = ?, failures = 0, next_attempt_at = ?, updated_at = ?, version = ?
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			next.State, tx.now, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return err
		}
		out = &next
		return tx.change("webhook.resumed", "webhook", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// WebhookDeliveries returns a webhook's latest delivery attempts, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, tenantID, id string) ([]atende.WebhookDelivery, error) {
	if _, err := s.Webhook(ctx, tenantID, id); err != nil {
		return nil, err
	}
	out := []atende.WebhookDelivery{}
	err := s.read("webhook.deliveries", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT id, event_id, event_type, status_code, duration_ms, error, at FROM webhook_deliveries
			WHERE tenant_id = ? AND webhook_id = ? ORDER BY id DESC LIMIT ?`), tenantID, id, MaxWebhookDeliveries)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d atende.WebhookDelivery
			var rowID int64
			if err := rows.Scan(&rowID, &d.EventID, &d.EventType, &d.StatusCode, &d.DurationMs, &d.Error, &d.At); err != nil {
				return err
			}
			d.ID, d.At = strconv.FormatInt(rowID, 10), d.At.UTC()
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// WebhookClaim is a webhook a worker holds the lease of, with what it needs
// to deliver: the sealed secret and the lease's epoch, which fences its
// writes.
type WebhookClaim struct {
	atende.Webhook
	SealedSecret string
	Holder       string
	Epoch        int64
}

// ClaimDueWebhooks leases to holder, for ttl, up to limit active, unpaused
// webhooks whose next attempt is due and whose lease is free, expired or
// already holder's, and returns them; busy are ids holder is delivering
// already, left alone. Each claim starts a new epoch: a worker that lost its
// lease cannot record deliveries any more.
func (s *Store) ClaimDueWebhooks(ctx context.Context, holder string, ttl time.Duration, limit int, busy []string) ([]WebhookClaim, error) {
	var out []WebhookClaim
	err := s.write(ctx, "webhook.claim", atende.SystemActor(""), func(tx *tx) error {
		out = out[:0]
		query := `SELECT ` + webhookCols + `, secret, lease_epoch FROM webhooks
			WHERE active = ` + s.boolLiteral(true) + ` AND state <> ? AND next_attempt_at <= ? AND (lease_holder = '' OR lease_holder = ? OR lease_until < ?)`
		args := []any{atende.WebhookPaused, tx.now, holder, tx.now}
		if len(busy) > 0 {
			query += ` AND id NOT IN (?` + strings.Repeat(`, ?`, len(busy)-1) + `)`
			for _, id := range busy {
				args = append(args, id)
			}
		}
		rows, err := tx.QueryContext(ctx, s.q(query+` ORDER BY next_attempt_at LIMIT ?`), append(args, limit)...)
		if err != nil {
			return err
		}
		var found []WebhookClaim
		for rows.Next() {
			var c WebhookClaim
			w, err := scanWebhook(rows, &c.SealedSecret, &c.Epoch)
			if err != nil {
				rows.Close()
				return err
			}
			c.Webhook, c.Holder = *w, holder
			found = append(found, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range found {
			// Another node may have claimed it since the select: the
			// conditions are checked again on the row itself.
			res, err := tx.exec(`UPDATE webhooks SET lease_holder = ?, lease_until = ?, lease_epoch = lease_epoch + 1
				WHERE id = ? AND lease_epoch = ? AND (lease_holder = '' OR lease_holder = ? OR lease_until < ?)`,
				holder, tx.now.Add(ttl), c.ID, c.Epoch, holder, tx.now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				if err != nil {
					return err
				}
				continue
			}
			c.Epoch++
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// RenewWebhookLease extends a claim for ttl while its epoch is current.
func (s *Store) RenewWebhookLease(ctx context.Context, c *WebhookClaim, ttl time.Duration) error {
	return s.write(ctx, "webhook.renew", atende.SystemActor(c.TenantID), func(tx *tx) error {
		return tx.execOne(ErrWebhookLeaseLost, `UPDATE webhooks SET lease_until = ? WHERE id = ? AND lease_holder = ? AND lease_epoch = ?`,
			tx.now.Add(ttl), c.ID, c.Holder, c.Epoch)
	})
}

// ReleaseWebhookLease gives a claim up so any worker may take the webhook
// when it is next due.
func (s *Store) ReleaseWebhookLease(ctx context.Context, c *WebhookClaim) error {
	return s.write(ctx, "webhook.release", atende.SystemActor(c.TenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE webhooks SET lease_holder = '', lease_until = ? WHERE id = ? AND lease_holder = ? AND lease_epoch = ?`,
			time.Unix(0, 0).UTC(), c.ID, c.Holder, c.Epoch)
		return err
	})
}

// WebhookEvents returns the tenant's events with id greater than afterID and
// stored before 'before', in id order, at most limit. Reading a little behind
// the present keeps an event whose transaction committed after one with a
// higher id from being passed over.
func (s *Store) WebhookEvents(ctx context.Context, tenantID string, afterID int64, before time.Time, limit int) ([]atende.Event, error) {
	out := []atende.Event{}
	err := s.read("webhook.events", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT id, tenant_id, type, subject, perm, audience, data, at FROM events WHERE tenant_id = ? AND id > ? AND at < ? ORDER BY id LIMIT ?`),
			tenantID, afterID, before.UTC(), limit)
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
			e.Data, e.At = []byte(data), e.At.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// WebhookAttempt is the outcome of one delivery attempt.
type WebhookAttempt struct {
	EventID    int64
	EventType  string
	StatusCode int
	Duration   time.Duration
	Err        string // empty: delivered
	// RetryIn is the wait before the next attempt after a failure; Pause
	// stops the webhook instead, until an administrator resumes it.
	RetryIn time.Duration
	Pause   bool
}

// RecordWebhookAttempt logs an attempt and moves the webhook on: past the
// event when delivered, else to its next attempt (or paused). It fails with
// ErrWebhookLeaseLost when c's lease is no longer current, and then changes
// nothing.
func (s *Store) RecordWebhookAttempt(ctx context.Context, c *WebhookClaim, at WebhookAttempt) error {
	errText := truncateRunes(at.Err, 1000)
	err := s.write(ctx, "webhook.attempt", atende.SystemActor(c.TenantID), func(tx *tx) error {
		var err error
		if at.Err == "" {
			err = tx.execOne(ErrWebhookLeaseLost, `UPDATE webhooks SET last_event_id = ?, failures = 0, state = ?, next_attempt_at = ?, last_error = '', last_success_at = ?
				WHERE id = ? AND lease_holder = ? AND lease_epoch = ? AND last_event_id = ?`,
				at.EventID, atende.WebhookHealthy, tx.now, tx.now, c.ID, c.Holder, c.Epoch, c.Cursor)
		} else {
			state := atende.WebhookFailing
			if at.Pause {
				state = atende.WebhookPaused
			}
			err = tx.execOne(ErrWebhookLeaseLost, `UPDATE webhooks SET failures = failures + 1, state = ?, next_attempt_at = ?, last_error = ?, last_failure_at = ?
				WHERE id = ? AND lease_holder = ? AND lease_epoch = ? AND last_event_id = ?`,
				state, tx.now.Add(at.RetryIn), errText, tx.now, c.ID, c.Holder, c.Epoch, c.Cursor)
			if err == nil && at.Pause {
				w, err := scanWebhook(tx.queryRow(`SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, c.ID))
				if err != nil {
					return err
				}
				if err := tx.emit("webhook.paused", c.ID, atende.PermConfigManage, w); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, event_type, status_code, duration_ms, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.TenantID, c.ID, at.EventID, at.EventType, at.StatusCode, at.Duration.Milliseconds(), errText, tx.now); err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM webhook_deliveries WHERE webhook_id = ? AND id <= (SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			c.ID, c.ID, MaxWebhookDeliveries)
		return err
	})
	if err == nil {
		if at.Err == "" {
			c.Cursor, c.Failures, c.State = at.EventID, 0, atende.WebhookHealthy
		} else {
			c.Failures++
		}
	}
	return err
}

// AdvanceWebhook moves a webhook's cursor past events it did not ask for.
func (s *Store) AdvanceWebhook(ctx context.Context, c *WebhookClaim, to int64) error {
	err := s.write(ctx, "webhook.advance", atende.SystemActor(c.TenantID), func(tx *tx) error {
		return tx.execOne(ErrWebhookLeaseLost, `UPDATE webhooks SET last_event_id = ? WHERE id = ? AND lease_holder = ? AND lease_epoch = ? AND last_event_id = ?`,
			to, c.ID, c.Holder, c.Epoch, c.Cursor)
	})
	if err == nil {
		c.Cursor = to
	}
	return err
}
