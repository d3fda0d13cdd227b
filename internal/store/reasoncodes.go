package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"

	"github.com/atende/atende"
)

var errReasonCodeNotFound = atende.Errorf(atende.ENotFound, "reason code not found")

const reasonCodeCols = `id, tenant_id, code, labels, paid, active, created_at, updated_at, version`

func scanReasonCode(row interface{ Scan(...any) error }) (*atende.ReasonCode, error) {
	var r atende.ReasonCode
	var labels string
	if err := row.Scan(&r.ID, &r.TenantID, &r.Code, &labels, &r.Paid, &r.Active, &r.CreatedAt, &r.UpdatedAt, &r.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errReasonCodeNotFound
		}
		return nil, err
	}
	if err := fromJSON(labels, &r.Labels); err != nil {
		return nil, err
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// CreateReasonCode stores a new away reason in the actor's tenant.
func (s *Store) CreateReasonCode(ctx context.Context, a atende.Actor, r *atende.ReasonCode) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "reason_code.create", a, func(tx *tx) error {
		r.ID, r.TenantID = atende.NewID(), a.TenantID
		r.CreatedAt, r.UpdatedAt, r.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO reason_codes (`+reasonCodeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.TenantID, r.Code, jsonText(r.Labels), r.Paid, r.Active, r.CreatedAt, r.UpdatedAt, r.Version); err != nil {
			return err
		}
		return tx.change("reason_code.created", "reason_code", r.ID, atende.PermConfigRead, nil, r)
	})
}

// ReasonCode returns a reason code of the tenant by id.
func (s *Store) ReasonCode(ctx context.Context, tenantID, id string) (*atende.ReasonCode, error) {
	var r *atende.ReasonCode
	err := s.read("reason_code.get", func() (err error) {
		r, err = scanReasonCode(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+reasonCodeCols+` FROM reason_codes WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return r, err
}

// ReasonCodeByCode returns a reason code of the tenant by its code, as agents
// name it when they go away.
func (s *Store) ReasonCodeByCode(ctx context.Context, tenantID, code string) (*atende.ReasonCode, error) {
	var r *atende.ReasonCode
	err := s.read("reason_code.get", func() (err error) {
		r, err = scanReasonCode(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+reasonCodeCols+` FROM reason_codes WHERE tenant_id = ? AND code = ?`), tenantID, code))
		return err
	})
	return r, err
}

// ReasonCodes lists the tenant's reason codes by id.
func (s *Store) ReasonCodes(ctx context.Context, tenantID string, o ListOptions) (Page[atende.ReasonCode], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.ReasonCode]{}, err
	}
	var items []atende.ReasonCode
	err = s.read("reason_code.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+reasonCodeCols+` FROM reason_codes WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReasonCode(rows)
			if err != nil {
				return err
			}
			items = append(items, *r)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.ReasonCode]{}, err
	}
	return paginate(items, limit, func(r atende.ReasonCode) string { return r.ID }), nil
}

// UpdateReasonCode applies change to a reason code of the actor's tenant.
// ifVersion, when not 0, must equal the stored version.
func (s *Store) UpdateReasonCode(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.ReasonCode) error) (*atende.ReasonCode, error) {
	var out *atende.ReasonCode
	err := s.write(ctx, "reason_code.update", a, func(tx *tx) error {
		before, err := scanReasonCode(tx.queryRow(`SELECT `+reasonCodeCols+` FROM reason_codes WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		r := *before
		r.Labels = maps.Clone(before.Labels) // keep "before" intact for the audit log
		if err := change(&r); err != nil {
			return err
		}
		r.ID, r.TenantID, r.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := r.Validate(); err != nil {
			return err
		}
		r.UpdatedAt, r.Version = tx.now, before.Version+1
		if err := tx.execOne(errReasonCodeNotFound, `UPDATE reason_codes SET code = ?, labels = ?, paid = ?, active = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			r.Code, jsonText(r.Labels), r.Paid, r.Active, r.UpdatedAt, r.Version, r.TenantID, r.ID, before.Version); err != nil {
			return err
		}
		out = &r
		return tx.change("reason_code.updated", "reason_code", r.ID, atende.PermConfigRead, before, r)
	})
	return out, err
}

// DeleteReasonCode removes a reason code of the actor's tenant. One an agent
// is away with now, or was away with, cannot be deleted: state history and
// reports name it. Deactivate it instead.
func (s *Store) DeleteReasonCode(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "reason_code.delete", a, func(tx *tx) error {
		before, err := scanReasonCode(tx.queryRow(`SELECT `+reasonCodeCols+` FROM reason_codes WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		var used int
		if err := tx.queryRow(`SELECT CASE WHEN
				EXISTS (SELECT 1 FROM agent_states WHERE tenant_id = ? AND reason_code = ?) OR
				EXISTS (SELECT 1 FROM agent_state_history WHERE tenant_id = ? AND reason_code = ?)
			THEN 1 ELSE 0 END`, before.TenantID, before.Code, before.TenantID, before.Code).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return atende.Errorf(atende.EConflict, "reason code %q is in agents' state history; deactivate it instead", before.Code)
		}
		if err := tx.execOne(errReasonCodeNotFound, `DELETE FROM reason_codes WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("reason_code.deleted", "reason_code", id, before)
	})
}
