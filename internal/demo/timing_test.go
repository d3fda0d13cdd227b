package demo

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/atende/atende"
)

func TestTiming(t *testing.T) {
	s := openTestSQLite(t)
	ctx := context.Background()
	sd := &seeder{s: s, rng: rand.New(rand.NewPCG(1, 2)), now: time.Now(), password: "demo-password-for-tests", used: map[string]bool{}}
	sys := atende.SystemActor("")
	sd.tenant = &atende.Tenant{Name: tenantName, Slug: "demo", Locale: "es-ES", TimeZone: "Europe/Madrid", Language: "es"}
	if err := s.CreateTenant(ctx, sys, sd.tenant); err != nil {
		t.Fatal(err)
	}
	sd.actor = atende.SystemActor(sd.tenant.ID)
	for _, st := range []struct {
		n string
		f func(context.Context) error
	}{{"skills", sd.seedSkills}, {"rc", sd.seedReasonCodes}, {"disp", sd.seedDispositions}, {"fd", sd.seedFieldDefs}, {"users", sd.seedUsers}, {"teams", sd.seedTeams}, {"queues", sd.seedQueues}, {"contacts", sd.seedContacts}, {"convs", sd.seedConversations}, {"states", sd.seedAgentStates}} {
		t0 := time.Now()
		if err := st.f(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %v", st.n, time.Since(t0))
	}
}
