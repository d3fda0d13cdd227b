package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/atende/atende"
)

var errTeamNotFound = atende.Errorf(atende.ENotFound, "team not found")

const teamCols = `id, tenant_id, name, description, created_at, updated_at, version`

func scanTeam(row interface{ Scan(...any) error }) (*atende.Team, error) {
	var t atende.Team
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.Description, &t.CreatedAt, &t.UpdatedAt, &t.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errTeamNotFound
		}
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.MemberIDs = []string{}
	return &t, nil
}

// CreateTeam stores a new team in the actor's tenant with its members, each
// of whom must be a user of that tenant.
func (s *Store) CreateTeam(ctx context.Context, a atende.Actor, t *atende.Team) error {
	if err := t.Validate(); err != nil {
		return err
	}
	members, err := normalizeIDs("member_ids", t.MemberIDs)
	if err != nil {
		return err
	}
	return s.write(ctx, "team.create", a, func(tx *tx) error {
		t.ID, t.TenantID, t.MemberIDs = atende.NewID(), a.TenantID, members
		t.CreatedAt, t.UpdatedAt, t.Version = tx.now, tx.now, 1
		if err := tx.checkMembers(t.MemberIDs); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO teams (`+teamCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.TenantID, t.Name, t.Description, t.CreatedAt, t.UpdatedAt, t.Version); err != nil {
			return err
		}
		if err := tx.insertMembers(t); err != nil {
			return err
		}
		return tx.change("team.created", "team", t.ID, atende.PermConfigRead, nil, t)
	})
}

// Team returns a team of the tenant with its members sorted by id.
func (s *Store) Team(ctx context.Context, tenantID, id string) (*atende.Team, error) {
	var t *atende.Team
	err := s.read("team.get", func() (err error) {
		t, err = scanTeam(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+teamCols+` FROM teams WHERE tenant_id = ? AND id = ?`), tenantID, id))
		if err != nil {
			return err
		}
		return s.loadTeamMembers(ctx, s.rdb, tenantID, []*atende.Team{t})
	})
	return t, err
}

// Teams lists the tenant's teams by id, with their members.
func (s *Store) Teams(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Team], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Team]{}, err
	}
	var items []atende.Team
	err = s.read("team.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+teamCols+` FROM teams WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTeam(rows)
			if err != nil {
				return err
			}
			items = append(items, *t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		ptrs := make([]*atende.Team, len(items))
		for i := range items {
			ptrs[i] = &items[i]
		}
		return s.loadTeamMembers(ctx, s.rdb, tenantID, ptrs)
	})
	if err != nil {
		return Page[atende.Team]{}, err
	}
	return paginate(items, limit, func(t atende.Team) string { return t.ID }), nil
}

// UpdateTeam applies change to a team of the actor's tenant and replaces its
// members with the changed MemberIDs. ifVersion, when not 0, must equal the
// stored version.
func (s *Store) UpdateTeam(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Team) error) (*atende.Team, error) {
	var out *atende.Team
	err := s.write(ctx, "team.update", a, func(tx *tx) error {
		before, err := tx.lockTeam(id)
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		t := *before
		t.MemberIDs = slices.Clone(before.MemberIDs)
		if err := change(&t); err != nil {
			return err
		}
		t.ID, t.TenantID, t.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := t.Validate(); err != nil {
			return err
		}
		if t.MemberIDs, err = normalizeIDs("member_ids", t.MemberIDs); err != nil {
			return err
		}
		if err := tx.checkMembers(t.MemberIDs); err != nil {
			return err
		}
		t.UpdatedAt, t.Version = tx.now, before.Version+1
		if err := tx.execOne(errTeamNotFound, `UPDATE teams SET name = ?, description = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			t.Name, t.Description, t.UpdatedAt, t.Version, t.TenantID, t.ID, before.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM team_members WHERE tenant_id = ? AND team_id = ?`, t.TenantID, t.ID); err != nil {
			return err
		}
		if err := tx.insertMembers(&t); err != nil {
			return err
		}
		out = &t
		return tx.change("team.updated", "team", t.ID, atende.PermConfigRead, before, t)
	})
	return out, err
}

// DeleteTeam removes a team of the actor's tenant and its memberships. A team
// a queue still serves through cannot be deleted: the queue would be left
// pointing at nothing.
func (s *Store) DeleteTeam(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "team.delete", a, func(tx *tx) error {
		before, err := tx.lockTeam(id)
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		q, err := tx.queueUsing(func(q *atende.Queue) bool { return slices.Contains(q.TeamIDs, id) }, id)
		if err != nil {
			return err
		}
		if q != "" {
			return atende.Errorf(atende.EConflict, "queue %q is served by this team; remove the team from the queue first", q)
		}
		if _, err := tx.exec(`DELETE FROM team_members WHERE tenant_id = ? AND team_id = ?`, before.TenantID, id); err != nil {
			return err
		}
		if err := tx.execOne(errTeamNotFound, `DELETE FROM teams WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("team.deleted", "team", id, before)
	})
}

// lockTeam reads a team of the actor's tenant with its members for a change.
func (t *tx) lockTeam(id string) (*atende.Team, error) {
	team, err := scanTeam(t.queryRow(`SELECT `+teamCols+` FROM teams WHERE tenant_id = ? AND id = ?`+t.rowLock(), t.actor.TenantID, id))
	if err != nil {
		return nil, err
	}
	if err := t.s.loadTeamMembers(context.Background(), t.Tx, t.actor.TenantID, []*atende.Team{team}); err != nil {
		return nil, err
	}
	return team, nil
}

// checkMembers verifies every id names a user of the actor's tenant.
func (t *tx) checkMembers(ids []string) error {
	for _, id := range ids {
		ok, err := t.tenantHas("users", id)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("member_ids", "user %s does not exist", id)
		}
	}
	return nil
}

func (t *tx) insertMembers(team *atende.Team) error {
	for _, uid := range team.MemberIDs {
		if _, err := t.exec(`INSERT INTO team_members (tenant_id, team_id, user_id) VALUES (?, ?, ?)`, team.TenantID, team.ID, uid); err != nil {
			return err
		}
	}
	return nil
}

// loadTeamMembers fills the MemberIDs of teams, which must be sorted by id,
// with one query over the range of their ids.
func (s *Store) loadTeamMembers(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, tenantID string, teams []*atende.Team) error {
	if len(teams) == 0 {
		return nil
	}
	byID := make(map[string]*atende.Team, len(teams))
	for _, t := range teams {
		byID[t.ID] = t
	}
	rows, err := db.QueryContext(ctx, s.q(`SELECT team_id, user_id FROM team_members WHERE tenant_id = ? AND team_id >= ? AND team_id <= ? ORDER BY team_id, user_id`),
		tenantID, teams[0].ID, teams[len(teams)-1].ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var teamID, userID string
		if err := rows.Scan(&teamID, &userID); err != nil {
			return err
		}
		if t := byID[teamID]; t != nil {
			t.MemberIDs = append(t.MemberIDs, userID)
		}
	}
	return rows.Err()
}

// normalizeIDs checks every entry is an id and returns them sorted without
// duplicates, never nil.
func normalizeIDs(field string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !atende.ValidID(id) {
			return nil, atende.FieldError(field, "%q is not an id", id)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
