package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
)

var errTokenNotFound = atende.Errorf(atende.ENotFound, "API token not found")

// Session is a browser login. The cookie holds a random secret; the store
// keeps only its hash, so a copy of the database cannot be used to log in.
type Session struct {
	TenantID  string
	UserID    string
	CSRF      string // per-session token the browser echoes in X-CSRF-Token
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession starts a session for a user and returns the cookie secret.
func (s *Store) CreateSession(ctx context.Context, tenantID, userID string, ttl time.Duration, ip, userAgent string) (string, *Session, error) {
	secret := auth.NewSecret("ats_")
	sess := &Session{TenantID: tenantID, UserID: userID, CSRF: auth.NewSecret("")}
	err := s.write(ctx, "session.create", atende.SystemActor(tenantID), func(tx *tx) error {
		sess.CreatedAt, sess.ExpiresAt = tx.now, tx.now.Add(ttl)
		if len(userAgent) > 300 {
			userAgent = userAgent[:300]
		}
		_, err := tx.exec(`INSERT INTO sessions (hash, tenant_id, user_id, csrf, created_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			auth.HashSecret(secret), tenantID, userID, sess.CSRF, sess.CreatedAt, sess.ExpiresAt, ip, userAgent)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// SessionBySecret returns the live session a cookie secret names.
func (s *Store) SessionBySecret(ctx context.Context, secret string) (*Session, error) {
	var sess Session
	err := s.read("session.get", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT tenant_id, user_id, csrf, created_at, expires_at FROM sessions WHERE hash = ? AND expires_at > ?`),
			auth.HashSecret(secret), s.now()).Scan(&sess.TenantID, &sess.UserID, &sess.CSRF, &sess.CreatedAt, &sess.ExpiresAt)
	})
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	return s.write(ctx, "session.delete", atende.Actor{Kind: "system"}, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM sessions WHERE hash = ?`, auth.HashSecret(secret))
		return err
	})
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, "session.sweep", atende.Actor{Kind: "system"}, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM sessions WHERE expires_at <= ?`, tx.now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// APIToken is a bearer credential for integrations. Only a hash of the secret
// is stored; the secret is shown once, at creation.
type APIToken struct {
	ID         string              `json:"id"`
	TenantID   string              `json:"tenant_id"`
	UserID     string              `json:"user_id"`
	Name       string              `json:"name"`
	Scopes     []atende.Permission `json:"scopes"`
	CreatedAt  time.Time           `json:"created_at"`
	ExpiresAt  *time.Time          `json:"expires_at,omitempty"`
	LastUsedAt *time.Time          `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time          `json:"revoked_at,omitempty"`
}

const tokenCols = `id, tenant_id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*APIToken, error) {
	var t APIToken
	var scopes string
	var exp, used, rev sql.NullTime
	if err := row.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Name, &scopes, &t.CreatedAt, &exp, &used, &rev); err != nil {
		if err == sql.ErrNoRows {
			return nil, errTokenNotFound
		}
		return nil, err
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timePtr(exp), timePtr(used), timePtr(rev)
	return &t, fromJSON(scopes, &t.Scopes)
}

// CreateAPIToken issues a token acting as userID with at most the given scopes
// (empty: all of the user's permissions). It returns the secret once.
func (s *Store) CreateAPIToken(ctx context.Context, a atende.Actor, userID, name string, scopes []atende.Permission, expiresAt *time.Time) (string, *APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return "", nil, atende.FieldError("name", "must be 1-200 characters")
	}
	for _, p := range scopes {
		if !atende.ValidPermission(p) {
			return "", nil, atende.FieldError("scopes", "%q is not a permission", p)
		}
	}
	if scopes == nil {
		scopes = []atende.Permission{}
	}
	secret := auth.NewSecret("atk_")
	tok := &APIToken{ID: atende.NewID(), TenantID: a.TenantID, UserID: userID, Name: name, Scopes: scopes, ExpiresAt: expiresAt}
	err := s.write(ctx, "token.create", a, func(tx *tx) error {
		if expiresAt != nil && !expiresAt.After(tx.now) {
			return atende.FieldError("expires_at", "must be in the future")
		}
		var active bool
		if err := tx.queryRow(`SELECT active FROM users WHERE tenant_id = ? AND id = ?`, a.TenantID, userID).Scan(&active); err != nil {
			if err == sql.ErrNoRows {
				return atende.FieldError("user_id", "is not a user of this tenant")
			}
			return err
		}
		if !active {
			return atende.FieldError("user_id", "is deactivated")
		}
		tok.CreatedAt = tx.now
		if _, err := tx.exec(`INSERT INTO api_tokens (id, tenant_id, user_id, name, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tok.ID, tok.TenantID, tok.UserID, tok.Name, auth.HashSecret(secret), jsonText(tok.Scopes), tok.CreatedAt, nullTime(tok.ExpiresAt)); err != nil {
			return err
		}
		return tx.change("token.created", "api_token", tok.ID, atende.PermTokensManage, nil, tok)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// APITokenBySecret returns the live token a bearer secret names and stamps its
// last use (at most once a minute, to keep reads cheap).
func (s *Store) APITokenBySecret(ctx context.Context, secret string) (*APIToken, error) {
	var tok *APIToken
	now := s.now()
	err := s.read("token.get", func() (err error) {
		tok, err = scanToken(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`), auth.HashSecret(secret)))
		return err
	})
	if err != nil {
		return nil, err
	}
	if tok.RevokedAt != nil || (tok.ExpiresAt != nil && !tok.ExpiresAt.After(now)) {
		return nil, errTokenNotFound
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > time.Minute {
		err := s.write(ctx, "token.touch", atende.SystemActor(tok.TenantID), func(tx *tx) error {
			_, err := tx.exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, tx.now, tok.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
		tok.LastUsedAt = &now
	}
	return tok, nil
}

// APITokens lists the tenant's tokens, revoked ones included.
func (s *Store) APITokens(ctx context.Context, tenantID string, o ListOptions) (Page[APIToken], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[APIToken]{}, err
	}
	var items []APIToken
	err = s.read("token.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			items = append(items, *t)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[APIToken]{}, err
	}
	return paginate(items, limit, func(t APIToken) string { return t.ID }), nil
}

// RevokeAPIToken revokes a token; revoking twice is harmless.
func (s *Store) RevokeAPIToken(ctx context.Context, a atende.Actor, id string) error {
	return s.write(ctx, "token.revoke", a, func(tx *tx) error {
		before, err := scanToken(tx.queryRow(`SELECT `+tokenCols+` FROM api_tokens WHERE tenant_id = ? AND id = ?`, a.TenantID, id))
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return nil
		}
		after := *before
		after.RevokedAt = &tx.now
		if _, err := tx.exec(`UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND id = ?`, tx.now, a.TenantID, id); err != nil {
			return err
		}
		return tx.change("token.revoked", "api_token", id, atende.PermTokensManage, before, after)
	})
}

// APIToken returns one of the tenant's tokens.
func (s *Store) APIToken(ctx context.Context, tenantID, id string) (*APIToken, error) {
	var tok *APIToken
	err := s.read("token.get", func() (err error) {
		tok, err = scanToken(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return tok, err
}
