package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// their history, and one event per decision. A batch can hold hundreds of
// decisions, so rows go in multi-row statements: on PostgreSQL every
// statement is a round trip.
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
		agents := map[string][]*routing.Change{}
		var agentOrder []string
		events := make([]atende.Event, 0, len(changes))
		for i := range changes {
			ch := &changes[i]
			if ch.Task != nil {
				if latest[ch.Task.ID] == nil {
					order = append(order, ch.Task.ID)
				}
				latest[ch.Task.ID] = ch.Task
			}
			if ch.Agent != nil {
				if agents[ch.Agent.ID] == nil {
					agentOrder = append(agentOrder, ch.Agent.ID)
				}
				agents[ch.Agent.ID] = append(agents[ch.Agent.ID], ch)
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
			b, err := json.Marshal(data)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", ch.Event, err)
			}
			events = append(events, atende.Event{TenantID: tenantID, Type: ch.Event, Subject: subject, Perm: atende.PermEventsRead,
				Audience: ch.Audience, Data: b, At: tx.now})
		}
		for _, id := range agentOrder {
			if err := tx.saveAgentStatuses(agents[id]); err != nil {
				return err
			}
		}
		tasks := make([]*routing.Task, len(order))
		for i, id := range order {
			tasks[i] = latest[id]
		}
		if err := tx.upsertTasks(tenantID, tasks); err != nil {
			return err
		}
		return tx.insertEvents(events)
	})
}

// rowsPerStatement bounds a multi-row statement (SQLite allows 32,766
// parameters; PostgreSQL 65,535).
const rowsPerStatement = 100

// insertEvents stores events in multi-row inserts and queues them for
// publishing. Ids are handed out in row order, so the returned ids, sorted,
// belong to the events in order.
func (t *tx) insertEvents(events []atende.Event) error {
	for len(events) > 0 {
		n := min(len(events), rowsPerStatement)
		chunk := events[:n]
		events = events[n:]
		var q strings.Builder
		q.WriteString(`INSERT INTO events (tenant_id, type, subject, perm, audience, data, at) VALUES `)
		args := make([]any, 0, 7*n)
		for i, e := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.TenantID, e.Type, e.Subject, string(e.Perm), e.Audience, string(e.Data), e.At)
		}
		q.WriteString(" RETURNING id")
		rows, err := t.QueryContext(context.Background(), t.s.q(q.String()), args...)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, n)
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) != n {
			return fmt.Errorf("stored %d events, expected %d", len(ids), n)
		}
		slices.Sort(ids)
		for i := range chunk {
			chunk[i].ID = ids[i]
		}
		t.events = append(t.events, chunk...)
	}
	return nil
}

// upsertTasks writes the tasks' latest state in multi-row upserts.
func (t *tx) upsertTasks(tenantID string, tasks []*routing.Task) error {
	for len(tasks) > 0 {
		n := min(len(tasks), rowsPerStatement)
		chunk := tasks[:n]
		tasks = tasks[n:]
		var q strings.Builder
		q.WriteString(`INSERT INTO tasks (id, tenant_id, queue_id, conversation_id, channel, state, agent_id, outcome, priority, enqueued_at, created_at, ended_at, updated_at, data) VALUES `)
		args := make([]any, 0, 14*n)
		for i, tk := range chunk {
			data, err := json.Marshal(tk)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, tk.ID, tenantID, tk.QueueID, tk.ConversationID, tk.Channel, tk.State, tk.AgentID, tk.Outcome, tk.Priority,
				tk.EnqueuedAt.UTC(), tk.CreatedAt.UTC(), nullTime(tk.EndedAt), t.now, string(data))
		}
		// A task id belongs to one tenant: the update never crosses tenants.
		q.WriteString(` ON CONFLICT (id) DO UPDATE SET queue_id = excluded.queue_id, state = excluded.state, agent_id = excluded.agent_id,
			outcome = excluded.outcome, priority = excluded.priority, enqueued_at = excluded.enqueued_at, ended_at = excluded.ended_at,
			updated_at = excluded.updated_at, data = excluded.data WHERE tasks.tenant_id = excluded.tenant_id`)
		if _, err := t.exec(q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// saveAgentStatuses records one agent's status changes of a batch: the
// intervals of its state history (the open one closed by the first new one),
// then its current state, in three statements however many changes.
func (t *tx) saveAgentStatuses(changes []*routing.Change) error {
	last := changes[len(changes)-1].Agent
	var intervals []*routing.AgentSnapshot
	for _, ch := range changes {
		if ch.StatusChanged {
			intervals = append(intervals, ch.Agent)
		}
	}
	if len(intervals) > 0 {
		first := intervals[0].Since.UTC().Truncate(time.Microsecond)
		if _, err := t.exec(`UPDATE agent_state_history SET ended_at = ? WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL`, first, t.actor.TenantID, last.ID); err != nil {
			return err
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO agent_state_history (id, tenant_id, user_id, status, reason_code, started_at, ended_at, changed_by) VALUES `)
		var args []any
		for i, a := range intervals {
			var ended any
			if i+1 < len(intervals) {
				ended = intervals[i+1].Since.UTC().Truncate(time.Microsecond)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, atende.NewID(), t.actor.TenantID, a.ID, a.Status, a.Reason, a.Since.UTC().Truncate(time.Microsecond), ended, "routing")
		}
		if _, err := t.exec(q.String(), args...); err != nil {
			return err
		}
	}
	_, err := t.exec(`UPDATE agent_states SET status = ?, reason_code = ?, since = ?, presence = ?, presence_reason = ? WHERE tenant_id = ? AND user_id = ?`,
		last.Status, last.Reason, last.Since.UTC().Truncate(time.Microsecond), last.Presence, last.PresenceReason, t.actor.TenantID, last.ID)
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
