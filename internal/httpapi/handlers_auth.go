package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/store"
)

type loginRequest struct {
	Tenant   string `json:"tenant,omitempty"` // slug; optional when the email is in one tenant only
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Me is the logged-in user with what they may do.
type Me struct {
	User        *atende.User        `json:"user"`
	Tenant      *atende.Tenant      `json:"tenant"`
	Permissions []atende.Permission `json:"permissions"`
	CSRFToken   string              `json:"csrf_token,omitempty"`
	Via         string              `json:"via"` // session or token
}

type languageInput struct {
	Language string `json:"language"`
}

type passwordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

func (s *Server) routesAuth() {
	s.handle(route{Method: "POST", Path: "/auth/login", Public: true, Tag: "auth", Summary: "Log in with email and password; sets the session cookie",
		In: loginRequest{}, Out: Me{}, handler: s.login})
	s.handle(route{Method: "POST", Path: "/auth/logout", Tag: "auth", Summary: "End the browser session", Status: http.StatusNoContent,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			if c, err := r.Cookie(sessionCookie); err == nil && p.Kind == "session" {
				if err := s.cfg.Store.DeleteSession(r.Context(), c.Value); err != nil {
					return err
				}
				s.auth.purge("session:" + c.Value)
			}
			s.setSessionCookie(w, "", -1)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.handle(route{Method: "GET", Path: "/auth/me", Tag: "auth", Summary: "Who am I: user, tenant, permissions and CSRF token", Out: Me{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			me, err := s.me(r, p)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, me)
		}})
	s.handle(route{Method: "PUT", Path: "/auth/language", Tag: "auth", Summary: "Choose my own interface language (es, pt-BR or en; empty for the tenant's)",
		In: languageInput{}, Out: atende.User{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in languageInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if in.Language != "" && !atende.ValidLanguage(in.Language) {
				return atende.FieldError("language", "must be es, pt-BR, en or empty")
			}
			u, err := s.cfg.Store.UpdateUser(r.Context(), p.actor(r), p.UserID, 0, func(u *atende.User) error {
				u.Language = in.Language
				return nil
			})
			if err != nil {
				return err
			}
			s.auth.purgeUser(p.UserID) // the cached principal carries the language
			return writeVersioned(w, http.StatusOK, u, u.Version)
		}})
	s.handle(route{Method: "POST", Path: "/auth/password", Tag: "auth", Summary: "Change my own password", In: passwordChange{}, Status: http.StatusNoContent,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in passwordChange
			if err := decode(r, &in); err != nil {
				return err
			}
			if p.Kind != "session" {
				return atende.Errorf(atende.EForbidden, "change passwords from a browser session, not with an API token")
			}
			u, err := s.cfg.Store.User(r.Context(), p.TenantID, p.UserID)
			if err != nil {
				return err
			}
			key := "account:" + p.TenantID + ":" + u.Email
			if ok, wait := s.loginByAccount.Allow(key); !ok {
				return s.rateLimited(w, r, wait)
			}
			creds, err := s.cfg.Store.CredentialsByEmail(r.Context(), p.TenantID, u.Email)
			if err != nil {
				return err
			}
			if len(creds) != 1 || auth.VerifyPassword(creds[0].PasswordHash, in.Current) != nil {
				s.loginByAccount.Fail(key)
				return atende.FieldError("current_password", "is not your current password")
			}
			err = s.cfg.Store.SetPassword(r.Context(), p.actor(r), p.UserID, in.New)
			s.auth.purgeUser(p.UserID) // the store ended every session of the user
			if err != nil {
				if e, ok := err.(*atende.Error); ok && e.Field == "password" {
					return atende.FieldError("new_password", "%s", e.Message)
				}
				return err
			}
			// Setting a password ends every session; start a fresh one here.
			return s.startSession(w, r, u)
		}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *principal) error {
	var in loginRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	ipKey := "ip:" + clientIP(r)
	acctKey := "account:" + strings.ToLower(strings.TrimSpace(in.Tenant)) + ":" + strings.ToLower(strings.TrimSpace(in.Email))
	for _, k := range []struct {
		l   *auth.Limiter
		key string
	}{{s.loginByIP, ipKey}, {s.loginByAccount, acctKey}} {
		if ok, wait := k.l.Allow(k.key); !ok {
			return s.rateLimited(w, r, wait)
		}
	}
	tenantID := ""
	if in.Tenant != "" {
		t, err := s.cfg.Store.TenantBySlug(r.Context(), strings.ToLower(strings.TrimSpace(in.Tenant)))
		if err != nil && atende.ErrorCode(err) != atende.ENotFound {
			return err
		}
		if t == nil {
			// An unknown tenant fails like a wrong password, after the same work.
			auth.VerifyDummy(in.Password)
			s.loginFailed(ipKey, acctKey)
			return s.loginError(r)
		}
		tenantID = t.ID
	}
	creds, err := s.cfg.Store.CredentialsByEmail(r.Context(), tenantID, in.Email)
	if err != nil {
		return err
	}
	var matched []store.Credentials
	for _, c := range creds {
		if c.PasswordHash != "" && auth.VerifyPassword(c.PasswordHash, in.Password) == nil {
			matched = append(matched, c)
		}
	}
	if len(creds) == 0 {
		auth.VerifyDummy(in.Password)
	}
	switch len(matched) {
	case 0:
		s.loginFailed(ipKey, acctKey)
		return s.loginError(r)
	case 1:
	default:
		return atende.FieldError("tenant", "%s", i18n.T(requestLanguage(r), "login.choose_tenant"))
	}
	s.loginByAccount.Succeed(acctKey)
	u := matched[0].User
	if err := s.cfg.Store.RecordLogin(r.Context(), u.TenantID, u.ID); err != nil {
		return err
	}
	return s.startSession(w, r, u)
}

func (s *Server) loginFailed(keys ...string) {
	s.loginByIP.Fail(keys[0])
	s.loginByAccount.Fail(keys[1])
}

func (s *Server) loginError(r *http.Request) error {
	return atende.Errorf(atende.EUnauthorized, "%s", i18n.T(requestLanguage(r), "login.failed"))
}

// rateLimited answers 429 with how long to wait, in the header and the body.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.writeProblem(w, r, atende.ERateLimited, i18n.T(requestLanguage(r), "login.wait", secs), "", secs)
	return nil
}

// startSession creates a session for u, sets its cookie and answers with Me.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *atende.User) error {
	secret, sess, err := s.cfg.Store.CreateSession(r.Context(), u.TenantID, u.ID, sessionTTL, clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	s.setSessionCookie(w, secret, int(sessionTTL.Seconds()))
	p := &principal{TenantID: u.TenantID, UserID: u.ID, Roles: u.Roles, Grants: atende.GrantsFor(u.Roles, nil), Kind: "session", CSRF: sess.CSRF}
	me, err := s.me(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, me)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) me(r *http.Request, p *principal) (*Me, error) {
	u, err := s.cfg.Store.User(r.Context(), p.TenantID, p.UserID)
	if err != nil {
		return nil, err
	}
	t, err := s.cfg.Store.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return nil, err
	}
	perms := []atende.Permission{}
	for _, perm := range atende.Permissions {
		if p.can(perm) {
			perms = append(perms, perm)
		}
	}
	return &Me{User: u, Tenant: t, Permissions: perms, CSRFToken: p.CSRF, Via: p.Kind}, nil
}
