package webchat

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
)

// Assigner gives a chat's conversation to the agent who accepts its task. It
// watches the bus of each tenant with live chats for task.accepted events on
// chat tasks (rather than hooking the task API), so that an accept through
// any path — the desktop, the API, a future auto-answer — assigns the chat.
type Assigner struct {
	Store *store.Store
	Bus   atende.Bus
	Log   *slog.Logger

	ctx      context.Context
	mu       sync.Mutex
	watching map[string]bool
	wg       sync.WaitGroup
}

// NewAssigner returns an assigner whose watchers run until ctx ends; Wait
// waits for them.
func NewAssigner(ctx context.Context, st *store.Store, bus atende.Bus, log *slog.Logger) *Assigner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Assigner{Store: st, Bus: bus, Log: log, ctx: ctx, watching: map[string]bool{}}
}

// Watch starts watching a tenant's bus, once.
func (as *Assigner) Watch(tenantID string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.watching[tenantID] || as.ctx.Err() != nil {
		return
	}
	as.watching[tenantID] = true
	as.wg.Add(1)
	go func() {
		defer as.wg.Done()
		as.watch(tenantID)
	}()
}

// Watching reports whether the tenant is watched.
func (as *Assigner) Watching(tenantID string) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.watching[tenantID]
}

// Wait returns when every watcher has stopped (after the context ended).
func (as *Assigner) Wait() { as.wg.Wait() }

// assignWorkers is how many of a tenant's assignments are saved at once.
// Each waits for its commit; concurrent ones share commits, so a burst of
// accepted chats is assigned at the store's commit rate times this, not
// one per commit.
const assignWorkers = 8

// assignment is a chat's task accepted by an agent.
type assignment struct {
	tenantID, conversationID, agentID string
}

func (as *Assigner) watch(tenantID string) {
	ctx := as.ctx
	// The assignments of one conversation always go to the same worker, so
	// they are saved in the order they were accepted (a transfer's second
	// accept after the first).
	work := make([]chan assignment, assignWorkers)
	var workers sync.WaitGroup
	for i := range work {
		work[i] = make(chan assignment, 64)
		workers.Go(func() {
			for a := range work[i] {
				as.assign(a)
			}
		})
	}
	defer func() {
		for _, ch := range work {
			close(ch)
		}
		workers.Wait()
	}()
	handle := func(e atende.Event) {
		a, ok := acceptedChat(e)
		if !ok {
			return
		}
		h := fnv.New32a()
		h.Write([]byte(a.conversationID))
		select {
		case work[h.Sum32()%assignWorkers] <- a:
		case <-ctx.Done():
		}
	}
	last, err := as.Store.LastEventID(ctx, tenantID)
	if err != nil && ctx.Err() == nil {
		as.Log.Warn("webchat assigner: read last event", "tenant", tenantID, "err", err)
	}
	for ctx.Err() == nil {
		sub := as.Bus.Subscribe(ctx, tenantID)
		// Catch up on what the bus may have dropped, then follow it live.
		for {
			evs, err := as.Store.Events(ctx, tenantID, last, 500)
			if err != nil {
				if ctx.Err() == nil {
					as.Log.Warn("webchat assigner: catch up", "tenant", tenantID, "err", err)
				}
				break
			}
			for _, e := range evs {
				handle(e)
				last = e.ID
			}
			if len(evs) < 500 {
				break
			}
		}
		for e := range sub {
			if e.ID == 0 || e.ID <= last {
				continue // transient, or seen while catching up
			}
			handle(e)
			last = e.ID
		}
	}
}

// acceptedChat is the assignment an event asks for: a chat task accepted.
func acceptedChat(e atende.Event) (assignment, bool) {
	if e.Type != "task.accepted" {
		return assignment{}, false
	}
	var d struct {
		Task routing.Task `json:"task"`
	}
	if json.Unmarshal(e.Data, &d) != nil || d.Task.Channel != atende.ChannelChat || d.Task.ConversationID == "" || d.Task.AgentID == "" {
		return assignment{}, false
	}
	return assignment{tenantID: e.TenantID, conversationID: d.Task.ConversationID, agentID: d.Task.AgentID}, true
}

func (as *Assigner) assign(a assignment) {
	if err := as.Assign(as.ctx, a.tenantID, a.conversationID, a.agentID); err != nil && as.ctx.Err() == nil {
		as.Log.Warn("webchat assigner: assign conversation", "tenant", a.tenantID, "conversation", a.conversationID, "err", err)
	}
}

// Assign makes agentID the assignee of a web chat's conversation; a
// conversation that is not a web chat is left alone.
func (as *Assigner) Assign(ctx context.Context, tenantID, conversationID, agentID string) error {
	if _, err := as.Store.ChatSession(ctx, tenantID, conversationID); err != nil {
		if atende.ErrorCode(err) == atende.ENotFound {
			return nil
		}
		return err
	}
	a := atende.Actor{TenantID: tenantID, Kind: "system", Name: "webchat"}
	_, err := as.Store.UpdateConversation(ctx, a, conversationID, 0, func(c *atende.Conversation) error {
		c.AssigneeID = agentID
		return nil
	})
	return err
}
