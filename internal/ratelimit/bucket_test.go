package ratelimit

import (
	"testing"
	"time"
)

func TestBucketLimitsThenRefills(t *testing.T) {
	now := time.Unix(1000, 0)
	b := New(1, 3)
	b.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := b.Allow("ip"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := b.Allow("ip")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth: %v %v", ok, wait)
	}
	if ok, _ := b.Allow("other"); !ok {
		t.Fatal("keys share a bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := b.Allow("ip"); !ok {
		t.Fatal("no refill after a second")
	}
	now = now.Add(time.Hour)
	b.Sweep()
	if len(b.keys) != 0 {
		t.Fatalf("sweep kept %d keys", len(b.keys))
	}
}

// Peek never takes a token; Spend takes one and stops at empty.
func TestPeekThenSpend(t *testing.T) {
	now := time.Unix(1000, 0)
	b := New(2, 2)
	b.now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if ok, _ := b.Peek("ip"); !ok {
			t.Fatalf("peek %d took a token", i)
		}
	}
	b.Spend("ip")
	b.Spend("ip")
	b.Spend("ip") // already empty: stays at zero
	ok, wait := b.Peek("ip")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("after spending the burst: %v %v; want refused, 500ms", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := b.Peek("ip"); !ok {
		t.Fatal("no token half a second later at 2/s")
	}
}
