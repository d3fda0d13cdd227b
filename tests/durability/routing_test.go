package durability

import (
	"context"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// task is the part of a routing task this test reads.
type task struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	AgentID    string    `json:"agent_id"`
	Priority   int       `json:"priority"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	Seq        uint64    `json:"seq"`
	Position   *struct {
		Position int `json:"position"`
	} `json:"position"`
}

// TestKill9KeepsRoutingState creates tasks under load while an agent accepts
// offers, kills the server with SIGKILL, restarts it, and checks that every
// acknowledged task is there, every accepted task is still the agent's, the
// agent holds no more than its capacity, and the waiting tasks wait in the
// order their durable priority and arrival give.
func TestKill9KeepsRoutingState(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and runs the server binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	bin := buildAtende(t, ctx)
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		runRoutingKill9(t, ctx, bin, []string{"--data", filepath.Join(dir, "data")}, dir)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgresDatabase(t, ctx)
		dir := t.TempDir()
		runRoutingKill9(t, ctx, bin, []string{"--db", dsn, "--data", filepath.Join(dir, "data")}, dir)
	})
}

func runRoutingKill9(t *testing.T, ctx context.Context, bin string, storeArgs []string, dir string) {
	srv := startServer(t, ctx, bin, storeArgs, filepath.Join(dir, "serve-1.log"))
	admin := newAPI(srv.base, createToken(t, ctx, bin, storeArgs))
	var q struct{ ID string }
	if st, err := admin.do(ctx, "POST", "/api/v1/queues", map[string]any{"name": "Soporte", "channels": []string{"chat"}}, &q); err != nil || st != http.StatusCreated {
		t.Fatalf("create queue: %d %v", st, err)
	}
	var agent struct{ ID string }
	if st, err := admin.do(ctx, "POST", "/api/v1/users", map[string]any{"email": "ana@example.com", "name": "Ana", "roles": []string{"agent"},
		"capacity": map[string]int{"chat": 2}}, &agent); err != nil || st != http.StatusCreated {
		t.Fatalf("create agent: %d %v", st, err)
	}
	var tok struct{ Secret string }
	if st, err := admin.do(ctx, "POST", "/api/v1/tokens", map[string]any{"name": "ana desk", "user_id": agent.ID}, &tok); err != nil || st != http.StatusCreated {
		t.Fatalf("agent token: %d %v", st, err)
	}
	ana := newAPI(srv.base, tok.Secret)
	if st, err := ana.do(ctx, "PUT", "/api/v1/users/"+agent.ID+"/state", map[string]string{"status": "available"}, nil); err != nil || st != http.StatusOK {
		t.Fatalf("agent available: %d %v", st, err)
	}

	var (
		mu       sync.Mutex
		created  []string
		accepted = map[string]bool{}
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for !killed.Load() && ctx.Err() == nil {
				var tk task
				st, err := admin.do(ctx, "POST", "/api/v1/tasks", map[string]any{"queue_id": q.ID, "channel": "chat", "priority": rng.IntN(3)}, &tk)
				if err != nil || st != http.StatusCreated {
					if !killed.Load() {
						t.Errorf("create task before the kill: %d %v", st, err)
					}
					return
				}
				mu.Lock()
				created = append(created, tk.ID)
				mu.Unlock()
			}
		})
	}
	// The agent accepts what it is offered, and completes every other task.
	wg.Go(func() {
		for n := 0; !killed.Load() && ctx.Err() == nil; n++ {
			var page struct{ Items []task }
			if _, err := ana.do(ctx, "GET", "/api/v1/tasks?state=offered&agent_id="+agent.ID, nil, &page); err != nil {
				return
			}
			for _, tk := range page.Items {
				if st, err := ana.do(ctx, "POST", "/api/v1/tasks/"+tk.ID+"/accept", nil, nil); err == nil && st == http.StatusOK {
					mu.Lock()
					accepted[tk.ID] = true
					mu.Unlock()
					if n%2 == 0 {
						if _, err := ana.do(ctx, "POST", "/api/v1/tasks/"+tk.ID+"/complete", nil, nil); err == nil {
							mu.Lock()
							delete(accepted, tk.ID)
							mu.Unlock()
						}
					}
				}
			}
		}
	})
	select {
	case <-time.After(loadFor):
	case <-srv.exited:
		t.Fatalf("server exited under load\n%s", srv.logTail())
	}
	killed.Store(true)
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if len(created) < 20 {
		t.Fatalf("only %d tasks were created before the kill", len(created))
	}

	srv2 := startServer(t, ctx, bin, storeArgs, filepath.Join(dir, "serve-2.log"))
	admin = newAPI(srv2.base, admin.token)
	holding := 0
	for _, id := range created {
		var tk task
		// The engine starts in the background after a restart: wait for it
		// to answer for the first task.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := admin.do(ctx, "GET", "/api/v1/tasks/"+id, nil, &tk)
			if err == nil && st == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("acknowledged task %s is gone after the restart: %d %v\n%s", id, st, err, srv2.logTail())
			}
			time.Sleep(20 * time.Millisecond)
		}
		switch tk.State {
		case "offered", "assigned":
			if tk.AgentID != agent.ID {
				t.Fatalf("task %s is %s to %q", id, tk.State, tk.AgentID)
			}
			holding++
		}
		if accepted[id] && tk.State != "assigned" && tk.State != "done" {
			t.Errorf("task %s was accepted before the kill but is %s after the restart", id, tk.State)
		}
	}
	if holding > 2 {
		t.Fatalf("the agent holds %d tasks with a capacity of 2", holding)
	}
	// The live positions follow the durable order: priority first (aging is a
	// point a minute, nothing here waits that long), then arrival. Tasks
	// whose creation was in flight at the kill may exist too: take every
	// waiting task from the store.
	var waiting []task
	for cursor := ""; ; {
		var page struct {
			Items []task
			Next  string `json:"next_cursor"`
		}
		if _, err := admin.do(ctx, "GET", "/api/v1/tasks?state=waiting&limit=200&cursor="+cursor, nil, &page); err != nil {
			t.Fatal(err)
		}
		for _, tk := range page.Items {
			var live task
			if _, err := admin.do(ctx, "GET", "/api/v1/tasks/"+tk.ID, nil, &live); err != nil {
				t.Fatal(err)
			}
			waiting = append(waiting, live)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	slices.SortFunc(waiting, func(a, b task) int {
		sa := float64(a.Priority) - float64(a.EnqueuedAt.UnixMicro())/1e6/60
		sb := float64(b.Priority) - float64(b.EnqueuedAt.UnixMicro())/1e6/60
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		case a.Seq < b.Seq:
			return -1
		}
		return 1
	})
	for i, tk := range waiting {
		if tk.Position == nil || tk.Position.Position != i+1 {
			t.Fatalf("waiting task %s has position %v, want %d of %d", tk.ID, tk.Position, i+1, len(waiting))
		}
	}
	t.Logf("%d tasks acknowledged before the kill; after the restart %d wait in order, %d with the agent", len(created), len(waiting), holding)
}
