package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/atende/atende"
)

// newTenantIn creates a tenant with the given locale.
func newTenantLocale(t *testing.T, s *Store, name, locale string) (*atende.Tenant, atende.Actor) {
	t.Helper()
	tn := &atende.Tenant{Name: name, Locale: locale}
	if err := s.CreateTenant(context.Background(), atende.SystemActor(""), tn); err != nil {
		t.Fatal(err)
	}
	return tn, atende.SystemActor(tn.ID)
}

func idPhone(v string) atende.Identity { return atende.Identity{Kind: atende.IdentityPhone, Value: v} }
func idEmail(v string) atende.Identity { return atende.Identity{Kind: atende.IdentityEmail, Value: v} }

func mustContact(t *testing.T, s *Store, a atende.Actor, c *atende.Contact) *atende.Contact {
	t.Helper()
	if err := s.CreateContact(context.Background(), a, c); err != nil {
		t.Fatalf("CreateContact(%s): %v", c.Name, err)
	}
	return c
}

func wantCodeField(t *testing.T, err error, code, field string) {
	t.Helper()
	wantCode(t, err, code)
	var e *atende.Error
	if !errors.As(err, &e) || e.Field != field {
		t.Fatalf("error = %v, want field %q", err, field)
	}
}

func identityValues(ids []atende.Identity) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id.Kind) + ":" + id.Value
	}
	return out
}

func contactNames(cs []atende.Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	slices.Sort(out)
	return out
}

// insertConversation adds a bare conversation row for merge tests.
func insertRawConversation(t *testing.T, s *Store, tenantID, contactID, protocol string) string {
	t.Helper()
	id := atende.NewID()
	now := s.now()
	if _, err := s.wdb.ExecContext(context.Background(), s.q(`INSERT INTO conversations
		(id, tenant_id, protocol, contact_id, channel, channels, status, tags, last_activity_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'chat', '["chat"]', 'open', '[]', ?, ?, ?)`), id, tenantID, protocol, contactID, now, now, now); err != nil {
		t.Fatal(err)
	}
	return id
}

func rawConversationContact(t *testing.T, s *Store, id string) string {
	t.Helper()
	var c string
	if err := s.rdb.QueryRowContext(context.Background(), s.q(`SELECT contact_id FROM conversations WHERE id = ?`), id).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContactIdentitiesAreNormalised(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, es := newTenant(t, s, "Telefonica Demo")
		_, br := newTenantLocale(t, s, "Vivo Demo", "pt-BR")
		tests := []struct {
			name   string
			actor  atende.Actor
			in     []atende.Identity
			wanted []string
		}{
			{"spanish mobile without prefix", es, []atende.Identity{idPhone("612 345 678")}, []string{"phone:+34612345678"}},
			{"brazilian mobile with area code", br, []atende.Identity{idPhone("(11) 98765-4321")}, []string{"phone:+5511987654321"}},
			{"international prefix 00", es, []atende.Identity{idPhone("0055 11 98765-4322")}, []string{"phone:+5511987654322"}},
			{"email lower-cased", es, []atende.Identity{idEmail("  Ana.Garcia@Example.COM ")}, []string{"email:ana.garcia@example.com"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := mustContact(t, s, tt.actor, &atende.Contact{Name: tt.name, Identities: tt.in})
				if got := identityValues(c.Identities); !slices.Equal(got, tt.wanted) {
					t.Fatalf("created identities = %v, want %v", got, tt.wanted)
				}
				got, err := s.Contact(ctx, tt.actor.TenantID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if v := identityValues(got.Identities); !slices.Equal(v, tt.wanted) || got.Identities[0].ID != c.Identities[0].ID {
					t.Fatalf("stored identities = %+v, want %v", got.Identities, tt.wanted)
				}
				if got.Tags == nil || got.Fields == nil || got.Version != 1 || got.MergedInto != "" {
					t.Fatalf("stored contact = %+v", got)
				}
			})
		}
	})
}

func TestCreateContactRejectsBadInputWritingNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		mustContact(t, s, a, &atende.Contact{Name: "Ana", Identities: []atende.Identity{idPhone("+34 612 345 678")}})

		err := s.CreateContact(ctx, a, &atende.Contact{Name: "Bad", Identities: []atende.Identity{idEmail("bad@example.com"), idPhone("12")}})
		wantCodeField(t, err, atende.EInvalid, "identities.value")

		// The same number written another way belongs to Ana already.
		err = s.CreateContact(ctx, a, &atende.Contact{Name: "Dup", Identities: []atende.Identity{idEmail("dup@example.com"), idPhone("612345678")}})
		wantCodeField(t, err, atende.EConflict, "identities.value")

		err = s.CreateContact(ctx, a, &atende.Contact{Name: "Twice", Identities: []atende.Identity{idPhone("612000001"), idPhone("+34612000001")}})
		wantCodeField(t, err, atende.EInvalid, "identities.value")

		page, err := s.Contacts(ctx, a.TenantID, ContactFilter{}, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := contactNames(page.Items); !slices.Equal(got, []string{"Ana"}) {
			t.Fatalf("contacts = %v, want only Ana", got)
		}
		for _, v := range []string{"bad@example.com", "dup@example.com"} {
			_, err := s.ContactByIdentity(ctx, a.TenantID, atende.IdentityEmail, "", v)
			wantCode(t, err, atende.ENotFound)
		}
	})
}

func TestContactCustomFieldsFollowDefinitions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		plan := &atende.FieldDef{Key: "plan", Labels: map[string]string{"es": "Plan"}, Type: atende.FieldSelect, Options: []string{"basic", "pro"}}
		if err := s.CreateFieldDef(ctx, a, plan); err != nil {
			t.Fatal(err)
		}
		for _, d := range []*atende.FieldDef{
			{Key: "score", Labels: map[string]string{"en": "Score"}, Type: atende.FieldNumber},
			{Key: "customer_since", Labels: map[string]string{"es": "Cliente desde"}, Type: atende.FieldDate},
		} {
			if err := s.CreateFieldDef(ctx, a, d); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			fields map[string]any
			field  string // "" when valid
		}{
			{"valid values", map[string]any{"plan": "pro", "score": 7.5, "customer_since": "2024-02-29"}, ""},
			{"unknown key", map[string]any{"plna": "pro"}, "fields.plna"},
			{"boolean for a number", map[string]any{"score": true}, "fields.score"},
			{"option not offered", map[string]any{"plan": "gold"}, "fields.plan"},
			{"bad date", map[string]any{"customer_since": "29/02/2024"}, "fields.customer_since"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := &atende.Contact{Name: tt.name, Fields: tt.fields}
				err := s.CreateContact(ctx, a, c)
				if tt.field == "" {
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.Contact(ctx, a.TenantID, c.ID)
					if err != nil || got.Fields["plan"] != "pro" || got.Fields["score"] != 7.5 {
						t.Fatalf("Contact = %+v, %v", got, err)
					}
					return
				}
				wantCodeField(t, err, atende.EInvalid, tt.field)
			})
		}

		// Values stored before a definition changes stay until they are written.
		c := mustContact(t, s, a, &atende.Contact{Name: "Grandfathered", Fields: map[string]any{"plan": "basic"}})
		if _, err := s.UpdateFieldDef(ctx, a, plan.ID, 1, func(d *atende.FieldDef) error { d.Options = []string{"pro", "enterprise"}; return nil }); err != nil {
			t.Fatal(err)
		}
		up, err := s.UpdateContact(ctx, a, c.ID, c.Version, func(c *atende.Contact) error { c.Name = "Renamed"; return nil })
		if err != nil || up.Fields["plan"] != "basic" {
			t.Fatalf("UpdateContact keeping an old value = %+v, %v", up, err)
		}
		_, err = s.UpdateContact(ctx, a, c.ID, up.Version, func(c *atende.Contact) error { c.Fields["plan"] = "basic "; return nil })
		wantCodeField(t, err, atende.EInvalid, "fields.plan")
		up, err = s.UpdateContact(ctx, a, c.ID, up.Version, func(c *atende.Contact) error { c.Fields["plan"] = nil; return nil })
		if _, ok := up.Fields["plan"]; err != nil || ok {
			t.Fatalf("clearing a field with null = %+v, %v", up.Fields, err)
		}
	})
}

func TestFieldDefLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, other := newTenant(t, s, "Other")
		d := &atende.FieldDef{Key: "vip", Labels: map[string]string{"es": "VIP"}, Type: atende.FieldBool}
		if err := s.CreateFieldDef(ctx, a, d); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateFieldDef(ctx, a, &atende.FieldDef{Key: "account", Labels: map[string]string{"es": "Cuenta"}, Type: atende.FieldText}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.CreateFieldDef(ctx, a, &atende.FieldDef{Key: "vip", Labels: map[string]string{"es": "Otra"}, Type: atende.FieldText}), atende.EConflict)
		wantCode(t, s.CreateFieldDef(ctx, a, &atende.FieldDef{Key: "Bad Key", Labels: map[string]string{"es": "x"}, Type: atende.FieldText}), atende.EInvalid)
		// Keys are per tenant.
		if err := s.CreateFieldDef(ctx, other, &atende.FieldDef{Key: "vip", Labels: map[string]string{"en": "VIP"}, Type: atende.FieldText}); err != nil {
			t.Fatal(err)
		}

		defs, err := s.FieldDefs(ctx, a.TenantID)
		if err != nil || len(defs) != 2 || defs[0].Key != "account" || defs[1].Key != "vip" {
			t.Fatalf("FieldDefs = %+v, %v", defs, err)
		}
		got, err := s.FieldDef(ctx, a.TenantID, d.ID)
		if err != nil || got.Type != atende.FieldBool || got.Labels["es"] != "VIP" || !got.CreatedAt.Equal(d.CreatedAt) {
			t.Fatalf("FieldDef = %+v, %v", got, err)
		}

		_, err = s.UpdateFieldDef(ctx, a, d.ID, 1, func(d *atende.FieldDef) error { d.Key = "very_important"; return nil })
		wantCodeField(t, err, atende.EInvalid, "key")
		up, err := s.UpdateFieldDef(ctx, a, d.ID, 1, func(d *atende.FieldDef) error { d.Labels["en"] = "VIP"; return nil })
		if err != nil || up.Version != 2 || up.Labels["en"] != "VIP" {
			t.Fatalf("UpdateFieldDef = %+v, %v", up, err)
		}
		_, err = s.UpdateFieldDef(ctx, a, d.ID, 1, func(d *atende.FieldDef) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		wantCode(t, s.DeleteFieldDef(ctx, a, d.ID, 1), atende.EPreconditionFailed)

		// Deleting a definition removes the values stored under its key.
		c := mustContact(t, s, a, &atende.Contact{Name: "Ana", Fields: map[string]any{"vip": true, "account": "A-1"}})
		if err := s.DeleteFieldDef(ctx, a, d.ID, 2); err != nil {
			t.Fatal(err)
		}
		_, err = s.FieldDef(ctx, a.TenantID, d.ID)
		wantCode(t, err, atende.ENotFound)
		after, err := s.Contact(ctx, a.TenantID, c.ID)
		if _, ok := after.Fields["vip"]; err != nil || ok || after.Fields["account"] != "A-1" || after.Version != 2 {
			t.Fatalf("contact after the field was deleted = %+v, %v", after, err)
		}
		if err := s.CreateFieldDef(ctx, a, &atende.FieldDef{Key: "vip", Labels: map[string]string{"es": "VIP"}, Type: atende.FieldText}); err != nil {
			t.Fatalf("defining a deleted key again: %v", err)
		}
	})
}

func TestContactSearchAndFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		mustContact(t, s, a, &atende.Contact{Name: "Ana García", Tags: []string{"VIP", "madrid"}, Identities: []atende.Identity{idPhone("612 345 678"), idEmail("ana@example.com")}})
		mustContact(t, s, a, &atende.Contact{Name: "Juan Pérez", Tags: []string{"madrid"}, Identities: []atende.Identity{idPhone("+34 699 111 222")}})
		mustContact(t, s, a, &atende.Contact{Name: "Mariana Silva", Tags: []string{"vip-lead"}, Identities: []atende.Identity{{Kind: atende.IdentitySocial, Network: "instagram", Value: "@Mari_Silva"}}})
		mustContact(t, s, a, &atende.Contact{Name: "100% Real", Tags: []string{`say "vip`}})

		tests := []struct {
			name string
			f    ContactFilter
			want []string
		}{
			{"all", ContactFilter{}, []string{"100% Real", "Ana García", "Juan Pérez", "Mariana Silva"}},
			{"name substring any case", ContactFilter{Query: "ANA"}, []string{"Ana García", "Mariana Silva"}},
			{"phone as dialled locally", ContactFilter{Query: "612345678"}, []string{"Ana García"}},
			{"phone with prefix and dashes", ContactFilter{Query: "+34 612-345-678"}, []string{"Ana García"}},
			{"phone with 0034", ContactFilter{Query: "0034699111222"}, []string{"Juan Pérez"}},
			{"email in capitals", ContactFilter{Query: "Ana@Example.com"}, []string{"Ana García"}},
			{"social handle with @", ContactFilter{Query: "@mari_silva"}, []string{"Mariana Silva"}},
			{"wildcards are literal", ContactFilter{Query: "0%"}, []string{"100% Real"}},
			{"underscore is literal", ContactFilter{Query: "a_a"}, nil},
			{"tag exact", ContactFilter{Tag: "vip"}, []string{"Ana García"}},
			{"tag any case", ContactFilter{Tag: "Madrid"}, []string{"Ana García", "Juan Pérez"}},
			{"tag and query", ContactFilter{Tag: "madrid", Query: "juan"}, []string{"Juan Pérez"}},
			{"no match", ContactFilter{Query: "nobody"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := s.Contacts(ctx, a.TenantID, tt.f, ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := contactNames(page.Items); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
					t.Fatalf("Contacts(%+v) = %v, want %v", tt.f, got, tt.want)
				}
				for _, c := range page.Items {
					if c.Name == "Ana García" && len(c.Identities) != 2 {
						t.Fatalf("listed identities = %+v", c.Identities)
					}
				}
			})
		}
	})
}

func TestContactsPaginationWalk(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		var want []string
		for i := range 7 {
			c := mustContact(t, s, a, &atende.Contact{Name: fmt.Sprintf("Contact %d", i), Identities: []atende.Identity{idPhone(fmt.Sprintf("6120000%02d", i))}})
			want = append(want, c.ID)
		}
		var got []string
		o := ListOptions{Limit: 3}
		for pages := 1; ; pages++ {
			page, err := s.Contacts(ctx, a.TenantID, ContactFilter{}, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Items {
				if len(c.Identities) != 1 {
					t.Fatalf("contact %s listed with identities %+v", c.Name, c.Identities)
				}
				got = append(got, c.ID)
			}
			if page.Next == "" {
				if pages != 3 {
					t.Fatalf("walked %d pages, want 3", pages)
				}
				break
			}
			o.Cursor = page.Next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("walk = %v, want %v", got, want)
		}
		_, err := s.Contacts(ctx, a.TenantID, ContactFilter{}, ListOptions{Cursor: "garbage"})
		wantCode(t, err, atende.EInvalid)
	})
}

