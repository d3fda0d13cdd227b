package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/atende/atende"
)

var errQueueNotFound = atende.Errorf(atende.ENotFound, "queue not found")

const queueCols = `id, tenant_id, name, description, channels, skills, sl_target_pct, sl_threshold_sec, priority, max_wait_sec, team_ids, routing, created_at, updated_at, version`

func scanQueue(row interface{ Scan(...any) error }) (*atende.Queue, error) {
	var q atende.Queue
	var channels, skills, teams, routing string
	if err := row.Scan(&q.ID, &q.TenantID, &q.Name, &q.Description, &channels, &skills, &q.SLTargetPct, &q.SLThresholdSec,
		&q.Priority, &q.MaxWaitSec, &teams, &routing, &q.CreatedAt, &q.UpdatedAt, &q.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errQueueNotFound
		}
		return nil, err
	}
	if err := fromJSON(channels, &q.Channels); err != nil {
		return nil, err
	}
	if err := fromJSON(skills, &q.Skills); err != nil {
		return nil, err
	}
	if err := fromJSON(teams, &q.TeamIDs); err != nil {
		return nil, err
	}
	if err := fromJSON(routing, &q.Routing); err != nil {
		return nil, err
	}
	q.Routing.FillDefaults()
	nonNilQueue(&q)
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return &q, nil
}

// nonNilQueue makes the queue's lists encode as [] rather than null.
func nonNilQueue(q *atende.Queue) {
	if q.Channels == nil {
		q.Channels = []atende.Channel{}
	}
	if q.Skills == nil {
		q.Skills = []atende.RequiredSkill{}
	}
	if q.TeamIDs == nil {
		q.TeamIDs = []string{}
	}
}

// prepareQueue validates q, drops repeated channels and teams (keeping the
// order given) and checks every skill and team exists in the actor's tenant.
func (t *tx) prepareQueue(q *atende.Queue) error {
	if err := q.Validate(); err != nil {
		return err
	}
	q.Channels = uniqueInOrder(q.Channels)
	q.TeamIDs = uniqueInOrder(q.TeamIDs)
	nonNilQueue(q)
	for _, r := range q.Skills {
		ok, err := t.tenantHas("skills", r.SkillID)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("skills", "skill %s does not exist", r.SkillID)
		}
	}
	for _, id := range q.TeamIDs {
		ok, err := t.tenantHas("teams", id)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("team_ids", "team %s does not exist", id)
		}
	}
	if err := t.checkQueueReachable(q); err != nil {
		return err
	}
	return t.checkQueueTargets(q)
}

