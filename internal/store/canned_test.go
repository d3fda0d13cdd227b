package store

import (
	"context"
	"testing"

	"github.com/atende/atende"
)

func newUser(t *testing.T, s *Store, a atende.Actor, name string) atende.Actor {
	t.Helper()
	u := &atende.User{Email: atende.NewID()[24:] + "@example.com", Name: name, Roles: []atende.Role{atende.RoleAgent}, Active: true}
	if err := s.CreateUser(context.Background(), a, u, "correct-horse-battery"); err != nil {
		t.Fatal(err)
	}
	return atende.Actor{TenantID: a.TenantID, UserID: u.ID, Kind: "user", Name: name}
}

func shortcuts(items []atende.CannedResponse) []string {
	out := []string{}
	for _, c := range items {
		out = append(out, string(c.Scope)+":"+c.Shortcut)
	}
	return out
}

func TestCannedResponsesScopesAndOwners(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, sys := newTenant(t, s, "Acme")
		_, sysB := newTenant(t, s, "Other")
		ana, luis := newUser(t, s, sys, "Ana Ruiz"), newUser(t, s, sys, "Luis Gil")
		bob := newUser(t, s, sysB, "Bob")
		shared := &atende.CannedResponse{Scope: atende.CannedTenant, Shortcut: "Saludo", Title: "Saludo", Body: "Hola {{contact.first_name}}", Language: "es"}
		// Shared answers need the configuration permission.
		wantCode(t, s.CreateCannedResponse(ctx, ana, shared, false), atende.EForbidden)
		if err := s.CreateCannedResponse(ctx, ana, shared, true); err != nil {
			t.Fatal(err)
		}
		if shared.Shortcut != "saludo" || shared.OwnerID != "" || shared.Version != 1 {
			t.Fatalf("created %+v", shared)
		}
		mine := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: ana.UserID, Shortcut: "saludo", Title: "Mi saludo", Body: "¡Hola! Soy {{agent.first_name}}"}
		if err := s.CreateCannedResponse(ctx, ana, mine, false); err != nil {
			t.Fatal(err) // the same shortcut in another scope is fine
		}
		dup := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: ana.UserID, Shortcut: "SALUDO", Title: "Otro", Body: "x"}
		err := s.CreateCannedResponse(ctx, ana, dup, false)
		wantCode(t, err, atende.EConflict)
		if e := err.(*atende.Error); e.Field != "shortcut" {
			t.Fatalf("conflict field %q", e.Field)
		}
		// Luis may use the same shortcut for his own; nobody creates for others.
		his := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: luis.UserID, Shortcut: "saludo", Title: "Luis", Body: "Buenas", Language: "en"}
		if err := s.CreateCannedResponse(ctx, luis, his, false); err != nil {
			t.Fatal(err)
		}
		forged := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: luis.UserID, Shortcut: "x", Title: "x", Body: "x"}
		wantCode(t, s.CreateCannedResponse(ctx, ana, forged, true), atende.EInvalid)
		foreign := &atende.CannedResponse{Scope: atende.CannedTenant, Shortcut: "saludo", Title: "B", Body: "Olá"}
		if err := s.CreateCannedResponse(ctx, bob, foreign, true); err != nil {
			t.Fatal(err)
		}

		list := func(actor atende.Actor, f CannedFilter) []string {
			t.Helper()
			items, err := s.CannedResponses(ctx, actor.TenantID, actor.UserID, f)
			if err != nil {
				t.Fatal(err)
			}
			return shortcuts(items)
		}
		if got := list(ana, CannedFilter{}); len(got) != 2 || got[0] != "tenant:saludo" || got[1] != "personal:saludo" {
			t.Fatalf("Ana lists %v", got)
		}
		if got := list(luis, CannedFilter{Language: "es"}); len(got) != 1 || got[0] != "tenant:saludo" {
			t.Fatalf("Luis in es lists %v", got)
		}
		if got := list(ana, CannedFilter{Query: "SOY"}); len(got) != 1 || got[0] != "personal:saludo" {
			t.Fatalf("Ana searching the body lists %v", got)
		}
		if got := list(ana, CannedFilter{Query: "/sal"}); len(got) != 2 {
			t.Fatalf("Ana searching a shortcut prefix lists %v", got)
		}
		if got := list(bob, CannedFilter{}); len(got) != 1 {
			t.Fatalf("tenant B lists %v", got)
		}
		_, err = s.CannedResponses(ctx, ana.TenantID, ana.UserID, CannedFilter{Language: "fr"})
		wantCode(t, err, atende.EInvalid)

		// Personal answers do not exist for anyone but their owner.
		if _, err := s.CannedResponse(ctx, ana.TenantID, ana.UserID, mine.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.CannedResponse(ctx, luis.TenantID, luis.UserID, mine.ID)
		wantCode(t, err, atende.ENotFound)
		_, err = s.CannedResponse(ctx, bob.TenantID, bob.UserID, shared.ID)
		wantCode(t, err, atende.ENotFound)
		_, err = s.UpdateCannedResponse(ctx, luis, mine.ID, 0, true, func(c *atende.CannedResponse) error { c.Body = "robado"; return nil })
		wantCode(t, err, atende.ENotFound)
		wantCode(t, s.DeleteCannedResponse(ctx, luis, mine.ID, 0, true), atende.ENotFound)
		wantCode(t, s.DeleteCannedResponse(ctx, bob, shared.ID, 0, true), atende.ENotFound)
		// Shared ones change only with the configuration permission.
		_, err = s.UpdateCannedResponse(ctx, luis, shared.ID, 0, false, func(c *atende.CannedResponse) error { c.Body = "x"; return nil })
		wantCode(t, err, atende.EForbidden)
		wantCode(t, s.DeleteCannedResponse(ctx, luis, shared.ID, 0, false), atende.EForbidden)

		up, err := s.UpdateCannedResponse(ctx, ana, mine.ID, 1, false, func(c *atende.CannedResponse) error {
			c.Body, c.Scope, c.OwnerID = "Nuevo", atende.CannedTenant, luis.UserID
			return nil
		})
		if err != nil || up.Version != 2 || up.Body != "Nuevo" || up.Scope != atende.CannedPersonal || up.OwnerID != ana.UserID {
			t.Fatalf("update: %+v, %v", up, err)
		}
		_, err = s.UpdateCannedResponse(ctx, ana, mine.ID, 1, false, func(c *atende.CannedResponse) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		_, err = s.UpdateCannedResponse(ctx, ana, mine.ID, 0, false, func(c *atende.CannedResponse) error { c.Body = ""; return nil })
		wantCode(t, err, atende.EInvalid)
		// Renaming onto a taken shortcut conflicts.
		other := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: ana.UserID, Shortcut: "adios", Title: "Adiós", Body: "Adiós"}
		if err := s.CreateCannedResponse(ctx, ana, other, false); err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateCannedResponse(ctx, ana, other.ID, 0, false, func(c *atende.CannedResponse) error { c.Shortcut = "saludo"; return nil })
		wantCode(t, err, atende.EConflict)

		wantCode(t, s.DeleteCannedResponse(ctx, ana, mine.ID, 1, false), atende.EPreconditionFailed)
		if err := s.DeleteCannedResponse(ctx, ana, mine.ID, 2, false); err != nil {
			t.Fatal(err)
		}
		_, err = s.CannedResponse(ctx, ana.TenantID, ana.UserID, mine.ID)
		wantCode(t, err, atende.ENotFound)
		if err := s.DeleteCannedResponse(ctx, luis, shared.ID, 0, true); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRenderCannedResponse(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tn, sys := newTenant(t, s, "Acme Telecom")
		_, sysB := newTenant(t, s, "Other")
		ana := newUser(t, s, sys, "Ana Ruiz")
		q := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat}}
		if err := s.CreateQueue(ctx, sys, q); err != nil {
			t.Fatal(err)
		}
		contact := &atende.Contact{Name: "María José López", Identities: []atende.Identity{{Kind: atende.IdentityPhone, Value: "+34612345678"}}}
		if err := s.CreateContact(ctx, sys, contact); err != nil {
			t.Fatal(err)
		}
		conv := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, QueueID: q.ID}
		if err := s.CreateConversation(ctx, sys, conv, nil); err != nil {
			t.Fatal(err)
		}
		bare := &atende.Conversation{ContactID: newContact(t, s, sys, "+34612345679").ID, Channel: atende.ChannelChat}
		if err := s.CreateConversation(ctx, sys, bare, nil); err != nil {
			t.Fatal(err)
		}
		bare2, err := s.UpdateContact(ctx, sys, bare.ContactID, 0, func(c *atende.Contact) error { c.Name = ""; return nil })
		if err != nil || bare2.Name != "" {
			t.Fatalf("unnamed contact: %+v %v", bare2, err)
		}
		c := &atende.CannedResponse{Scope: atende.CannedPersonal, OwnerID: ana.UserID, Shortcut: "hola", Title: "Hola",
			Body: "Hola {{contact.first_name}} ({{contact.name}}), soy {{agent.first_name}} de {{tenant.name}}, cola {{queue.name}}, protocolo {{protocol}}. {{agent.nickname}}"}
		if err := s.CreateCannedResponse(ctx, ana, c, false); err != nil {
			t.Fatal(err)
		}
		got, err := s.RenderCannedResponse(ctx, ana.TenantID, ana.UserID, c.ID, conv.ID)
		want := "Hola María (María José López), soy Ana de " + tn.Name + ", cola Soporte, protocolo " + conv.Protocol + ". {{agent.nickname}}"
		if err != nil || got != want {
			t.Fatalf("render = %q, %v\nwant %q", got, err, want)
		}
		got, err = s.RenderCannedResponse(ctx, ana.TenantID, ana.UserID, c.ID, bare.ID)
		want = "Hola  (), soy Ana de " + tn.Name + ", cola , protocolo " + bare.Protocol + ". {{agent.nickname}}"
		if err != nil || got != want {
			t.Fatalf("render without contact name or queue = %q, %v\nwant %q", got, err, want)
		}
		_, err = s.RenderCannedResponse(ctx, ana.TenantID, ana.UserID, c.ID, atende.NewID())
		wantCode(t, err, atende.EInvalid)
		// Another tenant's conversation is not one of this tenant.
		cb := &atende.Conversation{ContactID: newContact(t, s, sysB, "+34612345678").ID, Channel: atende.ChannelChat}
		if err := s.CreateConversation(ctx, sysB, cb, nil); err != nil {
			t.Fatal(err)
		}
		_, err = s.RenderCannedResponse(ctx, ana.TenantID, ana.UserID, c.ID, cb.ID)
		wantCode(t, err, atende.EInvalid)
		// Nor does anyone else render Ana's own answers.
		luis := newUser(t, s, sys, "Luis Gil")
		_, err = s.RenderCannedResponse(ctx, luis.TenantID, luis.UserID, c.ID, conv.ID)
		wantCode(t, err, atende.ENotFound)
	})
}
