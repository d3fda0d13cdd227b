package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"

	"github.com/atende/atende"
)

var errDispositionNotFound = atende.Errorf(atende.ENotFound, "disposition not found")

const dispositionCols = `id, tenant_id, code, labels, category, resolves, require_note, active, created_at, updated_at, version`

func scanDisposition(row interface{ Scan(...any) error }) (*atende.Disposition, error) {
	var d atende.Disposition
	var labels string
	if err := row.Scan(&d.ID, &d.TenantID, &d.Code, &labels, &d.Category, &d.Resolves, &d.RequireNote, &d.Active, &d.CreatedAt, &d.UpdatedAt, &d.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errDispositionNotFound
		}
		return nil, err
	}
	if err := fromJSON(labels, &d.Labels); err != nil {
		return nil, err
	}
	if d.Labels == nil {
		d.Labels = map[string]string{}
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// CreateDisposition stores a new wrap-up code in the actor's tenant. Active
// is stored as given; the HTTP layer defaults it to true.
func (s *Store) CreateDisposition(ctx context.Context, a atende.Actor, d *atende.Disposition) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "disposition.create", a, func(tx *tx) error {
		d.ID, d.TenantID = atende.NewID(), a.TenantID
		d.CreatedAt, d.UpdatedAt, d.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO dispositions (`+dispositionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.TenantID, d.Code, jsonText(d.Labels), d.Category, d.Resolves, d.RequireNote, d.Active, d.CreatedAt, d.UpdatedAt, d.Version); err != nil {
			return err
		}
		return tx.change("disposition.created", "disposition", d.ID, atende.PermConfigRead, nil, d)
	})
}

// Disposition returns a disposition of the tenant.
func (s *Store) Disposition(ctx context.Context, tenantID, id string) (*atende.Disposition, error) {
	var d *atende.Disposition
	err := s.read("disposition.get", func() (err error) {
		d, err = scanDisposition(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+dispositionCols+` FROM dispositions WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return d, err
}

// Dispositions lists the tenant's dispositions by id.
func (s *Store) Dispositions(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Disposition], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Disposition]{}, err
	}
	var items []atende.Disposition
	err = s.read("disposition.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+dispositionCols+` FROM dispositions WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDisposition(rows)
			if err != nil {
				return err
			}
			items = append(items, *d)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Disposition]{}, err
	}
	return paginate(items, limit, func(d atende.Disposition) string { return d.ID }), nil
}

// UpdateDisposition applies change to a disposition of the actor's tenant.
// ifVersion, when not 0, must equal the stored version.
func (s *Store) UpdateDisposition(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Disposition) error) (*atende.Disposition, error) {
	var out *atende.Disposition
	err := s.write(ctx, "disposition.update", a, func(tx *tx) error {
		before, err := scanDisposition(tx.queryRow(`SELECT `+dispositionCols+` FROM dispositions WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		d := *before
		d.Labels = maps.Clone(before.Labels) // keep "before" intact for the audit log
		if err := change(&d); err != nil {
			return err
		}
		d.ID, d.TenantID, d.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := d.Validate(); err != nil {
			return err
		}
		d.UpdatedAt, d.Version = tx.now, before.Version+1
		if err := tx.execOne(errDispositionNotFound, `UPDATE dispositions SET code = ?, labels = ?, category = ?, resolves = ?, require_note = ?, active = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			d.Code, jsonText(d.Labels), d.Category, d.Resolves, d.RequireNote, d.Active, d.UpdatedAt, d.Version, d.TenantID, d.ID, before.Version); err != nil {
			return err
		}
		out = &d
		return tx.change("disposition.updated", "disposition", d.ID, atende.PermConfigRead, before, d)
	})
	return out, err
}

// DeleteDisposition removes a disposition of the actor's tenant. One set on
// a conversation cannot be deleted: the conversation and the reports would
// point at nothing. Deactivate it instead.
func (s *Store) DeleteDisposition(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "disposition.delete", a, func(tx *tx) error {
		before, err := scanDisposition(tx.queryRow(`SELECT `+dispositionCols+` FROM dispositions WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		var used int
		if err := tx.queryRow(`SELECT CASE WHEN EXISTS (SELECT 1 FROM conversations WHERE tenant_id = ? AND disposition_id = ?) THEN 1 ELSE 0 END`,
			before.TenantID, id).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return atende.Errorf(atende.EConflict, "disposition %q is set on conversations; deactivate it instead", before.Code)
		}
		if err := tx.execOne(errDispositionNotFound, `DELETE FROM dispositions WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("disposition.deleted", "disposition", id, before)
	})
}
