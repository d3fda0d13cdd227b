package httpapi

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/atende/atende"
)

// principal is who is making a request: a logged-in browser session or an
// API token, always within one tenant.
type principal struct {
	TenantID string
	UserID   string
	Name     string
	Language string
	Roles    []atende.Role
	Grants   atende.Grants
	Kind     string // "session" or "token"
	TokenID  string
	CSRF     string
}

// can reports whether the principal holds permission p.
func (p *principal) can(perm atende.Permission) bool { return p.Grants[perm] }

// actor is the principal as the store records it in the audit log.
func (p *principal) actor(r *http.Request) atende.Actor {
	kind := "user"
	if p.Kind == "token" {
		kind = "token"
	}
	return atende.Actor{TenantID: p.TenantID, UserID: p.UserID, Kind: kind, Name: p.Name, IP: clientIP(r)}
}

// id identifies the principal for idempotency keys: a user's keys do not
// collide with another user's or token's.
func (p *principal) id() string {
	if p.TokenID != "" {
		return "token:" + p.TokenID
	}
	return "user:" + p.UserID
}

type principalKey struct{}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// sessionCookie is the name of the browser session cookie.
const sessionCookie = "atende_session"

// sessionTTL is how long a browser session lasts.
const sessionTTL = 12 * time.Hour

// authenticate finds the principal of a request from its bearer token or
// session cookie. It returns nil when there is none or it is not valid.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
			return nil, nil
		}
		return s.cachedPrincipal("bearer:"+strings.TrimSpace(secret), func() (*principal, error) {
			return s.tokenPrincipal(r, strings.TrimSpace(secret))
		})
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	return s.cachedPrincipal("session:"+c.Value, func() (*principal, error) { return s.sessionPrincipal(r, c.Value) })
}

// cachedPrincipal resolves a credential through the cache.
func (s *Server) cachedPrincipal(key string, resolve func() (*principal, error)) (*principal, error) {
	if p := s.auth.get(key); p != nil {
		return p, nil
	}
	p, err := resolve()
	if err != nil || p == nil {
		return nil, err
	}
	s.auth.put(key, p)
	return p, nil
}

func (s *Server) tokenPrincipal(r *http.Request, secret string) (*principal, error) {
	ctx := r.Context()
	tok, err := s.cfg.Store.APITokenBySecret(ctx, secret)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	u, err := s.cfg.Store.User(ctx, tok.TenantID, tok.UserID)
	if err != nil || !u.Active {
		return nil, ignoreNotFound(err)
	}
	return &principal{TenantID: u.TenantID, UserID: u.ID, Name: tok.Name, Language: u.Language, Roles: u.Roles,
		Grants: atende.GrantsFor(u.Roles, tok.Scopes), Kind: "token", TokenID: tok.ID}, nil
}

func (s *Server) sessionPrincipal(r *http.Request, secret string) (*principal, error) {
	ctx := r.Context()
	sess, err := s.cfg.Store.SessionBySecret(ctx, secret)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	u, err := s.cfg.Store.User(ctx, sess.TenantID, sess.UserID)
	if err != nil || !u.Active {
		return nil, ignoreNotFound(err)
	}
	return &principal{TenantID: u.TenantID, UserID: u.ID, Name: u.Name, Language: u.Language, Roles: u.Roles,
		Grants: atende.GrantsFor(u.Roles, nil), Kind: "session", CSRF: sess.CSRF}, nil
}

func ignoreNotFound(err error) error {
	if atende.ErrorCode(err) == atende.ENotFound {
		return nil
	}
	return err
}

// csrfOK checks the CSRF token of a cookie-authenticated request that changes
// state. Bearer tokens are not sent by browsers on their own, so they need none.
func csrfOK(r *http.Request, p *principal) bool {
	if p.Kind != "session" {
		return true
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) == 1
}

// clientIP is the peer address of the request (no proxy headers are trusted
// unless configured; see docs/operations.md).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
