package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
)

// TestTaskOfferReachesTheAgentsStream: a task created through the API is
// offered to the available agent, who sees the offer on the event stream,
// accepts, completes, and goes into wrap-up.
func TestTaskOfferReachesTheAgentsStream(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	agent, admin := a.tokens["agent"], a.tokens["admin"]
	agentID := a.users["agent"].ID
	// The fixture task waits in the queue, which needs billing at 3 or more:
	// the agent learns it, logs in and gets the task.
	if r := a.do("PATCH", apiPrefix+"/users/"+agentID, admin, map[string]any{"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}}},
		map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("give skill: %d", r.StatusCode)
	}
	stream := a.dialEvents(ctx, agent, -1)
	var st atende.AgentState
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, &st); r.StatusCode != 200 || st.Status != "available" {
		t.Fatalf("available: %d %+v", r.StatusCode, st)
	}
	var offered routing.Task
	for offered.ID == "" {
		e := readEvent(t, ctx, stream)
		if e.Type == "task.offered" {
			var d struct{ Task routing.Task }
			json.Unmarshal(e.Data, &d)
			offered = d.Task
		}
	}
	if offered.ID != a.ids["task"] || offered.AgentID != agentID {
		t.Fatalf("offer %+v", offered)
	}
	// Only the agent offered the task can answer.
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+offered.ID+"/accept", a.tokens["supervisor"], nil, nil, nil), 409, atende.EConflict, "")
	var got routing.Task
	if r := a.do("POST", apiPrefix+"/tasks/"+offered.ID+"/accept", agent, nil, nil, &got); r.StatusCode != 200 || got.State != routing.TaskAssigned {
		t.Fatalf("accept: %d %+v", r.StatusCode, got)
	}
	if r := a.do("GET", apiPrefix+"/users/"+agentID+"/state", agent, nil, nil, &st); r.StatusCode != 200 || st.Status != atende.StatusBusy {
		t.Fatalf("state while working: %+v", st)
	}
	// A second chat is offered at once: the default capacity is three chats.
	var call routing.Task
	a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": a.ids["queue"], "channel": "chat", "priority": 3}, nil, &call)
	var view taskView
	a.do("GET", apiPrefix+"/tasks/"+call.ID, agent, nil, nil, &view)
	if view.State != routing.TaskOffered {
		t.Fatalf("second chat: %+v", view)
	}
	if r := a.do("POST", apiPrefix+"/tasks/"+offered.ID+"/complete", agent, nil, nil, &got); r.StatusCode != 200 || got.Outcome != routing.OutcomeHandled {
		t.Fatalf("complete: %d %+v", r.StatusCode, got)
	}
	var stats struct{ Items []routing.QueueStats }
	a.do("GET", apiPrefix+"/routing/queues", a.tokens["supervisor"], nil, nil, &stats)
	if len(stats.Items) != 1 || stats.Items[0].Offered != 1 || stats.Items[0].AgentsLoggedIn != 1 {
		t.Fatalf("queue stats %+v", stats.Items)
	}
	// Agents cannot claim to be busy; the engine says when they are.
	wantProblem(t, a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "busy"}, nil, nil), 400, atende.EInvalid, "status")
	wantProblem(t, a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": a.ids["queue"], "channel": "fax"}, nil, nil), 400, atende.EInvalid, "channel")
	wantProblem(t, a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": atende.NewID(), "channel": "chat"}, nil, nil), 400, atende.EInvalid, "queue_id")
}
