package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/atende/atende"
)

var (
	errContactNotFound = atende.Errorf(atende.ENotFound, "contact not found")
	errMergeNotFound   = atende.Errorf(atende.ENotFound, "contact merge not found")
)

const contactCols = `id, tenant_id, name, language, fields, tags, merged_into, created_at, updated_at, version`

func scanContact(row interface{ Scan(...any) error }) (*atende.Contact, error) {
	var c atende.Contact
	var fields, tags string
	if err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Language, &fields, &tags, &c.MergedInto, &c.CreatedAt, &c.UpdatedAt, &c.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errContactNotFound
		}
		return nil, err
	}
	if err := fromJSON(fields, &c.Fields); err != nil {
		return nil, err
	}
	if err := fromJSON(tags, &c.Tags); err != nil {
		return nil, err
	}
	if c.Fields == nil {
		c.Fields = map[string]any{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.Identities = []atende.Identity{}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// contact reads a contact of the tenant with its identities through db (the
// read pool, or the write transaction with lock " FOR UPDATE" on PostgreSQL).
func (s *Store) contact(ctx context.Context, db querier, tenantID, id, lock string) (*atende.Contact, error) {
	c, err := scanContact(db.QueryRowContext(ctx, s.q(`SELECT `+contactCols+` FROM contacts WHERE tenant_id = ? AND id = ?`+lock), tenantID, id))
	if err != nil {
		return nil, err
	}
	ids, err := s.identities(ctx, db, tenantID, []string{c.ID})
	if err != nil {
		return nil, err
	}
	if v := ids[c.ID]; v != nil {
		c.Identities = v
	}
	return c, nil
}

// identities loads the identities of several contacts in one query, each
// contact's sorted by kind, network and value.
func (s *Store) identities(ctx context.Context, db querier, tenantID string, contactIDs []string) (map[string][]atende.Identity, error) {
	out := map[string][]atende.Identity{}
	if len(contactIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(contactIDs)+1)
	args = append(args, tenantID)
	for _, id := range contactIDs {
		args = append(args, id)
	}
	rows, err := db.QueryContext(ctx, s.q(`SELECT contact_id, id, kind, network, value, verified FROM contact_identities
		WHERE tenant_id = ? AND contact_id IN (`+placeholders(len(contactIDs))+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var id atende.Identity
		if err := rows.Scan(&cid, &id.ID, &id.Kind, &id.Network, &id.Value, &id.Verified); err != nil {
			return nil, err
		}
		out[cid] = append(out[cid], id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, v := range out {
		sortIdentities(v)
	}
	return out, nil
}

// sortIdentities orders identities by kind, network and value, in Go rather
// than SQL so both databases agree whatever PostgreSQL's collation.
func sortIdentities(ids []atende.Identity) {
	slices.SortFunc(ids, func(x, y atende.Identity) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Network, y.Network), cmp.Compare(x.Value, y.Value))
	})
}

// identityKey is what makes an identity unique in a tenant.
func identityKey(id atende.Identity) string {
	return string(id.Kind) + "\x00" + id.Network + "\x00" + id.Value
}

// likeLiteral escapes s to match literally in a LIKE pattern with ESCAPE '\'.
func likeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// tenantRegion returns the default phone region of a tenant, from its locale.
func (s *Store) tenantRegion(ctx context.Context, db querier, tenantID string) (string, error) {
	var locale string
	if err := db.QueryRowContext(ctx, s.q(`SELECT locale FROM tenants WHERE id = ?`), tenantID).Scan(&locale); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", errTenantNotFound
		}
		return "", err
	}
	return atende.Region(locale), nil
}

func cloneContact(c *atende.Contact) *atende.Contact {
	out := *c
	out.Identities = slices.Clone(c.Identities)
	out.Tags = slices.Clone(c.Tags)
	out.Fields = maps.Clone(c.Fields)
	return &out
}

// sameJSON reports whether two field values encode alike (a number read back
// from the database is a float64, the caller's may be an int).
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// dropNulls removes fields set to null: null clears a field.
func dropNulls(fields map[string]any) {
	maps.DeleteFunc(fields, func(_ string, v any) bool { return v == nil })
}

