package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/atende/atende"
)

var (
	errSIPAccountNotFound = atende.Errorf(atende.ENotFound, "SIP account not found")
	errTrunkNotFound      = atende.Errorf(atende.ENotFound, "trunk not found")
	errDIDNotFound        = atende.Errorf(atende.ENotFound, "DID not found")
)

// Voice settings.

func scanVoiceSettings(row *sql.Row, tenantID string) (*atende.VoiceSettings, bool, error) {
	var domain sql.NullString
	v := atende.VoiceSettings{TenantID: tenantID}
	err := row.Scan(&domain, &v.UpdatedAt, &v.Version)
	if errors.Is(err, sql.ErrNoRows) {
		v.Version = 1
		return &v, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v.SIPDomain, v.UpdatedAt = domain.String, v.UpdatedAt.UTC()
	return &v, true, nil
}

// VoiceSettings returns the tenant's voice settings; a tenant that never set
// them has the defaults at version 1.
func (s *Store) VoiceSettings(ctx context.Context, tenantID string) (*atende.VoiceSettings, error) {
	var out *atende.VoiceSettings
	err := s.read("voice_settings.get", func() (err error) {
		out, _, err = scanVoiceSettings(s.rdb.QueryRowContext(ctx, s.q(`SELECT sip_domain, updated_at, version FROM voice_settings WHERE tenant_id = ?`), tenantID), tenantID)
		return err
	})
	return out, err
}

// UpdateVoiceSettings applies change to the actor's tenant's voice settings.
// ifVersion, when not 0, must equal the current version. A SIP domain is
// unique across tenants.
func (s *Store) UpdateVoiceSettings(ctx context.Context, a atende.Actor, ifVersion int64, change func(*atende.VoiceSettings) error) (*atende.VoiceSettings, error) {
	var out *atende.VoiceSettings
	err := s.write(ctx, "voice_settings.update", a, func(tx *tx) error {
		before, stored, err := scanVoiceSettings(tx.queryRow(`SELECT sip_domain, updated_at, version FROM voice_settings WHERE tenant_id = ?`+tx.rowLock(), a.TenantID), a.TenantID)
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		next := *before
		if err := change(&next); err != nil {
			return err
		}
		if err := next.Validate(); err != nil {
			return err
		}
		next.TenantID, next.UpdatedAt, next.Version = a.TenantID, tx.now, before.Version+1
		var domain any
		if next.SIPDomain != "" {
			domain = next.SIPDomain
		}
		if !stored {
			_, err = tx.exec(`INSERT INTO voice_settings (tenant_id, sip_domain, updated_at, version) VALUES (?, ?, ?, ?)`, a.TenantID, domain, next.UpdatedAt, next.Version)
		} else {
			err = tx.execOne(atende.Errorf(atende.EPreconditionFailed, "the voice settings changed meanwhile; reload and retry"),
				`UPDATE voice_settings SET sip_domain = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND version = ?`, domain, next.UpdatedAt, next.Version, a.TenantID, before.Version)
		}
		if atende.ErrorCode(mapErr(err)) == atende.EConflict {
			// Another tenant's domain: say so without naming the tenant.
			return &atende.Error{Code: atende.EConflict, Field: "sip_domain", Message: "this SIP domain is used by another tenant"}
		}
		if err != nil {
			return err
		}
		out = &next
		return tx.change("voice_settings.updated", "voice_settings", a.TenantID, atende.PermConfigManage, before, next)
	})
	return out, err
}

// TenantBySIPDomain returns the id of the tenant whose SIP domain is domain.
func (s *Store) TenantBySIPDomain(ctx context.Context, domain string) (string, error) {
	var id string
	err := s.read("voice_settings.domain", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT tenant_id FROM voice_settings WHERE sip_domain = ?`), strings.ToLower(domain)).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) || atende.ErrorCode(err) == atende.ENotFound {
		return "", atende.Errorf(atende.ENotFound, "no tenant has the SIP domain %s", domain)
	}
	return id, err
}

// SIP accounts.

const sipAccountCols = `id, tenant_id, user_id, username, active, password, created_at, updated_at, version`

func scanSIPAccount(row interface{ Scan(...any) error }) (*atende.SIPAccount, string, error) {
	var a atende.SIPAccount
	var sealed string
	if err := row.Scan(&a.ID, &a.TenantID, &a.UserID, &a.Username, &a.Active, &sealed, &a.CreatedAt, &a.UpdatedAt, &a.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", errSIPAccountNotFound
		}
		return nil, "", err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, sealed, nil
}

func usernameTaken(err error) error {
	if atende.ErrorCode(mapErr(err)) == atende.EConflict {
		return &atende.Error{Code: atende.EConflict, Field: "username", Message: "this username is taken in the tenant"}
	}
	return err
}

func (tx *tx) checkSIPAccountUser(acc *atende.SIPAccount) error {
	if acc.UserID == "" {
		return nil
	}
	ok, err := tx.tenantHas("users", acc.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return atende.FieldError("user_id", "is not a user of this tenant")
	}
	return nil
}

// CreateSIPAccount stores a SIP account with its password already sealed.
func (s *Store) CreateSIPAccount(ctx context.Context, a atende.Actor, acc *atende.SIPAccount, sealedPassword string) error {
	if err := acc.Validate(); err != nil {
		return err
	}
	if sealedPassword == "" {
		return errors.New("create SIP account: no sealed password")
	}
	return s.write(ctx, "sip_account.create", a, func(tx *tx) error {
		if err := tx.checkSIPAccountUser(acc); err != nil {
			return err
		}
		acc.ID, acc.TenantID = atende.NewID(), a.TenantID
		acc.CreatedAt, acc.UpdatedAt, acc.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO sip_accounts (`+sipAccountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			acc.ID, acc.TenantID, acc.UserID, acc.Username, acc.Active, sealedPassword, acc.CreatedAt, acc.UpdatedAt, acc.Version); err != nil {
			return usernameTaken(err)
		}
		return tx.change("sip_account.created", "sip_account", acc.ID, atende.PermConfigManage, nil, acc)
	})
}

