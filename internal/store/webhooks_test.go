package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atende/atende"
)

func newWebhook(t *testing.T, s *Store, a atende.Actor, events ...string) *atende.Webhook {
	t.Helper()
	w := &atende.Webhook{URL: "https://hooks.example.com/in", Events: events, Active: true}
	if err := s.CreateWebhook(context.Background(), a, w, "v1:sealed"); err != nil {
		t.Fatal(err)
	}
	return w
}

func types(events []atende.Event) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func addSkill(t *testing.T, s *Store, a atende.Actor, name string) {
	t.Helper()
	if err := s.CreateSkill(context.Background(), a, &atende.Skill{Name: name}); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookSettingsAndTenantIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		_, b := newTenant(t, s, "Other")
		addSkill(t, s, a, "Billing")
		last, err := s.LastEventID(ctx, a.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		w := newWebhook(t, s, a, "skill.*", "skill.*", " task.created ")
		if w.Cursor != last || w.State != atende.WebhookHealthy || w.Version != 1 || w.Secret != "" {
			t.Fatalf("created %+v; want cursor %d (only later events), healthy, version 1", w, last)
		}
		if fmt.Sprint(w.Events) != "[skill.* task.created]" {
			t.Fatalf("events not normalised: %q", w.Events)
		}
		wantCode(t, s.CreateWebhook(ctx, a, &atende.Webhook{URL: "ftp://x.example.com"}, "v1:x"), atende.EInvalid)

		// Another tenant sees none of it.
		if _, err := s.Webhook(ctx, b.TenantID, w.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("tenant B reads A's webhook: %v", err)
		}
		if page, _ := s.Webhooks(ctx, b.TenantID, ListOptions{}); len(page.Items) != 0 {
			t.Fatalf("tenant B lists %d webhooks", len(page.Items))
		}
		_, err = s.UpdateWebhook(ctx, b, w.ID, 0, func(*atende.Webhook) error { return nil })
		wantCode(t, err, atende.ENotFound)
		wantCode(t, s.DeleteWebhook(ctx, b, w.ID, 0), atende.ENotFound)
		_, err = s.ResumeWebhook(ctx, b, w.ID, 0)
		wantCode(t, err, atende.ENotFound)
		_, err = s.RotateWebhookSecret(ctx, b, w.ID, 0, "v1:y")
		wantCode(t, err, atende.ENotFound)
		_, err = s.WebhookDeliveries(ctx, b.TenantID, w.ID)
		wantCode(t, err, atende.ENotFound)

		// An update changes the settings only, at the version it names.
		_, err = s.UpdateWebhook(ctx, a, w.ID, 7, func(*atende.Webhook) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		up, err := s.UpdateWebhook(ctx, a, w.ID, 1, func(x *atende.Webhook) error {
			x.Events, x.Active, x.Cursor, x.State, x.Description = []string{"*"}, false, 0, atende.WebhookPaused, "CRM"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Active || up.Description != "CRM" || up.Cursor != w.Cursor || up.State != atende.WebhookHealthy {
			t.Fatalf("updated %+v", up)
		}
		rot, err := s.RotateWebhookSecret(ctx, a, w.ID, 2, "v1:new")
		if err != nil || rot.Version != 3 {
			t.Fatalf("rotate: %+v %v", rot, err)
		}
		page, err := s.Webhooks(ctx, a.TenantID, ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != w.ID {
			t.Fatalf("list: %+v %v", page, err)
		}
		wantCode(t, s.DeleteWebhook(ctx, a, w.ID, 2), atende.EPreconditionFailed)
		if err := s.DeleteWebhook(ctx, a, w.ID, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Webhook(ctx, a.TenantID, w.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("deleted webhook still there: %v", err)
		}
	})
}

func TestWebhookLeaseIsExclusiveAndFenced(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		w := newWebhook(t, s, a, "*")
		addSkill(t, s, a, "Billing")

		one, err := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, nil)
		if err != nil || len(one) != 1 || one[0].ID != w.ID || one[0].SealedSecret != "v1:sealed" {
			t.Fatalf("node-1 claim: %+v %v", one, err)
		}
		if two, err := s.ClaimDueWebhooks(ctx, "node-2", time.Minute, 10, nil); err != nil || len(two) != 0 {
			t.Fatalf("node-2 claimed a leased webhook: %+v %v", two, err)
		}
		// The holder does not claim again what it is delivering.
		if again, err := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, []string{w.ID}); err != nil || len(again) != 0 {
			t.Fatalf("node-1 claimed its busy webhook: %+v %v", again, err)
		}
		if err := s.ReleaseWebhookLease(ctx, &one[0]); err != nil {
			t.Fatal(err)
		}
		// An expired lease passes to another node; the old one is fenced off.
		old, err := s.ClaimDueWebhooks(ctx, "node-1", -time.Second, 10, nil)
		if err != nil || len(old) != 1 {
			t.Fatalf("claim: %+v %v", old, err)
		}
		fresh, err := s.ClaimDueWebhooks(ctx, "node-2", time.Minute, 10, nil)
		if err != nil || len(fresh) != 1 {
			t.Fatalf("node-2 did not take the expired lease: %+v %v", fresh, err)
		}
		// The webhook's own creation is the first event after its cursor.
		events, err := s.WebhookEvents(ctx, a.TenantID, old[0].Cursor, time.Now().Add(time.Hour), 10)
		if err != nil || len(events) != 2 || events[0].Type != "webhook.created" || events[1].Type != "skill.created" {
			t.Fatalf("events: %v %v", types(events), err)
		}
		events = events[1:]
		at := WebhookAttempt{EventID: events[0].ID, EventType: events[0].Type, StatusCode: 200}
		if err := s.RecordWebhookAttempt(ctx, &old[0], at); !errors.Is(err, ErrWebhookLeaseLost) {
			t.Fatalf("a stale lease recorded a delivery: %v", err)
		}
		if err := s.RenewWebhookLease(ctx, &old[0], time.Minute); !errors.Is(err, ErrWebhookLeaseLost) {
			t.Fatalf("a stale lease renewed: %v", err)
		}
		if err := s.RecordWebhookAttempt(ctx, &fresh[0], at); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Webhook(ctx, a.TenantID, w.ID)
		if got.Cursor != events[0].ID || got.LastSuccessAt == nil {
			t.Fatalf("after delivery: %+v", got)
		}
		if d, _ := s.WebhookDeliveries(ctx, a.TenantID, w.ID); len(d) != 1 {
			t.Fatalf("deliveries %+v, want only the current holder's", d)
		}
	})
}