// checkQueueReachable refuses a queue limited to teams whose members can
// never meet its skills, even after its escalations relax them: no task of
// it could ever be answered. Teams with no members yet are allowed.
func (t *tx) checkQueueReachable(q *atende.Queue) error {
	if len(q.TeamIDs) == 0 || len(q.Skills) == 0 {
		return nil
	}
	need := map[string]int{}
	for _, r := range q.Skills {
		need[r.SkillID] = r.MinProficiency
	}
	for _, e := range q.Routing.Escalations {
		if e.Type == atende.EscalateRelaxSkill {
			if m, ok := need[e.SkillID]; ok {
				if e.MinProficiency <= 0 {
					delete(need, e.SkillID)
				} else {
					need[e.SkillID] = min(m, e.MinProficiency)
				}
			}
		}
	}
	args := []any{t.actor.TenantID}
	for _, id := range q.TeamIDs {
		args = append(args, id)
	}
	rows, err := t.QueryContext(context.Background(), t.s.q(`SELECT m.user_id, COALESCE(s.skill_id, ''), COALESCE(s.proficiency, 0)
		FROM team_members m JOIN users u ON u.id = m.user_id AND u.active = `+t.s.boolLiteral(true)+`
		LEFT JOIN agent_skills s ON s.user_id = m.user_id
		WHERE m.tenant_id = ? AND m.team_id IN (`+placeholders(len(q.TeamIDs))+`)`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	skills := map[string]map[string]int{}
	for rows.Next() {
		var user, skill string
		var prof int
		if err := rows.Scan(&user, &skill, &prof); err != nil {
			return err
		}
		if skills[user] == nil {
			skills[user] = map[string]int{}
		}
		if skill != "" {
			skills[user][skill] = prof
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(skills) == 0 {
		return nil
	}
	for _, have := range skills {
		ok := true
		for s, m := range need {
			if have[s] < m {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
	}
	return atende.FieldError("skills", "no active member of the queue's teams has the skills it requires, even after its escalations: no task could ever be answered")
}

// checkQueueTargets verifies that the queues q's actions and escalations
// send tasks to exist, and that following overflows from q never comes back
// to a queue already passed: a cycle would bounce a task forever.
func (t *tx) checkQueueTargets(q *atende.Queue) error {
	rows, err := t.QueryContext(context.Background(), t.s.q(`SELECT id, name, routing FROM queues WHERE tenant_id = ?`), t.actor.TenantID)
	if err != nil {
		return err
	}
	overflows := map[string][]string{}
	names := map[string]string{}
	for rows.Next() {
		var id, name, routing string
		if err := rows.Scan(&id, &name, &routing); err != nil {
			rows.Close()
			return err
		}
		var r atende.QueueRouting
		if err := fromJSON(routing, &r); err != nil {
			rows.Close()
			return err
		}
		overflows[id], names[id] = r.Overflows(), name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if q.ID == "" {
		q.ID = atende.NewID() // the id it will be created with
	}
	overflows[q.ID], names[q.ID] = q.Routing.Overflows(), q.Name
	for _, target := range q.Routing.Targets() {
		if _, ok := names[target]; !ok || target == q.ID {
			return atende.FieldError("routing", "queue %s does not exist or is this queue", target)
		}
	}
	// Every queue was free of cycles before, so a new cycle passes through
	// q: search for a path from q's overflows back to q.
	visited := map[string]bool{}
	var back func(id string) []string
	back = func(id string) []string {
		if id == q.ID {
			return []string{names[id]}
		}
		if visited[id] {
			return nil
		}
		visited[id] = true
		for _, next := range overflows[id] {
			if p := back(next); p != nil {
				return append([]string{names[id]}, p...)
			}
		}
		return nil
	}
	for _, next := range overflows[q.ID] {
		if p := back(next); p != nil {
			return atende.FieldError("routing", "overflows form a cycle: %s", strings.Join(append([]string{names[q.ID]}, p...), " → "))
		}
	}
	return nil
}

func uniqueInOrder[T comparable](in []T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// CreateQueue stores a new queue in the actor's tenant. Its skills and teams
// must exist in that tenant.
func (s *Store) CreateQueue(ctx context.Context, a atende.Actor, q *atende.Queue) error {
	return s.write(ctx, "queue.create", a, func(tx *tx) error {
		q.ID = ""
		if err := tx.prepareQueue(q); err != nil {
			return err
		}
		q.TenantID = a.TenantID
		q.CreatedAt, q.UpdatedAt, q.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO queues (`+queueCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			q.ID, q.TenantID, q.Name, q.Description, jsonText(q.Channels), jsonText(q.Skills), q.SLTargetPct, q.SLThresholdSec,
			q.Priority, q.MaxWaitSec, jsonText(q.TeamIDs), jsonText(q.Routing), q.CreatedAt, q.UpdatedAt, q.Version); err != nil {
			return err
		}
		return tx.change("queue.created", "queue", q.ID, atende.PermConfigRead, nil, q)
	})
}

// Queue returns a queue of the tenant.
func (s *Store) Queue(ctx context.Context, tenantID, id string) (*atende.Queue, error) {
	var q *atende.Queue
	err := s.read("queue.get", func() (err error) {
		q, err = scanQueue(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+queueCols+` FROM queues WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return q, err
}

// Queues lists the tenant's queues by id.
func (s *Store) Queues(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Queue], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Queue]{}, err
	}
	var items []atende.Queue
	err = s.read("queue.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+queueCols+` FROM queues WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			q, err := scanQueue(rows)
			if err != nil {
				return err
			}
			items = append(items, *q)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Queue]{}, err
	}
	return paginate(items, limit, func(q atende.Queue) string { return q.ID }), nil
}

// UpdateQueue applies change to a queue of the actor's tenant. ifVersion,
// when not 0, must equal the stored version.
func (s *Store) UpdateQueue(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Queue) error) (*atende.Queue, error) {
	var out *atende.Queue
	err := s.write(ctx, "queue.update", a, func(tx *tx) error {
		before, err := scanQueue(tx.queryRow(`SELECT `+queueCols+` FROM queues WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		q := *before
		// Copies, so the change cannot alter "before", kept for the audit log.
		q.Channels, q.Skills, q.TeamIDs = slices.Clone(before.Channels), slices.Clone(before.Skills), slices.Clone(before.TeamIDs)
		q.Routing.Escalations = slices.Clone(before.Routing.Escalations)
		q.Routing.Hours.Weekly, q.Routing.Hours.Holidays = slices.Clone(before.Routing.Hours.Weekly), slices.Clone(before.Routing.Hours.Holidays)
		if err := change(&q); err != nil {
			return err
		}
		q.ID, q.TenantID, q.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := tx.prepareQueue(&q); err != nil {
			return err
		}
		q.UpdatedAt, q.Version = tx.now, before.Version+1
		if err := tx.execOne(errQueueNotFound, `UPDATE queues SET name = ?, description = ?, channels = ?, skills = ?, sl_target_pct = ?, sl_threshold_sec = ?,
			priority = ?, max_wait_sec = ?, team_ids = ?, routing = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			q.Name, q.Description, jsonText(q.Channels), jsonText(q.Skills), q.SLTargetPct, q.SLThresholdSec,
			q.Priority, q.MaxWaitSec, jsonText(q.TeamIDs), jsonText(q.Routing), q.UpdatedAt, q.Version, q.TenantID, q.ID, before.Version); err != nil {
			return err
		}
		out = &q
		return tx.change("queue.updated", "queue", q.ID, atende.PermConfigRead, before, q)
	})
	return out, err
}

// DeleteQueue removes a queue of the actor's tenant.
func (s *Store) DeleteQueue(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "queue.delete", a, func(tx *tx) error {
		before, err := scanQueue(tx.queryRow(`SELECT `+queueCols+` FROM queues WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errQueueNotFound, `DELETE FROM queues WHERE tenant_id = ? AND id = ? AND version = ?`, before.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("queue.deleted", "queue", id, before)
	})
}

// queueUsing returns the name of a queue of the actor's tenant for which
// match holds, or "" when none does. id, the skill or team looked for,
// narrows the scan to queues whose JSON mentions it.
func (t *tx) queueUsing(match func(*atende.Queue) bool, id string) (string, error) {
	rows, err := t.QueryContext(context.Background(), t.s.q(`SELECT `+queueCols+` FROM queues WHERE tenant_id = ? AND (skills LIKE ? OR team_ids LIKE ?) ORDER BY id`),
		t.actor.TenantID, "%"+id+"%", "%"+id+"%")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			return "", err
		}
		if match(q) {
			return q.Name, nil
		}
	}
	return "", rows.Err()
}
