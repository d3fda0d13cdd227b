package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/media"
)

// SurveySettings returns the tenant's survey policy; a tenant that never
// changed it has the defaults, as version 1 (so that it has an ETag).
func (s *Store) SurveySettings(ctx context.Context, tenantID string) (*atende.SurveySettings, error) {
	var out *atende.SurveySettings
	err := s.read("survey_settings.get", func() (err error) {
		out, _, err = scanSurveySettings(s.rdb.QueryRowContext(ctx, s.q(`SELECT tenant_id, settings, updated_at, version FROM survey_settings WHERE tenant_id = ?`), tenantID), tenantID)
		return err
	})
	return out, err
}

// scanSurveySettings reads a settings row; stored is false when the tenant
// has none and gets the defaults.
func scanSurveySettings(row *sql.Row, tenantID string) (out *atende.SurveySettings, stored bool, err error) {
	var id, raw string
	var at time.Time
	var version int64
	err = row.Scan(&id, &raw, &at, &version)
	if errors.Is(err, sql.ErrNoRows) {
		d := atende.DefaultSurveySettings(tenantID)
		d.Version = 1
		return &d, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	set := atende.DefaultSurveySettings(tenantID)
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return nil, false, fmt.Errorf("survey settings of %s: %w", tenantID, err)
	}
	set.TenantID, set.UpdatedAt, set.Version = id, at.UTC(), version
	return &set, true, nil
}

// UpdateSurveySettings applies change to the actor's tenant's survey
// settings. ifVersion, when not 0, must equal the current version (1 before
// the first change).
func (s *Store) UpdateSurveySettings(ctx context.Context, a atende.Actor, ifVersion int64, change func(*atende.SurveySettings) error) (*atende.SurveySettings, error) {
	var out *atende.SurveySettings
	err := s.write(ctx, "survey_settings.update", a, func(tx *tx) error {
		before, stored, err := scanSurveySettings(tx.queryRow(`SELECT tenant_id, settings, updated_at, version FROM survey_settings WHERE tenant_id = ?`+tx.rowLock(), a.TenantID), a.TenantID)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != before.Version {
			return atende.Errorf(atende.EPreconditionFailed, "the resource changed since you read it (version %d, now %d); reload and retry", ifVersion, before.Version)
		}
		next := *before
		if err := change(&next); err != nil {
			return err
		}
		if err := next.Validate(); err != nil {
			return err
		}
		next.TenantID, next.UpdatedAt, next.Version = a.TenantID, tx.now, before.Version+1
		if !stored {
			_, err = tx.exec(`INSERT INTO survey_settings (tenant_id, settings, updated_at, version) VALUES (?, ?, ?, ?)`, a.TenantID, jsonText(next), next.UpdatedAt, next.Version)
		} else {
			err = tx.execOne(atende.Errorf(atende.EPreconditionFailed, "the survey settings changed meanwhile; reload and retry"),
				`UPDATE survey_settings SET settings = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND version = ?`, jsonText(next), next.UpdatedAt, next.Version, a.TenantID, before.Version)
		}
		if atende.ErrorCode(err) == atende.EConflict {
			return atende.Errorf(atende.EPreconditionFailed, "the survey settings changed meanwhile; reload and retry")
		}
		if err != nil {
			return err
		}
		out = &next
		return tx.change("survey_settings.updated", "survey_settings", a.TenantID, atende.PermConfigRead, before, next)
	})
	return out, err
}

// SurveyKey returns the tenant's sealed survey-link key, storing the one
// newSealed makes when the tenant has none yet.
func (s *Store) SurveyKey(ctx context.Context, tenantID string, newSealed func() (string, error)) (string, error) {
	return s.tenantKey(ctx, "survey_keys", "survey_key", tenantID, newSealed)
}

// Survey request states.
const (
	SurveyScheduled = "scheduled"
	SurveySent      = "sent"
	SurveySkipped   = "skipped"
)

// SurveyRequest is a survey email to send about a conversation when it is
// due; at most one per conversation.
type SurveyRequest struct {
	ID             string         `json:"id"`
	TenantID       string         `json:"tenant_id"`
	ConversationID string         `json:"conversation_id"`
	ContactID      string         `json:"contact_id"`
	Channel        atende.Channel `json:"channel"`
	State          string         `json:"state"`
	Reason         string         `json:"reason,omitempty"` // why it was skipped
	DueAt          time.Time      `json:"due_at"`
	SentAt         *time.Time     `json:"sent_at,omitempty"`
	MailID         string         `json:"mail_id,omitempty"` // the outbound mail
	CreatedAt      time.Time      `json:"created_at"`
}

