package routing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/storetest"
)

type env struct {
	st     *store.Store
	bus    *bus.Memory
	tenant *atende.Tenant
	sys    atende.Actor
	dsn    string
	dir    string
}

// forEachStore runs fn on SQLite, and on PostgreSQL when it answers.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, "", t.TempDir())) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, storetest.PostgresDSN(t), "")) })
}

func newEnv(t *testing.T, dsn, dir string) *env {
	t.Helper()
	e := &env{bus: bus.NewMemory(bus.MemoryConfig{}), dsn: dsn, dir: dir}
	e.open(t)
	e.tenant = &atende.Tenant{Name: "Acme", Locale: "es-ES", TimeZone: "Europe/Madrid"}
	if err := e.st.CreateTenant(context.Background(), atende.SystemActor(""), e.tenant); err != nil {
		t.Fatal(err)
	}
	e.sys = atende.SystemActor(e.tenant.ID)
	return e
}

// open (re)opens the store on the same database, as a restarted process would.
func (e *env) open(t *testing.T) {
	t.Helper()
	e.st = storetest.Open(t, store.Config{DSN: e.dsn, DataDir: e.dir, Bus: e.bus})
}

func (e *env) engine(t *testing.T, holder string) *routing.Engine {
	t.Helper()
	en, err := routing.StartEngine(context.Background(), routing.EngineConfig{TenantID: e.tenant.ID, Holder: holder, Store: e.st, Bus: e.bus, Blending: routing.DefaultBlending()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(en.Stop)
	return en
}

func (e *env) agent(t *testing.T, name string, capacity atende.Capacity) *atende.User {
	t.Helper()
	u := &atende.User{Email: name + "@acme.es", Name: name, Roles: []atende.Role{atende.RoleAgent}, Active: true, Capacity: capacity}
	if err := e.st.CreateUser(context.Background(), e.sys, u, ""); err != nil {
		t.Fatal(err)
	}
	return u
}

func do[T any](t *testing.T, en *routing.Engine, fn func(c *routing.Core, now time.Time) (T, error)) T {
	t.Helper()
	out, err := en.Do(context.Background(), func(c *routing.Core, now time.Time) (any, error) { return fn(c, now) })
	if err != nil {
		t.Fatal(err)
	}
	return out.(T)
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineRoutesAndPersists(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		q := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat}}
		if err := e.st.CreateQueue(ctx, e.sys, q); err != nil {
			t.Fatal(err)
		}
		ana := e.agent(t, "ana", atende.Capacity{atende.ChannelChat: 1})
		en := e.engine(t, "node-1")
		do(t, en, func(c *routing.Core, now time.Time) (bool, error) {
			return true, c.SetPresence(ana.ID, atende.StatusAvailable, "", now)
		})
		tk := do(t, en, func(c *routing.Core, now time.Time) (*routing.Task, error) {
			return c.AddTask(routing.TaskSpec{QueueID: q.ID, Channel: atende.ChannelChat}, now)
		})
		stored, err := e.st.Task(ctx, e.tenant.ID, tk.ID)
		if err != nil || stored.State != routing.TaskOffered || stored.AgentID != ana.ID {
			t.Fatalf("stored task %+v, %v", stored, err)
		}
		st, _ := e.st.AgentState(ctx, e.tenant.ID, ana.ID)
		if st.Status != atende.StatusAvailable {
			t.Fatalf("agent state %s", st.Status)
		}
		do(t, en, func(c *routing.Core, now time.Time) (*routing.Task, error) { return c.Accept(tk.ID, ana.ID, now) })
		if st, _ := e.st.AgentState(ctx, e.tenant.ID, ana.ID); st.Status != atende.StatusBusy {
			t.Fatalf("agent state after accept %s", st.Status)
		}
		evs, _ := e.st.Events(ctx, e.tenant.ID, 0, 1000)
		var types []string
		for _, ev := range evs {
			if strings.HasPrefix(ev.Type, "task.") {
				types = append(types, ev.Type)
			}
		}
		if got := strings.Join(types, ","); got != "task.created,task.queued,task.offered,task.accepted" {
			t.Fatalf("task events %s", got)
		}
		// A queue created through the store reaches the running engine.
		q2 := &atende.Queue{Name: "Ventas", Channels: []atende.Channel{atende.ChannelChat}}
		if err := e.st.CreateQueue(ctx, e.sys, q2); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the engine to learn the new queue", func() bool {
			_, err := en.Do(ctx, func(c *routing.Core, now time.Time) (any, error) {
				return c.AddTask(routing.TaskSpec{QueueID: q2.ID, Channel: atende.ChannelChat}, now)
			})
			return err == nil
		})
	})
}

