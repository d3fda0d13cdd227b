package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/wallboard"
)

// WallboardConfig reads what the wallboard shows of a tenant's
// configuration: its time zone, queues, active agents with their stored
// state, and teams.
func (s *Store) WallboardConfig(ctx context.Context, tenantID string) (*wallboard.Config, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	cfg := &wallboard.Config{TimeZone: t.TimeZone, Queues: []atende.Queue{}, Agents: []wallboard.AgentConfig{}, Teams: []wallboard.TeamSummary{}}
	for o := (ListOptions{Limit: 200}); ; {
		page, err := s.Queues(ctx, tenantID, o)
		if err != nil {
			return nil, err
		}
		cfg.Queues = append(cfg.Queues, page.Items...)
		if page.Next == "" {
			break
		}
		o.Cursor = page.Next
	}
	for o := (ListOptions{Limit: 200}); ; {
		page, err := s.Teams(ctx, tenantID, o)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			cfg.Teams = append(cfg.Teams, wallboard.TeamSummary{ID: t.ID, Name: t.Name})
		}
		if page.Next == "" {
			break
		}
		o.Cursor = page.Next
	}
	active := true
	byID := map[string]int{}
	for o := (ListOptions{Limit: 200}); ; {
		page, err := s.Users(ctx, tenantID, UserFilter{Role: atende.RoleAgent, Active: &active}, o)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			byID[u.ID] = len(cfg.Agents)
			cfg.Agents = append(cfg.Agents, wallboard.AgentConfig{ID: u.ID, Name: u.Name, TeamIDs: u.TeamIDs, Capacity: u.Capacity,
				Status: atende.StatusOffline})
		}
		if page.Next == "" {
			break
		}
		o.Cursor = page.Next
	}
	err = s.read("wallboard.agent_states", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT user_id, status, reason_code, since FROM agent_states WHERE tenant_id = ?`), tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, status, reason string
			var since time.Time
			if err := rows.Scan(&id, &status, &reason, &since); err != nil {
				return err
			}
			if i, ok := byID[id]; ok {
				a := &cfg.Agents[i]
				a.Status, a.Reason, a.Since = atende.AgentStatus(status), reason, since.UTC()
			}
		}
		return rows.Err()
	})
	return cfg, err
}

// LiveTasks returns the tenant's tasks not yet finished, as last saved.
func (s *Store) LiveTasks(ctx context.Context, tenantID string) ([]*routing.Task, error) {
	var out []*routing.Task
	err := s.read("wallboard.tasks", func() error {
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
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// StatsToday reads the statistics fold's progress and memory with the
// tenant's queue and agent rows from 'from' on, as one consistent picture:
// the fold saves rows and progress in one transaction, so the progress is
// read before and after the rows, and the read repeated when a save fell
// between.
func (s *Store) StatsToday(ctx context.Context, tenantID string, from time.Time) (*wallboard.TodayStats, error) {
	to := from.Add(49 * time.Hour) // past any day, even one of 25 hours
	for range 20 {
		last, state, err := s.StatsProgress(ctx)
		if err != nil {
			return nil, err
		}
		queues, err := s.IntervalStats(ctx, tenantID, report.DimQueue, from, to)
		if err != nil {
			return nil, err
		}
		agents, err := s.IntervalStats(ctx, tenantID, report.DimAgent, from, to)
		if err != nil {
			return nil, err
		}
		last2, state2, err := s.StatsProgress(ctx)
		if err != nil {
			return nil, err
		}
		if last == last2 && bytes.Equal(state, state2) {
			return &wallboard.TodayStats{LastEventID: last, FoldState: state, Queues: queues, Agents: agents}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("statistics kept moving while read")
}

// alertEvent is the data of alert.raised and alert.cleared.
type alertEvent struct {
	Tenant    string    `json:"tenant"`
	QueueID   string    `json:"queue_id"`
	Kind      string    `json:"kind"`
	Level     string    `json:"level"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Since     time.Time `json:"since"`
}

