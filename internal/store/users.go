package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
)

var errUserNotFound = atende.Errorf(atende.ENotFound, "user not found")

const userCols = `id, tenant_id, email, name, roles, language, active, capacity, last_login_at, created_at, updated_at, version`

func scanUser(row interface{ Scan(...any) error }) (*atende.User, error) {
	var u atende.User
	var roles, capacity string
	var lastLogin sql.NullTime
	if err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &roles, &u.Language, &u.Active, &capacity, &lastLogin, &u.CreatedAt, &u.UpdatedAt, &u.Version); err != nil {
		if err == sql.ErrNoRows {
			return nil, errUserNotFound
		}
		return nil, err
	}
	if err := fromJSON(roles, &u.Roles); err != nil {
		return nil, err
	}
	if err := fromJSON(capacity, &u.Capacity); err != nil {
		return nil, err
	}
	u.LastLoginAt = timePtr(lastLogin)
	u.Skills, u.TeamIDs = []atende.AgentSkill{}, []string{}
	return &u, nil
}

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadUserLinks fills the skills and teams of users in two queries.
func (s *Store) loadUserLinks(ctx context.Context, db querier, tenantID string, users []*atende.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[string]*atende.User, len(users))
	ids := make([]any, 0, len(users)+1)
	ids = append(ids, tenantID)
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
	}
	in := placeholders(len(users))
	rows, err := db.QueryContext(ctx, s.q(`SELECT user_id, skill_id, proficiency FROM agent_skills WHERE tenant_id = ? AND user_id IN (`+in+`) ORDER BY user_id, skill_id`), ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var uid string
		var sk atende.AgentSkill
		if err := rows.Scan(&uid, &sk.SkillID, &sk.Proficiency); err != nil {
			rows.Close()
			return err
		}
		byID[uid].Skills = append(byID[uid].Skills, sk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.QueryContext(ctx, s.q(`SELECT user_id, team_id FROM team_members WHERE tenant_id = ? AND user_id IN (`+in+`) ORDER BY user_id, team_id`), ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var uid, tid string
		if err := rows.Scan(&uid, &tid); err != nil {
			return err
		}
		byID[uid].TeamIDs = append(byID[uid].TeamIDs, tid)
	}
	return rows.Err()
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// CreateUser stores a new user of the actor's tenant. An empty password
// leaves the account without one: it cannot log in until one is set.
func (s *Store) CreateUser(ctx context.Context, a atende.Actor, u *atende.User, password string) error {
	if err := u.Validate(); err != nil {
		return err
	}
	hash := ""
	if password != "" {
		if err := auth.CheckPasswordPolicy(password); err != nil {
			return atende.FieldError("password", "%s", err)
		}
		var err error
		if hash, err = auth.HashPassword(password); err != nil {
			return err
		}
	}
	u.ID, u.TenantID = atende.NewID(), a.TenantID
	return s.write(ctx, "user.create", a, func(tx *tx) error {
		u.CreatedAt, u.UpdatedAt, u.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO users (id, tenant_id, email, name, password_hash, roles, language, active, capacity, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.TenantID, u.Email, u.Name, hash, jsonText(u.Roles), u.Language, u.Active, jsonText(u.Capacity), u.CreatedAt, u.UpdatedAt, u.Version); err != nil {
			return err
		}
		if err := tx.setAgentSkills(u.ID, u.Skills); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO agent_states (tenant_id, user_id, status, reason_code, since) VALUES (?, ?, ?, '', ?)`,
			u.TenantID, u.ID, atende.StatusOffline, tx.now); err != nil {
			return err
		}
		u.TeamIDs = []string{}
		if u.Skills == nil {
			u.Skills = []atende.AgentSkill{}
		}
		return tx.change("user.created", "user", u.ID, atende.PermUsersRead, nil, u)
	})
}

// setAgentSkills replaces an agent's skills, checking each skill is the tenant's.
func (tx *tx) setAgentSkills(userID string, skills []atende.AgentSkill) error {
	if _, err := tx.exec(`DELETE FROM agent_skills WHERE tenant_id = ? AND user_id = ?`, tx.actor.TenantID, userID); err != nil {
		return err
	}
	for _, sk := range skills {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM skills WHERE tenant_id = ? AND id = ?`, tx.actor.TenantID, sk.SkillID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return atende.FieldError("skills", "skill %s does not exist", sk.SkillID)
		}
		if _, err := tx.exec(`INSERT INTO agent_skills (tenant_id, user_id, skill_id, proficiency) VALUES (?, ?, ?, ?)`,
			tx.actor.TenantID, userID, sk.SkillID, sk.Proficiency); err != nil {
			return err
		}
	}
	return nil
}

// User returns a user of the tenant.
func (s *Store) User(ctx context.Context, tenantID, id string) (*atende.User, error) {
	return s.userWhere(ctx, "user.get", `tenant_id = ? AND id = ?`, tenantID, id)
}

// UserByEmail returns the user of the tenant with that address.
func (s *Store) UserByEmail(ctx context.Context, tenantID, email string) (*atende.User, error) {
	e, err := atende.NormalizeEmail(email)
	if err != nil {
		return nil, errUserNotFound
	}
	return s.userWhere(ctx, "user.get", `tenant_id = ? AND email = ?`, tenantID, e)
}

func (s *Store) userWhere(ctx context.Context, kind, where string, args ...any) (*atende.User, error) {
	var u *atende.User
	err := s.read(kind, func() (err error) {
		if u, err = scanUser(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE `+where), args...)); err != nil {
			return err
		}
		return s.loadUserLinks(ctx, s.rdb, u.TenantID, []*atende.User{u})
	})
	return u, err
}

// UserFilter narrows a user list.
type UserFilter struct {
	Role   atende.Role
	TeamID string
	Active *bool
	Query  string // name or email substring
}

// Users lists the tenant's users.
func (s *Store) Users(ctx context.Context, tenantID string, f UserFilter, o ListOptions) (Page[atende.User], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.User]{}, err
	}
	where := []string{"tenant_id = ?", "id > ?"}
	args := []any{tenantID, after}
	if f.Role != "" {
		where = append(where, "roles LIKE ?")
		args = append(args, `%"`+string(f.Role)+`"%`)
	}
	if f.TeamID != "" {
		where = append(where, "id IN (SELECT user_id FROM team_members WHERE tenant_id = ? AND team_id = ?)")
		args = append(args, tenantID, f.TeamID)
	}
	if f.Active != nil {
		where = append(where, "active = ?")
		args = append(args, *f.Active)
	}
	if f.Query != "" {
		where = append(where, "(LOWER(name) LIKE ? OR email LIKE ?)")
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		args = append(args, like, like)
	}
	args = append(args, limit+1)
	var items []atende.User
	err = s.read("user.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`), args...)
		if err != nil {
			return err
		}
		var ptrs []*atende.User
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ptrs = append(ptrs, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := s.loadUserLinks(ctx, s.rdb, tenantID, ptrs); err != nil {
			return err
		}
		for _, u := range ptrs {
			items = append(items, *u)
		}
		return nil
	})
	if err != nil {
		return Page[atende.User]{}, err
	}
	return paginate(items, limit, func(u atende.User) string { return u.ID }), nil
}

// escapeLike neutralises LIKE wildcards in user input (with ESCAPE-less LIKE
// we simply drop them: searching for a literal % or _ is not useful here).
func escapeLike(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// UpdateUser applies change to a user. Email, roles, name, language, active,
// capacity and skills may change; the id and tenant may not.
func (s *Store) UpdateUser(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.User) error) (*atende.User, error) {
	var out *atende.User
	err := s.write(ctx, "user.update", a, func(tx *tx) error {
		before, err := scanUser(tx.queryRow(`SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, a.TenantID, id))
		if err != nil {
			return err
		}
		if err := s.loadUserLinks(ctx, tx, a.TenantID, []*atende.User{before}); err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		u := *before
		u.Roles = append([]atende.Role(nil), before.Roles...)
		u.Skills = append([]atende.AgentSkill(nil), before.Skills...)
		if err := change(&u); err != nil {
			return err
		}
		u.ID, u.TenantID, u.TeamIDs, u.CreatedAt = before.ID, before.TenantID, before.TeamIDs, before.CreatedAt
		if err := u.Validate(); err != nil {
			return err
		}
		u.UpdatedAt, u.Version = tx.now, before.Version+1
		if err := tx.execOne(errUserNotFound, `UPDATE users SET email = ?, name = ?, roles = ?, language = ?, active = ?, capacity = ?, updated_at = ?, version = ?
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			u.Email, u.Name, jsonText(u.Roles), u.Language, u.Active, jsonText(u.Capacity), u.UpdatedAt, u.Version, a.TenantID, id, before.Version); err != nil {
			return err
		}
		if err := tx.setAgentSkills(u.ID, u.Skills); err != nil {
			return err
		}
		if u.Skills == nil {
			u.Skills = []atende.AgentSkill{}
		}
		if !u.Active && before.Active {
			// A deactivated user is logged out everywhere and goes offline.
			if _, err := tx.exec(`DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?`, a.TenantID, id); err != nil {
				return err
			}
			if _, err := tx.setAgentState(u.ID, atende.StatusOffline, ""); err != nil {
				return err
			}
		}
		out = &u
		return tx.change("user.updated", "user", u.ID, atende.PermUsersRead, before, u)
	})
	return out, err
}

// SetPassword sets a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, a atende.Actor, userID, password string) error {
	if err := auth.CheckPasswordPolicy(password); err != nil {
		return atende.FieldError("password", "%s", err)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.write(ctx, "user.password", a, func(tx *tx) error {
		if err := tx.execOne(errUserNotFound, `UPDATE users SET password_hash = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`, hash, tx.now, a.TenantID, userID); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?`, a.TenantID, userID); err != nil {
			return err
		}
		// The audit and the event say that the password changed, never what it is.
		if err := tx.audit("user.password_set", "user", userID, nil, map[string]string{"password": "changed"}); err != nil {
			return err
		}
		return tx.emit("user.password_set", userID, atende.PermUsersRead, map[string]string{"user_id": userID})
	})
}

// Credentials is what a login needs to check a password.
type Credentials struct {
	User         *atende.User
	PasswordHash string
}

// CredentialsByEmail finds the active users with that email, in one tenant
// when tenantID is set, else in every tenant (a login form without a tenant).
func (s *Store) CredentialsByEmail(ctx context.Context, tenantID, email string) ([]Credentials, error) {
	e, err := atende.NormalizeEmail(email)
	if err != nil {
		return nil, nil
	}
	var out []Credentials
	err = s.read("user.credentials", func() error {
		query := `SELECT ` + userCols + `, password_hash FROM users WHERE email = ? AND active = ?`
		args := []any{e, true}
		if tenantID != "" {
			query += ` AND tenant_id = ?`
			args = append(args, tenantID)
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(query+` ORDER BY id LIMIT 20`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Credentials
			u, err := scanUser(scanTail{rows, &c.PasswordHash})
			if err != nil {
				return err
			}
			c.User = u
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// scanTail scans a row whose last column is extra to a scan function.
type scanTail struct {
	row  interface{ Scan(...any) error }
	tail *string
}

func (st scanTail) Scan(dest ...any) error { return st.row.Scan(append(dest, st.tail)...) }

// RecordLogin stamps a successful login.
func (s *Store) RecordLogin(ctx context.Context, tenantID, userID string) error {
	return s.write(ctx, "user.login", atende.SystemActor(tenantID), func(tx *tx) error {
		_, err := tx.exec(`UPDATE users SET last_login_at = ? WHERE tenant_id = ? AND id = ?`, tx.now, tenantID, userID)
		return err
	})
}

// CountUsers counts users in every tenant: zero means a fresh installation.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.read("user.count", func() error {
		return s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	})
	return n, err
}

// AgentState returns an agent's current state.
func (s *Store) AgentState(ctx context.Context, tenantID, userID string) (*atende.AgentState, error) {
	var st atende.AgentState
	err := s.read("agent_state.get", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q(`SELECT user_id, status, reason_code, since FROM agent_states WHERE tenant_id = ? AND user_id = ?`), tenantID, userID).
			Scan(&st.UserID, &st.Status, &st.ReasonCode, &st.Since)
		if err == sql.ErrNoRows {
			return errUserNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// AgentStates returns the current state of every agent of the tenant.
func (s *Store) AgentStates(ctx context.Context, tenantID string) ([]atende.AgentState, error) {
	out := []atende.AgentState{}
	err := s.read("agent_state.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT user_id, status, reason_code, since FROM agent_states WHERE tenant_id = ? ORDER BY user_id`), tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st atende.AgentState
			if err := rows.Scan(&st.UserID, &st.Status, &st.ReasonCode, &st.Since); err != nil {
				return err
			}
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, err
}

// SetAgentState changes an agent's state, closing the current interval of the
// state history and opening a new one. Away needs one of the tenant's active
// reason codes; other states take none.
func (s *Store) SetAgentState(ctx context.Context, a atende.Actor, userID string, status atende.AgentStatus, reason string) (*atende.AgentState, error) {
	switch status {
	case atende.StatusAway:
		if reason == "" {
			return nil, atende.FieldError("reason_code", "is required when away")
		}
	case atende.StatusOffline, atende.StatusAvailable, atende.StatusWrapUp, atende.StatusBusy:
		if reason != "" {
			return nil, atende.FieldError("reason_code", "is only for the away state")
		}
	default:
		return nil, atende.FieldError("status", "must be one of offline, available, away, wrap_up, busy")
	}
	var out *atende.AgentState
	err := s.write(ctx, "agent_state.set", a, func(tx *tx) error {
		var active bool
		if err := tx.queryRow(`SELECT active FROM users WHERE tenant_id = ? AND id = ?`, a.TenantID, userID).Scan(&active); err != nil {
			if err == sql.ErrNoRows {
				return errUserNotFound
			}
			return err
		}
		if !active && status != atende.StatusOffline {
			return atende.Errorf(atende.EConflict, "the user is deactivated")
		}
		if reason != "" {
			var n int
			if err := tx.queryRow(`SELECT COUNT(*) FROM reason_codes WHERE tenant_id = ? AND code = ? AND active = ?`, a.TenantID, reason, true).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return atende.FieldError("reason_code", "is not an active reason code of this tenant")
			}
		}
		st, err := tx.setAgentState(userID, status, reason)
		out = st
		return err
	})
	return out, err
}

// setAgentState writes the state and its history; it is a no-op when nothing changes.
func (tx *tx) setAgentState(userID string, status atende.AgentStatus, reason string) (*atende.AgentState, error) {
	var cur atende.AgentState
	if err := tx.queryRow(`SELECT user_id, status, reason_code, since FROM agent_states WHERE tenant_id = ? AND user_id = ?`, tx.actor.TenantID, userID).
		Scan(&cur.UserID, &cur.Status, &cur.ReasonCode, &cur.Since); err != nil {
		return nil, fmt.Errorf("read agent state: %w", err)
	}
	if cur.Status == status && cur.ReasonCode == reason {
		return &cur, nil
	}
	if _, err := tx.exec(`UPDATE agent_state_history SET ended_at = ? WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL`, tx.now, tx.actor.TenantID, userID); err != nil {
		return nil, err
	}
	if _, err := tx.exec(`INSERT INTO agent_state_history (id, tenant_id, user_id, status, reason_code, started_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		atende.NewID(), tx.actor.TenantID, userID, status, reason, tx.now, tx.actor.UserID); err != nil {
		return nil, err
	}
	if _, err := tx.exec(`UPDATE agent_states SET status = ?, reason_code = ?, since = ? WHERE tenant_id = ? AND user_id = ?`, status, reason, tx.now, tx.actor.TenantID, userID); err != nil {
		return nil, err
	}
	st := &atende.AgentState{UserID: userID, Status: status, ReasonCode: reason, Since: tx.now}
	return st, tx.emit("agent.state_changed", userID, atende.PermEventsRead, st)
}

// AgentStateHistory lists an agent's state intervals, newest first.
func (s *Store) AgentStateHistory(ctx context.Context, tenantID, userID string, o ListOptions) (Page[atende.AgentStateChange], error) {
	before, limit, err := o.bounds()
	if err != nil {
		return Page[atende.AgentStateChange]{}, err
	}
	if before == "" {
		before = "~" // sorts after every id
	}
	var items []atende.AgentStateChange
	err = s.read("agent_state.history", func() error {
		var n int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?`), tenantID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errUserNotFound
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT id, user_id, status, reason_code, started_at, ended_at, changed_by FROM agent_state_history
			WHERE tenant_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`), tenantID, userID, before, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c atende.AgentStateChange
			var ended sql.NullTime
			if err := rows.Scan(&c.ID, &c.UserID, &c.Status, &c.ReasonCode, &c.StartedAt, &ended, &c.ChangedBy); err != nil {
				return err
			}
			c.EndedAt = timePtr(ended)
			items = append(items, c)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.AgentStateChange]{}, err
	}
	return paginate(items, limit, func(c atende.AgentStateChange) string { return c.ID }), nil
}
