package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atende/atende"
)

var errConversationNotFound = atende.Errorf(atende.ENotFound, "conversation not found")

const conversationCols = `id, tenant_id, protocol, contact_id, subject, channel, channels, status, assignee_id, queue_id, priority, tags,
	disposition_id, last_event_seq, last_activity_at, created_at, updated_at, closed_at, version`

func scanConversation(row interface{ Scan(...any) error }) (*atende.Conversation, error) {
	var c atende.Conversation
	var channels, tags string
	var closed sql.NullTime
	if err := row.Scan(&c.ID, &c.TenantID, &c.Protocol, &c.ContactID, &c.Subject, &c.Channel, &channels, &c.Status, &c.AssigneeID, &c.QueueID,
		&c.Priority, &tags, &c.DispositionID, &c.LastEventSeq, &c.LastActivityAt, &c.CreatedAt, &c.UpdatedAt, &closed, &c.Version); err != nil {
		if err == sql.ErrNoRows {
			return nil, errConversationNotFound
		}
		return nil, err
	}
	c.ClosedAt = timePtr(closed)
	if err := fromJSON(channels, &c.Channels); err != nil {
		return nil, err
	}
	return &c, fromJSON(tags, &c.Tags)
}

// CreateConversation opens a conversation for a contact of the actor's tenant
// and gives it the tenant's next protocol number. When first is not nil it is
// appended as the first timeline entry in the same transaction.
func (s *Store) CreateConversation(ctx context.Context, a atende.Actor, c *atende.Conversation, first *atende.TimelineEvent) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if first != nil {
		if err := first.ValidateMessage(); err != nil {
			return err
		}
	}
	return s.write(ctx, "conversation.create", a, func(tx *tx) error {
		if err := tx.checkConversationRefs(c); err != nil {
			return err
		}
		var tz string
		if err := tx.queryRow(`SELECT time_zone FROM tenants WHERE id = ?`, a.TenantID).Scan(&tz); err != nil {
			return fmt.Errorf("read tenant: %w", err)
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			loc = time.UTC
		}
		var seq int64
		if err := tx.queryRow(`UPDATE counters SET value = value + 1 WHERE tenant_id = ? AND name = 'protocol' RETURNING value`, a.TenantID).Scan(&seq); err != nil {
			return fmt.Errorf("next protocol number: %w", err)
		}
		c.ID, c.TenantID = atende.NewID(), a.TenantID
		c.Protocol = atende.FormatProtocol(tx.now, loc, seq)
		c.Channels = []atende.Channel{c.Channel}
		c.CreatedAt, c.UpdatedAt, c.LastActivityAt, c.Version, c.LastEventSeq = tx.now, tx.now, tx.now, 1, 0
		c.DispositionID, c.ClosedAt = "", nil
		if c.Status == atende.StatusClosed {
			c.ClosedAt = &tx.now
		}
		if _, err := tx.exec(`INSERT INTO conversations (`+conversationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TenantID, c.Protocol, c.ContactID, c.Subject, c.Channel, jsonText(c.Channels), c.Status, c.AssigneeID, c.QueueID, c.Priority,
			jsonText(c.Tags), c.DispositionID, c.LastEventSeq, c.LastActivityAt, c.CreatedAt, c.UpdatedAt, nullTime(c.ClosedAt), c.Version); err != nil {
			return err
		}
		if err := tx.emit("conversation.created", c.ID, atende.PermConversationsRead, c); err != nil {
			return err
		}
		if first == nil {
			return nil
		}
		switch {
		case first.AuthorKind != "":
		case first.Kind == atende.KindMessage && first.Direction == atende.DirectionIn:
			first.AuthorKind, first.AuthorID = "contact", c.ContactID
		default:
			first.AuthorKind, first.AuthorID = authorOf(a)
		}
		if first.Kind == atende.KindMessage && first.Channel != c.Channel {
			c.Channels = append(c.Channels, first.Channel)
		}
		if err := tx.insertTimelineEvent(c, first); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE conversations SET channels = ?, last_event_seq = ? WHERE id = ?`, jsonText(c.Channels), c.LastEventSeq, c.ID)
		return err
	})
}

// checkConversationRefs verifies the contact, queue and assignee belong to the
// actor's tenant, and that the contact was not merged away.
func (tx *tx) checkConversationRefs(c *atende.Conversation) error {
	var mergedInto string
	// Locked so that a merge running at the same time cannot leave the new
	// conversation on the contact it merges away.
	if err := tx.queryRow(`SELECT merged_into FROM contacts WHERE tenant_id = ? AND id = ?`+tx.rowLock(), tx.actor.TenantID, c.ContactID).Scan(&mergedInto); err != nil {
		if err == sql.ErrNoRows {
			return atende.FieldError("contact_id", "is not a contact of this tenant")
		}
		return err
	}
	if mergedInto != "" {
		return atende.FieldError("contact_id", "was merged into contact %s; use that one", mergedInto)
	}
	if c.QueueID != "" {
		ok, err := tx.tenantHas("queues", c.QueueID)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("queue_id", "is not a queue of this tenant")
		}
	}
	if c.AssigneeID != "" {
		var active bool
		if err := tx.queryRow(`SELECT active FROM users WHERE tenant_id = ? AND id = ?`, tx.actor.TenantID, c.AssigneeID).Scan(&active); err != nil || !active {
			if err != nil && err != sql.ErrNoRows {
				return err
			}
			return atende.FieldError("assignee_id", "is not an active user of this tenant")
		}
	}
	return nil
}

// Conversation returns a conversation of the tenant.
func (s *Store) Conversation(ctx context.Context, tenantID, id string) (*atende.Conversation, error) {
	var c *atende.Conversation
	err := s.read("conversation.get", func() (err error) {
		c, err = scanConversation(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+conversationCols+` FROM conversations WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return c, err
}

// ConversationByProtocol finds a conversation by the number a customer quotes.
func (s *Store) ConversationByProtocol(ctx context.Context, tenantID, protocol string) (*atende.Conversation, error) {
	var c *atende.Conversation
	err := s.read("conversation.get", func() (err error) {
		c, err = scanConversation(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+conversationCols+` FROM conversations WHERE tenant_id = ? AND protocol = ?`), tenantID, strings.TrimSpace(protocol)))
		return err
	})
	return c, err
}

