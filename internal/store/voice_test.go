package store

import (
	"context"
	"testing"
	"time"

	"github.com/atende/atende"
)

func TestSIPBindingsExpireAndFollowTheirAccount(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tn, sys := newTenant(t, s, "Acme")
		_, sysB := newTenant(t, s, "Other")
		acc := &atende.SIPAccount{Username: "1001", Active: true}
		if err := s.CreateSIPAccount(ctx, sys, acc, "v1:sealed"); err != nil {
			t.Fatal(err)
		}
		// The same username in another tenant is another account.
		if err := s.CreateSIPAccount(ctx, sysB, &atende.SIPAccount{Username: "1001", Active: true}, "v1:sealed"); err != nil {
			t.Fatal(err)
		}
		wantCodeField(t, s.CreateSIPAccount(ctx, sys, &atende.SIPAccount{Username: "1001"}, "v1:x"), atende.EConflict, "username")
		put := func(contact string, expires time.Time, cseq uint32) {
			t.Helper()
			if err := s.PutSIPBinding(ctx, &atende.SIPBinding{TenantID: tn.ID, AccountID: acc.ID, Username: "1001", Contact: contact,
				Source: "192.0.2.1:5060", Transport: "udp", CallID: "c1", CSeq: cseq, Node: "n1", Expires: expires}); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		put("sip:1001@192.0.2.1", now.Add(time.Hour), 1)
		put("sip:1001@192.0.2.1", now.Add(2*time.Hour), 2) // a refresh, not a second row
		put("sip:1001@192.0.2.2", now.Add(-time.Minute), 1)
		list, err := s.SIPBindings(ctx, tn.ID, "1001")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].CSeq != 2 || list[0].Expires.Before(now.Add(time.Hour)) {
			t.Fatalf("live bindings %+v", list)
		}
		if other, _ := s.SIPBindings(ctx, sysB.TenantID, ""); len(other) != 0 {
			t.Fatalf("another tenant sees %+v", other)
		}
		if n, err := s.PruneSIPBindings(ctx, now); err != nil || n != 1 {
			t.Fatalf("pruned %d %v, want the expired one", n, err)
		}
		// Deactivating the account ends its registrations.
		if _, err := s.UpdateSIPAccount(ctx, sys, acc.ID, 0, func(a *atende.SIPAccount) error { a.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.SIPBindings(ctx, tn.ID, ""); len(list) != 0 {
			t.Fatalf("an inactive account keeps %+v", list)
		}
		got, sealed, err := s.SIPAccountByUsername(ctx, tn.ID, "1001")
		if err != nil || got.Active || sealed != "v1:sealed" {
			t.Fatalf("by username: %+v %q %v", got, sealed, err)
		}
	})
}

func TestTrunkStateAndSecrets(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tn, sys := newTenant(t, s, "Acme")
		tr := &atende.Trunk{Name: "Carrier", Mode: atende.TrunkRegister, Host: "sip.carrier.example", Username: "acme", SealedPassword: "v1:pw", DefaultCountry: "ES", Active: true}
		if err := s.CreateTrunk(ctx, sys, tr); err != nil {
			t.Fatal(err)
		}
		active, err := s.ActiveTrunks(ctx)
		if err != nil || len(active) != 1 || active[0].SealedPassword != "v1:pw" || active[0].Port != 5060 {
			t.Fatalf("active trunks %+v %v", active, err)
		}
		st, err := s.TrunkState(ctx, tn.ID, tr.ID)
		if err != nil || st.State != atende.TrunkOff {
			t.Fatalf("initial state %+v %v", st, err)
		}
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		for _, want := range []atende.TrunkState{
			{TrunkID: tr.ID, TenantID: tn.ID, State: atende.TrunkFailed, LastError: "the provider answered 403 Forbidden"},
			{TrunkID: tr.ID, TenantID: tn.ID, State: atende.TrunkRegistered, Expires: until},
		} {
			if err := s.SetTrunkState(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.TrunkState(ctx, tn.ID, tr.ID)
			if err != nil || got.State != want.State || got.LastError != want.LastError || !got.Expires.Equal(want.Expires) {
				t.Fatalf("state %+v %v, want %+v", got, err, want)
			}
		}
		// Switching to ip mode drops the password.
		ip, err := s.UpdateTrunk(ctx, sys, tr.ID, 0, func(t *atende.Trunk) error {
			t.Mode, t.Host, t.Username, t.AllowedCIDRs = atende.TrunkIP, "", "", []string{"192.0.2.0/24"}
			return nil
		})
		if err != nil || ip.PasswordSet || ip.SealedPassword != "" {
			t.Fatalf("to ip: %+v %v", ip, err)
		}
		if err := s.DeleteTrunk(ctx, sys, tr.ID, 0); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.TrunkState(ctx, tn.ID, tr.ID); st.State != atende.TrunkOff {
			t.Fatalf("state after delete %+v", st)
		}
	})
}