// ActiveAlerts returns the tenant's alerts that have not ended.
func (s *Store) ActiveAlerts(ctx context.Context, tenantID string) ([]wallboard.Alert, error) {
	out := []wallboard.Alert{}
	err := s.read("wallboard.alerts", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT queue_id, kind, level, value, threshold, since FROM wallboard_alerts WHERE tenant_id = ? ORDER BY queue_id, kind`), tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a wallboard.Alert
			if err := rows.Scan(&a.QueueID, &a.Kind, &a.Level, &a.Value, &a.Threshold, &a.Since); err != nil {
				return err
			}
			a.Since = a.Since.UTC()
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// RaiseAlert stores an alert that starts, or changes level, with its
// alert.raised event. An alert already stored at that level is left alone
// and announced no more.
func (s *Store) RaiseAlert(ctx context.Context, tenantID string, a wallboard.Alert) error {
	return s.write(ctx, "wallboard.alert_raise", atende.SystemActor(tenantID), func(tx *tx) error {
		var level string
		err := tx.queryRow(`SELECT level FROM wallboard_alerts WHERE tenant_id = ? AND queue_id = ? AND kind = ?`+tx.rowLock(), tenantID, a.QueueID, a.Kind).Scan(&level)
		switch {
		case err == nil && level == a.Level:
			return nil
		case err == nil:
			if _, err := tx.exec(`UPDATE wallboard_alerts SET level = ?, value = ?, threshold = ? WHERE tenant_id = ? AND queue_id = ? AND kind = ?`,
				a.Level, a.Value, a.Threshold, tenantID, a.QueueID, a.Kind); err != nil {
				return err
			}
		default:
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// Two nodes may insert at once: the second does nothing.
			res, err := tx.exec(`INSERT INTO wallboard_alerts (tenant_id, queue_id, kind, level, value, threshold, since) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, queue_id, kind) DO NOTHING`, tenantID, a.QueueID, a.Kind, a.Level, a.Value, a.Threshold, a.Since.UTC())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
		}
		return tx.emit("alert.raised", a.QueueID, atende.PermWallboardRead, alertEvent{Tenant: tenantID, QueueID: a.QueueID, Kind: a.Kind,
			Level: a.Level, Value: a.Value, Threshold: a.Threshold, Since: a.Since.UTC()})
	})
}

// ClearAlert ends a stored alert with its alert.cleared event; one already
// ended is announced no more.
func (s *Store) ClearAlert(ctx context.Context, tenantID string, a wallboard.Alert) error {
	return s.write(ctx, "wallboard.alert_clear", atende.SystemActor(tenantID), func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM wallboard_alerts WHERE tenant_id = ? AND queue_id = ? AND kind = ?`, tenantID, a.QueueID, a.Kind)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.emit("alert.cleared", a.QueueID, atende.PermWallboardRead, alertEvent{Tenant: tenantID, QueueID: a.QueueID, Kind: a.Kind,
			Level: a.Level, Value: a.Value, Threshold: a.Threshold, Since: a.Since.UTC()})
	})
}

// Broadcast is a supervisor's message to the agents' desktops.
type Broadcast struct {
	ID     string    `json:"id"`
	Text   string    `json:"text"`
	From   string    `json:"from"`              // the sender's name
	FromID string    `json:"from_id"`           // the sender's user id
	TeamID string    `json:"team_id,omitempty"` // empty: every agent
	At     time.Time `json:"at"`
}

// SendBroadcast stores a broadcast as a broadcast.sent event, which every
// agent's event stream carries.
func (s *Store) SendBroadcast(ctx context.Context, a atende.Actor, b *Broadcast) error {
	return s.write(ctx, "broadcast.send", a, func(tx *tx) error {
		if b.TeamID != "" {
			ok, err := tx.tenantHas("teams", b.TeamID)
			if err != nil {
				return err
			}
			if !ok {
				return atende.FieldError("team_id", "is not a team of this tenant")
			}
		}
		b.ID, b.At = atende.NewID(), tx.now.UTC()
		return tx.emit("broadcast.sent", b.ID, atende.PermEventsRead, b)
	})
}

// KindJoined is the timeline entry of a user joining a conversation (a
// supervisor who steps in); its body is the sentence to show, its data the
// user's id and name.
const KindJoined atende.EventKind = "joined"

// JoinConversation records that a user joined a conversation: a timeline
// entry with body as its text, announced like every entry. A closed
// conversation takes no one.
func (s *Store) JoinConversation(ctx context.Context, a atende.Actor, conversationID, name, body string) (*atende.TimelineEvent, error) {
	var out *atende.TimelineEvent
	err := s.write(ctx, "conversation.join", a, func(tx *tx) error {
		c, err := tx.lockConversation(conversationID)
		if err != nil {
			return err
		}
		if c.Status == atende.StatusClosed {
			return atende.Errorf(atende.EConflict, "the conversation is closed")
		}
		e := &atende.TimelineEvent{Kind: KindJoined, Body: body, Data: []byte(jsonText(map[string]string{"user_id": a.UserID, "name": name}))}
		e.AuthorKind, e.AuthorID = authorOf(a)
		if err := tx.insertTimelineEvent(c, e); err != nil {
			return err
		}
		out = e
		// The sequence moves without bumping the version: the version
		// guards what people edit.
		return tx.saveConversation(c, c.Version)
	})
	return out, err
}
