package webchat

import (
	"context"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/store"
)

// TestAssignerStops: watchers end when their context does, and Wait says so.
func TestAssignerStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir(), Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	as := NewAssigner(ctx, st, b, nil)
	tenant := atende.NewID()
	as.Watch(tenant)
	as.Watch(tenant) // once per tenant
	if !as.Watching(tenant) {
		t.Fatal("not watching")
	}
	cancel()
	done := make(chan struct{})
	go func() { as.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchers did not stop")
	}
	as.Watch(atende.NewID()) // after the end: nothing starts
	as.Wait()
}