const surveyRequestCols = `id, tenant_id, conversation_id, contact_id, channel, state, reason, due_at, sent_at, mail_id, created_at`

func scanSurveyRequest(row interface{ Scan(...any) error }) (*SurveyRequest, error) {
	var r SurveyRequest
	var sent sql.NullTime
	if err := row.Scan(&r.ID, &r.TenantID, &r.ConversationID, &r.ContactID, &r.Channel, &r.State, &r.Reason, &r.DueAt, &sent, &r.MailID, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.DueAt, r.CreatedAt = r.DueAt.UTC(), r.CreatedAt.UTC()
	if sent.Valid {
		t := sent.Time.UTC()
		r.SentAt = &t
	}
	return &r, nil
}

// ErrSurveyProgressMoved is returned by ScheduleSurveys when another node
// scheduled that stretch of events first.
var ErrSurveyProgressMoved = errors.New("survey progress moved on")

// SurveyProgress is the last event the survey scheduler has looked at.
func (s *Store) SurveyProgress(ctx context.Context) (int64, error) {
	var last int64
	err := s.read("survey.progress", func() error {
		err := s.wdb.QueryRowContext(ctx, `SELECT last_event_id FROM survey_progress WHERE id = 1`).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			last = 0
			return nil
		}
		return err
	})
	return last, err
}

// ScheduleSurveys stores the requests (a conversation that has one keeps
// it) and moves the scheduler's progress from prevID to lastID, in one
// transaction: a crash repeats nothing and skips nothing.
func (s *Store) ScheduleSurveys(ctx context.Context, prevID, lastID int64, reqs []SurveyRequest) error {
	return s.write(ctx, "survey.schedule", atende.SystemActor(""), func(tx *tx) error {
		res, err := tx.exec(`UPDATE survey_progress SET last_event_id = ? WHERE id = 1 AND last_event_id = ?`, lastID, prevID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var got int64
			err := tx.queryRow(`SELECT last_event_id FROM survey_progress WHERE id = 1`).Scan(&got)
			if errors.Is(err, sql.ErrNoRows) && prevID == 0 {
				if _, err := tx.exec(`INSERT INTO survey_progress (id, last_event_id) VALUES (1, ?)`, lastID); err != nil {
					return err
				}
			} else if err != nil {
				return err
			} else {
				return ErrSurveyProgressMoved
			}
		}
		for _, r := range reqs {
			if _, err := tx.exec(`INSERT INTO survey_requests (`+surveyRequestCols+`) VALUES (?, ?, ?, ?, ?, ?, '', ?, NULL, '', ?) ON CONFLICT (tenant_id, conversation_id) DO NOTHING`,
				atende.NewID(), r.TenantID, r.ConversationID, r.ContactID, r.Channel, SurveyScheduled, r.DueAt.UTC(), tx.now); err != nil {
				return err
			}
		}
		return nil
	})
}

// DueSurveyRequests lists up to limit scheduled requests whose time has
// come, oldest due first.
func (s *Store) DueSurveyRequests(ctx context.Context, limit int) ([]SurveyRequest, error) {
	out := []SurveyRequest{}
	err := s.read("survey.due", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+surveyRequestCols+` FROM survey_requests WHERE state = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?`),
			SurveyScheduled, s.now(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanSurveyRequest(rows)
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return rows.Err()
	})
	return out, err
}

// SurveyRequest returns the request about a conversation.
func (s *Store) SurveyRequest(ctx context.Context, tenantID, conversationID string) (*SurveyRequest, error) {
	var out *SurveyRequest
	err := s.read("survey.request", func() (err error) {
		out, err = scanSurveyRequest(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+surveyRequestCols+` FROM survey_requests WHERE tenant_id = ? AND conversation_id = ?`), tenantID, conversationID))
		return err
	})
	return out, err
}

