package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/webchat/widget"
)

var (
	errWidgetNotFound  = atende.Errorf(atende.ENotFound, "chat widget not found")
	errSessionNotFound = atende.Errorf(atende.ENotFound, "chat not found")
)

const widgetCols = `id, tenant_id, name, active, queue_id, config, created_at, updated_at, version`

func scanWidget(row interface{ Scan(...any) error }) (*widget.Widget, error) {
	var w widget.Widget
	var config, id, tenant, name, queue string
	var active bool
	var created, updated time.Time
	var version int64
	if err := row.Scan(&id, &tenant, &name, &active, &queue, &config, &created, &updated, &version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errWidgetNotFound
		}
		return nil, err
	}
	if err := fromJSON(config, &w); err != nil {
		return nil, err
	}
	w.ID, w.TenantID, w.Name, w.Active, w.QueueID = id, tenant, name, active, queue
	w.CreatedAt, w.UpdatedAt, w.Version = created.UTC(), updated.UTC(), version
	return &w, nil
}

// checkWidgetRefs verifies the widget's queues are the tenant's and take
// chats (and, for offline messages, email).
func (tx *tx) checkWidgetRefs(w *widget.Widget) error {
	for _, q := range []struct {
		field, id string
		channel   atende.Channel
	}{{"queue_id", w.QueueID, atende.ChannelChat}, {"offline.queue_id", w.Offline.QueueID, atende.ChannelEmail}} {
		if q.id == "" {
			continue
		}
		var raw string
		err := tx.queryRow(`SELECT channels FROM queues WHERE tenant_id = ? AND id = ?`, tx.actor.TenantID, q.id).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return atende.FieldError(q.field, "is not a queue of this tenant")
		}
		if err != nil {
			return err
		}
		var channels []atende.Channel
		if err := fromJSON(raw, &channels); err != nil {
			return err
		}
		if !slices.Contains(channels, q.channel) {
			return atende.FieldError(q.field, "the queue does not take %s", q.channel)
		}
	}
	if w.Transcript.MailboxID != "" {
		m, _, err := scanMailbox(tx.queryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE tenant_id = ? AND id = ?`, tx.actor.TenantID, w.Transcript.MailboxID))
		if atende.ErrorCode(err) == atende.ENotFound {
			return atende.FieldError("transcript.mailbox_id", "is not a mailbox of this tenant")
		}
		if err != nil {
			return err
		}
		if m.SMTP == nil {
			return atende.FieldError("transcript.mailbox_id", "mailbox %q has no outgoing (smtp) settings", m.Name)
		}
	}
	return nil
}

// CreateChatWidget stores a new chat widget in the actor's tenant.
func (s *Store) CreateChatWidget(ctx context.Context, a atende.Actor, w *widget.Widget) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "chat_widget.create", a, func(tx *tx) error {
		if err := tx.checkWidgetRefs(w); err != nil {
			return err
		}
		w.ID, w.TenantID = atende.NewID(), a.TenantID
		w.CreatedAt, w.UpdatedAt, w.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO chat_widgets (`+widgetCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.TenantID, w.Name, w.Active, w.QueueID, jsonText(w), w.CreatedAt, w.UpdatedAt, w.Version); err != nil {
			return err
		}
		return tx.change("chat_widget.created", "chat_widget", w.ID, atende.PermConfigRead, nil, w)
	})
}

