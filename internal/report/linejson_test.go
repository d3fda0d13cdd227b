package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestQueueLineWritesWhatEncodingJSONWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	f := func(v float64) *float64 { return &v }
	floats := []*float64{nil, f(0), f(math.Copysign(0, -1)), f(1), f(0.8123456789), f(1e-7), f(1.5e-300), f(1e21), f(123456789.25), f(-2.5), f(1e20)}
	names := []string{"", "Soporte", "Atención al cliente", "a<b & c>d", `quote " and \ slash`, "tab\there", "\u2028", "emoji 😀", "bad \xff utf-8"}
	for i := range 2000 {
		l := QueueLine{Period: "2026-09-01T00:15:00-03:00", ID: "019a0000-0000-7000-8000-000000000001", Name: names[i%len(names)]}
		if i%7 == 0 {
			l.Period, l.ID = "", "" // a total
		}
		c := &l.QueueCounters
		for _, p := range []*int64{&c.Offered, &c.Handled, &c.Abandoned, &c.ShortAbandoned, &c.AnsweredInSL, &c.AbandonedInSL, &c.Transferred,
			&c.WaitHandledMs, &c.WaitAbandonedMs, &c.LongestWaitMs, &c.Completed, &c.TalkMs, &c.HoldMs, &c.WrapMs, &l.SurveyAnswers} {
			*p = rng.Int64() >> rng.IntN(64)
			if rng.IntN(5) == 0 {
				*p = -*p
			}
		}
		for _, p := range []**float64{&l.AbandonRate, &l.ServiceLevel, &l.ASASec, &l.AHTSec, &l.AverageAbandonSec, &l.TransferRate, &l.CSAT, &l.NPS} {
			*p = floats[rng.IntN(len(floats))]
			if rng.IntN(3) == 0 {
				*p = f(rng.Float64() * math.Pow(10, float64(rng.IntN(40)-20)))
			}
		}
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.AppendJSON([]byte("prefix "))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("prefix "), want...)) {
			t.Fatalf("wrote\n%s\nencoding/json writes\n%s", got, want)
		}
	}
	// What JSON cannot hold is still refused.
	nan := QueueLine{ASASec: f(math.NaN())}
	if _, err := nan.AppendJSON(nil); err == nil {
		t.Fatal("NaN written")
	}
}

func FuzzQueueLineJSON(f *testing.F) {
	f.Add("Soporte", 0.8, int64(12))
	f.Add("a<b", 1e-9, int64(-1))
	f.Fuzz(func(t *testing.T, name string, v float64, n int64) {
		l := QueueLine{Period: name, Name: name, ServiceLevel: &v, QueueCounters: QueueCounters{Offered: n}, SurveyAnswers: n}
		want, werr := json.Marshal(l)
		got, gerr := l.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Equal(got, want)) {
			t.Fatalf("wrote %s (%v), encoding/json %s (%v)", got, gerr, want, werr)
		}
	})
}

func BenchmarkQueueLineJSON(b *testing.B) {
	v := 0.8123
	l := QueueLine{Period: "2026-09-01T00:15:00-03:00", ID: "019a0000-0000-7000-8000-000000000001", Name: "Soporte",
		QueueCounters: QueueCounters{Offered: 73, Handled: 70, TalkMs: 1234567}, ServiceLevel: &v, AHTSec: &v}
	b.Run("by-hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = l.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(&l)
		}
	})
}

// The KPIs of a line share one allocation; each must still hold its own
// value, and those with nothing to measure none.
func TestQueueLineOfGivesEachKPIItsValue(t *testing.T) {
	e := Entry{ID: "q", Row: Row{Queue: QueueCounters{Offered: 10, ShortAbandoned: 2, Abandoned: 4, Handled: 6, AnsweredInSL: 3, WaitHandledMs: 12000, WaitAbandonedMs: 6000, Transferred: 3, Completed: 0}}}
	l := QueueLineOf(e, nil, "Q")
	want := map[string]*float64{}
	v := func(x float64) *float64 { return &x }
	want["abandon_rate"], want["service_level"], want["asa_sec"] = v(0.25), v(3.0/8), v(2)
	want["average_abandon_sec"], want["transfer_rate"] = v(1.5), v(0.5) // no completed task: no AHT; no survey: no CSAT, NPS
	got := map[string]*float64{"abandon_rate": l.AbandonRate, "service_level": l.ServiceLevel, "asa_sec": l.ASASec,
		"aht_sec": l.AHTSec, "average_abandon_sec": l.AverageAbandonSec, "transfer_rate": l.TransferRate, "csat": l.CSAT, "nps": l.NPS}
	for k, g := range got {
		w := want[k]
		if (g == nil) != (w == nil) || (g != nil && *g != *w) {
			t.Errorf("%s: got %v, want %v", k, deref(g), deref(w))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
