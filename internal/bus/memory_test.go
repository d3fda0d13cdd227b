package bus

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/prometheus/client_golang/prometheus"
)

func ev(tenant string, id int64) atende.Event {
	return atende.Event{ID: id, TenantID: tenant, Type: "test.event"}
}

// receive reads n events from ch or fails after a deadline.
func receive(t *testing.T, ch <-chan atende.Event, n int) []atende.Event {
	t.Helper()
	var out []atende.Event
	timeout := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d events", len(out), n)
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("got %d of %d events before the deadline", len(out), n)
		}
	}
	return out
}

// waitClosed fails unless ch is closed (after draining it) before a deadline.
func waitClosed(t *testing.T, ch <-chan atende.Event) (drained int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return drained
			}
			drained++
		case <-timeout:
			t.Fatal("channel not closed before the deadline")
		}
	}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// noGoroutineLeak checks the goroutine count returns to where it was.
func noGoroutineLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func TestSubscriberReceivesEventsInPublishOrder(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Subscribe(ctx, "t1")
	b.Publish(ctx, ev("t1", 1), ev("t1", 2), ev("t1", 3))
	b.Publish(ctx, ev("t1", 4))
	b.Publish(ctx)
	b.Publish(ctx, ev("t1", 5), ev("t1", 6))
	got := receive(t, ch, 6)
	for i, e := range got {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d; want %d (order %v)", i, e.ID, i+1, got)
		}
	}
}

func TestSubscriberGetsOnlyLaterEvents(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	ctx := t.Context()
	b.Publish(ctx, ev("t1", 1))
	ch := b.Subscribe(ctx, "t1")
	b.Publish(ctx, ev("t1", 2))
	if got := receive(t, ch, 1); got[0].ID != 2 {
		t.Fatalf("got event %d; want 2", got[0].ID)
	}
	select {
	case e := <-ch:
		t.Fatalf("unexpected event %d", e.ID)
	default:
	}
}

func TestEventsReachOnlyTheirTenant(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	ctx := t.Context()
	a1, a2 := b.Subscribe(ctx, "a"), b.Subscribe(ctx, "a")
	bb := b.Subscribe(ctx, "b")
	// One call mixing tenants, runs of the same tenant and a tenant nobody
	// listens to.
	b.Publish(ctx, ev("a", 1), ev("b", 2), ev("b", 3), ev("c", 4), ev("a", 5))
	for _, ch := range []<-chan atende.Event{a1, a2} {
		got := receive(t, ch, 2)
		if got[0].ID != 1 || got[1].ID != 5 {
			t.Fatalf("tenant a got %v; want events 1 and 5", got)
		}
	}
	got := receive(t, bb, 2)
	if got[0].ID != 2 || got[1].ID != 3 {
		t.Fatalf("tenant b got %v; want events 2 and 3", got)
	}
	for name, ch := range map[string]<-chan atende.Event{"a1": a1, "a2": a2, "b": bb} {
		select {
		case e := <-ch:
			t.Fatalf("subscriber %s got a foreign event %+v", name, e)
		default:
		}
	}
}

func TestCancelRemovesSubscriberAndClosesChannel(t *testing.T) {
	noGoroutineLeak(t)
	b := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	other := b.Subscribe(t.Context(), "t1")
	ch := b.Subscribe(ctx, "t1")
	if n := b.Subscribers("t1"); n != 2 {
		t.Fatalf("subscribers = %d; want 2", n)
	}
	cancel()
	waitClosed(t, ch)
	eventually(t, "subscriber removed", func() bool { return b.Subscribers("t1") == 1 })
	// The other subscriber still gets events.
	b.Publish(context.Background(), ev("t1", 7))
	if got := receive(t, other, 1); got[0].ID != 7 {
		t.Fatalf("other subscriber got %d; want 7", got[0].ID)
	}
}

func TestLastCancelForgetsTheTenant(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx, "t1")
	cancel()
	waitClosed(t, ch)
	eventually(t, "tenant forgotten", func() bool {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return len(b.topics) == 0
	})
}

func TestSubscribeWithEndedContextReturnsClosedChannel(t *testing.T) {
	noGoroutineLeak(t)
	b := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	waitClosed(t, b.Subscribe(ctx, "t1"))
	if n := b.Subscribers("t1"); n != 0 {
		t.Fatalf("subscribers = %d; want 0", n)
	}
}

func TestSlowSubscriberIsDroppedWithoutBlockingThePublisher(t *testing.T) {
	noGoroutineLeak(t)
	reg := prometheus.NewRegistry()
	b := NewMemory(MemoryConfig{BufferSize: 4, Metrics: reg})
	ctx := t.Context()
	slow := b.Subscribe(ctx, "t1")
	fast := b.Subscribe(ctx, "t1")
	var fastGot []atende.Event
	done := make(chan struct{})
	go func() {
		// Publishes far more than the buffer; must return at once.
		for i := int64(1); i <= 4; i++ {
			b.Publish(ctx, ev("t1", i))
			fastGot = append(fastGot, <-fast)
		}
		b.Publish(ctx, ev("t1", 5), ev("t1", 6))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	// The slow one keeps what was buffered, in order, then sees the close.
	got := receive(t, slow, 4)
	for i, e := range got {
		if e.ID != int64(i+1) {
			t.Fatalf("slow subscriber got %v; want 1..4 in order", got)
		}
	}
	if n := waitClosed(t, slow); n != 0 {
		t.Fatalf("slow subscriber got %d events past its buffer", n)
	}
	// The fast one is untouched.
	fastGot = append(fastGot, receive(t, fast, 2)...)
	for i, e := range fastGot {
		if e.ID != int64(i+1) {
			t.Fatalf("fast subscriber got %v; want 1..6 in order", fastGot)
		}
	}
	if n := b.Subscribers("t1"); n != 1 {
		t.Fatalf("subscribers = %d; want 1", n)
	}
	if v := counterValue(t, reg, "atende_bus_subscribers_dropped_total"); v != 1 {
		t.Fatalf("dropped counter = %v; want 1", v)
	}
}

func TestOverflowOfTheLastSubscriberForgetsTheTenant(t *testing.T) {
	b := NewMemory(MemoryConfig{BufferSize: 1})
	ch := b.Subscribe(t.Context(), "t1")
	b.Publish(context.Background(), ev("t1", 1), ev("t1", 2))
	waitClosed(t, ch)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.topics) != 0 {
		t.Fatalf("topics = %d; want 0", len(b.topics))
	}
}

