package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
)

// ErrLeaseLost is returned when another node took the tenant's routing.
var ErrLeaseLost = errors.New("routing lease lost: another node owns this tenant's routing")

// AcquireLease makes holder the owner of a tenant's routing for ttl when the
// lease is free, expired or already holder's, and returns the new epoch.
// Every save of routing state is fenced by the epoch, so a node that lost the
// lease cannot write after another took it.
func (s *Store) AcquireLease(ctx context.Context, tenantID, holder string, ttl time.Duration) (int64, error) {
	var epoch int64
	err := s.write(ctx, "lease.acquire", atende.SystemActor(tenantID), func(tx *tx) error {
		var cur string
		var exp time.Time
		err := tx.queryRow(`SELECT holder, epoch, expires_at FROM routing_leases WHERE tenant_id = ?`+tx.rowLock(), tenantID).Scan(&cur, &epoch, &exp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			epoch = 1
			_, err = tx.exec(`INSERT INTO routing_leases (tenant_id, holder, epoch, expires_at) VALUES (?, ?, ?, ?)`, tenantID, holder, epoch, tx.now.Add(ttl))
			return err
		case err != nil:
			return err
		case cur != holder && exp.After(tx.now):
			return fmt.Errorf("%w (held by %s until %s)", ErrLeaseLost, cur, exp.Format(time.RFC3339))
		}
		epoch++
		_, err = tx.exec(`UPDATE routing_leases SET holder = ?, epoch = ?, expires_at = ? WHERE tenant_id = ?`, holder, epoch, tx.now.Add(ttl), tenantID)
		return err
	})
	return epoch, err
}

// RenewLease extends a lease the holder still owns at epoch.
func (s *Store) RenewLease(ctx context.Context, tenantID, holder string, epoch int64, ttl time.Duration) error {
	return s.write(ctx, "lease.renew", atende.SystemActor(tenantID), func(tx *tx) error {
		return tx.execOne(ErrLeaseLost, `UPDATE routing_leases SET expires_at = ? WHERE tenant_id = ? AND holder = ? AND epoch = ?`,
			tx.now.Add(ttl), tenantID, holder, epoch)
	})
}

// ReleaseLease gives a lease up so another node may take it at once.
func (s *Store) ReleaseLease(ctx context.Context, tenantID, holder string, epoch int64) error {
	return s.write(ctx, "lease.release", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE routing_leases SET expires_at = ? WHERE tenant_id = ? AND holder = ? AND epoch = ?`, tx.now, tenantID, holder, epoch)
		return err
	})
}

// LoadRouting reads everything a tenant's routing engine needs to rebuild
// its state: queues, agents with their skills, capacity, teams and state, and
// the tasks that were live.
func (s *Store) LoadRouting(ctx context.Context, tenantID string) (*routing.State, error) {
	st, err := s.RoutingConfig(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	err = s.read("routing.load", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT data FROM tasks WHERE tenant_id = ? AND state <> 'done'`), tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			if err := rows.Scan(&data); err != nil {
				return err
			}
			t := &routing.Task{}
			if err := json.Unmarshal([]byte(data), t); err != nil {
				return fmt.Errorf("decode task: %w", err)
			}
			st.Tasks = append(st.Tasks, t)
		}
		return rows.Err()
	})
	return st, err
}