func TestUpdateContact(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		c := mustContact(t, s, a, &atende.Contact{Name: "Ana", Identities: []atende.Identity{idPhone("612345678"), idEmail("ana@example.com")}})
		other := mustContact(t, s, a, &atende.Contact{Name: "Other", Identities: []atende.Identity{idPhone("699111222")}})
		phoneID := c.Identities[1].ID // sorted: email, phone
		if c.Identities[1].Kind != atende.IdentityPhone {
			t.Fatalf("identities not sorted by kind: %+v", c.Identities)
		}

		up, err := s.UpdateContact(ctx, a, c.ID, 1, func(c *atende.Contact) error {
			c.Name = "Ana María"
			c.Tags = []string{"Premium"}
			c.Identities = []atende.Identity{
				{Kind: atende.IdentityPhone, Value: "+34 612 345 678", Verified: true}, // same number, kept
				idEmail("ana.maria@example.com"),                                       // new; the old email goes
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Name != "Ana María" || !slices.Equal(up.Tags, []string{"premium"}) {
			t.Fatalf("UpdateContact = %+v", up)
		}
		got, err := s.Contact(ctx, a.TenantID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v := identityValues(got.Identities); !slices.Equal(v, []string{"email:ana.maria@example.com", "phone:+34612345678"}) {
			t.Fatalf("identities after update = %v", v)
		}
		if got.Identities[1].ID != phoneID || !got.Identities[1].Verified {
			t.Fatalf("kept phone = %+v, want id %s verified", got.Identities[1], phoneID)
		}
		if _, err := s.ContactByIdentity(ctx, a.TenantID, atende.IdentityEmail, "", "ana@example.com"); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("removed email still finds a contact: %v", err)
		}

		_, err = s.UpdateContact(ctx, a, c.ID, 1, func(c *atende.Contact) error { c.Name = "Stale"; return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		_, err = s.UpdateContact(ctx, a, c.ID, 0, func(c *atende.Contact) error {
			c.Identities = append(c.Identities, idPhone("699 111 222"))
			return nil
		})
		wantCodeField(t, err, atende.EConflict, "identities.value")
		_, err = s.UpdateContact(ctx, a, c.ID, 0, func(c *atende.Contact) error { c.Language = "fr"; return nil })
		wantCodeField(t, err, atende.EInvalid, "language")
		_, err = s.UpdateContact(ctx, a, c.ID, 0, func(c *atende.Contact) error { return atende.FieldError("name", "refused by caller") })
		wantCodeField(t, err, atende.EInvalid, "name")
		if after, _ := s.Contact(ctx, a.TenantID, c.ID); after.Version != 2 || after.Name != "Ana María" {
			t.Fatalf("failed updates changed the contact: %+v", after)
		}
		if after, _ := s.Contact(ctx, a.TenantID, other.ID); len(after.Identities) != 1 {
			t.Fatalf("other contact's identities = %+v", after.Identities)
		}
	})
}

func TestMergeAndUndoRestoreExactly(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		for _, d := range []*atende.FieldDef{
			{Key: "plan", Labels: map[string]string{"es": "Plan"}, Type: atende.FieldText},
			{Key: "city", Labels: map[string]string{"es": "Ciudad"}, Type: atende.FieldText},
		} {
			if err := s.CreateFieldDef(ctx, a, d); err != nil {
				t.Fatal(err)
			}
		}
		winner := mustContact(t, s, a, &atende.Contact{Name: "Ana García", Tags: []string{"vip"}, Fields: map[string]any{"plan": "pro"},
			Identities: []atende.Identity{idEmail("ana@example.com")}})
		loser := mustContact(t, s, a, &atende.Contact{Name: "", Language: "es", Tags: []string{"madrid", "vip"}, Fields: map[string]any{"plan": "basic", "city": "Madrid"},
			Identities: []atende.Identity{idPhone("612345678"), {Kind: atende.IdentitySocial, Network: "whatsapp", Value: "612345678"}}})
		bystander := mustContact(t, s, a, &atende.Contact{Name: "Juan", Identities: []atende.Identity{idPhone("699111222")}})
		winnerConv := insertRawConversation(t, s, a.TenantID, winner.ID, "P-1")
		loserConvs := []string{insertRawConversation(t, s, a.TenantID, loser.ID, "P-2"), insertRawConversation(t, s, a.TenantID, loser.ID, "P-3")}
		otherConv := insertRawConversation(t, s, a.TenantID, bystander.ID, "P-4")
		slices.Sort(loserConvs)

		_, err := s.MergeContacts(ctx, a, winner.ID, winner.ID)
		wantCode(t, err, atende.EInvalid)

		m, err := s.MergeContacts(ctx, a, winner.ID, loser.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantIdentityIDs := []string{loser.Identities[0].ID, loser.Identities[1].ID}
		slices.Sort(wantIdentityIDs)
		if !slices.Equal(m.IdentityIDs, wantIdentityIDs) || !slices.Equal(m.ConversationIDs, loserConvs) {
			t.Fatalf("merge moved identities %v conversations %v, want %v %v", m.IdentityIDs, m.ConversationIDs, wantIdentityIDs, loserConvs)
		}
		if m.WinnerSnapshot.Version != 1 || m.LoserSnapshot.Version != 1 || len(m.LoserSnapshot.Identities) != 2 {
			t.Fatalf("snapshots = %+v / %+v", m.WinnerSnapshot, m.LoserSnapshot)
		}
		w, err := s.Contact(ctx, a.TenantID, winner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Identities) != 3 || !slices.Equal(w.Tags, []string{"madrid", "vip"}) || w.Fields["plan"] != "pro" || w.Fields["city"] != "Madrid" ||
			w.Language != "es" || w.Version != 2 {
			t.Fatalf("winner after merge = %+v", w)
		}
		l, err := s.Contact(ctx, a.TenantID, loser.ID)
		if err != nil || l.MergedInto != winner.ID || len(l.Identities) != 0 || l.Version != 2 {
			t.Fatalf("loser after merge = %+v, %v", l, err)
		}
		for _, id := range append([]string{winnerConv}, loserConvs...) {
			if got := rawConversationContact(t, s, id); got != winner.ID {
				t.Fatalf("conversation %s belongs to %s after merge, want the winner", id, got)
			}
		}
		if got, err := s.ContactByIdentity(ctx, a.TenantID, atende.IdentityPhone, "", "+34612345678"); err != nil || got.ID != winner.ID {
			t.Fatalf("loser's phone finds %+v, %v; want the winner", got, err)
		}
		page, _ := s.Contacts(ctx, a.TenantID, ContactFilter{}, ListOptions{})
		if len(page.Items) != 2 {
			t.Fatalf("merged contact listed: %v", contactNames(page.Items))
		}
		page, _ = s.Contacts(ctx, a.TenantID, ContactFilter{IncludeMerged: true}, ListOptions{})
		if len(page.Items) != 3 {
			t.Fatalf("IncludeMerged lists %v", contactNames(page.Items))
		}

		// A merged-away contact takes part in nothing until the merge is undone.
		_, err = s.MergeContacts(ctx, a, bystander.ID, loser.ID)
		wantCode(t, err, atende.EConflict)
		_, err = s.MergeContacts(ctx, a, loser.ID, bystander.ID)
		wantCode(t, err, atende.EConflict)
		_, err = s.UpdateContact(ctx, a, loser.ID, 0, func(c *atende.Contact) error { c.Name = "x"; return nil })
		wantCode(t, err, atende.EConflict)

		// Changes made to the winner after the merge survive the undo.
		if _, err := s.UpdateContact(ctx, a, winner.ID, 2, func(c *atende.Contact) error {
			c.Tags = append(c.Tags, "later")
			c.Fields["city"] = "Sevilla"
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		restored, err := s.UndoMerge(ctx, a, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if restored.ID != loser.ID || restored.MergedInto != "" || restored.Version != 3 {
			t.Fatalf("UndoMerge = %+v", restored)
		}
		l, err = s.Contact(ctx, a.TenantID, loser.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.Identities, loser.Identities) || !slices.Equal(l.Tags, loser.Tags) || l.Fields["plan"] != "basic" || l.Fields["city"] != "Madrid" || l.MergedInto != "" {
			t.Fatalf("loser after undo = %+v, want identities %+v", l, loser.Identities)
		}
		if !slices.Equal(restored.Identities, l.Identities) {
			t.Fatalf("UndoMerge returned identities %+v, stored %+v", restored.Identities, l.Identities)
		}
		w, err = s.Contact(ctx, a.TenantID, winner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Identities, winner.Identities) || !slices.Equal(w.Tags, []string{"later", "vip"}) ||
			w.Fields["plan"] != "pro" || w.Fields["city"] != "Sevilla" || w.Language != "" || w.Version != 4 {
			t.Fatalf("winner after undo = %+v", w)
		}
		if got := rawConversationContact(t, s, winnerConv); got != winner.ID {
			t.Fatalf("winner's own conversation moved to %s", got)
		}
		for _, id := range loserConvs {
			if got := rawConversationContact(t, s, id); got != loser.ID {
				t.Fatalf("conversation %s belongs to %s after undo, want the loser", id, got)
			}
		}
		if got := rawConversationContact(t, s, otherConv); got != bystander.ID {
			t.Fatalf("bystander's conversation moved to %s", got)
		}
		_, err = s.UndoMerge(ctx, a, m.ID)
		wantCode(t, err, atende.EConflict)

		// Merge again the other way round: the history lists both, newest first.
		m2, err := s.MergeContacts(ctx, a, loser.ID, winner.ID)
		if err != nil {
			t.Fatal(err)
		}
		merges, err := s.ContactMerges(ctx, a.TenantID, winner.ID)
		if err != nil || len(merges) != 2 || merges[0].ID != m2.ID || merges[1].ID != m.ID || merges[1].UndoneAt == nil || merges[0].UndoneAt != nil {
			t.Fatalf("ContactMerges = %+v, %v", merges, err)
		}
		if merges, err := s.ContactMerges(ctx, a.TenantID, bystander.ID); err != nil || len(merges) != 0 {
			t.Fatalf("bystander's merges = %+v, %v", merges, err)
		}
		var events int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events WHERE tenant_id = ? AND type IN ('contact.merged', 'contact.unmerged')`), a.TenantID).Scan(&events); err != nil || events != 3 {
			t.Fatalf("merge events = %d, %v; want 3", events, err)
		}
	})
}

func TestUndoMergeNeedsLaterMergesUndoneFirst(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		x := mustContact(t, s, a, &atende.Contact{Name: "X", Identities: []atende.Identity{idPhone("612000001")}})
		y := mustContact(t, s, a, &atende.Contact{Name: "Y", Identities: []atende.Identity{idPhone("612000002")}})
		z := mustContact(t, s, a, &atende.Contact{Name: "Z", Identities: []atende.Identity{idPhone("612000003")}})
		m1, err := s.MergeContacts(ctx, a, y.ID, x.ID) // x into y
		if err != nil {
			t.Fatal(err)
		}
		m2, err := s.MergeContacts(ctx, a, z.ID, y.ID) // y (with x's phone) into z
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UndoMerge(ctx, a, m1.ID)
		wantCode(t, err, atende.EConflict)
		if _, err := s.UndoMerge(ctx, a, m2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UndoMerge(ctx, a, m1.ID); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*atende.Contact{x, y, z} {
			got, err := s.Contact(ctx, a.TenantID, c.ID)
			if err != nil || !slices.Equal(got.Identities, c.Identities) || got.MergedInto != "" {
				t.Fatalf("%s after both undos = %+v, %v; want identities %+v", c.Name, got, err, c.Identities)
			}
		}
	})
}

func TestFindOrCreateContact(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		const n = 8
		var wg sync.WaitGroup
		results := make([]*atende.Contact, n)
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each caller writes the number its own way.
				v := []string{"612 345 678", "+34612345678", "0034 612-345-678"}[i%3]
				results[i], created[i], errs[i] = s.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentitySocial, Network: "whatsapp", Value: v}, "Ana")
			}()
		}
		wg.Wait()
		nCreated := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if results[i].ID != results[0].ID {
				t.Fatalf("callers got different contacts: %s and %s", results[0].ID, results[i].ID)
			}
			if created[i] {
				nCreated++
			}
		}
		if nCreated != 1 {
			t.Fatalf("%d callers created the contact, want 1", nCreated)
		}
		page, err := s.Contacts(ctx, a.TenantID, ContactFilter{}, ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != "Ana" || page.Items[0].Identities[0].Value != "+34612345678" {
			t.Fatalf("contacts after the race = %+v, %v", page.Items, err)
		}

		c, made, err := s.FindOrCreateContact(ctx, a, idEmail("New@Example.com"), "")
		if err != nil || !made || c.Identities[0].Value != "new@example.com" {
			t.Fatalf("FindOrCreateContact(new email) = %+v, %v, %v", c, made, err)
		}
		_, _, err = s.FindOrCreateContact(ctx, a, idPhone("12"), "Bad")
		wantCodeField(t, err, atende.EInvalid, "identities.value")
	})
}

func TestContactsAreTenantIsolated(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Beta")
		// The same phone may belong to a contact in each tenant.
		ca := mustContact(t, s, a, &atende.Contact{Name: "Ana of A", Identities: []atende.Identity{idPhone("612345678")}})
		ca2 := mustContact(t, s, a, &atende.Contact{Name: "Second of A", Identities: []atende.Identity{idEmail("second@example.com")}})
		cb := mustContact(t, s, b, &atende.Contact{Name: "Ana of B", Identities: []atende.Identity{idPhone("+34 612 345 678")}})
		def := &atende.FieldDef{Key: "plan", Labels: map[string]string{"es": "Plan"}, Type: atende.FieldText}
		if err := s.CreateFieldDef(ctx, a, def); err != nil {
			t.Fatal(err)
		}
		m, err := s.MergeContacts(ctx, a, ca.ID, ca2.ID)
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.ContactByIdentity(ctx, b.TenantID, atende.IdentityPhone, "", "612345678")
		if err != nil || got.ID != cb.ID {
			t.Fatalf("B's lookup = %+v, %v; want B's contact", got, err)
		}
		_, err = s.ContactByIdentity(ctx, b.TenantID, atende.IdentityEmail, "", "second@example.com")
		wantCode(t, err, atende.ENotFound)
		if c, made, err := s.FindOrCreateContact(ctx, b, idEmail("second@example.com"), ""); err != nil || !made || c.TenantID != b.TenantID {
			t.Fatalf("B's FindOrCreate of A's email = %+v, %v, %v", c, made, err)
		}
		page, err := s.Contacts(ctx, b.TenantID, ContactFilter{Query: "ana", IncludeMerged: true}, ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != cb.ID {
			t.Fatalf("B's search = %+v, %v", page.Items, err)
		}

		// Every method given A's ids in B's name behaves as if they did not exist.
		checks := map[string]error{}
		_, checks["Contact"] = s.Contact(ctx, b.TenantID, ca.ID)
		_, checks["UpdateContact"] = s.UpdateContact(ctx, b, ca.ID, 0, func(c *atende.Contact) error { c.Name = "hijacked"; return nil })
		_, checks["MergeContacts winner"] = s.MergeContacts(ctx, b, ca.ID, cb.ID)
		_, checks["MergeContacts loser"] = s.MergeContacts(ctx, b, cb.ID, ca.ID)
		_, checks["UndoMerge"] = s.UndoMerge(ctx, b, m.ID)
		_, checks["ContactMerges"] = s.ContactMerges(ctx, b.TenantID, ca.ID)
		_, checks["FieldDef"] = s.FieldDef(ctx, b.TenantID, def.ID)
		_, checks["UpdateFieldDef"] = s.UpdateFieldDef(ctx, b, def.ID, 0, func(d *atende.FieldDef) error { d.Labels["en"] = "x"; return nil })
		checks["DeleteFieldDef"] = s.DeleteFieldDef(ctx, b, def.ID, 0)
		for name, err := range checks {
			if atende.ErrorCode(err) != atende.ENotFound {
				t.Errorf("%s across tenants: %v, want not_found", name, err)
			}
		}
		if defs, err := s.FieldDefs(ctx, b.TenantID); err != nil || len(defs) != 0 {
			t.Fatalf("B's field defs = %+v, %v", defs, err)
		}
		// A's custom field is unknown to B.
		err = s.CreateContact(ctx, b, &atende.Contact{Name: "x", Fields: map[string]any{"plan": "pro"}})
		wantCodeField(t, err, atende.EInvalid, "fields.plan")

		after, err := s.Contact(ctx, a.TenantID, ca.ID)
		if err != nil || after.Name != "Ana of A" || len(after.Identities) != 2 {
			t.Fatalf("A's contact after B's attempts = %+v, %v", after, err)
		}
		if _, err := s.FieldDef(ctx, a.TenantID, def.ID); err != nil {
			t.Fatalf("A's field def after B's attempts: %v", err)
		}
	})
}

func TestContactSearchByPartOfAnAddress(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		c := &atende.Contact{Name: "Lucía", Identities: []atende.Identity{
			{Kind: atende.IdentityPhone, Value: "612 345 678"}, {Kind: atende.IdentityEmail, Value: "lucia.gomez@example.es"}}}
		if err := s.CreateContact(ctx, a, c); err != nil {
			t.Fatal(err)
		}
		other := &atende.Contact{Name: "Pedro", Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: "699 000 111"}}}
		if err := s.CreateContact(ctx, a, other); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"5678", "345 678", "lucia.go", "EXAMPLE.ES", "+34612345678", "lucí"} {
			page, err := s.Contacts(ctx, a.TenantID, ContactFilter{Query: q}, ListOptions{})
			if err != nil || len(page.Items) != 1 || page.Items[0].ID != c.ID {
				t.Errorf("search %q found %d contacts, %v", q, len(page.Items), err)
			}
		}
		page, _ := s.Contacts(ctx, a.TenantID, ContactFilter{Query: "100% real"}, ListOptions{})
		if len(page.Items) != 0 {
			t.Errorf("wildcards in the query matched %d contacts", len(page.Items))
		}
	})
}
