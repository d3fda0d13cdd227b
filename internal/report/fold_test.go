package report

import (
	"testing"
	"time"

	"github.com/atende/atende"
)

type utcPolicy struct{}

func (utcPolicy) Location(string) *time.Location            { return time.UTC }
func (utcPolicy) ServiceLevel(string, string) time.Duration { return 20 * time.Second }
func (utcPolicy) ShortAbandon(string) time.Duration         { return DefaultShortAbandon }

// A state set outside the routing engine (the flat agent-state form) counts
// like one the engine announces, split at interval bounds.
func TestFoldCountsStatesInBothForms(t *testing.T) {
	f, err := NewFold(utcPolicy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	events := []atende.Event{
		{ID: 1, TenantID: "t", Type: "agent.state_changed", Data: []byte(`{"user_id":"u1","status":"available","since":"2026-03-10T09:10:00Z"}`)},
		{ID: 2, TenantID: "t", Type: "agent.state_changed", Data: []byte(`{"agent":{"id":"u1","status":"away","reason_code":"lunch","since":"2026-03-10T09:20:00Z"}}`)},
		{ID: 3, TenantID: "t", Type: "agent.state_changed", Data: []byte(`{"user_id":"u1","status":"available","since":"2026-03-10T09:50:00Z"}`)},
	}
	for _, e := range events {
		if err := f.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	f.Close(at("2026-03-10T10:00:00Z"))
	rows := f.Take()
	get := func(interval string) AgentCounters {
		r := rows[Key{TenantID: "t", Interval: at(interval), Dim: DimAgent, ID: "u1"}]
		if r == nil {
			return AgentCounters{}
		}
		return r.Agent
	}
	min := int64(time.Minute / time.Millisecond)
	if a := get("2026-03-10T09:00:00Z"); a.AvailableMs != 5*min || a.AwayMs != 0 {
		t.Errorf("09:00 %+v", a)
	}
	if a := get("2026-03-10T09:15:00Z"); a.AvailableMs != 5*min || a.AwayMs != 10*min || a.StateByReason["lunch"] != 10*min {
		t.Errorf("09:15 %+v", a)
	}
	if a := get("2026-03-10T09:30:00Z"); a.AwayMs != 15*min {
		t.Errorf("09:30 %+v", a)
	}
	if a := get("2026-03-10T09:45:00Z"); a.AwayMs != 5*min || a.AvailableMs != 10*min {
		t.Errorf("09:45 %+v", a)
	}
}