// ConversationFilter narrows a conversation list.
type ConversationFilter struct {
	Status     atende.ConversationStatus
	AssigneeID string
	QueueID    string
	ContactID  string
	Channel    atende.Channel
	Tag        string
	Protocol   string
	// Query finds conversations by protocol number (exact or prefix),
	// subject, or their contact's name, email or phone (contains, any case).
	Query string
}

// Conversations lists the tenant's conversations, newest first.
func (s *Store) Conversations(ctx context.Context, tenantID string, f ConversationFilter, o ListOptions) (Page[atende.Conversation], error) {
	before, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Conversation]{}, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if before != "" {
		where = append(where, "id < ?")
		args = append(args, before)
	}
	add := func(cond, v string) {
		if v != "" {
			where = append(where, cond)
			args = append(args, v)
		}
	}
	add("status = ?", string(f.Status))
	add("assignee_id = ?", f.AssigneeID)
	add("queue_id = ?", f.QueueID)
	add("contact_id = ?", f.ContactID)
	add("protocol = ?", f.Protocol)
	if f.Channel != "" {
		add("channels LIKE ?", `%"`+escapeLike(string(f.Channel))+`"%`)
	}
	if f.Tag != "" {
		add("tags LIKE ?", `%"`+escapeLike(strings.ToLower(f.Tag))+`"%`)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		cq, err := s.newContactQuery(ctx, tenantID, q)
		if err != nil {
			return Page[atende.Conversation]{}, err
		}
		sub, subArgs := cq.identitiesSQL(tenantID)
		where = append(where, `(protocol LIKE ? ESCAPE '\' OR LOWER(subject) LIKE ? ESCAPE '\'
			OR contact_id IN (SELECT id FROM contacts WHERE tenant_id = ? AND LOWER(name) LIKE ? ESCAPE '\')
			OR contact_id IN (`+sub+`))`)
		args = append(append(args, likeLiteral(q)+"%", cq.name, tenantID, cq.name), subArgs...)
	}
	args = append(args, limit+1)
	var items []atende.Conversation
	err = s.read("conversation.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+conversationCols+` FROM conversations WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanConversation(rows)
			if err != nil {
				return err
			}
			items = append(items, *c)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Conversation]{}, err
	}
	return paginate(items, limit, func(c atende.Conversation) string { return c.ID }), nil
}

