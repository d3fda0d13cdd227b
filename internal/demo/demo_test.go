package demo

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
)

func forEachStore(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	storetest.ForEach(t, store.Config{}, fn)
}

func openTestSQLite(t *testing.T) *store.Store {
	return storetest.Open(t, store.Config{DataDir: t.TempDir()})
}

// all reads every page of a list.
func all[T any](t *testing.T, list func(store.ListOptions) (store.Page[T], error)) []T {
	t.Helper()
	var out []T
	o := store.ListOptions{Limit: 200}
	for {
		p, err := list(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		o.Cursor = p.Next
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// Words that only show up in one language's scripts.
var languageMarkers = map[string][]string{
	"es":    {"Gracias", "gracias", "Hola", "factura", "baja", "equivocado"},
	"pt-BR": {"Obrigad", "obrigad", "você", "Olá", "Oi", "fatura", "cancelar"},
	"en":    {"Thanks", "thank", "Hi ", "Hello", "account", "cancel"},
}

func TestSeedDemoTenant(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		start := time.Now()
		res, err := Seed(ctx, s, Options{Now: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: seeded in %v", s.Dialect(), time.Since(start).Round(time.Millisecond))
		if !res.Created || res.Tenant == nil || auth.CheckPasswordPolicy(res.Password) != nil {
			t.Fatalf("Seed = %+v", res)
		}
		tn, err := s.TenantBySlug(ctx, "demo")
		if err != nil || tn.ID != res.Tenant.ID || tn.Locale != "es-ES" || tn.TimeZone != "Europe/Madrid" || tn.Language != "es" {
			t.Fatalf("TenantBySlug = %+v, %v", tn, err)
		}

		// Users of every role, found by email, with the demo password.
		for _, r := range atende.Roles {
			var found bool
			for _, u := range res.Users {
				if u.HasRole(r) {
					found = true
					got, err := s.UserByEmail(ctx, tn.ID, u.Email)
					if err != nil || got.ID != u.ID || !got.Active {
						t.Fatalf("UserByEmail(%s) = %+v, %v", u.Email, got, err)
					}
				}
			}
			if !found {
				t.Errorf("no demo user with role %s", r)
			}
		}
		agents := all(t, func(o store.ListOptions) (store.Page[atende.User], error) {
			return s.Users(ctx, tn.ID, store.UserFilter{Role: atende.RoleAgent}, o)
		})
		if len(agents) < 6 {
			t.Errorf("%d agents, want at least 6", len(agents))
		}
		for _, u := range agents {
			if len(u.Skills) < 2 || len(u.TeamIDs) == 0 || u.Capacity[atende.ChannelVoice] != 1 {
				t.Errorf("agent %s: skills %v teams %v capacity %v", u.Email, u.Skills, u.TeamIDs, u.Capacity)
			}
		}
		creds, err := s.CredentialsByEmail(ctx, tn.ID, "admin@demo.atende.local")
		if err != nil || len(creds) != 1 || !creds[0].User.HasRole(atende.RoleAdmin) {
			t.Fatalf("CredentialsByEmail(admin) = %+v, %v", creds, err)
		}
		if err := auth.VerifyPassword(creds[0].PasswordHash, res.Password); err != nil {
			t.Fatalf("admin password: %v", err)
		}
		// Every user shares the one demo password.
		creds, err = s.CredentialsByEmail(ctx, tn.ID, "thiago.pereira@demo.atende.local")
		if err != nil || len(creds) != 1 || auth.VerifyPassword(creds[0].PasswordHash, res.Password) != nil {
			t.Fatalf("agent password: %+v, %v", creds, err)
		}

		// Contacts with valid E.164 phones in the three markets.
		contacts := all(t, func(o store.ListOptions) (store.Page[atende.Contact], error) {
			return s.Contacts(ctx, tn.ID, store.ContactFilter{}, o)
		})
		if len(contacts) < 50 {
			t.Fatalf("%d contacts, want about 60", len(contacts))
		}
		prefixes := map[string]int{}
		lang := map[string]string{}
		kinds := map[string]int{}
		for _, c := range contacts {
			lang[c.ID] = c.Language
			if c.Fields["customer_id"] == nil || c.Fields["plan"] == nil {
				t.Errorf("contact %s fields %v", c.Name, c.Fields)
			}
			for _, id := range c.Identities {
				kinds[string(id.Kind)+"/"+id.Network]++
				if id.Kind != atende.IdentityPhone {
					continue
				}
				if n, err := atende.NormalizePhone(id.Value, ""); !e164.MatchString(id.Value) || err != nil || n != id.Value {
					t.Errorf("contact %s phone %q is not valid E.164 (%v)", c.Name, id.Value, err)
				}
				for _, p := range []string{"+34", "+55", "+1"} {
					if strings.HasPrefix(id.Value, p) {
						prefixes[p]++
					}
				}
			}
		}
		for _, p := range []string{"+34", "+55", "+1"} {
			if prefixes[p] < 5 {
				t.Errorf("%d phones with prefix %s, want several", prefixes[p], p)
			}
		}
		for _, k := range []string{"phone/", "email/", "chat/", "social/whatsapp", "social/instagram"} {
			if kinds[k] == 0 {
				t.Errorf("no %s identity", k)
			}
		}

		// Conversations over several channels, languages and outcomes.
		convs := all(t, func(o store.ListOptions) (store.Page[atende.Conversation], error) {
			return s.Conversations(ctx, tn.ID, store.ConversationFilter{}, o)
		})
		if len(convs) < 120 {
			t.Fatalf("%d conversations, want about 150", len(convs))
		}
		channels := map[atende.Channel]int{}
		statuses := map[atende.ConversationStatus]int{}
		perContact := map[string]map[atende.Channel]bool{}
		multi := 0
		for _, c := range convs {
			channels[c.Channel]++
			statuses[c.Status]++
			if len(c.Channels) > 1 {
				multi++
			}
			if perContact[c.ContactID] == nil {
				perContact[c.ContactID] = map[atende.Channel]bool{}
			}
			for _, ch := range c.Channels {
				perContact[c.ContactID][ch] = true
			}
			if (c.Status == atende.StatusResolved || c.Status == atende.StatusClosed) && c.DispositionID == "" {
				t.Errorf("conversation %s is %s without a disposition", c.Protocol, c.Status)
			}
			if c.QueueID == "" {
				t.Errorf("conversation %s has no queue", c.Protocol)
			}
		}
		if len(channels) < 4 {
			t.Errorf("conversations on %d channels (%v), want at least 4", len(channels), channels)
		}
		for _, st := range atende.ConversationStatuses {
			if statuses[st] == 0 {
				t.Errorf("no %s conversation (%v)", st, statuses)
			}
		}
		omni := 0
		for _, chs := range perContact {
			if len(chs) >= 2 {
				omni++
			}
		}
		if omni < 5 || multi == 0 {
			t.Errorf("%d contacts on 2+ channels and %d conversations spanning channels; want some of both", omni, multi)
		}
		t.Logf("%d contacts, %d conversations; channels %v; statuses %v; %d contacts on 2+ channels", len(contacts), len(convs), channels, statuses, omni)

		// Shared canned responses in each language, using only variables
		// that render.
		canned, err := s.CannedResponses(ctx, tn.ID, "", store.CannedFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range atende.Languages {
			var inLang []atende.CannedResponse
			for _, c := range canned {
				if c.Scope == atende.CannedTenant && c.Language == l {
					inLang = append(inLang, c)
				}
			}
			if len(inLang) < 3 {
				t.Errorf("%d shared canned responses in %s, want a handful", len(inLang), l)
			}
			for _, c := range inLang {
				body, err := s.RenderCannedResponse(ctx, tn.ID, res.Users[0].ID, c.ID, convs[0].ID)
				if err != nil || strings.Contains(body, "{{") {
					t.Errorf("canned %s renders %q, %v", c.Shortcut, body, err)
				}
			}
		}

		// Messages both ways, in the contact's language.
		text := map[string]*strings.Builder{}
		dirs := map[string]int{}
		for _, c := range convs {
			events, err := s.Timeline(ctx, tn.ID, c.ID, 0, 500)
			if err != nil {
				t.Fatal(err)
			}
			msgs := 0
			for _, e := range events {
				if e.Kind != atende.KindMessage {
					continue
				}
				msgs++
				dirs[e.Direction]++
				l := lang[c.ContactID]
				if text[l] == nil {
					text[l] = &strings.Builder{}
				}
				text[l].WriteString(e.Body + "\n")
			}
			if msgs < 2 || msgs > 9 {
				t.Errorf("conversation %s has %d messages", c.Protocol, msgs)
			}
		}
		if dirs[atende.DirectionIn] == 0 || dirs[atende.DirectionOut] == 0 {
			t.Errorf("message directions %v", dirs)
		}
		for l, words := range languageMarkers {
			if text[l] == nil {
				t.Errorf("no messages in %s", l)
				continue
			}
			body := text[l].String()
			n := 0
			for _, w := range words {
				if strings.Contains(body, w) {
					n++
				}
			}
			if n < len(words)/2 {
				t.Errorf("messages of %s contacts do not read as %s", l, l)
			}
		}

		// Agent states: some available, one away at lunch.
		states, err := s.AgentStates(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		byStatus := map[atende.AgentStatus]int{}
		for _, st := range states {
			byStatus[st.Status]++
			if st.Status == atende.StatusAway && st.ReasonCode != lunchCode {
				t.Errorf("away with %q, want %s", st.ReasonCode, lunchCode)
			}
		}
		if byStatus[atende.StatusAvailable] < 2 || byStatus[atende.StatusAway] != 1 || byStatus[atende.StatusOffline] == 0 {
			t.Errorf("agent states %v", byStatus)
		}

		// Seeding again changes nothing.
		again, err := Seed(ctx, s, Options{Slug: " Demo ", Password: "another-password-entirely"})
		if err != nil {
			t.Fatal(err)
		}
		if again.Created || again.Password != "" || again.Tenant.ID != tn.ID {
			t.Fatalf("second Seed = %+v", again)
		}
		users := all(t, func(o store.ListOptions) (store.Page[atende.User], error) {
			return s.Users(ctx, tn.ID, store.UserFilter{}, o)
		})
		contacts2 := all(t, func(o store.ListOptions) (store.Page[atende.Contact], error) {
			return s.Contacts(ctx, tn.ID, store.ContactFilter{}, o)
		})
		convs2 := all(t, func(o store.ListOptions) (store.Page[atende.Conversation], error) {
			return s.Conversations(ctx, tn.ID, store.ConversationFilter{}, o)
		})
		if len(users) != len(res.Users) || len(contacts2) != len(contacts) || len(convs2) != len(convs) {
			t.Errorf("after a second Seed: %d users (was %d), %d contacts (was %d), %d conversations (was %d)",
				len(users), len(res.Users), len(contacts2), len(contacts), len(convs2), len(convs))
		}
		tenants, err := s.Tenants(ctx)
		if err != nil || len(tenants) != 1 {
			t.Errorf("Tenants = %d, %v; want the one demo tenant", len(tenants), err)
		}
	})
}

func TestSeedRejectsWeakPasswordBeforeWriting(t *testing.T) {
	s := openTestSQLite(t)
	if _, err := Seed(context.Background(), s, Options{Password: "short"}); err == nil {
		t.Fatal("Seed accepted a 5-character password")
	}
	if _, err := s.TenantBySlug(context.Background(), "demo"); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("a tenant was created: %v", err)
	}
}