// ChatWidget returns a widget of the tenant.
func (s *Store) ChatWidget(ctx context.Context, tenantID, id string) (*widget.Widget, error) {
	var w *widget.Widget
	err := s.read("chat_widget.get", func() (err error) {
		w, err = scanWidget(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+widgetCols+` FROM chat_widgets WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return w, err
}

// PublicChatWidget finds a widget by id alone, for the public chat
// endpoints: the widget id in the page is all a visitor knows. Its TenantID
// scopes everything after.
func (s *Store) PublicChatWidget(ctx context.Context, id string) (*widget.Widget, error) {
	var w *widget.Widget
	err := s.read("chat_widget.get", func() (err error) {
		w, err = scanWidget(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+widgetCols+` FROM chat_widgets WHERE id = ?`), id))
		return err
	})
	return w, err
}

// ChatWidgets lists the tenant's widgets by id.
func (s *Store) ChatWidgets(ctx context.Context, tenantID string, o ListOptions) (Page[widget.Widget], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[widget.Widget]{}, err
	}
	var items []widget.Widget
	err = s.read("chat_widget.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+widgetCols+` FROM chat_widgets WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanWidget(rows)
			if err != nil {
				return err
			}
			items = append(items, *w)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[widget.Widget]{}, err
	}
	return paginate(items, limit, func(w widget.Widget) string { return w.ID }), nil
}

// UpdateChatWidget applies change to a widget of the actor's tenant.
func (s *Store) UpdateChatWidget(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*widget.Widget) error) (*widget.Widget, error) {
	var out *widget.Widget
	err := s.write(ctx, "chat_widget.update", a, func(tx *tx) error {
		before, err := scanWidget(tx.queryRow(`SELECT `+widgetCols+` FROM chat_widgets WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		var w widget.Widget
		if err := fromJSON(jsonText(before), &w); err != nil {
			return err
		}
		if err := change(&w); err != nil {
			return err
		}
		w.ID, w.TenantID, w.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := w.Validate(); err != nil {
			return err
		}
		if err := tx.checkWidgetRefs(&w); err != nil {
			return err
		}
		w.UpdatedAt, w.Version = tx.now, before.Version+1
		if err := tx.execOne(errWidgetNotFound, `UPDATE chat_widgets SET name = ?, active = ?, queue_id = ?, config = ?, updated_at = ?, version = ?
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			w.Name, w.Active, w.QueueID, jsonText(w), w.UpdatedAt, w.Version, w.TenantID, w.ID, before.Version); err != nil {
			return err
		}
		out = &w
		return tx.change("chat_widget.updated", "chat_widget", w.ID, atende.PermConfigRead, before, w)
	})
	return out, err
}

// DeleteChatWidget removes a widget; its chats stay in their conversations.
func (s *Store) DeleteChatWidget(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "chat_widget.delete", a, func(tx *tx) error {
		before, err := scanWidget(tx.queryRow(`SELECT `+widgetCols+` FROM chat_widgets WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errWidgetNotFound, `DELETE FROM chat_widgets WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("chat_widget.deleted", "chat_widget", id, before)
	})
}

// ChatSession is one visitor's chat: a conversation opened from a widget.
type ChatSession struct {
	ConversationID string     `json:"conversation_id"`
	TenantID       string     `json:"tenant_id"`
	WidgetID       string     `json:"widget_id"`
	VisitorID      string     `json:"visitor_id"`
	ContactID      string     `json:"contact_id"`
	TaskID         string     `json:"task_id,omitempty"`
	Language       string     `json:"language,omitempty"`
	PageURL        string     `json:"page_url,omitempty"`
	VisitorReadSeq int64      `json:"visitor_read_seq"` // the visitor has read up to here
	AgentReadSeq   int64      `json:"agent_read_seq"`   // the agents have read up to here
	CreatedAt      time.Time  `json:"created_at"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	// VisitorSeenAt is when the visitor was last known connected (the
	// idle timeout counts from here or the last message, the later).
	VisitorSeenAt *time.Time `json:"visitor_seen_at,omitempty"`
}

const sessionCols = `conversation_id, tenant_id, widget_id, visitor_id, contact_id, task_id, language, page_url, visitor_read_seq, agent_read_seq, created_at, ended_at, visitor_seen_at`

func scanSession(row interface{ Scan(...any) error }) (*ChatSession, error) {
	var cs ChatSession
	var ended, seen sql.NullTime
	if err := row.Scan(&cs.ConversationID, &cs.TenantID, &cs.WidgetID, &cs.VisitorID, &cs.ContactID, &cs.TaskID, &cs.Language, &cs.PageURL,
		&cs.VisitorReadSeq, &cs.AgentReadSeq, &cs.CreatedAt, &ended, &seen); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errSessionNotFound
		}
		return nil, err
	}
	cs.CreatedAt = cs.CreatedAt.UTC()
	cs.EndedAt, cs.VisitorSeenAt = timePtr(ended), timePtr(seen)
	return &cs, nil
}

// CreateChatSession records a visitor's chat on a conversation of the actor's
// tenant.
func (s *Store) CreateChatSession(ctx context.Context, a atende.Actor, cs *ChatSession) error {
	if !utf8.ValidString(cs.PageURL) || len(cs.PageURL) > 2000 {
		return atende.FieldError("page_url", "is at most 2000 bytes")
	}
	return s.write(ctx, "chat_session.create", a, func(tx *tx) error {
		if ok, err := tx.tenantHas("conversations", cs.ConversationID); err != nil || !ok {
			if err == nil {
				err = atende.FieldError("conversation_id", "is not a conversation of this tenant")
			}
			return err
		}
		cs.TenantID, cs.CreatedAt, cs.EndedAt, cs.VisitorSeenAt = a.TenantID, tx.now, nil, &tx.now
		_, err := tx.exec(`INSERT INTO chat_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			cs.ConversationID, cs.TenantID, cs.WidgetID, cs.VisitorID, cs.ContactID, cs.TaskID, cs.Language, cs.PageURL,
			cs.VisitorReadSeq, cs.AgentReadSeq, cs.CreatedAt, nil, tx.now)
		return err
	})
}

