package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/atende/atende"
)

var errSkillNotFound = atende.Errorf(atende.ENotFound, "skill not found")

const skillCols = `id, tenant_id, name, description, created_at, updated_at, version`

func scanSkill(row interface{ Scan(...any) error }) (*atende.Skill, error) {
	var k atende.Skill
	if err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Description, &k.CreatedAt, &k.UpdatedAt, &k.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errSkillNotFound
		}
		return nil, err
	}
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return &k, nil
}

// CreateSkill stores a new skill in the actor's tenant.
func (s *Store) CreateSkill(ctx context.Context, a atende.Actor, k *atende.Skill) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "skill.create", a, func(tx *tx) error {
		k.ID, k.TenantID = atende.NewID(), a.TenantID
		k.CreatedAt, k.UpdatedAt, k.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO skills (`+skillCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.TenantID, k.Name, k.Description, k.CreatedAt, k.UpdatedAt, k.Version); err != nil {
			return err
		}
		return tx.change("skill.created", "skill", k.ID, atende.PermConfigRead, nil, k)
	})
}

// Skill returns a skill of the tenant.
func (s *Store) Skill(ctx context.Context, tenantID, id string) (*atende.Skill, error) {
	var k *atende.Skill
	err := s.read("skill.get", func() (err error) {
		k, err = scanSkill(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+skillCols+` FROM skills WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return k, err
}

// Skills lists the tenant's skills by id.
func (s *Store) Skills(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Skill], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Skill]{}, err
	}
	var items []atende.Skill
	err = s.read("skill.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+skillCols+` FROM skills WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanSkill(rows)
			if err != nil {
				return err
			}
			items = append(items, *k)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Skill]{}, err
	}
	return paginate(items, limit, func(k atende.Skill) string { return k.ID }), nil
}

// UpdateSkill applies change to a skill of the actor's tenant. ifVersion,
// when not 0, must equal the stored version.
func (s *Store) UpdateSkill(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Skill) error) (*atende.Skill, error) {
	var out *atende.Skill
	err := s.write(ctx, "skill.update", a, func(tx *tx) error {
		before, err := scanSkill(tx.queryRow(`SELECT `+skillCols+` FROM skills WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		k := *before
		if err := change(&k); err != nil {
			return err
		}
		k.ID, k.TenantID, k.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := k.Validate(); err != nil {
			return err
		}
		k.UpdatedAt, k.Version = tx.now, before.Version+1
		if err := tx.execOne(errSkillNotFound, `UPDATE skills SET name = ?, description = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			k.Name, k.Description, k.UpdatedAt, k.Version, k.TenantID, k.ID, before.Version); err != nil {
			return err
		}
		out = &k
		return tx.change("skill.updated", "skill", k.ID, atende.PermConfigRead, before, k)
	})
	return out, err
}

// DeleteSkill removes a skill of the actor's tenant and takes it from every
// agent who held it. A skill a queue requires cannot be deleted: no agent
// could ever match that queue again.
func (s *Store) DeleteSkill(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "skill.delete", a, func(tx *tx) error {
		before, err := scanSkill(tx.queryRow(`SELECT `+skillCols+` FROM skills WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		q, err := tx.queueUsing(func(q *atende.Queue) bool {
			for _, r := range q.Skills {
				if r.SkillID == id {
					return true
				}
			}
			return false
		}, id)
		if err != nil {
			return err
		}
		if q != "" {
			return atende.Errorf(atende.EConflict, "queue %q requires this skill; remove it from the queue first", q)
		}
		// The foreign key cascades too; deleting here keeps the rule visible
		// and does not depend on the connection's foreign_keys setting.
		if _, err := tx.exec(`DELETE FROM agent_skills WHERE tenant_id = ? AND skill_id = ?`, before.TenantID, id); err != nil {
			return err
		}
		if err := tx.execOne(errSkillNotFound, `DELETE FROM skills WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("skill.deleted", "skill", id, before)
	})
}
