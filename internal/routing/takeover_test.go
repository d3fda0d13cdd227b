package routing

import (
	"strings"
	"testing"

	"github.com/atende/atende"
)

// TestTakeover: a supervisor takes a task an agent is working on; the task
// is theirs at once with no offer, the agent is freed with no wrap-up and
// told, and the freed agent gets the next waiting task.
func TestTakeover(t *testing.T) {
	f := newFixture(t)
	f.queue("support", func(q *atende.Queue) { q.Routing.WrapUpSec = 30 })
	f.agent("ana", nil, atende.Capacity{atende.ChannelChat: 1})
	f.agent("sup", nil, atende.Capacity{atende.ChannelChat: 1})
	if err := f.c.SetPresence(f.id("sup"), atende.StatusAway, "meeting", f.now); err != nil {
		t.Fatal(err)
	}
	f.task("t1", "support", atende.ChannelChat, nil)
	f.accept("t1", "ana")
	f.task("t2", "support", atende.ChannelChat, nil)
	f.want("t2", "waiting")
	f.events()

	got, err := f.c.Takeover(f.id("t1"), f.id("sup"), f.now)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != TaskAssigned || got.AgentID != f.id("sup") || got.AcceptedAt == nil || !got.AcceptedAt.Equal(f.now) {
		t.Fatalf("taken over: %+v", got)
	}
	f.want("t1", "assigned:sup")
	f.want("t2", "offered:ana") // ana was freed, without wrap-up
	var saw []string
	for _, ch := range f.c.Flush() {
		switch {
		case ch.Task != nil:
			saw = append(saw, ch.Event+"("+f.name[ch.Task.ID]+"→"+f.name[ch.Audience]+")")
		default:
			saw = append(saw, ch.Event+"("+f.name[ch.Agent.ID]+"="+string(ch.Agent.Status)+")")
		}
	}
	want := "agent.state_changed(ana=available) task.transferred(t1→ana) task.accepted(t1→sup) agent.state_changed(sup=busy) task.offered(t2→ana)"
	if strings.Join(saw, " ") != want {
		t.Fatalf("changes\n got %s\nwant %s", strings.Join(saw, " "), want)
	}
	if a := f.c.agents[f.id("sup")]; a.Load[atende.ChannelChat] != 1 || a.Status != atende.StatusBusy {
		t.Fatalf("supervisor: load %v status %s", a.Load, a.Status)
	}

	// A waiting task can be taken too, past the holder's capacity.
	f.task("t3", "support", atende.ChannelChat, nil)
	if _, err := f.c.Takeover(f.id("t3"), f.id("sup"), f.now); err != nil {
		t.Fatal(err)
	}
	f.want("t3", "assigned:sup")
	if _, err := f.c.Takeover(f.id("t3"), f.id("sup"), f.now); atende.ErrorCode(err) != atende.EConflict {
		t.Fatalf("taking one's own task again: %v", err)
	}
	if _, err := f.c.Takeover(f.id("t3"), f.id("nobody"), f.now); atende.ErrorCode(err) != atende.EConflict {
		t.Fatalf("a user who is no agent: %v", err)
	}
	if _, err := f.c.Takeover(f.id("gone"), f.id("sup"), f.now); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("no such task: %v", err)
	}
}
