package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
)

func TestUsersCRUDSkillsAndIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		skill := &atende.Skill{Name: "Facturación"}
		if err := s.CreateSkill(ctx, a, skill); err != nil {
			t.Fatal(err)
		}
		u := &atende.User{Email: " Ana@Acme.ES ", Name: "Ana", Roles: []atende.Role{atende.RoleAgent, atende.RoleQA, atende.RoleAgent}, Active: true,
			Skills: []atende.AgentSkill{{SkillID: skill.ID, Proficiency: 7}}}
		if err := s.CreateUser(ctx, a, u, "una-contraseña-larga"); err != nil {
			t.Fatal(err)
		}
		if u.Email != "ana@acme.es" || len(u.Roles) != 2 || u.Capacity[atende.ChannelChat] != 3 {
			t.Fatalf("normalised user: %+v", u)
		}
		got, err := s.UserByEmail(ctx, a.TenantID, "ANA@acme.es")
		if err != nil || got.ID != u.ID || len(got.Skills) != 1 || got.Skills[0].Proficiency != 7 {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
		// The same email may exist in another tenant; not twice in one.
		if err := s.CreateUser(ctx, b, &atende.User{Email: "ana@acme.es", Name: "Ana B", Roles: []atende.Role{atende.RoleAdmin}, Active: true}, ""); err != nil {
			t.Fatalf("same email in another tenant: %v", err)
		}
		wantCode(t, s.CreateUser(ctx, a, &atende.User{Email: "ana@acme.es", Name: "Dup", Roles: []atende.Role{atende.RoleAgent}}, ""), atende.EConflict)
		wantCode(t, s.CreateUser(ctx, a, &atende.User{Email: "x@acme.es", Name: "Short", Roles: []atende.Role{atende.RoleAgent}}, "short"), atende.EInvalid)
		wantCode(t, s.CreateUser(ctx, a, &atende.User{Email: "y@acme.es", Name: "Skill", Roles: []atende.Role{atende.RoleAgent},
			Skills: []atende.AgentSkill{{SkillID: atende.NewID(), Proficiency: 3}}}, ""), atende.EInvalid)
		_, err = s.User(ctx, b.TenantID, u.ID)
		wantCode(t, err, atende.ENotFound)
		_, err = s.UpdateUser(ctx, b, u.ID, 0, func(u *atende.User) error { u.Name = "hijack"; return nil })
		wantCode(t, err, atende.ENotFound)

		creds, err := s.CredentialsByEmail(ctx, "", "ana@acme.es")
		if err != nil || len(creds) != 2 {
			t.Fatalf("credentials across tenants: %d, %v", len(creds), err)
		}
		for _, c := range creds {
			if c.User.TenantID == a.TenantID && auth.VerifyPassword(c.PasswordHash, "una-contraseña-larga") != nil {
				t.Fatal("stored hash does not verify")
			}
			if c.User.TenantID == b.TenantID && c.PasswordHash != "" {
				t.Fatal("a user created without a password has a hash")
			}
		}
		up, err := s.UpdateUser(ctx, a, u.ID, 1, func(u *atende.User) error {
			u.Skills = []atende.AgentSkill{{SkillID: skill.ID, Proficiency: 9}}
			u.Capacity = atende.Capacity{atende.ChannelVoice: 1, atende.ChannelChat: 5}
			return nil
		})
		if err != nil || up.Version != 2 || up.Skills[0].Proficiency != 9 || up.Capacity[atende.ChannelChat] != 5 {
			t.Fatalf("UpdateUser = %+v, %v", up, err)
		}
		_, err = s.UpdateUser(ctx, a, u.ID, 1, func(u *atende.User) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		page, err := s.Users(ctx, a.TenantID, UserFilter{Role: atende.RoleQA}, ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != u.ID {
			t.Fatalf("Users(role=qa) = %+v, %v", page.Items, err)
		}
		entries, err := s.AuditLog(ctx, a.TenantID, AuditFilter{EntityID: u.ID}, ListOptions{})
		if err != nil || len(entries.Items) != 2 || !strings.Contains(string(entries.Items[0].Before), `"proficiency":7`) {
			t.Fatalf("audit of user: %+v, %v", entries.Items, err)
		}
		for _, e := range entries.Items {
			if strings.Contains(string(e.After), "contraseña") || strings.Contains(string(e.After), "argon2") {
				t.Fatal("audit log holds a password or hash")
			}
		}
	})
}

