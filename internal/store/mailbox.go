package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
)

var errMailboxNotFound = atende.Errorf(atende.ENotFound, "mailbox not found")

const mailboxCols = `id, tenant_id, name, address, active, queue_id, config, imap_password, smtp_password, dkim_key, created_at, updated_at, version`

// MailboxSecrets are a mailbox's credentials as stored: sealed by
// internal/secrets, never plain text.
type MailboxSecrets struct {
	IMAPPassword string
	SMTPPassword string
	DKIMKey      string
}

func scanMailbox(row interface{ Scan(...any) error }) (*mailbox.Mailbox, *MailboxSecrets, error) {
	var m mailbox.Mailbox
	var sec MailboxSecrets
	var config string
	var id, tenant, name, address, queue string
	var active bool
	if err := row.Scan(&id, &tenant, &name, &address, &active, &queue, &config, &sec.IMAPPassword, &sec.SMTPPassword, &sec.DKIMKey,
		&m.CreatedAt, &m.UpdatedAt, &m.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, errMailboxNotFound
		}
		return nil, nil, err
	}
	if err := fromJSON(config, &m); err != nil {
		return nil, nil, err
	}
	m.ID, m.TenantID, m.Name, m.Address, m.Active, m.QueueID = id, tenant, name, address, active, queue
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	m.ScrubSecrets(sec.IMAPPassword != "", sec.SMTPPassword != "", sec.DKIMKey != "")
	return &m, &sec, nil
}

// configJSON is what the config column holds: the mailbox without its
// credentials and without the columns kept apart.
func mailboxConfigJSON(m *mailbox.Mailbox) string {
	c := *m
	if m.IMAP != nil {
		i := *m.IMAP
		i.Password, i.SealedPassword = "", ""
		c.IMAP = &i
	}
	if m.SMTP != nil {
		sm := *m.SMTP
		sm.Password, sm.SealedPassword, sm.DKIMPrivateKey, sm.SealedDKIMKey = "", "", "", ""
		c.SMTP = &sm
	}
	return jsonText(c)
}

// sealedOf picks the secrets to store: a new sealed value replaces the old;
// none keeps the old; a removed section drops its secrets.
func sealedOf(m *mailbox.Mailbox, old MailboxSecrets) MailboxSecrets {
	var out MailboxSecrets
	if m.IMAP != nil {
		out.IMAPPassword = old.IMAPPassword
		if m.IMAP.SealedPassword != "" {
			out.IMAPPassword = m.IMAP.SealedPassword
		}
	}
	if m.SMTP != nil {
		out.SMTPPassword, out.DKIMKey = old.SMTPPassword, old.DKIMKey
		if m.SMTP.SealedPassword != "" {
			out.SMTPPassword = m.SMTP.SealedPassword
		}
		if m.SMTP.SealedDKIMKey != "" {
			out.DKIMKey = m.SMTP.SealedDKIMKey
		}
	}
	return out
}

func (tx *tx) checkMailboxRefs(m *mailbox.Mailbox) error {
	ok, err := tx.tenantHas("queues", m.QueueID)
	if err != nil {
		return err
	}
	if !ok {
		return atende.FieldError("queue_id", "is not a queue of this tenant")
	}
	for _, sk := range m.Skills {
		ok, err := tx.tenantHas("skills", sk.SkillID)
		if err != nil {
			return err
		}
		if !ok {
			return atende.FieldError("skills", "skill %s is not a skill of this tenant", sk.SkillID)
		}
	}
	return nil
}

