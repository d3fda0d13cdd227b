package erlang

import (
	"math"
	"testing"
)

// The worked example of REFERENCE.md: 100 calls per 30 min, AHT 180 s
// (A = 10 Erlangs), threshold 20 s.
func TestReferenceTable(t *testing.T) {
	rate := 100.0 / 1800
	for _, row := range []struct {
		n                     int
		pwait, sl, asa, occup float64
	}{
		{11, 0.6821, 0.3896, 122.8, 0.909},
		{12, 0.4494, 0.6402, 40.4, 0.833},
		{13, 0.2853, 0.7956, 17.1, 0.769},
		{14, 0.1741, 0.8884, 7.8, 0.714},
	} {
		r, err := Solve(Queue{ArrivalRate: rate, AHT: 180, Agents: row.n}, 20)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Traffic-10) > 1e-9 {
			t.Fatalf("traffic %v", r.Traffic)
		}
		check := func(name string, got, want, tol float64) {
			if math.Abs(got-want) > tol {
				t.Errorf("N=%d %s = %.4f, want %.4f", row.n, name, got, want)
			}
		}
		check("P(wait)", r.PWait, row.pwait, 0.00005)
		check("SL(20s)", r.ServiceLevel, row.sl, 0.00005)
		check("ASA", r.ASA, row.asa, 0.05)
		check("occupancy", r.Occupancy, row.occup, 0.0005)
	}
}

func TestStableForThousandsOfAgents(t *testing.T) {
	// 4,000 Erlangs on 4,100 agents: factorials would overflow long before.
	r, err := Solve(Queue{ArrivalRate: 4000.0 / 300, AHT: 300, Agents: 4100}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(r.PWait) || r.PWait <= 0 || r.PWait >= 1 || r.ServiceLevel <= 0 || r.ServiceLevel > 1 {
		t.Fatalf("unstable result %+v", r)
	}
	// Big pools are efficient: with 2.5 % spare agents few contacts wait long.
	if r.ServiceLevel < 0.8 {
		t.Fatalf("SL %v", r.ServiceLevel)
	}
	n, res, err := AgentsFor(4000.0/300, 300, 20, 0.8)
	if err != nil || n < 4001 || n > 4100 || res.ServiceLevel < 0.8 {
		t.Fatalf("AgentsFor = %d %+v %v", n, res, err)
	}
	prev, _, _ := AgentsFor(4000.0/300, 300, 20, 0.8)
	if n2, _, _ := AgentsFor(4000.0/300, 300, 20, 0.9); n2 < prev {
		t.Fatalf("a higher target needs fewer agents: %d < %d", n2, prev)
	}
}

func TestEdges(t *testing.T) {
	if _, err := C(10, 10); err != ErrUnstable {
		t.Fatalf("A = N: %v", err)
	}
	if _, err := C(math.NaN(), 10); err == nil {
		t.Fatal("NaN traffic accepted")
	}
	if p, err := C(0, 3); err != nil || p != 0 {
		t.Fatalf("no traffic: %v %v", p, err)
	}
	if b := B(10, 0); b != 1 {
		t.Fatalf("B with no servers = %v", b)
	}
	n, _, err := AgentsFor(100.0/1800, 180, 20, 0.8)
	if err != nil || n != 14 {
		t.Fatalf("AgentsFor(reference, 80/20) = %d, %v; the table says 14", n, err)
	}
}