// RoutingConfig reads a tenant's queues and agents (with their state), the
// configuration part of LoadRouting.
func (s *Store) RoutingConfig(ctx context.Context, tenantID string) (*routing.State, error) {
	st := &routing.State{}
	var err error
	if st.Tenant, err = s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	for o := (ListOptions{Limit: 200}); ; {
		page, err := s.Queues(ctx, tenantID, o)
		if err != nil {
			return nil, err
		}
		st.Queues = append(st.Queues, page.Items...)
		if page.Next == "" {
			break
		}
		o.Cursor = page.Next
	}
	active := true
	for o := (ListOptions{Limit: 200}); ; {
		page, err := s.Users(ctx, tenantID, UserFilter{Role: atende.RoleAgent, Active: &active}, o)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			st.Agents = append(st.Agents, routing.AgentSpec{ID: u.ID, Skills: u.Skills, Capacity: u.Capacity, TeamIDs: u.TeamIDs})
		}
		if page.Next == "" {
			break
		}
		o.Cursor = page.Next
	}
	err = s.read("routing.config", func() error {
		byID := map[string]*routing.AgentSpec{}
		for i := range st.Agents {
			byID[st.Agents[i].ID] = &st.Agents[i]
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT user_id, status, reason_code, since, presence, presence_reason FROM agent_states WHERE tenant_id = ?`), tenantID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, status, reason, presence, presenceReason string
			var since time.Time
			if err := rows.Scan(&id, &status, &reason, &since, &presence, &presenceReason); err != nil {
				rows.Close()
				return err
			}
			a := byID[id]
			if a == nil {
				continue
			}
			a.Status, a.Since = atende.AgentStatus(status), since
			a.Presence, a.Reason = atende.AgentStatus(presence), presenceReason
			if presence == "" {
				// Set before the engine ran: what was chosen is the status.
				a.Presence, a.Reason = presenceOf(atende.AgentStatus(status)), reason
			}
		}
		rows.Close()
		return rows.Err()
	})
	return st, err
}

// presenceOf maps a stored status to what the agent had chosen.
func presenceOf(s atende.AgentStatus) atende.AgentStatus {
	switch s {
	case atende.StatusAway, atende.StatusOffline:
		return s
	case atende.StatusAvailable, atende.StatusBusy, atende.StatusWrapUp:
		return atende.StatusAvailable
	}
	return atende.StatusOffline
}

// SaveRouting makes a batch of routing decisions durable in one transaction,
// fenced by the lease epoch: the tasks' latest state, the agents' states with
// their history, and one event per decision.
func (s *Store) SaveRouting(ctx context.Context, tenantID, holder string, epoch int64, changes []routing.Change) error {
	return s.write(ctx, "routing.save", atende.SystemActor(tenantID), func(tx *tx) error {
		var cur int64
		var curHolder string
		if err := tx.queryRow(`SELECT holder, epoch FROM routing_leases WHERE tenant_id = ?`, tenantID).Scan(&curHolder, &cur); err != nil || cur != epoch || curHolder != holder {
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return ErrLeaseLost
		}
		latest := map[string]*routing.Task{}
		var order []string
		for _, ch := range changes {
			if ch.Task != nil {
				if latest[ch.Task.ID] == nil {
					order = append(order, ch.Task.ID)
				}
				latest[ch.Task.ID] = ch.Task
			}
			if ch.Agent != nil {
				if err := tx.saveAgentStatus(ch.Agent); err != nil {
					return err
				}
			}
			subject, data := "", map[string]any{}
			switch {
			case ch.Task != nil:
				subject, data["task"] = ch.Task.ID, ch.Task
			case ch.Agent != nil:
				subject, data["agent"] = ch.Agent.ID, ch.Agent
			}
			if ch.Info != nil {
				data["info"] = ch.Info
			}
			if err := tx.emitTo(ch.Event, subject, atende.PermEventsRead, ch.Audience, data); err != nil {
				return err
			}
		}
		for _, id := range order {
			if err := tx.saveTask(tenantID, latest[id]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *tx) saveTask(tenantID string, t *routing.Task) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	res, err := tx.exec(`UPDATE tasks SET queue_id = ?, state = ?, agent_id = ?, outcome = ?, priority = ?, enqueued_at = ?, ended_at = ?, updated_at = ?, data = ?
		WHERE tenant_id = ? AND id = ?`,
		t.QueueID, t.State, t.AgentID, t.Outcome, t.Priority, t.EnqueuedAt.UTC(), nullTime(t.EndedAt), tx.now, string(data), tenantID, t.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	_, err = tx.exec(`INSERT INTO tasks (id, tenant_id, queue_id, conversation_id, channel, state, agent_id, outcome, priority, enqueued_at, created_at, ended_at, updated_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, tenantID, t.QueueID, t.ConversationID, t.Channel, t.State, t.AgentID, t.Outcome, t.Priority, t.EnqueuedAt.UTC(), t.CreatedAt.UTC(),
		nullTime(t.EndedAt), tx.now, string(data))
	return err
}

// saveAgentStatus records an agent's status from the engine, closing the
// previous interval of the state history.
func (tx *tx) saveAgentStatus(a *routing.AgentSnapshot) error {
	at := a.Since.UTC().Truncate(time.Microsecond)
	var status, reason string
	if err := tx.queryRow(`SELECT status, reason_code FROM agent_states WHERE tenant_id = ? AND user_id = ?`, tx.actor.TenantID, a.ID).Scan(&status, &reason); err != nil {
		return fmt.Errorf("read agent state: %w", err)
	}
	if status == string(a.Status) && reason == a.Reason {
		// Only what the agent chose changed (away while on a call, say).
		_, err := tx.exec(`UPDATE agent_states SET presence = ?, presence_reason = ? WHERE tenant_id = ? AND user_id = ?`,
			a.Presence, a.PresenceReason, tx.actor.TenantID, a.ID)
		return err
	}
	if _, err := tx.exec(`UPDATE agent_state_history SET ended_at = ? WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL`, at, tx.actor.TenantID, a.ID); err != nil {
		return err
	}
	if _, err := tx.exec(`INSERT INTO agent_state_history (id, tenant_id, user_id, status, reason_code, started_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		atende.NewID(), tx.actor.TenantID, a.ID, a.Status, a.Reason, at, "routing"); err != nil {
		return err
	}
	_, err := tx.exec(`UPDATE agent_states SET status = ?, reason_code = ?, since = ?, presence = ?, presence_reason = ? WHERE tenant_id = ? AND user_id = ?`,
		a.Status, a.Reason, at, a.Presence, a.PresenceReason, tx.actor.TenantID, a.ID)
	return err
}

// Task returns a task of the tenant, live or finished.
func (s *Store) Task(ctx context.Context, tenantID, id string) (*routing.Task, error) {
	var t routing.Task
	err := s.read("task.get", func() error {
		var data string
		err := s.rdb.QueryRowContext(ctx, s.q(`SELECT data FROM tasks WHERE tenant_id = ? AND id = ?`), tenantID, id).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return atende.Errorf(atende.ENotFound, "task not found")
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(data), &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	State          routing.TaskState
	QueueID        string
	AgentID        string
	ConversationID string
}

// Tasks lists the tenant's tasks, newest first.
func (s *Store) Tasks(ctx context.Context, tenantID string, f TaskFilter, o ListOptions) (Page[routing.Task], error) {
	before, limit, err := o.bounds()
	if err != nil {
		return Page[routing.Task]{}, err
	}
	where, args := "tenant_id = ?", []any{tenantID}
	if before != "" {
		where += " AND id < ?"
		args = append(args, before)
	}
	for _, c := range []struct{ col, v string }{{"state", string(f.State)}, {"queue_id", f.QueueID}, {"agent_id", f.AgentID}, {"conversation_id", f.ConversationID}} {
		if c.v != "" {
			where += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	args = append(args, limit+1)
	var items []routing.Task
	err = s.read("task.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT data FROM tasks WHERE `+where+` ORDER BY id DESC LIMIT ?`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			var t routing.Task
			if err := rows.Scan(&data); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(data), &t); err != nil {
				return err
			}
			items = append(items, t)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[routing.Task]{}, err
	}
	return paginate(items, limit, func(t routing.Task) string { return t.ID }), nil
}

// ExpireLease ends a tenant's lease now, as if its holder had died (for
// tests and for an operator moving a tenant by hand).
func (s *Store) ExpireLease(ctx context.Context, tenantID string) error {
	return s.write(ctx, "lease.expire", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE routing_leases SET expires_at = ? WHERE tenant_id = ?`, tx.now.Add(-time.Second), tenantID)
		return err
	})
}