// ChatSession returns the chat on a conversation of the tenant.
func (s *Store) ChatSession(ctx context.Context, tenantID, conversationID string) (*ChatSession, error) {
	var cs *ChatSession
	err := s.read("chat_session.get", func() (err error) {
		cs, err = scanSession(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM chat_sessions WHERE tenant_id = ? AND conversation_id = ?`), tenantID, conversationID))
		return err
	})
	return cs, err
}

// OpenChatSession returns the visitor's chat from this widget that has not
// ended and whose conversation is still open or pending, for a visitor who
// reloads the page or comes back: they continue where they were.
func (s *Store) OpenChatSession(ctx context.Context, tenantID, widgetID, visitorID string) (*ChatSession, error) {
	var cs *ChatSession
	err := s.read("chat_session.open", func() (err error) {
		// Start from the visitor's own sessions (their index), then check
		// the conversation of each: a join lets the planner start from the
		// tenant's open conversations instead, which grows with every chat.
		cs, err = scanSession(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+prefixed("cs.", sessionCols)+` FROM chat_sessions cs
			WHERE cs.tenant_id = ? AND cs.widget_id = ? AND cs.visitor_id = ? AND cs.ended_at IS NULL
			AND EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = cs.tenant_id AND c.id = cs.conversation_id AND c.status IN ('open', 'pending'))
			ORDER BY cs.created_at DESC LIMIT 1`), tenantID, widgetID, visitorID))
		return err
	})
	return cs, err
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// SetChatTask records the task routing a chat.
func (s *Store) SetChatTask(ctx context.Context, a atende.Actor, conversationID, taskID string) error {
	return s.write(ctx, "chat_session.task", a, func(tx *tx) error {
		return tx.execOne(errSessionNotFound, `UPDATE chat_sessions SET task_id = ? WHERE tenant_id = ? AND conversation_id = ?`, taskID, a.TenantID, conversationID)
	})
}

// Read-mark sides.
const (
	SideVisitor = "visitor"
	SideAgent   = "agent"
)

// ChatRead is the data of a chat.read event.
type ChatRead struct {
	ConversationID string `json:"conversation_id"`
	Side           string `json:"side"`
	Seq            int64  `json:"seq"`
}

// MarkChatRead moves one side's read mark forward to seq (never back, never
// past the timeline's end) and announces it with a chat.read event.
func (s *Store) MarkChatRead(ctx context.Context, a atende.Actor, conversationID, side string, seq int64) (int64, error) {
	col := map[string]string{SideVisitor: "visitor_read_seq", SideAgent: "agent_read_seq"}[side]
	if col == "" {
		return 0, atende.FieldError("side", "must be visitor or agent")
	}
	if seq < 0 {
		return 0, atende.FieldError("seq", "must not be negative")
	}
	var out int64
	err := s.write(ctx, "chat_session.read", a, func(tx *tx) error {
		cs, err := scanSession(tx.queryRow(`SELECT `+sessionCols+` FROM chat_sessions WHERE tenant_id = ? AND conversation_id = ?`+tx.rowLock(), a.TenantID, conversationID))
		if err != nil {
			return err
		}
		var last int64
		if err := tx.queryRow(`SELECT last_event_seq FROM conversations WHERE tenant_id = ? AND id = ?`, a.TenantID, conversationID).Scan(&last); err != nil {
			return err
		}
		cur := cs.VisitorReadSeq
		if side == SideAgent {
			cur = cs.AgentReadSeq
		}
		out = max(cur, min(seq, last))
		if out == cur {
			return nil
		}
		if _, err := tx.exec(`UPDATE chat_sessions SET `+col+` = ? WHERE tenant_id = ? AND conversation_id = ?`, out, a.TenantID, conversationID); err != nil {
			return err
		}
		return tx.emit("chat.read", conversationID, atende.PermConversationsRead, ChatRead{ConversationID: conversationID, Side: side, Seq: out})
	})
	return out, err
}

// EndChatSession marks a chat ended (the visitor left or the conversation
// was resolved); a chat.ended event tells both sides. Ending twice is
// harmless.
func (s *Store) EndChatSession(ctx context.Context, a atende.Actor, conversationID string) error {
	return s.write(ctx, "chat_session.end", a, func(tx *tx) error {
		res, err := tx.exec(`UPDATE chat_sessions SET ended_at = ? WHERE tenant_id = ? AND conversation_id = ? AND ended_at IS NULL`, tx.now, a.TenantID, conversationID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if ok, err := tx.tenantHasSession(conversationID); err != nil || !ok {
				if err == nil {
					err = errSessionNotFound
				}
				return err
			}
			return nil
		}
		return tx.emit("chat.ended", conversationID, atende.PermConversationsRead, map[string]string{"conversation_id": conversationID})
	})
}

func (tx *tx) tenantHasSession(conversationID string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT COUNT(*) FROM chat_sessions WHERE tenant_id = ? AND conversation_id = ?`, tx.actor.TenantID, conversationID).Scan(&n)
	return n > 0, err
}

// ChatKey returns the tenant's sealed visitor-token key, storing the one
// newSealed makes when the tenant has none yet.
func (s *Store) ChatKey(ctx context.Context, tenantID string, newSealed func() (string, error)) (string, error) {
	return s.tenantKey(ctx, "chat_keys", "chat_key", tenantID, newSealed)
}

// tenantKey returns a tenant's sealed key from table (chat_keys,
// survey_keys; kind names it in the store's metrics), storing the one newSealed makes when the tenant has none
// yet. Two servers racing both end with the first one stored.
func (s *Store) tenantKey(ctx context.Context, table, kind, tenantID string, newSealed func() (string, error)) (string, error) {
	var sealed string
	get := func() error {
		return s.read(kind+".get", func() error {
			return s.rdb.QueryRowContext(ctx, s.q(`SELECT sealed_key FROM `+table+` WHERE tenant_id = ?`), tenantID).Scan(&sealed)
		})
	}
	err := get()
	if atende.ErrorCode(err) != atende.ENotFound {
		return sealed, err
	}
	fresh, err := newSealed()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, kind+".create", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO `+table+` (tenant_id, sealed_key, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, fresh, tx.now)
		return err
	})
	if err != nil {
		return "", err
	}
	// Read back whichever key was stored first (ours or a racing server's).
	if err := get(); err != nil {
		return "", err
	}
	return sealed, nil
}

