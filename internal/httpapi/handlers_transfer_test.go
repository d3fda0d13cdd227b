package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
)

// TestTransferWithNote: an agent transfers chat tasks they hold, one to a
// colleague and one to a queue, each with a note that lands on the
// conversation's timeline as an internal note saying where it went.
func TestTransferWithNote(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	agent, admin := a.tokens["agent"], a.tokens["admin"]
	agentID := a.users["agent"].ID
	// A colleague to transfer to; the routing engine follows new users.
	colleague := &atende.User{Email: "colega@example.com", Name: "Colega", Roles: []atende.Role{atende.RoleAgent}, Active: true}
	if err := a.store.CreateUser(ctx, atende.SystemActor(a.tenant["a"].ID), colleague, testPassword); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var agents struct{ Items []routing.AgentSnapshot }
		a.do("GET", apiPrefix+"/routing/agents", admin, nil, nil, &agents)
		found := false
		for _, s := range agents.Items {
			found = found || s.ID == colleague.ID
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the routing engine never learnt of the new agent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := a.do("PATCH", apiPrefix+"/users/"+agentID, admin, map[string]any{"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}}},
		map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("give skill: %d", r.StatusCode)
	}
	// Two chats of the fixture conversation; with the fixture task that
	// fills the agent's three chat slots.
	var tasks [2]routing.Task
	for i := range tasks {
		if r := a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": a.ids["queue"], "channel": "chat", "conversation_id": a.ids["conversation"]}, nil, &tasks[i]); r.StatusCode != 201 {
			t.Fatalf("task: %d", r.StatusCode)
		}
	}
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	for _, tk := range tasks {
		var got routing.Task
		if r := a.do("POST", apiPrefix+"/tasks/"+tk.ID+"/accept", agent, nil, nil, &got); r.StatusCode != 200 || got.State != routing.TaskAssigned {
			t.Fatalf("accept: %d %+v", r.StatusCode, got)
		}
	}
	notes := func() []atende.TimelineEvent {
		var tl struct{ Items []atende.TimelineEvent }
		a.do("GET", apiPrefix+"/conversations/"+a.ids["conversation"]+"/events", agent, nil, nil, &tl)
		var out []atende.TimelineEvent
		for _, e := range tl.Items {
			if e.Kind == atende.KindNote {
				out = append(out, e)
			}
		}
		return out
	}

	// Refusals move nothing and write nothing: a note too long, a note for
	// a task without a conversation (the fixture task, offered to the agent).
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+tasks[0].ID+"/transfer", agent, map[string]any{"agent_id": colleague.ID, "note": strings.Repeat("ñ", 2001)}, nil, nil), 400, atende.EInvalid, "note")
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+a.ids["task"]+"/transfer", agent, map[string]any{"queue_id": a.ids["queue"], "note": "x"}, nil, nil), 400, atende.EInvalid, "note")
	// Only who holds the task transfers it.
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+tasks[0].ID+"/transfer", a.tokens["b-admin"], map[string]any{"queue_id": a.ids["queue"], "note": "x"}, nil, nil), 404, atende.ENotFound, "")
	var still routing.Task
	a.do("GET", apiPrefix+"/tasks/"+tasks[0].ID, agent, nil, nil, &still)
	if still.State != routing.TaskAssigned || still.AgentID != agentID || len(notes()) != 0 {
		t.Fatalf("a refused transfer changed something: %+v, notes %v", still, notes())
	}

	// To a colleague.
	var moved routing.Task
	if r := a.do("POST", apiPrefix+"/tasks/"+tasks[0].ID+"/transfer", agent, map[string]any{"agent_id": colleague.ID, "note": " Quiere la factura de marzo; ya verifiqué su identidad. "}, nil, &moved); r.StatusCode != 200 {
		t.Fatalf("transfer to agent: %d", r.StatusCode)
	}
	if moved.AgentID == agentID || moved.ReservedFor != colleague.ID {
		t.Fatalf("transferred task %+v", moved)
	}
	// To a queue.
	if r := a.do("POST", apiPrefix+"/tasks/"+tasks[1].ID+"/transfer", agent, map[string]any{"queue_id": a.ids["queue"], "note": "Para facturación"}, nil, &moved); r.StatusCode != 200 {
		t.Fatalf("transfer to queue: %d", r.StatusCode)
	}
	if moved.QueueID != a.ids["queue"] {
		t.Fatalf("transferred task %+v", moved)
	}
	got := notes()
	if len(got) != 2 {
		t.Fatalf("notes %+v", got)
	}
	for i, want := range []struct{ body, key, value string }{
		{"Quiere la factura de marzo; ya verifiqué su identidad.", "agent_id", colleague.ID},
		{"Para facturación", "queue_id", a.ids["queue"]},
	} {
		var data struct{ Transfer map[string]string }
		if err := json.Unmarshal(got[i].Data, &data); err != nil {
			t.Fatal(err)
		}
		if got[i].Body != want.body || got[i].AuthorKind != "user" || got[i].AuthorID != agentID || len(data.Transfer) != 1 || data.Transfer[want.key] != want.value {
			t.Fatalf("note %d: %+v data %s", i, got[i], got[i].Data)
		}
	}
	// Without a note a transfer writes no note.
	if r := a.do("POST", apiPrefix+"/tasks/"+tasks[0].ID+"/transfer", admin, map[string]any{"queue_id": a.ids["queue"]}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("plain transfer: %d", r.StatusCode)
	}
	if len(notes()) != 2 {
		t.Fatal("a transfer without a note wrote one")
	}
}