// setRecipients replaces the addresses the SMTP receiving server maps to m.
func (tx *tx) setRecipients(m *mailbox.Mailbox) error {
	if _, err := tx.exec(`DELETE FROM mail_recipients WHERE mailbox_id = ?`, m.ID); err != nil {
		return err
	}
	if m.Receive == nil || !m.Active {
		return nil
	}
	for _, r := range m.Receive.Recipients {
		var owner string
		err := tx.queryRow(`SELECT tenant_id FROM mail_recipients WHERE recipient = ?`, r).Scan(&owner)
		if err == nil {
			// Say which address, never whose: another tenant's is not ours to name.
			return &atende.Error{Code: atende.EConflict, Field: "receive.recipients", Message: r + " is already served by another mailbox"}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.exec(`INSERT INTO mail_recipients (recipient, tenant_id, mailbox_id) VALUES (?, ?, ?)`, r, m.TenantID, m.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateMailbox stores a new mailbox in the actor's tenant. Its credentials
// must already be sealed (SealedPassword, SealedDKIMKey); plain-text ones
// are never stored.
func (s *Store) CreateMailbox(ctx context.Context, a atende.Actor, m *mailbox.Mailbox) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "mailbox.create", a, func(tx *tx) error {
		if err := tx.checkMailboxRefs(m); err != nil {
			return err
		}
		m.ID, m.TenantID = atende.NewID(), a.TenantID
		m.CreatedAt, m.UpdatedAt, m.Version = tx.now, tx.now, 1
		sec := sealedOf(m, MailboxSecrets{})
		if _, err := tx.exec(`INSERT INTO mailboxes (`+mailboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.TenantID, m.Name, m.Address, m.Active, m.QueueID, mailboxConfigJSON(m), sec.IMAPPassword, sec.SMTPPassword, sec.DKIMKey,
			m.CreatedAt, m.UpdatedAt, m.Version); err != nil {
			return err
		}
		if err := tx.setRecipients(m); err != nil {
			return err
		}
		m.ScrubSecrets(sec.IMAPPassword != "", sec.SMTPPassword != "", sec.DKIMKey != "")
		return tx.change("mailbox.created", "mailbox", m.ID, atende.PermConfigRead, nil, m)
	})
}

// Mailbox returns a mailbox of the tenant, without its credentials.
func (s *Store) Mailbox(ctx context.Context, tenantID, id string) (*mailbox.Mailbox, error) {
	m, _, err := s.MailboxWithSecrets(ctx, tenantID, id)
	return m, err
}

// MailboxWithSecrets returns a mailbox and its sealed credentials, for the
// email channel's own use.
func (s *Store) MailboxWithSecrets(ctx context.Context, tenantID, id string) (*mailbox.Mailbox, *MailboxSecrets, error) {
	var m *mailbox.Mailbox
	var sec *MailboxSecrets
	err := s.read("mailbox.get", func() (err error) {
		m, sec, err = scanMailbox(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+mailboxCols+` FROM mailboxes WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return m, sec, err
}

// Mailboxes lists the tenant's mailboxes by id.
func (s *Store) Mailboxes(ctx context.Context, tenantID string, o ListOptions) (Page[mailbox.Mailbox], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[mailbox.Mailbox]{}, err
	}
	var items []mailbox.Mailbox
	err = s.read("mailbox.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+mailboxCols+` FROM mailboxes WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, _, err := scanMailbox(rows)
			if err != nil {
				return err
			}
			items = append(items, *m)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[mailbox.Mailbox]{}, err
	}
	return paginate(items, limit, func(m mailbox.Mailbox) string { return m.ID }), nil
}

// ActiveMailboxes lists every tenant's active mailboxes, for the channel's
// workers (IMAP import, outbound queue).
func (s *Store) ActiveMailboxes(ctx context.Context) ([]mailbox.Mailbox, error) {
	var out []mailbox.Mailbox
	err := s.read("mailbox.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+mailboxCols+` FROM mailboxes WHERE active = `+s.boolLiteral(true)+` ORDER BY id`))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, _, err := scanMailbox(rows)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return rows.Err()
	})
	return out, err
}

// MailboxByRecipient finds the active mailbox that receives mail for addr:
// the exact address first, then its domain.
func (s *Store) MailboxByRecipient(ctx context.Context, addr string) (*mailbox.Mailbox, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	var tenantID, id string
	err := s.read("mailbox.recipient", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT tenant_id, mailbox_id FROM mail_recipients WHERE recipient = ? OR recipient = ? ORDER BY LENGTH(recipient) DESC LIMIT 1`),
			addr, "@"+mailbox.Domain(addr)).Scan(&tenantID, &id)
	})
	if err != nil {
		if atende.ErrorCode(err) == atende.ENotFound {
			return nil, errMailboxNotFound
		}
		return nil, err
	}
	return s.Mailbox(ctx, tenantID, id)
}

// UpdateMailbox applies change to a mailbox of the actor's tenant. Sealed
// credentials set by change replace the stored ones; empty ones keep them.
func (s *Store) UpdateMailbox(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*mailbox.Mailbox) error) (*mailbox.Mailbox, error) {
	var out *mailbox.Mailbox
	err := s.write(ctx, "mailbox.update", a, func(tx *tx) error {
		before, old, err := scanMailbox(tx.queryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		// change works on a deep copy; before stays intact for the audit log.
		var m mailbox.Mailbox
		if err := fromJSON(jsonText(before), &m); err != nil {
			return err
		}
		if err := change(&m); err != nil {
			return err
		}
		m.ID, m.TenantID, m.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := m.Validate(); err != nil {
			return err
		}
		if err := tx.checkMailboxRefs(&m); err != nil {
			return err
		}
		sec := sealedOf(&m, *old)
		m.UpdatedAt, m.Version = tx.now, before.Version+1
		if err := tx.execOne(errMailboxNotFound, `UPDATE mailboxes SET name = ?, address = ?, active = ?, queue_id = ?, config = ?, imap_password = ?, smtp_password = ?, dkim_key = ?, updated_at = ?, version = ?
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			m.Name, m.Address, m.Active, m.QueueID, mailboxConfigJSON(&m), sec.IMAPPassword, sec.SMTPPassword, sec.DKIMKey, m.UpdatedAt, m.Version,
			m.TenantID, m.ID, before.Version); err != nil {
			return err
		}
		if err := tx.setRecipients(&m); err != nil {
			return err
		}
		m.ScrubSecrets(sec.IMAPPassword != "", sec.SMTPPassword != "", sec.DKIMKey != "")
		out = &m
		return tx.change("mailbox.updated", "mailbox", m.ID, atende.PermConfigRead, before, m)
	})
	return out, err
}

// DeleteMailbox removes a mailbox; the messages it imported stay in their
// conversations.
func (s *Store) DeleteMailbox(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "mailbox.delete", a, func(tx *tx) error {
		before, _, err := scanMailbox(tx.queryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM mail_recipients WHERE mailbox_id = ?`, id); err != nil {
			return err
		}
		if err := tx.execOne(errMailboxNotFound, `DELETE FROM mailboxes WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("mailbox.deleted", "mailbox", id, before)
	})
}