// Survey kinds.
const (
	SurveyCSAT = "csat" // 1-5
	SurveyNPS  = "nps"  // 0-10
)

// Survey is one customer's satisfaction answer about a conversation.
type Survey struct {
	ID             string `json:"id"`
	TenantID       string `json:"tenant_id"`
	ConversationID string `json:"conversation_id"`
	AgentID        string `json:"agent_id,omitempty"`
	// QueueID is the conversation's queue when answered; it travels in the
	// survey.answered event for the reports and is not stored.
	QueueID string         `json:"queue_id,omitempty"`
	Channel atende.Channel `json:"channel"`
	Kind    string         `json:"kind"`
	Score   int            `json:"score"`
	Comment string         `json:"comment,omitempty"`
	At      time.Time      `json:"at"`
}

// CreateSurvey stores a survey answer; a conversation takes one answer per
// kind, a second is a conflict. The agent is the conversation's assignee.
func (s *Store) CreateSurvey(ctx context.Context, a atende.Actor, sv *Survey) error {
	switch {
	case sv.Kind == SurveyCSAT && (sv.Score < 1 || sv.Score > 5):
		return atende.FieldError("score", "must be 1-5")
	case sv.Kind == SurveyNPS && (sv.Score < 0 || sv.Score > 10):
		return atende.FieldError("score", "must be 0-10")
	case sv.Kind != SurveyCSAT && sv.Kind != SurveyNPS:
		return atende.FieldError("kind", "must be csat or nps")
	}
	sv.Comment = strings.TrimSpace(sv.Comment)
	if !utf8.ValidString(sv.Comment) || utf8.RuneCountInString(sv.Comment) > 2000 {
		return atende.FieldError("comment", "is at most 2000 characters")
	}
	err := s.write(ctx, "survey.create", a, func(tx *tx) error {
		c, err := scanConversation(tx.queryRow(`SELECT `+conversationCols+` FROM conversations WHERE tenant_id = ? AND id = ?`, a.TenantID, sv.ConversationID))
		if err != nil {
			return err
		}
		sv.ID, sv.TenantID, sv.AgentID, sv.QueueID, sv.Channel, sv.At = atende.NewID(), a.TenantID, c.AssigneeID, c.QueueID, c.Channel, tx.now
		if _, err := tx.exec(`INSERT INTO surveys (id, tenant_id, conversation_id, agent_id, channel, kind, score, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sv.ID, sv.TenantID, sv.ConversationID, sv.AgentID, sv.Channel, sv.Kind, sv.Score, sv.Comment, sv.At); err != nil {
			return err
		}
		return tx.emit("survey.answered", sv.ConversationID, atende.PermConversationsRead, sv)
	})
	if atende.ErrorCode(err) == atende.EConflict {
		return atende.Errorf(atende.EConflict, "this conversation's survey was answered already")
	}
	return err
}

// Surveys lists the tenant's answers between from and to, oldest first.
func (s *Store) Surveys(ctx context.Context, tenantID string, from, to time.Time) ([]Survey, error) {
	out := []Survey{}
	err := s.read("survey.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT id, tenant_id, conversation_id, agent_id, channel, kind, score, comment, at FROM surveys
			WHERE tenant_id = ? AND at >= ? AND at < ? ORDER BY at, id`), tenantID, from.UTC(), to.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sv Survey
			if err := rows.Scan(&sv.ID, &sv.TenantID, &sv.ConversationID, &sv.AgentID, &sv.Channel, &sv.Kind, &sv.Score, &sv.Comment, &sv.At); err != nil {
				return err
			}
			sv.At = sv.At.UTC()
			out = append(out, sv)
		}
		return rows.Err()
	})
	return out, err
}