func TestWebhookFailuresPauseAndResume(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		w := newWebhook(t, s, a, "skill.*")
		addSkill(t, s, a, "Billing")
		events, _ := s.WebhookEvents(ctx, a.TenantID, w.Cursor, time.Now().Add(time.Hour), 10)
		if len(events) != 2 {
			t.Fatalf("events %v", types(events))
		}
		events = events[1:]
		fail := WebhookAttempt{EventID: events[0].ID, EventType: events[0].Type, StatusCode: 500, Err: "HTTP 500", RetryIn: -time.Second}
		for i := 1; i <= 2; i++ {
			c, err := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, nil)
			if err != nil || len(c) != 1 {
				t.Fatalf("claim %d: %+v %v", i, c, err)
			}
			if i == 2 {
				fail.Pause = true
			}
			if err := s.RecordWebhookAttempt(ctx, &c[0], fail); err != nil {
				t.Fatal(err)
			}
			s.ReleaseWebhookLease(ctx, &c[0])
		}
		got, _ := s.Webhook(ctx, a.TenantID, w.ID)
		if got.State != atende.WebhookPaused || got.Failures != 2 || got.LastError != "HTTP 500" || got.Cursor != w.Cursor || got.LastFailureAt == nil {
			t.Fatalf("after failures: %+v", got)
		}
		if c, _ := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, nil); len(c) != 0 {
			t.Fatal("a paused webhook was claimed")
		}
		paused, _ := s.Events(ctx, a.TenantID, events[0].ID, 10)
		if len(paused) != 1 || paused[0].Type != "webhook.paused" || paused[0].Subject != w.ID {
			t.Fatalf("no webhook.paused event: %v", types(paused))
		}
		res, err := s.ResumeWebhook(ctx, a, w.ID, 0)
		if err != nil || res.State != atende.WebhookHealthy || res.Failures != 0 {
			t.Fatalf("resume: %+v %v", res, err)
		}
		if c, _ := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, nil); len(c) != 1 || c[0].Cursor != w.Cursor {
			t.Fatalf("resumed webhook not due from where it stopped: %+v", c)
		}
	})
}

func TestWebhookDeliveryLogKeepsTheLatest(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		w := newWebhook(t, s, a, "*")
		c, err := s.ClaimDueWebhooks(ctx, "node-1", time.Minute, 10, nil)
		if err != nil || len(c) != 1 {
			t.Fatal(c, err)
		}
		for i := 1; i <= MaxWebhookDeliveries+5; i++ {
			at := WebhookAttempt{EventID: c[0].Cursor + 1, EventType: "x.y", StatusCode: 503, Err: fmt.Sprintf("attempt %d", i), RetryIn: time.Hour}
			if err := s.RecordWebhookAttempt(ctx, &c[0], at); err != nil {
				t.Fatal(err)
			}
		}
		d, err := s.WebhookDeliveries(ctx, a.TenantID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) != MaxWebhookDeliveries || d[0].Error != fmt.Sprintf("attempt %d", MaxWebhookDeliveries+5) || d[len(d)-1].Error != "attempt 6" {
			t.Fatalf("log: %d entries, first %q, last %q", len(d), d[0].Error, d[len(d)-1].Error)
		}
		if d[0].StatusCode != 503 || d[0].EventType != "x.y" {
			t.Fatalf("entry %+v", d[0])
		}
	})
}
