package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
)

func (s *Server) routesTenant() {
	s.handle(route{Method: "GET", Path: "/tenant", Perm: atende.PermTenantRead, Tag: "tenant", Summary: "Get my tenant", Out: atende.Tenant{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			t, err := s.cfg.Store.Tenant(r.Context(), p.TenantID)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, t, t.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/tenant", Perm: atende.PermTenantManage, Tag: "tenant", Summary: "Change my tenant's settings",
		In: atende.Tenant{}, Out: atende.Tenant{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			t, err := patchEntity(r, p, p.TenantID, readOnlyFields, func(ctx context.Context, a atende.Actor, _ string, v int64, change func(*atende.Tenant) error) (*atende.Tenant, error) {
				return s.cfg.Store.UpdateTenant(ctx, a, v, change)
			})
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, t, t.Version)
		}})
	s.handle(route{Method: "GET", Path: "/audit", Perm: atende.PermAuditRead, Tag: "tenant", Summary: "Audit log of administrative changes, newest first",
		Out: store.Page[atende.AuditEntry]{}, Query: append([]param{
			{"entity", "string", "only this kind of entity (user, queue, ...)"},
			{"entity_id", "string", "only this entity"},
			{"actor_id", "string", "only changes by this user"},
		}, pageParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			page, err := s.cfg.Store.AuditLog(r.Context(), p.TenantID, store.AuditFilter{Entity: q.Get("entity"), EntityID: q.Get("entity_id"), ActorID: q.Get("actor_id")}, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.routesTokens()
}

// userInput is what an admin sends to create a user.
type userInput struct {
	atende.User
	Password string `json:"password,omitempty"`
}

// agentStateInput changes an agent's state.
type agentStateInput struct {
	Status     atende.AgentStatus `json:"status"`
	ReasonCode string             `json:"reason_code,omitempty"`
}

var userReadOnly = append([]string{"team_ids", "last_login_at"}, readOnlyFields...)

func (s *Server) routesUsers() {
	s.handle(route{Method: "GET", Path: "/users", Perm: atende.PermUsersRead, Tag: "users", Summary: "List users",
		Out: store.Page[atende.User]{}, Query: append([]param{
			{"role", "string", "only users with this role"},
			{"team_id", "string", "only members of this team"},
			{"active", "boolean", "only active (true) or deactivated (false) users"},
			{"q", "string", "name or email contains"},
		}, pageParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			f := store.UserFilter{Role: atende.Role(q.Get("role")), TeamID: q.Get("team_id"), Query: q.Get("q")}
			if a := q.Get("active"); a != "" {
				b := a == "true"
				if a != "true" && a != "false" {
					return atende.FieldError("active", "must be true or false")
				}
				f.Active = &b
			}
			page, err := s.cfg.Store.Users(r.Context(), p.TenantID, f, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/users", Perm: atende.PermUsersManage, Tag: "users", Summary: "Create a user (an empty password leaves the account locked until one is set)",
		In: userInput{}, Out: atende.User{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			in := userInput{User: atende.User{Active: true}}
			if err := decodeCreate(r, &in, userReadOnly); err != nil {
				return err
			}
			u := in.User
			if err := s.cfg.Store.CreateUser(r.Context(), p.actor(r), &u, in.Password); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, u, u.Version)
		}})
	s.handle(route{Method: "GET", Path: "/users/{id}", Perm: atende.PermUsersRead, Tag: "users", Summary: "Get a user", Out: atende.User{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			u, err := s.cfg.Store.User(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, u, u.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/users/{id}", Perm: atende.PermUsersManage, Tag: "users", Summary: "Change a user: name, email, roles, language, capacity, skills, active",
		In: atende.User{}, Out: atende.User{}, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if id == p.UserID {
				// Guard against locking oneself out by accident.
				body, err := readJSONBody(r)
				if err != nil {
					return err
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				var probe struct {
					Active *bool          `json:"active"`
					Roles  *[]atende.Role `json:"roles"`
				}
				// Malformed bodies are reported by the patch itself below.
				_ = json.Unmarshal(body, &probe)
				if probe.Active != nil && !*probe.Active {
					return atende.FieldError("active", "you cannot deactivate yourself")
				}
				if probe.Roles != nil && !slices.Contains(*probe.Roles, atende.RoleAdmin) {
					return atende.FieldError("roles", "you cannot remove your own admin role")
				}
			}
			u, err := patchEntity(r, p, id, userReadOnly, s.cfg.Store.UpdateUser)
			if err != nil {
				return err
			}
			s.auth.purgeUser(id) // roles or active may have changed
			return writeVersioned(w, http.StatusOK, u, u.Version)
		}})
	s.handle(route{Method: "POST", Path: "/users/{id}/password", Perm: atende.PermUsersManage, Tag: "users", Summary: "Set a user's password (ends their sessions)",
		In: struct {
			Password string `json:"password"`
		}{}, Status: http.StatusNoContent,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in struct {
				Password string `json:"password"`
			}
			if err := decode(r, &in); err != nil {
				return err
			}
			if err := s.cfg.Store.SetPassword(r.Context(), p.actor(r), id, in.Password); err != nil {
				return err
			}
			s.auth.purgeUser(id)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.handle(route{Method: "GET", Path: "/agent-states", Perm: atende.PermConfigRead, Tag: "agents", Summary: "Current state of every agent",
		Out: []atende.AgentState{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			st, err := s.cfg.Store.AgentStates(r.Context(), p.TenantID)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": st})
		}})
	s.handle(route{Method: "PUT", Path: "/users/{id}/state", Perm: atende.PermAgentStateOwn, Tag: "agents",
		Summary: "Set an agent's state (your own, or anyone's with agent_state:manage)", In: agentStateInput{}, Out: atende.AgentState{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if id != p.UserID && !p.can(atende.PermAgentStateManage) {
				return atende.Errorf(atende.EForbidden, "only supervisors change other agents' state")
			}
			var in agentStateInput
			if err := decode(r, &in); err != nil {
				return err
			}
			st, err := s.setAgentState(r, p, id, in)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, st)
		}})
	s.handle(route{Method: "GET", Path: "/users/{id}/state", Perm: atende.PermConfigRead, Tag: "agents", Summary: "An agent's current state", Out: atende.AgentState{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			st, err := s.cfg.Store.AgentState(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, st)
		}})
	s.handle(route{Method: "GET", Path: "/users/{id}/state-history", Perm: atende.PermAgentStateOwn, Tag: "agents",
		Summary: "An agent's state history, newest first (your own, or anyone's with users:read)", Out: store.Page[atende.AgentStateChange]{}, Query: pageParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if id != p.UserID && !p.can(atende.PermUsersRead) {
				return atende.Errorf(atende.EForbidden, "you may only read your own state history")
			}
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			page, err := s.cfg.Store.AgentStateHistory(r.Context(), p.TenantID, id, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
}

// setAgentState changes what an agent chose. With routing running, the
// engine owns agents' states (busy and wrap-up follow their work), so the
// change goes through it; users who take no tasks are set in the store.
func (s *Server) setAgentState(r *http.Request, p *principal, userID string, in agentStateInput) (*atende.AgentState, error) {
	ctx := r.Context()
	if s.cfg.Router == nil {
		return s.cfg.Store.SetAgentState(ctx, p.actor(r), userID, in.Status, in.ReasonCode)
	}
	switch in.Status {
	case atende.StatusAvailable, atende.StatusOffline:
		if in.ReasonCode != "" {
			return nil, atende.FieldError("reason_code", "is only for the away state")
		}
	case atende.StatusAway:
		if in.ReasonCode == "" {
			return nil, atende.FieldError("reason_code", "is required when away")
		}
		rc, err := s.cfg.Store.ReasonCodeByCode(ctx, p.TenantID, in.ReasonCode)
		if err != nil || !rc.Active {
			return nil, atende.FieldError("reason_code", "is not an active reason code of this tenant")
		}
	case atende.StatusBusy, atende.StatusWrapUp:
		return nil, atende.FieldError("status", "busy and wrap_up follow the agent's work; choose available, away or offline")
	default:
		return nil, atende.FieldError("status", "must be one of available, away, offline")
	}
	u, err := s.cfg.Store.User(ctx, p.TenantID, userID)
	if err != nil {
		return nil, err
	}
	if !u.HasRole(atende.RoleAgent) {
		return s.cfg.Store.SetAgentState(ctx, p.actor(r), userID, in.Status, in.ReasonCode)
	}
	if !u.Active && in.Status != atende.StatusOffline {
		return nil, atende.Errorf(atende.EConflict, "the user is deactivated")
	}
	return onEngine(ctx, s, p, func(c *routing.Core, now time.Time) (*atende.AgentState, error) {
		if err := c.SetPresence(userID, in.Status, in.ReasonCode, now); err != nil {
			return nil, err
		}
		a, _ := c.Agent(userID)
		return &atende.AgentState{UserID: a.ID, Status: a.Status, ReasonCode: a.Reason, Since: a.Since}, nil
	})
}

// tokenInput creates an API token.
type tokenInput struct {
	Name      string              `json:"name"`
	UserID    string              `json:"user_id,omitempty"` // default: yourself
	Scopes    []atende.Permission `json:"scopes,omitempty"`
	ExpiresAt *time.Time          `json:"expires_at,omitempty"`
}

// createdToken shows the secret once.
type createdToken struct {
	store.APIToken
	Secret string `json:"secret"`
}

func (s *Server) routesTokens() {
	s.handle(route{Method: "GET", Path: "/tokens", Perm: atende.PermTokensManage, Tag: "tokens", Summary: "List API tokens (never their secrets)",
		Out: store.Page[store.APIToken]{}, Query: pageParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			page, err := s.cfg.Store.APITokens(r.Context(), p.TenantID, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: "/tokens", Perm: atende.PermTokensManage, Tag: "tokens", Summary: "Create an API token; the secret is shown only in this response",
		In: tokenInput{}, Out: createdToken{}, Status: http.StatusCreated,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in tokenInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if in.UserID == "" {
				in.UserID = p.UserID
			}
			if !atende.ValidID(in.UserID) {
				return atende.FieldError("user_id", "is not a user of this tenant")
			}
			secret, tok, err := s.cfg.Store.CreateAPIToken(r.Context(), p.actor(r), in.UserID, in.Name, in.Scopes, in.ExpiresAt)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, createdToken{APIToken: *tok, Secret: secret})
		}})
	s.handle(route{Method: "DELETE", Path: "/tokens/{id}", Perm: atende.PermTokensManage, Tag: "tokens", Summary: "Revoke an API token", Status: http.StatusNoContent,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := s.cfg.Store.RevokeAPIToken(r.Context(), p.actor(r), id); err != nil {
				return err
			}
			s.auth.purgeToken(id)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
}

func (s *Server) routesConfig() {
	st := s.cfg.Store
	registerResource(s, resource[atende.Team]{path: "/teams", tag: "config", noun: "team",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		create: st.CreateTeam, get: st.Team, list: st.Teams, update: st.UpdateTeam, remove: st.DeleteTeam,
		version: func(v *atende.Team) int64 { return v.Version }})
	registerResource(s, resource[atende.Skill]{path: "/skills", tag: "config", noun: "skill",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		create: st.CreateSkill, get: st.Skill, list: st.Skills, update: st.UpdateSkill, remove: st.DeleteSkill,
		version: func(v *atende.Skill) int64 { return v.Version }})
	registerResource(s, resource[atende.ReasonCode]{path: "/reason-codes", tag: "config", noun: "reason code",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		defaults: func() *atende.ReasonCode { return &atende.ReasonCode{Active: true} },
		create:   st.CreateReasonCode, get: st.ReasonCode, list: st.ReasonCodes, update: st.UpdateReasonCode, remove: st.DeleteReasonCode,
		version: func(v *atende.ReasonCode) int64 { return v.Version }})
	registerResource(s, resource[atende.Disposition]{path: "/dispositions", tag: "config", noun: "disposition",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		defaults: func() *atende.Disposition { return &atende.Disposition{Active: true} },
		create:   st.CreateDisposition, get: st.Disposition, list: st.Dispositions, update: st.UpdateDisposition, remove: st.DeleteDisposition,
		version: func(v *atende.Disposition) int64 { return v.Version }})
	registerResource(s, resource[atende.Queue]{path: "/queues", tag: "config", noun: "queue",
		readPerm: atende.PermConfigRead, writePerm: atende.PermQueuesManage,
		create: st.CreateQueue, get: st.Queue, list: st.Queues, update: st.UpdateQueue, remove: st.DeleteQueue,
		version: func(v *atende.Queue) int64 { return v.Version }})
	registerResource(s, resource[atende.FieldDef]{path: "/contact-fields", tag: "config", noun: "contact custom field",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage, readOnly: nil,
		create: st.CreateFieldDef, get: st.FieldDef,
		list: func(ctx context.Context, tenantID string, _ store.ListOptions) (store.Page[atende.FieldDef], error) {
			defs, err := st.FieldDefs(ctx, tenantID)
			if defs == nil {
				defs = []atende.FieldDef{}
			}
			return store.Page[atende.FieldDef]{Items: defs}, err
		},
		update: st.UpdateFieldDef, remove: st.DeleteFieldDef,
		version: func(v *atende.FieldDef) int64 { return v.Version }})
}