func TestCloseEndsEverySubscription(t *testing.T) {
	noGoroutineLeak(t)
	b := NewMemory(MemoryConfig{})
	ctx := context.Background() // never ends: Close alone must end them
	chs := []<-chan atende.Event{b.Subscribe(ctx, "a"), b.Subscribe(ctx, "a"), b.Subscribe(ctx, "b")}
	b.Close()
	for _, ch := range chs {
		waitClosed(t, ch)
	}
	waitClosed(t, b.Subscribe(ctx, "a"))
	b.Publish(ctx, ev("a", 1)) // reaches no one, does not panic
}

// TestConcurrentPublishersAndSubscribers is for -race: publishers of several
// tenants, subscribers coming and going. Each subscriber must see each
// publisher's events in the order published, and only its tenant's.
func TestConcurrentPublishersAndSubscribers(t *testing.T) {
	noGoroutineLeak(t)
	const (
		tenants       = 3
		publishers    = 4 // per tenant
		perPublisher  = 500
		subscribers   = 4 // per tenant
		churners      = 2 // per tenant: subscribe and cancel in a loop
		encodeStride  = 1_000_000
		subscriberBuf = publishers * perPublisher // big enough never to drop
	)
	b := NewMemory(MemoryConfig{BufferSize: subscriberBuf})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var subsWG sync.WaitGroup
	errs := make(chan error, tenants*subscribers)
	for ti := range tenants {
		tenant := fmt.Sprintf("t%d", ti)
		for range subscribers {
			ch := b.Subscribe(ctx, tenant)
			subsWG.Go(func() {
				last := map[int64]int64{}
				n := 0
				for e := range ch {
					if e.TenantID != tenant {
						errs <- fmt.Errorf("%s subscriber got an event of %s", tenant, e.TenantID)
						return
					}
					pub, seq := e.ID/encodeStride, e.ID%encodeStride
					if seq <= last[pub] {
						errs <- fmt.Errorf("%s: publisher %d: seq %d after %d", tenant, pub, seq, last[pub])
						return
					}
					last[pub] = seq
					if n++; n == publishers*perPublisher {
						return
					}
				}
				errs <- fmt.Errorf("%s subscriber closed after %d events", tenant, n)
			})
		}
	}

	stopChurn := make(chan struct{})
	var churnWG sync.WaitGroup
	for ti := range tenants {
		for range churners {
			churnWG.Go(func() {
				for {
					select {
					case <-stopChurn:
						return
					default:
					}
					cctx, ccancel := context.WithCancel(ctx)
					ch := b.Subscribe(cctx, fmt.Sprintf("t%d", ti))
					<-ch // maybe an event, maybe nothing yet: do not wait
					ccancel()
					for range ch {
					}
				}
			})
		}
	}

	var pubWG sync.WaitGroup
	for ti := range tenants {
		for p := range publishers {
			pubWG.Go(func() {
				pub := int64(ti*publishers + p + 1)
				for seq := int64(1); seq <= perPublisher; seq++ {
					b.Publish(ctx, ev(fmt.Sprintf("t%d", ti), pub*encodeStride+seq))
				}
			})
		}
	}
	pubWG.Wait()
	subsWG.Wait()
	close(stopChurn)
	// Churners may be blocked in <-ch waiting for an event that never comes.
	cancel()
	churnWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	eventually(t, "all subscribers removed", func() bool {
		return b.subscribers.Load() == 0
	})
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// BenchmarkPublish measures one Publish of one event to a tenant with a
// number of live subscribers, each drained by its own goroutine. A subscriber
// that falls behind is dropped and subscribes again, as a desktop resuming
// from the store would, so the subscriber count stays put; drops/op says how
// often that happened.
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			benchPublish(b, subs, false)
		})
	}
	b.Run("parallel/subscribers=10", func(b *testing.B) { benchPublish(b, 10, true) })
}

func benchPublish(b *testing.B, subs int, parallel bool) {
	bus := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range subs {
		ch := bus.Subscribe(ctx, "t1")
		wg.Go(func() {
			for {
				for range ch {
				}
				if ctx.Err() != nil {
					return
				}
				ch = bus.Subscribe(ctx, "t1")
			}
		})
	}
	// Another tenant's subscribers must not cost the publisher anything.
	for range 100 {
		bus.Subscribe(ctx, "t2")
	}
	e := ev("t1", 1)
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bus.Publish(ctx, e)
			}
		})
	} else {
		for b.Loop() {
			bus.Publish(ctx, e)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(bus.dropped.Load())/float64(b.N), "drops/op")
	cancel()
	wg.Wait()
}