// SIPAccount returns a SIP account of the tenant, without its password.
func (s *Store) SIPAccount(ctx context.Context, tenantID, id string) (*atende.SIPAccount, error) {
	var out *atende.SIPAccount
	err := s.read("sip_account.get", func() (err error) {
		out, _, err = scanSIPAccount(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return out, err
}

// SIPAccountByUsername returns a SIP account and its sealed password, for
// the registrar's digest authentication.
func (s *Store) SIPAccountByUsername(ctx context.Context, tenantID, username string) (*atende.SIPAccount, string, error) {
	var out *atende.SIPAccount
	var sealed string
	err := s.read("sip_account.username", func() (err error) {
		out, sealed, err = scanSIPAccount(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND username = ?`), tenantID, username))
		return err
	})
	return out, sealed, err
}

// SIPAccounts lists the tenant's SIP accounts by id.
func (s *Store) SIPAccounts(ctx context.Context, tenantID string, o ListOptions) (Page[atende.SIPAccount], error) {
	return listPage(ctx, s, o, "sip_account.list", `SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID,
		func(row interface{ Scan(...any) error }) (*atende.SIPAccount, error) {
			a, _, err := scanSIPAccount(row)
			return a, err
		}, func(a atende.SIPAccount) string { return a.ID })
}

// UpdateSIPAccount changes a SIP account's username, user or active flag;
// the password changes only with SetSIPAccountPassword.
func (s *Store) UpdateSIPAccount(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.SIPAccount) error) (*atende.SIPAccount, error) {
	var out *atende.SIPAccount
	err := s.write(ctx, "sip_account.update", a, func(tx *tx) error {
		before, _, err := scanSIPAccount(tx.queryRow(`SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		next := *before
		if err := change(&next); err != nil {
			return err
		}
		next.ID, next.TenantID, next.CreatedAt, next.Password = before.ID, before.TenantID, before.CreatedAt, ""
		if err := next.Validate(); err != nil {
			return err
		}
		if err := tx.checkSIPAccountUser(&next); err != nil {
			return err
		}
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errSIPAccountNotFound, `UPDATE sip_accounts SET user_id = ?, username = ?, active = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			next.UserID, next.Username, next.Active, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return usernameTaken(err)
		}
		if next.Username != before.Username || !next.Active {
			// The phone must register again under its new name.
			if _, err := tx.exec(`DELETE FROM sip_bindings WHERE account_id = ?`, id); err != nil {
				return err
			}
		}
		out = &next
		return tx.change("sip_account.updated", "sip_account", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// SetSIPAccountPassword replaces a SIP account's sealed password. Its
// registrations end: phones must register with the new password.
func (s *Store) SetSIPAccountPassword(ctx context.Context, a atende.Actor, id, sealedPassword string) (*atende.SIPAccount, error) {
	var out *atende.SIPAccount
	err := s.write(ctx, "sip_account.password", a, func(tx *tx) error {
		before, _, err := scanSIPAccount(tx.queryRow(`SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		next := *before
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errSIPAccountNotFound, `UPDATE sip_accounts SET password = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ?`,
			sealedPassword, next.UpdatedAt, next.Version, a.TenantID, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sip_bindings WHERE account_id = ?`, id); err != nil {
			return err
		}
		out = &next
		// The audit says that it changed, never what to.
		return tx.change("sip_account.password_changed", "sip_account", id, atende.PermConfigManage, nil, next)
	})
	return out, err
}

// DeleteSIPAccount removes a SIP account and its registrations.
func (s *Store) DeleteSIPAccount(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "sip_account.delete", a, func(tx *tx) error {
		before, _, err := scanSIPAccount(tx.queryRow(`SELECT `+sipAccountCols+` FROM sip_accounts WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sip_bindings WHERE account_id = ?`, id); err != nil {
			return err
		}
		if err := tx.execOne(errSIPAccountNotFound, `DELETE FROM sip_accounts WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removedManaged("sip_account.deleted", "sip_account", id, before)
	})
}

// SIP bindings (registrations).

const sipBindingCols = `tenant_id, account_id, username, contact, source, transport, user_agent, call_id, cseq, node, expires, updated_at`

func scanSIPBinding(row interface{ Scan(...any) error }) (*atende.SIPBinding, error) {
	var b atende.SIPBinding
	var cseq int64
	if err := row.Scan(&b.TenantID, &b.AccountID, &b.Username, &b.Contact, &b.Source, &b.Transport, &b.UserAgent, &b.CallID, &cseq, &b.Node, &b.Expires, &b.UpdatedAt); err != nil {
		return nil, err
	}
	b.CSeq, b.Expires, b.UpdatedAt = uint32(cseq), b.Expires.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}

// PutSIPBinding stores or refreshes a registered contact. Registrations are
// protocol state, not configuration: they are neither audited nor announced.
func (s *Store) PutSIPBinding(ctx context.Context, b *atende.SIPBinding) error {
	return s.write(ctx, "sip_binding.put", atende.SystemActor(b.TenantID), func(tx *tx) error {
		b.UpdatedAt = tx.now
		b.Expires = b.Expires.UTC().Truncate(time.Microsecond)
		res, err := tx.exec(`UPDATE sip_bindings SET source = ?, transport = ?, user_agent = ?, call_id = ?, cseq = ?, node = ?, expires = ?, updated_at = ? WHERE account_id = ? AND contact = ?`,
			b.Source, b.Transport, b.UserAgent, b.CallID, int64(b.CSeq), b.Node, b.Expires, b.UpdatedAt, b.AccountID, b.Contact)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.exec(`INSERT INTO sip_bindings (`+sipBindingCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.TenantID, b.AccountID, b.Username, b.Contact, b.Source, b.Transport, b.UserAgent, b.CallID, int64(b.CSeq), b.Node, b.Expires, b.UpdatedAt)
		return err
	})
}

// DeleteSIPBindings removes an account's registered contacts: the one
// named, or all of them when contact is empty.
func (s *Store) DeleteSIPBindings(ctx context.Context, tenantID, accountID, contact string) error {
	return s.write(ctx, "sip_binding.delete", atende.SystemActor(tenantID), func(tx *tx) error {
		if contact == "" {
			_, err := tx.exec(`DELETE FROM sip_bindings WHERE tenant_id = ? AND account_id = ?`, tenantID, accountID)
			return err
		}
		_, err := tx.exec(`DELETE FROM sip_bindings WHERE tenant_id = ? AND account_id = ? AND contact = ?`, tenantID, accountID, contact)
		return err
	})
}

// SIPBindings lists the tenant's unexpired registrations, by username;
// with username set, only that account's.
func (s *Store) SIPBindings(ctx context.Context, tenantID, username string) ([]atende.SIPBinding, error) {
	q := `SELECT ` + sipBindingCols + ` FROM sip_bindings WHERE tenant_id = ? AND expires > ?`
	args := []any{tenantID, s.now()}
	if username != "" {
		q += ` AND username = ?`
		args = append(args, username)
	}
	out := []atende.SIPBinding{}
	err := s.read("sip_binding.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(q+` ORDER BY username, contact LIMIT 10000`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanSIPBinding(rows)
			if err != nil {
				return err
			}
			out = append(out, *b)
		}
		return rows.Err()
	})
	return out, err
}

// PruneSIPBindings deletes registrations that expired before the given
// time and reports how many.
func (s *Store) PruneSIPBindings(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "sip_binding.prune", atende.SystemActor(""), func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM sip_bindings WHERE expires < ?`, before.UTC())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// Trunks.

const trunkCols = `id, tenant_id, name, mode, active, config, password, created_at, updated_at, version`

func scanTrunk(row interface{ Scan(...any) error }) (*atende.Trunk, error) {
	var t atende.Trunk
	var config, sealed string
	var id, tenant, name, mode string
	var active bool
	var created, updated time.Time
	var version int64
	if err := row.Scan(&id, &tenant, &name, &mode, &active, &config, &sealed, &created, &updated, &version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errTrunkNotFound
		}
		return nil, err
	}
	if err := fromJSON(config, &t); err != nil {
		return nil, err
	}
	t.ID, t.TenantID, t.Name, t.Mode, t.Active = id, tenant, name, atende.TrunkMode(mode), active
	t.SealedPassword, t.PasswordSet, t.Password = sealed, sealed != "", ""
	t.CreatedAt, t.UpdatedAt, t.Version = created.UTC(), updated.UTC(), version
	return &t, nil
}

// trunkConfigJSON is what the config column holds: the trunk without its
// password and the columns kept apart.
func trunkConfigJSON(t *atende.Trunk) string {
	c := *t
	c.Password, c.SealedPassword, c.PasswordSet = "", "", false
	return jsonText(c)
}

func trunkNameTaken(err error) error {
	if atende.ErrorCode(mapErr(err)) == atende.EConflict {
		return &atende.Error{Code: atende.EConflict, Field: "name", Message: "another trunk of the tenant has this name"}
	}
	return err
}

func checkTrunkPassword(t *atende.Trunk) error {
	if t.Mode == atende.TrunkRegister && t.SealedPassword == "" {
		return atende.FieldError("password", "is required for a register trunk")
	}
	if t.Mode == atende.TrunkIP {
		t.SealedPassword = ""
	}
	return nil
}

// CreateTrunk stores a trunk; its password, if any, must already be sealed
// (SealedPassword).
func (s *Store) CreateTrunk(ctx context.Context, a atende.Actor, t *atende.Trunk) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := checkTrunkPassword(t); err != nil {
		return err
	}
	return s.write(ctx, "trunk.create", a, func(tx *tx) error {
		t.ID, t.TenantID = atende.NewID(), a.TenantID
		t.CreatedAt, t.UpdatedAt, t.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO sip_trunks (`+trunkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.TenantID, t.Name, string(t.Mode), t.Active, trunkConfigJSON(t), t.SealedPassword, t.CreatedAt, t.UpdatedAt, t.Version); err != nil {
			return trunkNameTaken(err)
		}
		t.PasswordSet, t.Password = t.SealedPassword != "", ""
		return tx.change("trunk.created", "trunk", t.ID, atende.PermConfigManage, nil, t)
	})
}

// Trunk returns a trunk of the tenant; SealedPassword is set for the voice
// channel's use and never serialised.
func (s *Store) Trunk(ctx context.Context, tenantID, id string) (*atende.Trunk, error) {
	var out *atende.Trunk
	err := s.read("trunk.get", func() (err error) {
		out, err = scanTrunk(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+trunkCols+` FROM sip_trunks WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return out, err
}

// Trunks lists the tenant's trunks by id.
func (s *Store) Trunks(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Trunk], error) {
	return listPage(ctx, s, o, "trunk.list", `SELECT `+trunkCols+` FROM sip_trunks WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID,
		scanTrunk, func(t atende.Trunk) string { return t.ID })
}

// ActiveTrunks lists every tenant's active trunks, for the voice channel.
func (s *Store) ActiveTrunks(ctx context.Context) ([]atende.Trunk, error) {
	var out []atende.Trunk
	err := s.read("trunk.active", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+trunkCols+` FROM sip_trunks WHERE active = `+s.boolLiteral(true)+` ORDER BY id`))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTrunk(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	return out, err
}

// UpdateTrunk applies change to a trunk. A password set by change must be
// sealed (SealedPassword); none keeps the stored one.
func (s *Store) UpdateTrunk(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Trunk) error) (*atende.Trunk, error) {
	var out *atende.Trunk
	err := s.write(ctx, "trunk.update", a, func(tx *tx) error {
		before, err := scanTrunk(tx.queryRow(`SELECT `+trunkCols+` FROM sip_trunks WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		next := *before
		next.AllowedCIDRs = append([]string(nil), before.AllowedCIDRs...)
		next.SealedPassword = ""
		if err := change(&next); err != nil {
			return err
		}
		if next.SealedPassword == "" && next.Mode == atende.TrunkRegister {
			next.SealedPassword = before.SealedPassword
		}
		next.ID, next.TenantID, next.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := next.Validate(); err != nil {
			return err
		}
		if err := checkTrunkPassword(&next); err != nil {
			return err
		}
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errTrunkNotFound, `UPDATE sip_trunks SET name = ?, mode = ?, active = ?, config = ?, password = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			next.Name, string(next.Mode), next.Active, trunkConfigJSON(&next), next.SealedPassword, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return trunkNameTaken(err)
		}
		next.PasswordSet, next.Password = next.SealedPassword != "", ""
		out = &next
		return tx.change("trunk.updated", "trunk", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// DeleteTrunk removes a trunk and its registration state.
func (s *Store) DeleteTrunk(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "trunk.delete", a, func(tx *tx) error {
		before, err := scanTrunk(tx.queryRow(`SELECT `+trunkCols+` FROM sip_trunks WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sip_trunk_states WHERE trunk_id = ?`, id); err != nil {
			return err
		}
		if err := tx.execOne(errTrunkNotFound, `DELETE FROM sip_trunks WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removedManaged("trunk.deleted", "trunk", id, before)
	})
}

// SetTrunkState records the outcome of a trunk's latest registration.
func (s *Store) SetTrunkState(ctx context.Context, st atende.TrunkState) error {
	return s.write(ctx, "trunk_state.put", atende.SystemActor(st.TenantID), func(tx *tx) error {
		var expires any
		if !st.Expires.IsZero() {
			expires = st.Expires.UTC()
		}
		res, err := tx.exec(`UPDATE sip_trunk_states SET state = ?, last_error = ?, expires = ?, updated_at = ? WHERE trunk_id = ?`,
			st.State, st.LastError, expires, tx.now, st.TrunkID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		ok, err := tx.tenantHas("sip_trunks", st.TrunkID)
		if err != nil || !ok {
			return err // deleted meanwhile: nothing to record
		}
		_, err = tx.exec(`INSERT INTO sip_trunk_states (trunk_id, tenant_id, state, last_error, expires, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			st.TrunkID, st.TenantID, st.State, st.LastError, expires, tx.now)
		return err
	})
}

// TrunkState returns a trunk's registration state; a trunk never tried is
// "off".
func (s *Store) TrunkState(ctx context.Context, tenantID, trunkID string) (*atende.TrunkState, error) {
	st := atende.TrunkState{TrunkID: trunkID, TenantID: tenantID}
	var expires sql.NullTime
	err := s.read("trunk_state.get", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT state, last_error, expires, updated_at FROM sip_trunk_states WHERE tenant_id = ? AND trunk_id = ?`), tenantID, trunkID).
			Scan(&st.State, &st.LastError, &expires, &st.UpdatedAt)
	})
	if errors.Is(err, sql.ErrNoRows) || atende.ErrorCode(err) == atende.ENotFound {
		st.State = atende.TrunkOff
		return &st, nil
	}
	if err != nil {
		return nil, err
	}
	if t := timePtr(expires); t != nil {
		st.Expires = *t
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	return &st, nil
}

// DIDs.

const didCols = `id, tenant_id, number, target_kind, target_id, description, created_at, updated_at, version`

func scanDID(row interface{ Scan(...any) error }) (*atende.DID, error) {
	var d atende.DID
	if err := row.Scan(&d.ID, &d.TenantID, &d.Number, &d.TargetKind, &d.TargetID, &d.Description, &d.CreatedAt, &d.UpdatedAt, &d.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errDIDNotFound
		}
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func numberTaken(err error) error {
	if atende.ErrorCode(mapErr(err)) == atende.EConflict {
		// Never say whose: it may be another tenant's.
		return &atende.Error{Code: atende.EConflict, Field: "number", Message: "this number is already in use"}
	}
	return err
}

// checkDID validates d in the tenant's region and checks a queue target
// exists. Flows are checked by kind and id form only: their store may come
// later than the DID.
func (tx *tx) checkDID(d *atende.DID) error {
	var locale string
	if err := tx.queryRow(`SELECT locale FROM tenants WHERE id = ?`, tx.actor.TenantID).Scan(&locale); err != nil {
		return err
	}
	if err := d.Validate(atende.Region(locale)); err != nil {
		return err
	}
	if d.TargetKind == atende.DIDToQueue {
		ok, err := tx.tenantHas("queues", d.TargetID)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("target_id", "is not a queue of this tenant")
		}
	}
	return nil
}

// CreateDID stores a DID in the actor's tenant.
func (s *Store) CreateDID(ctx context.Context, a atende.Actor, d *atende.DID) error {
	return s.write(ctx, "did.create", a, func(tx *tx) error {
		if err := tx.checkDID(d); err != nil {
			return err
		}
		d.ID, d.TenantID = atende.NewID(), a.TenantID
		d.CreatedAt, d.UpdatedAt, d.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO dids (`+didCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.TenantID, d.Number, string(d.TargetKind), d.TargetID, d.Description, d.CreatedAt, d.UpdatedAt, d.Version); err != nil {
			return numberTaken(err)
		}
		return tx.change("did.created", "did", d.ID, atende.PermConfigManage, nil, d)
	})
}

// DID returns a DID of the tenant.
func (s *Store) DID(ctx context.Context, tenantID, id string) (*atende.DID, error) {
	var out *atende.DID
	err := s.read("did.get", func() (err error) {
		out, err = scanDID(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+didCols+` FROM dids WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return out, err
}

// DIDByNumber finds the DID of an E.164 number, in any tenant: the number
// of an inbound call says whose call it is.
func (s *Store) DIDByNumber(ctx context.Context, number string) (*atende.DID, error) {
	var out *atende.DID
	err := s.read("did.number", func() (err error) {
		out, err = scanDID(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+didCols+` FROM dids WHERE number = ?`), number))
		return err
	})
	return out, err
}

// DIDs lists the tenant's DIDs by id.
func (s *Store) DIDs(ctx context.Context, tenantID string, o ListOptions) (Page[atende.DID], error) {
	return listPage(ctx, s, o, "did.list", `SELECT `+didCols+` FROM dids WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID,
		scanDID, func(d atende.DID) string { return d.ID })
}

// UpdateDID applies change to a DID of the actor's tenant.
func (s *Store) UpdateDID(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.DID) error) (*atende.DID, error) {
	var out *atende.DID
	err := s.write(ctx, "did.update", a, func(tx *tx) error {
		before, err := scanDID(tx.queryRow(`SELECT `+didCols+` FROM dids WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		next := *before
		if err := change(&next); err != nil {
			return err
		}
		next.ID, next.TenantID, next.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := tx.checkDID(&next); err != nil {
			return err
		}
		next.UpdatedAt, next.Version = tx.now, before.Version+1
		if err := tx.execOne(errDIDNotFound, `UPDATE dids SET number = ?, target_kind = ?, target_id = ?, description = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			next.Number, string(next.TargetKind), next.TargetID, next.Description, next.UpdatedAt, next.Version, a.TenantID, id, before.Version); err != nil {
			return numberTaken(err)
		}
		out = &next
		return tx.change("did.updated", "did", id, atende.PermConfigManage, before, next)
	})
	return out, err
}

// DeleteDID removes a DID; calls to its number are refused from then on.
func (s *Store) DeleteDID(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "did.delete", a, func(tx *tx) error {
		before, err := scanDID(tx.queryRow(`SELECT `+didCols+` FROM dids WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errDIDNotFound, `DELETE FROM dids WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removedManaged("did.deleted", "did", id, before)
	})
}

// listPage runs a tenant listing query "... WHERE tenant_id = ? AND id > ?
// ORDER BY id LIMIT ?" and cuts a page from it.
func listPage[T any](ctx context.Context, s *Store, o ListOptions, kind, query, tenantID string,
	scan func(interface{ Scan(...any) error }) (*T, error), id func(T) string) (Page[T], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[T]{}, err
	}
	var items []T
	err = s.read(kind, func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(query), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			items = append(items, *v)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[T]{}, err
	}
	return paginate(items, limit, id), nil
}

// removedManaged is removed for entities only administrators read (trunk
// hosts, SIP user names): the event goes to config:manage holders only.
func (t *tx) removedManaged(action, entity, id string, before any) error {
	if err := t.audit(action, entity, id, before, nil); err != nil {
		return err
	}
	return t.emit(action, id, atende.PermConfigManage, before)
}
