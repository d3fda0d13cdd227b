package store

import (
	"context"
	"database/sql"

	"github.com/atende/atende"
)

var errTenantNotFound = atende.Errorf(atende.ENotFound, "tenant not found")

const tenantCols = `id, slug, name, time_zone, language, locale, created_at, updated_at, version`

func scanTenant(row interface{ Scan(...any) error }) (*atende.Tenant, error) {
	var t atende.Tenant
	if err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.TimeZone, &t.Language, &t.Locale, &t.CreatedAt, &t.UpdatedAt, &t.Version); err != nil {
		if err == sql.ErrNoRows {
			return nil, errTenantNotFound
		}
		return nil, err
	}
	return &t, nil
}

// CreateTenant stores a new tenant. The actor's tenant id is ignored: the new
// tenant's id is used for the audit entry and the event.
func (s *Store) CreateTenant(ctx context.Context, a atende.Actor, t *atende.Tenant) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.ID = atende.NewID()
	a.TenantID = t.ID
	return s.write(ctx, "tenant.create", a, func(tx *tx) error {
		t.CreatedAt, t.UpdatedAt, t.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Slug, t.Name, t.TimeZone, t.Language, t.Locale, t.CreatedAt, t.UpdatedAt, t.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO counters (tenant_id, name, value) VALUES (?, 'protocol', 0)`, t.ID); err != nil {
			return err
		}
		return tx.change("tenant.created", "tenant", t.ID, atende.PermTenantRead, nil, t)
	})
}

// Tenant returns a tenant by id.
func (s *Store) Tenant(ctx context.Context, id string) (*atende.Tenant, error) {
	var t *atende.Tenant
	err := s.read("tenant.get", func() (err error) {
		t, err = scanTenant(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+tenantCols+` FROM tenants WHERE id = ?`), id))
		return err
	})
	return t, err
}

// TenantBySlug returns a tenant by its slug.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (*atende.Tenant, error) {
	var t *atende.Tenant
	err := s.read("tenant.get", func() (err error) {
		t, err = scanTenant(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+tenantCols+` FROM tenants WHERE slug = ?`), slug))
		return err
	})
	return t, err
}

// Tenants lists every tenant (for operators; not exposed to tenant users).
func (s *Store) Tenants(ctx context.Context) ([]atende.Tenant, error) {
	var out []atende.Tenant
	err := s.read("tenant.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTenant(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	return out, err
}

// UpdateTenant applies change to the actor's tenant. ifVersion, when not 0,
// must equal the stored version (optimistic concurrency).
func (s *Store) UpdateTenant(ctx context.Context, a atende.Actor, ifVersion int64, change func(*atende.Tenant) error) (*atende.Tenant, error) {
	var out *atende.Tenant
	err := s.write(ctx, "tenant.update", a, func(tx *tx) error {
		before, err := scanTenant(tx.queryRow(`SELECT `+tenantCols+` FROM tenants WHERE id = ?`, a.TenantID))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		t := *before
		if err := change(&t); err != nil {
			return err
		}
		t.ID = before.ID
		if err := t.Validate(); err != nil {
			return err
		}
		t.UpdatedAt, t.Version = tx.now, before.Version+1
		if err := tx.execOne(errTenantNotFound, `UPDATE tenants SET slug = ?, name = ?, time_zone = ?, language = ?, locale = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`,
			t.Slug, t.Name, t.TimeZone, t.Language, t.Locale, t.UpdatedAt, t.Version, t.ID, before.Version); err != nil {
			return err
		}
		out = &t
		return tx.change("tenant.updated", "tenant", t.ID, atende.PermTenantRead, before, t)
	})
	return out, err
}

// checkVersion enforces If-Match: 0 means the caller did not ask.
func checkVersion(ifVersion, current int64) error {
	if ifVersion != 0 && ifVersion != current {
		return atende.Errorf(atende.EPreconditionFailed, "the resource changed since you read it (version %d, now %d); reload and retry", ifVersion, current)
	}
	return nil
}