// distinctIdentities rejects a list naming the same identity twice.
func distinctIdentities(ids []atende.Identity) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		k := identityKey(id)
		if seen[k] {
			return atende.FieldError("identities.value", "%s %s is listed twice", id.Kind, id.Value)
		}
		seen[k] = true
	}
	return nil
}

func identityTaken(id atende.Identity, owner string) error {
	msg := fmt.Sprintf("%s %s belongs to another contact", id.Kind, id.Value)
	if owner != "" {
		msg = fmt.Sprintf("%s %s belongs to contact %s; merge the two contacts instead", id.Kind, id.Value, owner)
	}
	return &atende.Error{Code: atende.EConflict, Field: "identities.value", Message: msg}
}

// insertIdentity gives contactID the identity, which must be free in the tenant.
func (t *tx) insertIdentity(ctx context.Context, contactID string, id *atende.Identity) error {
	var owner string
	err := t.QueryRowContext(ctx, t.s.q(`SELECT contact_id FROM contact_identities WHERE tenant_id = ? AND kind = ? AND network = ? AND value = ?`),
		t.actor.TenantID, string(id.Kind), id.Network, id.Value).Scan(&owner)
	switch {
	case err == nil:
		return identityTaken(*id, owner)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	id.ID = atende.NewID()
	if _, err := t.exec(`INSERT INTO contact_identities (id, tenant_id, contact_id, kind, network, value, verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id.ID, t.actor.TenantID, contactID, string(id.Kind), id.Network, id.Value, id.Verified, t.now); err != nil {
		if atende.ErrorCode(mapErr(err)) == atende.EConflict {
			return identityTaken(*id, "") // a concurrent transaction took it
		}
		return err
	}
	return nil
}

// createContact validates and stores a new contact of the actor's tenant.
func (t *tx) createContact(ctx context.Context, c *atende.Contact) error {
	region, err := t.s.tenantRegion(ctx, t, t.actor.TenantID)
	if err != nil {
		return err
	}
	defs, err := t.s.fieldDefs(ctx, t, t.actor.TenantID)
	if err != nil {
		return err
	}
	if err := c.Validate(region, defs); err != nil {
		return err
	}
	if err := distinctIdentities(c.Identities); err != nil {
		return err
	}
	dropNulls(c.Fields)
	if c.Identities == nil {
		c.Identities = []atende.Identity{}
	}
	c.ID, c.TenantID, c.MergedInto = atende.NewID(), t.actor.TenantID, ""
	c.CreatedAt, c.UpdatedAt, c.Version = t.now, t.now, 1
	if _, err := t.exec(`INSERT INTO contacts (`+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Name, c.Language, jsonText(c.Fields), jsonText(c.Tags), c.MergedInto, c.CreatedAt, c.UpdatedAt, c.Version); err != nil {
		return err
	}
	for i := range c.Identities {
		if err := t.insertIdentity(ctx, c.ID, &c.Identities[i]); err != nil {
			return err
		}
	}
	sortIdentities(c.Identities)
	return t.change("contact.created", "contact", c.ID, atende.PermContactsRead, nil, c)
}

// CreateContact stores a new contact in the actor's tenant. Its identities are
// normalised with the tenant's region and must not belong to another contact;
// its custom fields must match the tenant's definitions.
func (s *Store) CreateContact(ctx context.Context, a atende.Actor, c *atende.Contact) error {
	return s.write(ctx, "contact.create", a, func(tx *tx) error {
		return tx.createContact(ctx, c)
	})
}

// Contact returns a contact of the tenant with its identities. A contact
// merged into another is still returned, with MergedInto set and no
// identities, so links to it keep working.
func (s *Store) Contact(ctx context.Context, tenantID, id string) (*atende.Contact, error) {
	var c *atende.Contact
	err := s.read("contact.get", func() (err error) {
		c, err = s.contact(ctx, s.rdb, tenantID, id, "")
		return err
	})
	return c, err
}

// ContactFilter narrows a contact list.
type ContactFilter struct {
	// Query matches a name by case-insensitive substring, or an identity
	// value exactly as written or normalised (a phone in the tenant's
	// region, an e-mail in lower case).
	Query string
	// Tag matches contacts carrying this tag.
	Tag string
	// IncludeMerged lists contacts merged into others too.
	IncludeMerged bool
}

// Contacts lists contacts of the tenant by id.
func (s *Store) Contacts(ctx context.Context, tenantID string, f ContactFilter, o ListOptions) (Page[atende.Contact], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Contact]{}, err
	}
	var page Page[atende.Contact]
	err = s.read("contact.list", func() error {
		where := []string{`tenant_id = ?`, `id > ?`}
		args := []any{tenantID, after}
		if !f.IncludeMerged {
			where = append(where, `merged_into = ''`)
		}
		if q := strings.TrimSpace(f.Query); q != "" {
			cq, err := s.newContactQuery(ctx, tenantID, q)
			if err != nil {
				return err
			}
			sub, subArgs := cq.identitiesSQL(tenantID)
			where = append(where, `(LOWER(name) LIKE ? ESCAPE '\' OR id IN (`+sub+`))`)
			args = append(append(args, cq.name), subArgs...)
		}
		if tag := strings.ToLower(strings.TrimSpace(f.Tag)); tag != "" {
			// Tags are stored as a compact JSON array, so a whole element
			// starts right after "[" or ",": an escaped quote inside another
			// tag is preceded by a backslash and cannot match.
			enc := likeLiteral(jsonText(tag))
			where = append(where, `(tags LIKE ? ESCAPE '\' OR tags LIKE ? ESCAPE '\')`)
			args = append(args, "["+enc+"%", "%,"+enc+"%")
		}
		args = append(args, limit+1)
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+contactCols+` FROM contacts WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var items []atende.Contact
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				return err
			}
			items = append(items, *c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		page = paginate(items, limit, func(c atende.Contact) string { return c.ID })
		ids := make([]string, len(page.Items))
		for i, c := range page.Items {
			ids[i] = c.ID
		}
		byContact, err := s.identities(ctx, s.rdb, tenantID, ids)
		if err != nil {
			return err
		}
		for i := range page.Items {
			if v := byContact[page.Items[i].ID]; v != nil {
				page.Items[i].Identities = v
			}
		}
		return nil
	})
	if err != nil {
		return Page[atende.Contact]{}, err
	}
	return page, nil
}

// contactQuery is a search text turned into what finds contacts by it: the
// name contains it, or an identity equals one of its usual forms or contains
// it.
type contactQuery struct {
	name   string   // LIKE pattern for LOWER(name)
	values []string // identity values it may stand for exactly
	part   string   // LIKE pattern for identity values
}

// newContactQuery prepares a (trimmed, non-empty) search text.
func (s *Store) newContactQuery(ctx context.Context, tenantID, q string) (contactQuery, error) {
	region, err := s.tenantRegion(ctx, s.rdb, tenantID)
	if err != nil {
		return contactQuery{}, err
	}
	cq := contactQuery{name: "%" + likeLiteral(strings.ToLower(q)) + "%", values: identitySearchValues(q, region)}
	// People type part of an address too: the last digits of a phone, the
	// start of an email or handle.
	cq.part = cq.name
	if d := digitsOf(q); len(d) >= 4 && len(d) >= len(strings.TrimSpace(q))/2 {
		cq.part = "%" + d + "%"
	}
	return cq, nil
}

// identitiesSQL selects the contact ids of the tenant whose identities match.
func (cq contactQuery) identitiesSQL(tenantID string) (string, []any) {
	args := []any{tenantID}
	for _, v := range cq.values {
		args = append(args, v)
	}
	return `SELECT contact_id FROM contact_identities WHERE tenant_id = ? AND (value IN (` + placeholders(len(cq.values)) + `) OR value LIKE ? ESCAPE '\')`,
		append(args, cq.part)
}

// identitySearchValues returns the forms a search text may take as a stored
// identity value: as typed, lower case (e-mail, handles), without a leading
// "@" (handles) and as E.164 when it reads as a phone number in region.
func identitySearchValues(q, region string) []string {
	values := []string{q, strings.ToLower(q)}
	if h, ok := strings.CutPrefix(q, "@"); ok && h != "" {
		values = append(values, h, strings.ToLower(h))
	}
	if p, err := atende.NormalizePhone(q, region); err == nil {
		values = append(values, p)
	}
	slices.Sort(values)
	return slices.Compact(values)
}

// UpdateContact applies change to a contact of the actor's tenant. change may
// replace the identities: those still listed keep their ids, new ones are
// added and the rest removed. Custom field values the change left as they
// were are not validated again, so a later change to a field's definition
// does not lock contacts. A contact merged into another cannot change.
func (s *Store) UpdateContact(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Contact) error) (*atende.Contact, error) {
	var out *atende.Contact
	err := s.write(ctx, "contact.update", a, func(tx *tx) error {
		before, err := s.contact(ctx, tx, a.TenantID, id, tx.rowLock())
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if before.MergedInto != "" {
			return atende.Errorf(atende.EConflict, "the contact was merged into contact %s; change that one", before.MergedInto)
		}
		c := cloneContact(before) // keep "before" intact for the audit log
		if err := change(c); err != nil {
			return err
		}
		c.ID, c.TenantID, c.MergedInto, c.CreatedAt = before.ID, before.TenantID, before.MergedInto, before.CreatedAt
		region, err := s.tenantRegion(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		defs, err := s.fieldDefs(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		unchanged := map[string]any{}
		for k, v := range c.Fields {
			if old, ok := before.Fields[k]; ok && sameJSON(old, v) {
				unchanged[k] = v
				delete(c.Fields, k)
			}
		}
		if err := c.Validate(region, defs); err != nil {
			return err
		}
		maps.Copy(c.Fields, unchanged)
		dropNulls(c.Fields)
		if err := distinctIdentities(c.Identities); err != nil {
			return err
		}
		if c.Identities == nil {
			c.Identities = []atende.Identity{}
		}
		if err := tx.replaceIdentities(ctx, c.ID, before.Identities, c.Identities); err != nil {
			return err
		}
		sortIdentities(c.Identities)
		c.UpdatedAt, c.Version = tx.now, before.Version+1
		if err := tx.execOne(errContactNotFound, `UPDATE contacts SET name = ?, language = ?, fields = ?, tags = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			c.Name, c.Language, jsonText(c.Fields), jsonText(c.Tags), c.UpdatedAt, c.Version, c.TenantID, c.ID, before.Version); err != nil {
			return err
		}
		out = c
		return tx.change("contact.updated", "contact", c.ID, atende.PermContactsRead, before, c)
	})
	return out, err
}

// replaceIdentities turns a contact's identities from old into next (both
// normalised), keeping the ids of those in both.
func (t *tx) replaceIdentities(ctx context.Context, contactID string, old, next []atende.Identity) error {
	byKey := make(map[string]atende.Identity, len(old))
	for _, id := range old {
		byKey[identityKey(id)] = id
	}
	kept := map[string]bool{}
	for _, id := range next {
		if _, ok := byKey[identityKey(id)]; ok {
			kept[identityKey(id)] = true
		}
	}
	for _, id := range old {
		if !kept[identityKey(id)] {
			if _, err := t.exec(`DELETE FROM contact_identities WHERE tenant_id = ? AND id = ?`, t.actor.TenantID, id.ID); err != nil {
				return err
			}
		}
	}
	for i := range next {
		o, ok := byKey[identityKey(next[i])]
		if !ok {
			if err := t.insertIdentity(ctx, contactID, &next[i]); err != nil {
				return err
			}
			continue
		}
		next[i].ID = o.ID
		if next[i].Verified != o.Verified {
			if _, err := t.exec(`UPDATE contact_identities SET verified = ? WHERE tenant_id = ? AND id = ?`, next[i].Verified, t.actor.TenantID, o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ContactByIdentity returns the contact of the tenant reached at an identity.
// The value is normalised first, so a phone number finds its contact however
// it is written.
func (s *Store) ContactByIdentity(ctx context.Context, tenantID string, kind atende.IdentityKind, network, value string) (*atende.Contact, error) {
	var c *atende.Contact
	err := s.read("contact.get_by_identity", func() error {
		region, err := s.tenantRegion(ctx, s.rdb, tenantID)
		if err != nil {
			return err
		}
		id := atende.Identity{Kind: kind, Network: network, Value: value}
		if err := atende.NormalizeIdentity(&id, region); err != nil {
			return err
		}
		c, err = s.contactByIdentity(ctx, s.rdb, tenantID, id)
		return err
	})
	return c, err
}

// contactByIdentity finds the owner of a normalised identity.
func (s *Store) contactByIdentity(ctx context.Context, db querier, tenantID string, id atende.Identity) (*atende.Contact, error) {
	var contactID string
	err := db.QueryRowContext(ctx, s.q(`SELECT contact_id FROM contact_identities WHERE tenant_id = ? AND kind = ? AND network = ? AND value = ?`),
		tenantID, string(id.Kind), id.Network, id.Value).Scan(&contactID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errContactNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.contact(ctx, db, tenantID, contactID, "")
}

// FindOrCreateContact returns the contact of the actor's tenant reached at
// ident, creating it (named name) when there is none. Channels call it for
// every inbound message, so it first looks without a write transaction. Two
// callers racing for a new identity both end with the same contact: the loser
// of the race hits the unique index, and retries to find the winner's.
func (s *Store) FindOrCreateContact(ctx context.Context, a atende.Actor, ident atende.Identity, name string) (*atende.Contact, bool, error) {
	name = strings.TrimSpace(strings.ToValidUTF8(name, ""))
	if utf8.RuneCountInString(name) > 200 { // a channel's display name must not refuse the message
		name = strings.TrimSpace(string([]rune(name)[:200]))
	}
	for attempt := 1; ; attempt++ {
		c, err := s.ContactByIdentity(ctx, a.TenantID, ident.Kind, ident.Network, ident.Value)
		if err == nil {
			return c, false, nil
		}
		if atende.ErrorCode(err) != atende.ENotFound {
			return nil, false, err
		}
		created := false
		err = s.write(ctx, "contact.find_or_create", a, func(tx *tx) error {
			region, err := s.tenantRegion(ctx, tx, a.TenantID)
			if err != nil {
				return err
			}
			id := ident
			id.ID = ""
			if err := atende.NormalizeIdentity(&id, region); err != nil {
				return err
			}
			if c, err = s.contactByIdentity(ctx, tx, a.TenantID, id); err == nil || !errors.Is(err, errContactNotFound) {
				return err
			}
			c = &atende.Contact{Name: name, Identities: []atende.Identity{id}}
			created = true
			return tx.createContact(ctx, c)
		})
		if err == nil {
			return c, created, nil
		}
		if atende.ErrorCode(err) != atende.EConflict || attempt == 3 {
			return nil, false, err
		}
	}
}

// mergeChange is what the audit log and the event of a merge or its undo
// carry: both contacts and what moved between them.
type mergeChange struct {
	MergeID         string          `json:"merge_id"`
	Winner          *atende.Contact `json:"winner"`
	Loser           *atende.Contact `json:"loser"`
	IdentityIDs     []string        `json:"identity_ids,omitempty"`
	ConversationIDs []string        `json:"conversation_ids,omitempty"`
}

// lockPair reads two contacts of the actor's tenant for a change, locking
// them in id order so that two opposite merges cannot deadlock.
func (t *tx) lockPair(ctx context.Context, aID, bID string) (*atende.Contact, *atende.Contact, error) {
	first, second := aID, bID
	if second < first {
		first, second = second, first
	}
	got := map[string]*atende.Contact{}
	for _, id := range []string{first, second} {
		c, err := t.s.contact(ctx, t, t.actor.TenantID, id, t.rowLock())
		if err != nil {
			return nil, nil, err
		}
		got[id] = c
	}
	return got[aID], got[bID], nil
}

// returningIDs runs an UPDATE ... RETURNING id and collects the ids, sorted.
func (t *tx) returningIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := t.QueryContext(ctx, t.s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, rows.Err()
}

func actorRef(a atende.Actor) string {
	if a.UserID != "" {
		return a.UserID
	}
	return a.Name
}

// MergeContacts merges the loser into the winner, both of the actor's tenant:
// the loser's identities and conversations move to the winner, the winner
// gains the loser's tags and the custom fields (and name or language) it
// lacks, and the loser stays, marked as merged, so links and history keep
// working. The merge is recorded with snapshots of both contacts and what
// moved, so UndoMerge can reverse it.
func (s *Store) MergeContacts(ctx context.Context, a atende.Actor, winnerID, loserID string) (*atende.ContactMerge, error) {
	if winnerID == loserID {
		return nil, atende.FieldError("loser_id", "a contact cannot be merged into itself")
	}
	var out *atende.ContactMerge
	err := s.write(ctx, "contact.merge", a, func(tx *tx) error {
		w, l, err := tx.lockPair(ctx, winnerID, loserID)
		if err != nil {
			return err
		}
		for _, c := range []*atende.Contact{w, l} {
			if c.MergedInto != "" {
				return atende.Errorf(atende.EConflict, "contact %s was merged into contact %s already", c.ID, c.MergedInto)
			}
		}
		m := &atende.ContactMerge{
			ID: atende.NewID(), TenantID: a.TenantID, WinnerID: w.ID, LoserID: l.ID,
			LoserSnapshot: *l, WinnerSnapshot: *w, MergedBy: actorRef(a), MergedAt: tx.now,
		}
		// RETURNING names exactly the rows moved, even if another transaction
		// adds a conversation to the loser meanwhile.
		if m.IdentityIDs, err = tx.returningIDs(ctx, `UPDATE contact_identities SET contact_id = ? WHERE tenant_id = ? AND contact_id = ? RETURNING id`,
			w.ID, a.TenantID, l.ID); err != nil {
			return err
		}
		if m.ConversationIDs, err = tx.returningIDs(ctx, `UPDATE conversations SET contact_id = ?, updated_at = ?, version = version + 1 WHERE tenant_id = ? AND contact_id = ? RETURNING id`,
			w.ID, tx.now, a.TenantID, l.ID); err != nil {
			return err
		}
		// Their timeline entries follow them into the winner's unified history.
		if _, err := tx.exec(`UPDATE conversation_events SET contact_id = ? WHERE tenant_id = ? AND contact_id = ?`, w.ID, a.TenantID, l.ID); err != nil {
			return err
		}

		wa := cloneContact(w)
		wa.Identities = append(wa.Identities, l.Identities...)
		sortIdentities(wa.Identities)
		if wa.Tags, err = atende.NormalizeTags(append(slices.Clone(w.Tags), l.Tags...)); err != nil {
			return atende.FieldError("tags", "the merged contact would have more than 50 tags; remove some first")
		}
		for k, v := range l.Fields {
			if _, ok := wa.Fields[k]; !ok {
				wa.Fields[k] = v
			}
		}
		if wa.Name == "" {
			wa.Name = l.Name
		}
		if wa.Language == "" {
			wa.Language = l.Language
		}
		wa.UpdatedAt, wa.Version = tx.now, w.Version+1
		if err := tx.execOne(errContactNotFound, `UPDATE contacts SET name = ?, language = ?, fields = ?, tags = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			wa.Name, wa.Language, jsonText(wa.Fields), jsonText(wa.Tags), wa.UpdatedAt, wa.Version, a.TenantID, w.ID, w.Version); err != nil {
			return err
		}
		la := cloneContact(l)
		la.Identities = []atende.Identity{}
		la.MergedInto, la.UpdatedAt, la.Version = w.ID, tx.now, l.Version+1
		if err := tx.execOne(errContactNotFound, `UPDATE contacts SET merged_into = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			la.MergedInto, la.UpdatedAt, la.Version, a.TenantID, l.ID, l.Version); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO contact_merges (`+mergeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.TenantID, m.WinnerID, m.LoserID, jsonText(m.IdentityIDs), jsonText(m.ConversationIDs),
			jsonText(m.LoserSnapshot), jsonText(m.WinnerSnapshot), m.MergedBy, m.MergedAt, nil, ""); err != nil {
			return err
		}
		out = m
		return tx.change("contact.merged", "contact", w.ID, atende.PermContactsRead,
			mergeChange{MergeID: m.ID, Winner: w, Loser: l},
			mergeChange{MergeID: m.ID, Winner: wa, Loser: la, IdentityIDs: m.IdentityIDs, ConversationIDs: m.ConversationIDs})
	})
	return out, err
}

// UndoMerge reverses a merge of the actor's tenant and returns the restored
// loser. The identities and conversations that moved go back to the loser
// (those the winner still has). What the merge added to the winner - tags,
// custom fields, name, language - is taken away again unless it was changed
// since, so edits made to the winner after the merge survive. A winner that
// was itself merged away since must have that merge undone first.
func (s *Store) UndoMerge(ctx context.Context, a atende.Actor, mergeID string) (*atende.Contact, error) {
	var out *atende.Contact
	err := s.write(ctx, "contact.unmerge", a, func(tx *tx) error {
		m, err := scanMerge(tx.QueryRowContext(ctx, s.q(`SELECT `+mergeCols+` FROM contact_merges WHERE tenant_id = ? AND id = ?`+tx.rowLock()), a.TenantID, mergeID))
		if err != nil {
			return err
		}
		if m.UndoneAt != nil {
			return atende.Errorf(atende.EConflict, "the merge was undone already")
		}
		w, l, err := tx.lockPair(ctx, m.WinnerID, m.LoserID)
		if err != nil {
			return err
		}
		if w.MergedInto != "" {
			return atende.Errorf(atende.EConflict, "contact %s was merged into contact %s since; undo that merge first", w.ID, w.MergedInto)
		}
		if l.MergedInto != w.ID {
			return atende.Errorf(atende.EConflict, "contact %s is no longer merged into contact %s", l.ID, w.ID)
		}
		var identityIDs, conversationIDs []string
		if len(m.IdentityIDs) > 0 {
			args := []any{l.ID, a.TenantID, w.ID}
			for _, id := range m.IdentityIDs {
				args = append(args, id)
			}
			if identityIDs, err = tx.returningIDs(ctx, `UPDATE contact_identities SET contact_id = ? WHERE tenant_id = ? AND contact_id = ? AND id IN (`+placeholders(len(m.IdentityIDs))+`) RETURNING id`, args...); err != nil {
				return err
			}
		}
		if len(m.ConversationIDs) > 0 {
			args := []any{l.ID, tx.now, a.TenantID, w.ID}
			for _, id := range m.ConversationIDs {
				args = append(args, id)
			}
			if conversationIDs, err = tx.returningIDs(ctx, `UPDATE conversations SET contact_id = ?, updated_at = ?, version = version + 1 WHERE tenant_id = ? AND contact_id = ? AND id IN (`+placeholders(len(m.ConversationIDs))+`) RETURNING id`, args...); err != nil {
				return err
			}
			if len(conversationIDs) > 0 {
				args := []any{l.ID, a.TenantID}
				for _, id := range conversationIDs {
					args = append(args, id)
				}
				if _, err := tx.exec(`UPDATE conversation_events SET contact_id = ? WHERE tenant_id = ? AND conversation_id IN (`+placeholders(len(conversationIDs))+`)`, args...); err != nil {
					return err
				}
			}
		}

		la := cloneContact(l)
		wa := cloneContact(w)
		la.Identities, wa.Identities = []atende.Identity{}, []atende.Identity{}
		for _, id := range w.Identities {
			if slices.Contains(identityIDs, id.ID) {
				la.Identities = append(la.Identities, id)
			} else {
				wa.Identities = append(wa.Identities, id)
			}
		}
		ws, ls := m.WinnerSnapshot, m.LoserSnapshot
		wa.Tags = slices.DeleteFunc(wa.Tags, func(t string) bool {
			return slices.Contains(ls.Tags, t) && !slices.Contains(ws.Tags, t)
		})
		for k, v := range ls.Fields {
			if _, had := ws.Fields[k]; !had && sameJSON(wa.Fields[k], v) {
				delete(wa.Fields, k)
			}
		}
		if ws.Name == "" && wa.Name == ls.Name {
			wa.Name = ""
		}
		if ws.Language == "" && wa.Language == ls.Language {
			wa.Language = ""
		}
		wa.UpdatedAt, wa.Version = tx.now, w.Version+1
		if err := tx.execOne(errContactNotFound, `UPDATE contacts SET name = ?, language = ?, fields = ?, tags = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			wa.Name, wa.Language, jsonText(wa.Fields), jsonText(wa.Tags), wa.UpdatedAt, wa.Version, a.TenantID, w.ID, w.Version); err != nil {
			return err
		}
		la.MergedInto, la.UpdatedAt, la.Version = "", tx.now, l.Version+1
		if err := tx.execOne(errContactNotFound, `UPDATE contacts SET merged_into = '', updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			la.UpdatedAt, la.Version, a.TenantID, l.ID, l.Version); err != nil {
			return err
		}
		if err := tx.execOne(errMergeNotFound, `UPDATE contact_merges SET undone_at = ?, undone_by = ? WHERE tenant_id = ? AND id = ? AND undone_at IS NULL`,
			tx.now, actorRef(a), a.TenantID, m.ID); err != nil {
			return err
		}
		out = la
		return tx.change("contact.unmerged", "contact", l.ID, atende.PermContactsRead,
			mergeChange{MergeID: m.ID, Winner: w, Loser: l},
			mergeChange{MergeID: m.ID, Winner: wa, Loser: la, IdentityIDs: identityIDs, ConversationIDs: conversationIDs})
	})
	return out, err
}

const mergeCols = `id, tenant_id, winner_id, loser_id, identity_ids, conversation_ids, loser_snapshot, winner_snapshot, merged_by, merged_at, undone_at, undone_by`

func scanMerge(row interface{ Scan(...any) error }) (*atende.ContactMerge, error) {
	var m atende.ContactMerge
	var identityIDs, conversationIDs, loser, winner string
	var undone sql.NullTime
	if err := row.Scan(&m.ID, &m.TenantID, &m.WinnerID, &m.LoserID, &identityIDs, &conversationIDs, &loser, &winner, &m.MergedBy, &m.MergedAt, &undone, &m.UndoneBy); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errMergeNotFound
		}
		return nil, err
	}
	for _, f := range []struct {
		text string
		v    any
	}{{identityIDs, &m.IdentityIDs}, {conversationIDs, &m.ConversationIDs}, {loser, &m.LoserSnapshot}, {winner, &m.WinnerSnapshot}} {
		if err := fromJSON(f.text, f.v); err != nil {
			return nil, err
		}
	}
	if m.IdentityIDs == nil {
		m.IdentityIDs = []string{}
	}
	if m.ConversationIDs == nil {
		m.ConversationIDs = []string{}
	}
	m.MergedAt, m.UndoneAt = m.MergedAt.UTC(), timePtr(undone)
	return &m, nil
}

// ContactMerges lists the merges a contact of the tenant took part in, as
// winner or loser, newest first.
func (s *Store) ContactMerges(ctx context.Context, tenantID, contactID string) ([]atende.ContactMerge, error) {
	var out []atende.ContactMerge
	err := s.read("contact.merges", func() error {
		var n int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM contacts WHERE tenant_id = ? AND id = ?`), tenantID, contactID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errContactNotFound
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+mergeCols+` FROM contact_merges WHERE tenant_id = ? AND (winner_id = ? OR loser_id = ?) ORDER BY merged_at DESC, id DESC`),
			tenantID, contactID, contactID)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []atende.ContactMerge{}
		for rows.Next() {
			m, err := scanMerge(rows)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return rows.Err()
	})
	return out, err
}

// digitsOf keeps the digits of s ("(11) 98765-4321" -> "11987654321").
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