// UpdateConversation applies change to a conversation: subject, status,
// assignee, queue, priority and tags may change. Each change of status,
// assignment or tags is also written to the timeline.
func (s *Store) UpdateConversation(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Conversation) error) (*atende.Conversation, error) {
	var out *atende.Conversation
	err := s.write(ctx, "conversation.update", a, func(tx *tx) error {
		before, err := tx.lockConversation(id)
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		c := *before
		c.Tags = slices.Clone(before.Tags)
		if err := change(&c); err != nil {
			return err
		}
		// What the caller may not change.
		c.ID, c.TenantID, c.Protocol, c.ContactID, c.Channel, c.Channels = before.ID, before.TenantID, before.Protocol, before.ContactID, before.Channel, before.Channels
		c.DispositionID, c.CreatedAt, c.LastEventSeq = before.DispositionID, before.CreatedAt, before.LastEventSeq
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Status == atende.StatusClosed && c.Status != atende.StatusClosed {
			return atende.FieldError("status", "a closed conversation cannot be reopened; a new contact starts a new conversation")
		}
		if c.QueueID != before.QueueID || c.AssigneeID != before.AssigneeID {
			if err := tx.checkConversationRefs(&atende.Conversation{ContactID: c.ContactID, QueueID: c.QueueID, AssigneeID: c.AssigneeID}); err != nil {
				if atende.ErrorCode(err) == atende.EInvalid && strings.Contains(err.Error(), "contact_id") {
					// The contact was merged after this conversation opened; that does not block edits.
				} else {
					return err
				}
			}
		}
		if err := tx.timelineChanges(before, &c); err != nil {
			return err
		}
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if c.Status == atende.StatusClosed && before.ClosedAt == nil {
			c.ClosedAt = &tx.now
		}
		if err := tx.saveConversation(&c, before.Version); err != nil {
			return err
		}
		out = &c
		return tx.emit("conversation.updated", c.ID, atende.PermConversationsRead, c)
	})
	return out, err
}

// lockConversation reads a conversation of the actor's tenant for update.
func (tx *tx) lockConversation(id string) (*atende.Conversation, error) {
	return scanConversation(tx.queryRow(`SELECT `+conversationCols+` FROM conversations WHERE tenant_id = ? AND id = ?`+tx.rowLock(), tx.actor.TenantID, id))
}

