package main

import (
	"net"
	"testing"
	"time"
)

func TestSourceAddrsAreDistinctLoopbackHosts(t *testing.T) {
	seen := map[string]int{}
	for i := range 200_000 {
		a := sourceAddr(i)
		if !a.IsLoopback() || a.To4() == nil {
			t.Fatalf("visitor %d: %s is not an IPv4 loopback address", i, a)
		}
		if b := a.To4(); b[3] == 0 || b[3] == 255 || b[2] == 0 {
			t.Fatalf("visitor %d: %s ends in a network or broadcast octet", i, a)
		}
		if a.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("visitor %d shares the server's address", i)
		}
		if j, ok := seen[a.String()]; ok {
			t.Fatalf("visitors %d and %d share %s", j, i, a)
		}
		seen[a.String()] = i
	}
}

func TestTrackerCountsDeliveries(t *testing.T) {
	tr := newTracker()
	t0 := time.Now()
	tr.sending(1, 7, t0, true)
	tr.sending(2, 8, t0, true)
	tr.sending(3, 9, t0, false) // warm-up: delivered but not timed
	tr.sending(4, 9, t0, true)  // acknowledged, never delivered
	for _, k := range []int{1, 2, 3, 4} {
		tr.acknowledged(k)
	}
	tr.received(1, 7, t0.Add(5*time.Millisecond))
	tr.received(1, 7, t0.Add(6*time.Millisecond)) // again: a duplicate
	tr.received(2, 7, t0.Add(5*time.Millisecond)) // to visitor 7, sent to 8
	tr.received(3, 9, t0.Add(time.Millisecond))
	tr.received(99, 1, t0) // never sent

	if got := tr.outstanding(); got != 2 {
		t.Errorf("outstanding = %d, want 2 (messages 2 and 4)", got)
	}
	if tr.dups != 1 || tr.wrong != 1 || tr.unknown != 1 {
		t.Errorf("dups, wrong, unknown = %d, %d, %d; want 1, 1, 1", tr.dups, tr.wrong, tr.unknown)
	}
	if len(tr.lat) != 1 || tr.lat[0] != 5*time.Millisecond {
		t.Errorf("latencies = %v, want [5ms]", tr.lat)
	}
}