func TestAgentStateHistory(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		u := &atende.User{Email: "agent@acme.es", Name: "Agent", Roles: []atende.Role{atende.RoleAgent}, Active: true}
		if err := s.CreateUser(ctx, a, u, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateReasonCode(ctx, a, &atende.ReasonCode{Code: "lunch", Labels: map[string]string{"es": "Comida"}, Active: true}); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			status atende.AgentStatus
			reason string
		}{{atende.StatusAvailable, ""}, {atende.StatusAway, "lunch"}, {atende.StatusAway, "lunch"}, {atende.StatusAvailable, ""}, {atende.StatusBusy, ""}} {
			if _, err := s.SetAgentState(ctx, a, u.ID, step.status, step.reason); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.SetAgentState(ctx, a, u.ID, atende.StatusAway, "")
		wantCode(t, err, atende.EInvalid)
		_, err = s.SetAgentState(ctx, a, u.ID, "dancing", "")
		wantCode(t, err, atende.EInvalid)
		st, err := s.AgentState(ctx, a.TenantID, u.ID)
		if err != nil || st.Status != atende.StatusBusy {
			t.Fatalf("AgentState = %+v, %v", st, err)
		}
		hist, err := s.AgentStateHistory(ctx, a.TenantID, u.ID, ListOptions{Limit: 2})
		if err != nil || len(hist.Items) != 2 || hist.Next == "" {
			t.Fatalf("first page: %+v %v", hist, err)
		}
		rest, err := s.AgentStateHistory(ctx, a.TenantID, u.ID, ListOptions{Cursor: hist.Next, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		all := append(hist.Items, rest.Items...)
		// available, away(lunch) (repeat ignored), available, busy — newest first.
		want := []atende.AgentStatus{atende.StatusBusy, atende.StatusAvailable, atende.StatusAway, atende.StatusAvailable}
		if len(all) != len(want) {
			t.Fatalf("history %+v", all)
		}
		for i, c := range all {
			if c.Status != want[i] || (i == 0) != (c.EndedAt == nil) {
				t.Fatalf("history[%d] = %+v", i, c)
			}
		}
		// Deactivating a user logs them out and sets them offline.
		if _, err := s.UpdateUser(ctx, a, u.ID, 0, func(u *atende.User) error { u.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.AgentState(ctx, a.TenantID, u.ID); st.Status != atende.StatusOffline {
			t.Fatalf("deactivated user state %s", st.Status)
		}
		_, err = s.SetAgentState(ctx, a, u.ID, atende.StatusAvailable, "")
		wantCode(t, err, atende.EConflict)
	})
}

func TestSessionsAndTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		u := &atende.User{Email: "admin@acme.es", Name: "Admin", Roles: []atende.Role{atende.RoleAdmin}, Active: true}
		if err := s.CreateUser(ctx, a, u, "una-contraseña-larga"); err != nil {
			t.Fatal(err)
		}
		secret, sess, err := s.CreateSession(ctx, a.TenantID, u.ID, time.Hour, "127.0.0.1", "test")
		if err != nil || !strings.HasPrefix(secret, "ats_") || sess.CSRF == "" {
			t.Fatalf("CreateSession: %v", err)
		}
		if got, err := s.SessionBySecret(ctx, secret); err != nil || got.UserID != u.ID {
			t.Fatalf("SessionBySecret = %+v, %v", got, err)
		}
		_, err = s.SessionBySecret(ctx, secret+"x")
		wantCode(t, err, atende.ENotFound)
		// A password change ends every session.
		if err := s.SetPassword(ctx, a, u.ID, "otra-contraseña-larga"); err != nil {
			t.Fatal(err)
		}
		_, err = s.SessionBySecret(ctx, secret)
		wantCode(t, err, atende.ENotFound)
		// Expired sessions are not found and are swept.
		old, _, _ := s.CreateSession(ctx, a.TenantID, u.ID, -time.Minute, "", "")
		_, err = s.SessionBySecret(ctx, old)
		wantCode(t, err, atende.ENotFound)
		if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
		}

		tokSecret, tok, err := s.CreateAPIToken(ctx, a, u.ID, "CRM", []atende.Permission{atende.PermContactsRead}, nil)
		if err != nil || !strings.HasPrefix(tokSecret, "atk_") {
			t.Fatal(err)
		}
		var stored string
		if err := s.rdb.QueryRow(s.q(`SELECT hash FROM api_tokens WHERE id = ?`), tok.ID).Scan(&stored); err != nil || strings.Contains(stored, tokSecret) || stored != auth.HashSecret(tokSecret) {
			t.Fatalf("token stored as %q", stored)
		}
		got, err := s.APITokenBySecret(ctx, tokSecret)
		if err != nil || got.LastUsedAt == nil || len(got.Scopes) != 1 {
			t.Fatalf("APITokenBySecret = %+v, %v", got, err)
		}
		if err := s.RevokeAPIToken(ctx, b, tok.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("revoke from another tenant: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, a, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.APITokenBySecret(ctx, tokSecret)
		wantCode(t, err, atende.ENotFound)
		past := time.Now().Add(-time.Hour)
		_, _, err = s.CreateAPIToken(ctx, a, u.ID, "old", nil, &past)
		wantCode(t, err, atende.EInvalid)
		_, _, err = s.CreateAPIToken(ctx, a, u.ID, "bad", []atende.Permission{"root"}, nil)
		wantCode(t, err, atende.EInvalid)
		_, _, err = s.CreateAPIToken(ctx, b, u.ID, "cross", nil, nil)
		wantCode(t, err, atende.EInvalid)
	})
}