// TestEngineRestartRestoresQueues: after the engine stops and a new one
// starts on the same store (a restarted process), waiting tasks wait in the
// same order, assignments hold, and the open offer is back in its place.
func TestEngineRestartRestoresQueues(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		q := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat, atende.ChannelVoice}}
		if err := e.st.CreateQueue(ctx, e.sys, q); err != nil {
			t.Fatal(err)
		}
		ana := e.agent(t, "ana", atende.Capacity{atende.ChannelChat: 2})
		en := e.engine(t, "node-1")
		do(t, en, func(c *routing.Core, now time.Time) (bool, error) {
			return true, c.SetPresence(ana.ID, atende.StatusAvailable, "", now)
		})
		var ids []string
		for i := range 12 {
			tk := do(t, en, func(c *routing.Core, now time.Time) (*routing.Task, error) {
				return c.AddTask(routing.TaskSpec{QueueID: q.ID, Channel: atende.ChannelChat, Priority: i % 3}, now)
			})
			ids = append(ids, tk.ID)
		}
		do(t, en, func(c *routing.Core, now time.Time) (*routing.Task, error) { return c.Accept(ids[0], ana.ID, now) })
		// ids[0] assigned, ids[1] offered, the rest waiting.
		unassigned := func() []string {
			var all []routing.Task
			for _, state := range []routing.TaskState{routing.TaskWaiting, routing.TaskOffered} {
				page, err := e.st.Tasks(ctx, e.tenant.ID, store.TaskFilter{State: state}, store.ListOptions{Limit: 200})
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page.Items...)
			}
			return taskOrder(all)
		}
		before := unassigned()
		en.Stop()
		e.st.Close()
		e.open(t)
		e.engine(t, "node-2")
		t1, _ := e.st.Task(ctx, e.tenant.ID, ids[0])
		if t1.State != routing.TaskAssigned || t1.AgentID != ana.ID {
			t.Fatalf("assigned task after restart: %+v", t1)
		}
		// The open offer went back to its place, and ana, with room for one
		// more chat, was offered the best task again.
		page, _ := e.st.Tasks(ctx, e.tenant.ID, store.TaskFilter{State: routing.TaskOffered}, store.ListOptions{})
		if len(page.Items) != 1 || page.Items[0].AgentID != ana.ID || page.Items[0].ID != before[0] {
			t.Fatalf("offers after restart: %+v; want the head %s", page.Items, before[0])
		}
		if after := unassigned(); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("queue order changed:\n before %v\n after  %v", before, after)
		}
	})
}

// taskOrder sorts tasks the way the queue serves them.
func taskOrder(ts []routing.Task) []string {
	type k struct {
		id    string
		score float64
		seq   uint64
	}
	var ks []k
	for _, t := range ts {
		ks = append(ks, k{t.ID, float64(t.Priority) - float64(t.EnqueuedAt.UnixMicro())/1e6/60, t.Seq})
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j].score > ks[i].score || (ks[j].score == ks[i].score && ks[j].seq < ks[i].seq) {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	out := make([]string, len(ks))
	for i, x := range ks {
		out[i] = x.id
	}
	return out
}

func TestLeaseFencesAnotherNode(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		q := &atende.Queue{Name: "Soporte", Channels: []atende.Channel{atende.ChannelChat}}
		if err := e.st.CreateQueue(ctx, e.sys, q); err != nil {
			t.Fatal(err)
		}
		en := e.engine(t, "node-1")
		if _, err := routing.StartEngine(ctx, routing.EngineConfig{TenantID: e.tenant.ID, Holder: "node-2", Store: e.st}); err == nil {
			t.Fatal("a second node took a held lease")
		}
		// The lease expires (node-1 is presumed dead) and node-2 takes it.
		if _, err := e.st.AcquireLease(ctx, e.tenant.ID, "node-2", time.Minute); err == nil {
			t.Fatal("lease taken before it expired")
		}
		expireLease(t, e)
		epoch, err := e.st.AcquireLease(ctx, e.tenant.ID, "node-2", time.Minute)
		if err != nil || epoch != 2 {
			t.Fatalf("AcquireLease after expiry = %d, %v", epoch, err)
		}
		// node-1 wakes up: its next decision is refused and it stops.
		_, err = en.Do(ctx, func(c *routing.Core, now time.Time) (any, error) {
			return c.AddTask(routing.TaskSpec{QueueID: q.ID, Channel: atende.ChannelChat}, now)
		})
		if err == nil {
			t.Fatal("a node that lost its lease saved a decision")
		}
		select {
		case <-en.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the fenced engine did not stop")
		}
		page, _ := e.st.Tasks(ctx, e.tenant.ID, store.TaskFilter{}, store.ListOptions{})
		if len(page.Items) != 0 {
			t.Fatalf("the fenced node wrote %d tasks", len(page.Items))
		}
	})
}

func expireLease(t *testing.T, e *env) {
	t.Helper()
	if err := e.st.ExpireLease(context.Background(), e.tenant.ID); err != nil {
		t.Fatal(err)
	}
}
