package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/atende/atende"
)

var errCannedNotFound = atende.Errorf(atende.ENotFound, "canned response not found")

const cannedCols = `id, tenant_id, scope, owner_id, shortcut, title, body, language, created_at, updated_at, version`

// maxCannedList bounds one listing; a tenant's shared answers plus a user's
// own stay far below it.
const maxCannedList = 1000

func scanCanned(row interface{ Scan(...any) error }) (*atende.CannedResponse, error) {
	var c atende.CannedResponse
	if err := row.Scan(&c.ID, &c.TenantID, &c.Scope, &c.OwnerID, &c.Shortcut, &c.Title, &c.Body, &c.Language, &c.CreatedAt, &c.UpdatedAt, &c.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errCannedNotFound
		}
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// cannedVisible is the condition for the canned responses user may see: the
// tenant's shared ones and their own.
const cannedVisible = `(scope = 'tenant' OR owner_id = ?)`

// shortcutTaken turns a unique violation into a conflict on the shortcut.
func shortcutTaken(err error) error {
	if atende.ErrorCode(mapErr(err)) == atende.EConflict {
		return &atende.Error{Code: atende.EConflict, Field: "shortcut", Message: "this shortcut is taken"}
	}
	return err
}

// mayChangeCanned says whether the actor may change c: personal ones only
// their owner (anyone else is told it does not exist), shared ones whoever
// manages the tenant's configuration.
func mayChangeCanned(a atende.Actor, c *atende.CannedResponse, manage bool) error {
	switch {
	case c.Scope == atende.CannedPersonal && c.OwnerID != a.UserID:
		return errCannedNotFound
	case c.Scope == atende.CannedTenant && !manage:
		return atende.Errorf(atende.EForbidden, "shared canned responses need the %s permission", atende.PermConfigManage)
	}
	return nil
}

// cannedEvent announces shared canned responses to desktops; personal ones
// concern their owner alone and are only audited.
func (t *tx) cannedChange(action string, before, after *atende.CannedResponse) error {
	c := after
	if c == nil {
		c = before
	}
	var b, a any
	if before != nil {
		b = before
	}
	if after != nil {
		a = after
	}
	if err := t.audit(action, "canned_response", c.ID, b, a); err != nil {
		return err
	}
	if c.Scope != atende.CannedTenant {
		return nil
	}
	return t.emit(action, c.ID, atende.PermConversationsRead, c)
}

// CreateCannedResponse stores a canned response in the actor's tenant. manage
// says whether the actor may manage the tenant's configuration, which shared
// ones need; personal ones belong to c.OwnerID, which must be the actor.
func (s *Store) CreateCannedResponse(ctx context.Context, a atende.Actor, c *atende.CannedResponse, manage bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Scope == atende.CannedPersonal && c.OwnerID != a.UserID {
		return atende.FieldError("owner_id", "personal canned responses belong to whoever creates them")
	}
	if err := mayChangeCanned(a, c, manage); err != nil {
		return err
	}
	return s.write(ctx, "canned.create", a, func(tx *tx) error {
		c.ID, c.TenantID = atende.NewID(), a.TenantID
		c.CreatedAt, c.UpdatedAt, c.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO canned_responses (`+cannedCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TenantID, c.Scope, c.OwnerID, c.Shortcut, c.Title, c.Body, c.Language, c.CreatedAt, c.UpdatedAt, c.Version); err != nil {
			return shortcutTaken(err)
		}
		return tx.cannedChange("canned_response.created", nil, c)
	})
}

// CannedResponse returns a canned response userID may see.
func (s *Store) CannedResponse(ctx context.Context, tenantID, userID, id string) (*atende.CannedResponse, error) {
	var c *atende.CannedResponse
	err := s.read("canned.get", func() (err error) {
		c, err = scanCanned(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+cannedCols+` FROM canned_responses WHERE tenant_id = ? AND id = ? AND `+cannedVisible), tenantID, id, userID))
		return err
	})
	return c, err
}

// CannedFilter narrows the canned responses listed.
type CannedFilter struct {
	// Query matches the start of the shortcut, or the title or body
	// containing it, in any case.
	Query string
	// Language keeps those in this language and those for any language.
	Language string
}

// CannedResponses lists the tenant's shared canned responses and userID's
// own, by shortcut (shared first when both use one).
func (s *Store) CannedResponses(ctx context.Context, tenantID, userID string, f CannedFilter) ([]atende.CannedResponse, error) {
	where := []string{`tenant_id = ?`, cannedVisible}
	args := []any{tenantID, userID}
	if q := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(f.Query), "/"))); q != "" {
		part := "%" + likeLiteral(q) + "%"
		where = append(where, `(shortcut LIKE ? ESCAPE '\' OR LOWER(title) LIKE ? ESCAPE '\' OR LOWER(body) LIKE ? ESCAPE '\')`)
		args = append(args, likeLiteral(q)+"%", part, part)
	}
	if f.Language != "" {
		if !atende.ValidLanguage(f.Language) {
			return nil, atende.FieldError("language", "must be one of %s", strings.Join(atende.Languages, ", "))
		}
		where = append(where, `(language = ? OR language = '')`)
		args = append(args, f.Language)
	}
	args = append(args, maxCannedList)
	out := []atende.CannedResponse{}
	err := s.read("canned.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+cannedCols+` FROM canned_responses WHERE `+strings.Join(where, ` AND `)+
			` ORDER BY shortcut, scope DESC, id LIMIT ?`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCanned(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	return out, err
}

// UpdateCannedResponse applies change to a canned response the actor may
// change (see CreateCannedResponse for manage). Scope and owner stay.
func (s *Store) UpdateCannedResponse(ctx context.Context, a atende.Actor, id string, ifVersion int64, manage bool, change func(*atende.CannedResponse) error) (*atende.CannedResponse, error) {
	var out *atende.CannedResponse
	err := s.write(ctx, "canned.update", a, func(tx *tx) error {
		before, err := scanCanned(tx.queryRow(`SELECT `+cannedCols+` FROM canned_responses WHERE tenant_id = ? AND id = ? AND `+cannedVisible+tx.rowLock(), a.TenantID, id, a.UserID))
		if err != nil {
			return err
		}
		if err := mayChangeCanned(a, before, manage); err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		c := *before
		if err := change(&c); err != nil {
			return err
		}
		c.ID, c.TenantID, c.Scope, c.OwnerID, c.CreatedAt = before.ID, before.TenantID, before.Scope, before.OwnerID, before.CreatedAt
		if err := c.Validate(); err != nil {
			return err
		}
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if _, err := tx.exec(`UPDATE canned_responses SET shortcut = ?, title = ?, body = ?, language = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			c.Shortcut, c.Title, c.Body, c.Language, c.UpdatedAt, c.Version, c.TenantID, c.ID, before.Version); err != nil {
			return shortcutTaken(err)
		}
		out = &c
		return tx.cannedChange("canned_response.updated", before, &c)
	})
	return out, err
}

// DeleteCannedResponse removes a canned response the actor may change.
func (s *Store) DeleteCannedResponse(ctx context.Context, a atende.Actor, id string, ifVersion int64, manage bool) error {
	return s.write(ctx, "canned.delete", a, func(tx *tx) error {
		before, err := scanCanned(tx.queryRow(`SELECT `+cannedCols+` FROM canned_responses WHERE tenant_id = ? AND id = ? AND `+cannedVisible+tx.rowLock(), a.TenantID, id, a.UserID))
		if err != nil {
			return err
		}
		if err := mayChangeCanned(a, before, manage); err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errCannedNotFound, `DELETE FROM canned_responses WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.cannedChange("canned_response.deleted", before, nil)
	})
}

// RenderCannedResponse fills the variables of a canned response userID may
// see from a conversation of the tenant; the agent is userID.
func (s *Store) RenderCannedResponse(ctx context.Context, tenantID, userID, id, conversationID string) (string, error) {
	c, err := s.CannedResponse(ctx, tenantID, userID, id)
	if err != nil {
		return "", err
	}
	var protocol, contact, tenant, queue, agent string
	err = s.read("canned.render", func() error {
		return s.rdb.QueryRowContext(ctx, s.q(`SELECT c.protocol, COALESCE(ct.name, ''), t.name, COALESCE(q.name, ''), COALESCE(u.name, '')
			FROM conversations c JOIN tenants t ON t.id = c.tenant_id
			LEFT JOIN contacts ct ON ct.tenant_id = c.tenant_id AND ct.id = c.contact_id
			LEFT JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
			LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = ?
			WHERE c.tenant_id = ? AND c.id = ?`), userID, tenantID, conversationID).Scan(&protocol, &contact, &tenant, &queue, &agent)
	})
	if atende.ErrorCode(err) == atende.ENotFound {
		return "", atende.FieldError("conversation_id", "is not a conversation of this tenant")
	}
	if err != nil {
		return "", err
	}
	return atende.RenderCanned(c.Body, map[string]string{
		"contact.name": contact, "agent.name": agent, "protocol": protocol, "tenant.name": tenant, "queue.name": queue,
	}), nil
}