// SkipSurveyRequest marks a scheduled request as not sent, with the reason.
func (s *Store) SkipSurveyRequest(ctx context.Context, r *SurveyRequest, reason string) error {
	return s.write(ctx, "survey.skip", atende.SystemActor(r.TenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE survey_requests SET state = ?, reason = ? WHERE tenant_id = ? AND id = ? AND state = ?`, SurveySkipped, reason, r.TenantID, r.ID, SurveyScheduled)
		return err
	})
}

// SendSurveyRequest queues the survey email om (its raw message already in
// the media store as raw) and marks the request sent, in one transaction,
// unless the contact was sent a survey in the last perContactDays days (then
// the request is skipped and sent is false) or another node sent it first.
// The mail is not part of the conversation's timeline: its links are the
// customer's to answer with.
func (s *Store) SendSurveyRequest(ctx context.Context, r *SurveyRequest, perContactDays int, om *OutboundMail, raw *media.File) (sent bool, err error) {
	err = s.write(ctx, "survey.send", atende.SystemActor(r.TenantID), func(tx *tx) error {
		cur, err := scanSurveyRequest(tx.queryRow(`SELECT `+surveyRequestCols+` FROM survey_requests WHERE tenant_id = ? AND id = ?`+tx.rowLock(), r.TenantID, r.ID))
		if err != nil {
			return err
		}
		if cur.State != SurveyScheduled {
			return nil
		}
		if perContactDays > 0 {
			var n int
			if err := tx.queryRow(`SELECT COUNT(*) FROM survey_requests WHERE tenant_id = ? AND contact_id = ? AND state = ? AND sent_at > ?`,
				r.TenantID, r.ContactID, SurveySent, tx.now.AddDate(0, 0, -perContactDays)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				_, err := tx.exec(`UPDATE survey_requests SET state = ?, reason = ? WHERE tenant_id = ? AND id = ?`, SurveySkipped, "contact surveyed recently", r.TenantID, r.ID)
				return err
			}
		}
		if _, err := tx.exec(`INSERT INTO media (id, tenant_id, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			raw.ID, r.TenantID, raw.Name, raw.ContentType, raw.Size, raw.SHA256, tx.now); err != nil {
			return fmt.Errorf("record media: %w", err)
		}
		om.ID, om.TenantID, om.RawMediaID, om.State, om.Attempts = atende.NewID(), r.TenantID, raw.ID, MailQueued, 0
		om.NextAttemptAt, om.CreatedAt, om.UpdatedAt = tx.now, tx.now, tx.now
		if _, err := tx.exec(`INSERT INTO mail_outbox (`+outboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			om.ID, om.TenantID, om.MailboxID, om.ConversationID, om.EventID, om.MessageID, om.MailFrom, jsonText(om.Recipients), om.RawMediaID, om.Kind, om.State,
			om.Attempts, om.NextAttemptAt, om.LastError, om.CreatedAt, om.UpdatedAt); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE survey_requests SET state = ?, sent_at = ?, mail_id = ? WHERE tenant_id = ? AND id = ?`, SurveySent, tx.now, om.ID, r.TenantID, r.ID); err != nil {
			return err
		}
		sent = true
		return nil
	})
	return sent, err
}

// SurveyFor returns the answer of kind about a conversation.
func (s *Store) SurveyFor(ctx context.Context, tenantID, conversationID, kind string) (*Survey, error) {
	var sv Survey
	err := s.read("survey.get", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT `+surveyCols+` FROM surveys WHERE tenant_id = ? AND conversation_id = ? AND kind = ?`), tenantID, conversationID, kind).
			Scan(&sv.ID, &sv.TenantID, &sv.ConversationID, &sv.AgentID, &sv.Channel, &sv.Kind, &sv.Score, &sv.Comment, &sv.At)
	})
	if err != nil {
		return nil, err
	}
	sv.At = sv.At.UTC()
	return &sv, nil
}

const surveyCols = `id, tenant_id, conversation_id, agent_id, channel, kind, score, comment, at`

// SurveyFilter narrows a list of survey answers; zero fields do not.
type SurveyFilter struct {
	From, To time.Time // at >= From, at < To
	Channel  atende.Channel
	AgentID  string
	Kind     string
}

// ListSurveys lists the tenant's survey answers with their comments, oldest
// first (by id, which follows time), one page at a time.
func (s *Store) ListSurveys(ctx context.Context, tenantID string, f SurveyFilter, o ListOptions) (Page[Survey], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[Survey]{}, err
	}
	q := `SELECT ` + surveyCols + ` FROM surveys WHERE tenant_id = ? AND id > ?`
	args := []any{tenantID, after}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, f.To.UTC())
	}
	if f.Channel != "" {
		q += ` AND channel = ?`
		args = append(args, f.Channel)
	}
	if f.AgentID != "" {
		q += ` AND agent_id = ?`
		args = append(args, f.AgentID)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	var items []Survey
	err = s.read("survey.list_page", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(q), args...)
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
			items = append(items, sv)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[Survey]{}, err
	}
	return paginate(items, limit, func(sv Survey) string { return sv.ID }), nil
}