// ChatTenants lists the tenants with chats that have not ended, so the chat
// channel can resume watching them after a restart.
func (s *Store) ChatTenants(ctx context.Context) ([]string, error) {
	out := []string{}
	err := s.read("chat_session.tenants", func() error {
		rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT tenant_id FROM chat_sessions WHERE ended_at IS NULL`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// TouchChatVisitors records that the visitors of these chats of the tenant
// were connected at a time. Nodes call it for their open visitor sockets now
// and then; it emits no event.
func (s *Store) TouchChatVisitors(ctx context.Context, tenantID string, conversationIDs []string, at time.Time) error {
	for len(conversationIDs) > 0 {
		n := min(len(conversationIDs), 200)
		batch := conversationIDs[:n]
		conversationIDs = conversationIDs[n:]
		err := s.write(ctx, "chat_session.touch", atende.SystemActor(tenantID), func(tx *tx) error {
			args := []any{at.UTC(), tenantID}
			marks := make([]string, len(batch))
			for i, id := range batch {
				marks[i], args = "?", append(args, id)
			}
			_, err := tx.exec(`UPDATE chat_sessions SET visitor_seen_at = ? WHERE tenant_id = ? AND ended_at IS NULL AND conversation_id IN (`+strings.Join(marks, ", ")+`)`, args...)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// IdleChatSessions lists up to limit chats of a widget that have not ended,
// whose conversation is open or pending with nobody assigned, and whose
// visitor has neither been connected nor written (no message either way)
// since before.
func (s *Store) IdleChatSessions(ctx context.Context, tenantID, widgetID string, before time.Time, limit int) ([]ChatSession, error) {
	var out []ChatSession
	err := s.read("chat_session.idle", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+prefixed("cs.", sessionCols)+` FROM chat_sessions cs
			JOIN conversations c ON c.tenant_id = cs.tenant_id AND c.id = cs.conversation_id
			WHERE cs.tenant_id = ? AND cs.widget_id = ? AND cs.ended_at IS NULL AND c.status IN ('open', 'pending')
			AND COALESCE(c.assignee_id, '') = '' AND COALESCE(cs.visitor_seen_at, cs.created_at) < ? AND c.last_activity_at < ?
			ORDER BY cs.conversation_id LIMIT ?`), tenantID, widgetID, before.UTC(), before.UTC(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cs, err := scanSession(rows)
			if err != nil {
				return err
			}
			out = append(out, *cs)
		}
		return rows.Err()
	})
	return out, err
}

// TakeChatTranscript counts one more transcript request for a chat; past
// limit it answers rate_limited and counts nothing.
func (s *Store) TakeChatTranscript(ctx context.Context, a atende.Actor, conversationID string, limit int) error {
	return s.write(ctx, "chat_session.transcript", a, func(tx *tx) error {
		res, err := tx.exec(`UPDATE chat_sessions SET transcripts = transcripts + 1 WHERE tenant_id = ? AND conversation_id = ? AND transcripts < ?`,
			a.TenantID, conversationID, limit)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if ok, err := tx.tenantHasSession(conversationID); err != nil || !ok {
				if err == nil {
					err = errSessionNotFound
				}
				return err
			}
			return atende.Errorf(atende.ERateLimited, "this chat's transcript was sent %d times already", limit)
		}
		return nil
	})
}