func (tx *tx) saveConversation(c *atende.Conversation, prevVersion int64) error {
	return tx.execOne(atende.Errorf(atende.EPreconditionFailed, "the conversation changed meanwhile; reload and retry"),
		`UPDATE conversations SET subject = ?, channels = ?, status = ?, assignee_id = ?, queue_id = ?, priority = ?, tags = ?, disposition_id = ?,
		last_event_seq = ?, last_activity_at = ?, updated_at = ?, closed_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
		c.Subject, jsonText(c.Channels), c.Status, c.AssigneeID, c.QueueID, c.Priority, jsonText(c.Tags), c.DispositionID,
		c.LastEventSeq, c.LastActivityAt, c.UpdatedAt, nullTime(c.ClosedAt), c.Version, c.TenantID, c.ID, prevVersion)
}

// timelineChanges appends status, assignment and tag entries for what
// differs; after receives the sequence numbers they take.
func (tx *tx) timelineChanges(before, after *atende.Conversation) error {
	if before.Status != after.Status {
		if _, err := tx.appendSystemEvent(after, atende.KindStatus, map[string]any{"from": before.Status, "to": after.Status}); err != nil {
			return err
		}
	}
	if before.AssigneeID != after.AssigneeID || before.QueueID != after.QueueID {
		if _, err := tx.appendSystemEvent(after, atende.KindAssignment, map[string]any{
			"from_assignee_id": before.AssigneeID, "to_assignee_id": after.AssigneeID,
			"from_queue_id": before.QueueID, "to_queue_id": after.QueueID,
		}); err != nil {
			return err
		}
	}
	if !slices.Equal(before.Tags, after.Tags) {
		if _, err := tx.appendSystemEvent(after, atende.KindTags, map[string]any{"from": before.Tags, "to": after.Tags}); err != nil {
			return err
		}
	}
	return nil
}

// appendSystemEvent writes a timeline entry authored by the actor.
func (tx *tx) appendSystemEvent(c *atende.Conversation, kind atende.EventKind, data any) (*atende.TimelineEvent, error) {
	e := &atende.TimelineEvent{Kind: kind, Data: []byte(jsonText(data))}
	e.AuthorKind, e.AuthorID = authorOf(tx.actor)
	return e, tx.insertTimelineEvent(c, e)
}

func authorOf(a atende.Actor) (string, string) {
	if a.UserID != "" {
		return "user", a.UserID
	}
	return "system", ""
}

// insertTimelineEvent numbers e with the conversation's next sequence and
// stores it. The conversation must have been read in this transaction with
// its row locked; the caller saves its new last_event_seq.
func (tx *tx) insertTimelineEvent(c *atende.Conversation, e *atende.TimelineEvent) error {
	c.LastEventSeq++
	e.Seq = c.LastEventSeq
	return tx.insertEventRow(c.ID, e, false)
}

// insertEventRow stores a numbered timeline entry and its outbox event. With
// dedupe, an entry whose client_id the conversation already has is not
// stored and errDuplicateClientID is returned.
func (tx *tx) insertEventRow(conversationID string, e *atende.TimelineEvent, dedupe bool) error {
	e.ID, e.TenantID, e.ConversationID, e.CreatedAt = atende.NewID(), tx.actor.TenantID, conversationID, tx.now
	var clientID any
	if e.ClientID != "" {
		clientID = e.ClientID
	}
	data := ""
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	// contact_id is the conversation's, for the contact's unified history;
	// the conversation row is locked by the caller, so a merge cannot move
	// it in between.
	query := `INSERT INTO conversation_events (id, tenant_id, conversation_id, seq, kind, channel, direction, author_kind, author_id, body, data, client_id, created_at, contact_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT contact_id FROM conversations WHERE id = ?))`
	args := []any{e.ID, e.TenantID, e.ConversationID, e.Seq, e.Kind, e.Channel, e.Direction, e.AuthorKind, e.AuthorID, e.Body, data, clientID, e.CreatedAt, e.ConversationID}
	if dedupe && clientID != nil {
		var id string
		err := tx.queryRow(query+` ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING id`, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errDuplicateClientID
		}
		if err != nil {
			return err
		}
	} else if _, err := tx.exec(query, args...); err != nil {
		return err
	}
	return tx.emit("conversation.event_appended", conversationID, atende.PermConversationsRead, e)
}

const timelineCols = `id, tenant_id, conversation_id, seq, kind, channel, direction, author_kind, author_id, body, data, client_id, created_at`

func scanTimelineEvent(row interface{ Scan(...any) error }) (*atende.TimelineEvent, error) {
	var e atende.TimelineEvent
	var data string
	var clientID sql.NullString
	if err := row.Scan(&e.ID, &e.TenantID, &e.ConversationID, &e.Seq, &e.Kind, &e.Channel, &e.Direction, &e.AuthorKind, &e.AuthorID, &e.Body, &data, &clientID, &e.CreatedAt); err != nil {
		return nil, err
	}
	if data != "" {
		e.Data = []byte(data)
	}
	e.ClientID = clientID.String
	return &e, nil
}

// AppendMessage adds a message or note to a conversation's timeline. When
// e.ClientID repeats one already stored in this conversation, nothing is
// written and the stored entry is returned with created false: a client can
// resend after a lost acknowledgement without duplicating. A message on a
// resolved or pending conversation reopens it; a closed one takes no more.
func (s *Store) AppendMessage(ctx context.Context, a atende.Actor, conversationID string, e *atende.TimelineEvent) (*atende.TimelineEvent, bool, error) {
	if err := e.ValidateMessage(); err != nil {
		return nil, false, err
	}
	var out *atende.TimelineEvent
	err := s.write(ctx, "conversation.append", a, func(tx *tx) error {
		// One statement takes the row lock and the next sequence number;
		// if anything below fails, the transaction (or savepoint) undoes it.
		query, args := `UPDATE conversations SET last_event_seq = last_event_seq + 1`, []any{}
		if e.Kind == atende.KindMessage {
			query += `, last_activity_at = ?`
			args = append(args, tx.now)
		}
		c, err := scanConversation(tx.queryRow(query+` WHERE tenant_id = ? AND id = ? RETURNING `+conversationCols, append(args, a.TenantID, conversationID)...))
		if err != nil {
			return err
		}
		if c.Status == atende.StatusClosed && e.Kind == atende.KindMessage {
			return atende.Errorf(atende.EConflict, "the conversation is closed; a new message starts a new conversation")
		}
		switch {
		case e.AuthorKind != "":
		case e.Kind == atende.KindMessage && e.Direction == atende.DirectionIn:
			e.AuthorKind, e.AuthorID = "contact", c.ContactID
		default:
			e.AuthorKind, e.AuthorID = authorOf(a)
		}
		e.Seq = c.LastEventSeq
		if err := tx.insertEventRow(c.ID, e, true); err != nil {
			return err
		}
		out = e
		before := *c
		if e.Kind != atende.KindMessage {
			return nil
		}
		if !slices.Contains(c.Channels, e.Channel) {
			c.Channels = append(slices.Clone(c.Channels), e.Channel)
		}
		if e.Direction == atende.DirectionIn && (c.Status == atende.StatusResolved || c.Status == atende.StatusPending) {
			c.Status = atende.StatusOpen
		}
		if c.Status == before.Status && len(c.Channels) == len(before.Channels) {
			return nil // the common case: nothing more to write
		}
		// The message comes first in the timeline, then the reopening it
		// caused. New channels move without bumping the version: the
		// version guards what people edit.
		if err := tx.timelineChanges(&before, c); err != nil {
			return err
		}
		if c.Status == before.Status {
			return tx.saveConversation(c, before.Version)
		}
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if err := tx.saveConversation(c, before.Version); err != nil {
			return err
		}
		return tx.emit("conversation.updated", c.ID, atende.PermConversationsRead, c)
	})
	if errors.Is(err, errDuplicateClientID) {
		// Sent before: answer with what was stored then.
		var prev *atende.TimelineEvent
		err = s.read("conversation.append", func() (err error) {
			prev, err = scanTimelineEvent(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+timelineCols+` FROM conversation_events WHERE tenant_id = ? AND conversation_id = ? AND client_id = ?`),
				a.TenantID, conversationID, e.ClientID))
			return err
		})
		return prev, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// errDuplicateClientID rolls back an append whose client_id was stored before.
var errDuplicateClientID = errors.New("client_id stored before")

// SetDisposition records the wrap-up code of a conversation, with an optional
// note. A disposition that resolves moves the conversation to resolved.
func (s *Store) SetDisposition(ctx context.Context, a atende.Actor, conversationID, dispositionID, note string) (*atende.Conversation, error) {
	note = strings.TrimSpace(note)
	if len(note) > 10000 {
		return nil, atende.FieldError("note", "is longer than 10000 bytes")
	}
	var out *atende.Conversation
	err := s.write(ctx, "conversation.disposition", a, func(tx *tx) error {
		c, err := tx.lockConversation(conversationID)
		if err != nil {
			return err
		}
		var code string
		var resolves, requireNote, active bool
		err = tx.queryRow(`SELECT code, resolves, require_note, active FROM dispositions WHERE tenant_id = ? AND id = ?`, a.TenantID, dispositionID).
			Scan(&code, &resolves, &requireNote, &active)
		if err == sql.ErrNoRows || (err == nil && !active) {
			return atende.FieldError("disposition_id", "is not an active disposition of this tenant")
		}
		if err != nil {
			return err
		}
		if requireNote && note == "" {
			return atende.FieldError("note", "is required by disposition %s", code)
		}
		before := *c
		c.DispositionID = dispositionID
		if resolves && (c.Status == atende.StatusOpen || c.Status == atende.StatusPending) {
			c.Status = atende.StatusResolved
		}
		if _, err := tx.appendSystemEvent(c, atende.KindDisposition, map[string]any{"disposition_id": dispositionID, "code": code, "note": note}); err != nil {
			return err
		}
		if err := tx.timelineChanges(&before, c); err != nil {
			return err
		}
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if err := tx.saveConversation(c, before.Version); err != nil {
			return err
		}
		out = c
		return tx.emit("conversation.updated", c.ID, atende.PermConversationsRead, c)
	})
	return out, err
}

// Timeline returns a conversation's entries with seq greater than afterSeq,
// in order, at most limit (1-500).
func (s *Store) Timeline(ctx context.Context, tenantID, conversationID string, afterSeq int64, limit int) ([]atende.TimelineEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	if limit > 500 {
		return nil, atende.FieldError("limit", "must be between 1 and 500")
	}
	out := []atende.TimelineEvent{}
	err := s.read("conversation.timeline", func() error {
		var n int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM conversations WHERE tenant_id = ? AND id = ?`), tenantID, conversationID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errConversationNotFound
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+timelineCols+` FROM conversation_events WHERE tenant_id = ? AND conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
			tenantID, conversationID, afterSeq, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanTimelineEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, *e)
		}
		return rows.Err()
	})
	return out, err
}
