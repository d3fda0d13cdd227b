package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/atende/atende"
)

var errFieldDefNotFound = atende.Errorf(atende.ENotFound, "custom field not found")

const fieldDefCols = `id, tenant_id, key, labels, type, options, created_at, updated_at, version`

func scanFieldDef(row interface{ Scan(...any) error }) (*atende.FieldDef, error) {
	var d atende.FieldDef
	var labels, options string
	if err := row.Scan(&d.ID, &d.TenantID, &d.Key, &labels, &d.Type, &options, &d.CreatedAt, &d.UpdatedAt, &d.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errFieldDefNotFound
		}
		return nil, err
	}
	if err := fromJSON(labels, &d.Labels); err != nil {
		return nil, err
	}
	if err := fromJSON(options, &d.Options); err != nil {
		return nil, err
	}
	if d.Labels == nil {
		d.Labels = map[string]string{}
	}
	if len(d.Options) == 0 {
		d.Options = nil
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// optionsText encodes select options; other types store an empty array.
func optionsText(opts []string) string {
	if opts == nil {
		opts = []string{}
	}
	return jsonText(opts)
}

// CreateFieldDef defines a new custom contact field in the actor's tenant.
func (s *Store) CreateFieldDef(ctx context.Context, a atende.Actor, d *atende.FieldDef) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "field_def.create", a, func(tx *tx) error {
		d.ID, d.TenantID = atende.NewID(), a.TenantID
		d.CreatedAt, d.UpdatedAt, d.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO field_defs (`+fieldDefCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.TenantID, d.Key, jsonText(d.Labels), string(d.Type), optionsText(d.Options), d.CreatedAt, d.UpdatedAt, d.Version); err != nil {
			return err
		}
		return tx.change("field_def.created", "field_def", d.ID, atende.PermConfigRead, nil, d)
	})
}

// FieldDef returns a custom field definition of the tenant.
func (s *Store) FieldDef(ctx context.Context, tenantID, id string) (*atende.FieldDef, error) {
	var d *atende.FieldDef
	err := s.read("field_def.get", func() (err error) {
		d, err = scanFieldDef(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+fieldDefCols+` FROM field_defs WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return d, err
}

// FieldDefs returns every custom field definition of the tenant, by key.
// Tenants define a handful, so there is no paging.
func (s *Store) FieldDefs(ctx context.Context, tenantID string) ([]atende.FieldDef, error) {
	var out []atende.FieldDef
	err := s.read("field_def.list", func() (err error) {
		out, err = s.fieldDefs(ctx, s.rdb, tenantID)
		return err
	})
	return out, err
}

// fieldDefs reads a tenant's definitions through db, which is the write
// transaction when contacts are validated against them.
func (s *Store) fieldDefs(ctx context.Context, db querier, tenantID string) ([]atende.FieldDef, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT `+fieldDefCols+` FROM field_defs WHERE tenant_id = ?`), tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []atende.FieldDef{}
	for rows.Next() {
		d, err := scanFieldDef(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	// Sorted here, not in SQL: PostgreSQL collations may order "_" unlike bytes.
	slices.SortFunc(out, func(x, y atende.FieldDef) int { return strings.Compare(x.Key, y.Key) })
	return out, rows.Err()
}

// UpdateFieldDef applies change to a custom field definition of the actor's
// tenant. The key cannot change: contacts store their values under it.
// Values stored before a change of type or options stay as they are until the
// contact's field is next written.
func (s *Store) UpdateFieldDef(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.FieldDef) error) (*atende.FieldDef, error) {
	var out *atende.FieldDef
	err := s.write(ctx, "field_def.update", a, func(tx *tx) error {
		before, err := scanFieldDef(tx.queryRow(`SELECT `+fieldDefCols+` FROM field_defs WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		d := *before
		d.Labels = maps.Clone(before.Labels) // keep "before" intact for the audit log
		d.Options = slices.Clone(before.Options)
		if err := change(&d); err != nil {
			return err
		}
		if d.Key != before.Key {
			return atende.FieldError("key", "cannot be changed; contacts keep their values under it")
		}
		d.ID, d.TenantID, d.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := d.Validate(); err != nil {
			return err
		}
		d.UpdatedAt, d.Version = tx.now, before.Version+1
		if err := tx.execOne(errFieldDefNotFound, `UPDATE field_defs SET labels = ?, type = ?, options = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			jsonText(d.Labels), string(d.Type), optionsText(d.Options), d.UpdatedAt, d.Version, d.TenantID, d.ID, before.Version); err != nil {
			return err
		}
		out = &d
		return tx.change("field_def.updated", "field_def", d.ID, atende.PermConfigRead, before, d)
	})
	return out, err
}

// DeleteFieldDef removes a custom field definition of the actor's tenant and
// the values contacts hold under its key, in the same transaction: a value
// nobody can see or edit any more should not linger, and a field later
// defined again under the same key must not inherit old values of another
// type. Contacts that lose a value get a new version.
func (s *Store) DeleteFieldDef(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "field_def.delete", a, func(tx *tx) error {
		before, err := scanFieldDef(tx.queryRow(`SELECT `+fieldDefCols+` FROM field_defs WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errFieldDefNotFound, `DELETE FROM field_defs WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		// Keys match ^[a-z][a-z0-9_]*$ (FieldDef.Validate), so the JSON path
		// needs no quoting.
		strip := `UPDATE contacts SET fields = json_remove(fields, ?), updated_at = ?, version = version + 1
			WHERE tenant_id = ? AND json_type(fields, ?) IS NOT NULL`
		path := "$." + before.Key
		if tx.s.dialect == Postgres {
			strip = `UPDATE contacts SET fields = (CAST(fields AS JSONB) - CAST(? AS TEXT))::TEXT, updated_at = ?, version = version + 1
			WHERE tenant_id = ? AND (CAST(fields AS JSONB) -> CAST(? AS TEXT)) IS NOT NULL`
			path = before.Key
		}
		if _, err := tx.exec(strip, path, tx.now, before.TenantID, path); err != nil {
			return err
		}
		return tx.removed("field_def.deleted", "field_def", id, before)
	})
}
