package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/wallboard"
	"github.com/coder/websocket"
)

// wallboardConn is a wallboard WebSocket as a test reads it.
type wallboardConn struct {
	t *testing.T
	c *websocket.Conn
}

func (a *testAPI) dialWallboard(ctx context.Context, token, query string) *wallboardConn {
	a.t.Helper()
	u := "ws" + strings.TrimPrefix(a.http.URL, "http") + apiPrefix + "/wallboard/ws" + query
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		a.t.Fatalf("dial wallboard: %v", err)
	}
	c.SetReadLimit(16 << 20)
	a.t.Cleanup(func() { c.CloseNow() })
	return &wallboardConn{t: a.t, c: c}
}

type wallboardMsg struct {
	Type string `json:"type"`
	wallboard.Snapshot
	Event   string  `json:"event"`
	QueueID string  `json:"queue_id"`
	Kind    string  `json:"kind"`
	Level   string  `json:"level"`
	Text    string  `json:"text"`
	Value   float64 `json:"value"`
	raw     string
}

// next reads messages until one satisfies ok, failing after 15 s (a
// deadline for a loaded machine, not a wait: it returns at the first match).
func (w *wallboardConn) next(ctx context.Context, what string, ok func(m *wallboardMsg) bool) *wallboardMsg {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		_, b, err := w.c.Read(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", what, err)
		}
		m := &wallboardMsg{raw: string(b)}
		if err := json.Unmarshal(b, m); err != nil {
			w.t.Fatalf("decode %s: %v", b, err)
		}
		if ok(m) {
			return m
		}
	}
}

func queueIn(s *wallboard.Snapshot, id string) *wallboard.QueueView {
	for i := range s.Queues {
		if s.Queues[i].ID == id {
			return &s.Queues[i]
		}
	}
	return nil
}

func agentIn(s *wallboard.Snapshot, id string) *wallboard.AgentView {
	for i := range s.Agents {
		if s.Agents[i].ID == id {
			return &s.Agents[i]
		}
	}
	return nil
}

// snapshotWhere waits for a snapshot frame of which ok holds for the queue.
func (w *wallboardConn) queueWhere(ctx context.Context, what, queueID string, ok func(q *wallboard.QueueView, s *wallboard.Snapshot) bool) *wallboardMsg {
	w.t.Helper()
	return w.next(ctx, what, func(m *wallboardMsg) bool {
		if m.Type != "snapshot" {
			return false
		}
		q := queueIn(&m.Snapshot, queueID)
		return q != nil && ok(q, &m.Snapshot)
	})
}

// TestWallboardFollowsTheQueueLive: the supervisor's wallboard shows a task
// arriving (waiting goes up), being accepted (the agent busy, handled today)
// and a customer leaving (abandoned today), each in a frame within a second.
func TestWallboardFollowsTheQueueLive(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	admin, agent := a.tokens["admin"], a.tokens["agent"]
	agentID, queueID := a.users["agent"].ID, a.ids["queue"]
	ws := a.dialWallboard(ctx, a.tokens["supervisor"], "")
	first := ws.next(ctx, "the first snapshot", func(m *wallboardMsg) bool { return m.Type == "snapshot" })
	q := queueIn(&first.Snapshot, queueID)
	// The fixture task waits, and counts in today's figures: offered, and
	// against the service level (0 % answered so far).
	if q == nil || q.Waiting != 1 || q.OfferedToday != 1 || q.ServiceLevelToday == nil || *q.ServiceLevelToday != 0 ||
		q.SLTargetPct != 80 || q.SLThresholdSec != 20 || q.Agents.Offline != 1 {
		t.Fatalf("first snapshot: %s", first.raw)
	}
	if ag := agentIn(&first.Snapshot, agentID); ag == nil || ag.Status != atende.StatusOffline || ag.Name != a.users["agent"].Name ||
		len(ag.Teams) != 1 || ag.Teams[0] != a.ids["team"] || len(ag.Queues) != 1 || ag.Queues[0] != queueID {
		t.Fatalf("agent in first snapshot: %+v", ag)
	}
	if len(first.Teams) != 1 || first.Teams[0].ID != a.ids["team"] {
		t.Fatalf("teams: %+v", first.Teams)
	}
	offeredBefore := q.OfferedToday

	// A task arrives: waiting goes up in the next frame, and so does today's offered count.
	start := time.Now()
	var task routing.Task
	if r := a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": queueID, "channel": "chat"}, nil, &task); r.StatusCode != 201 {
		t.Fatalf("create task: %d", r.StatusCode)
	}
	m := ws.queueWhere(ctx, "waiting 2", queueID, func(q *wallboard.QueueView, _ *wallboard.Snapshot) bool { return q.Waiting == 2 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("the frame came %v after the task", d)
	}
	if q := queueIn(&m.Snapshot, queueID); q.OfferedToday != offeredBefore+1 || m.Totals.Waiting != 2 {
		t.Fatalf("after a task arrived: %+v totals %+v", q, m.Totals)
	}

	// The agent learns the skill (PATCH reaches the engine at once), logs in
	// and takes the fixture task: busy, with the task in hand.
	if r := a.do("PATCH", apiPrefix+"/users/"+agentID, admin, map[string]any{"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}},
		"capacity": map[string]int{"chat": 1}}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("give skill: %d", r.StatusCode)
	}
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	var offered routing.Task
	deadline := time.Now().Add(5 * time.Second)
	for offered.ID == "" && time.Now().Before(deadline) {
		var page struct{ Items []routing.Task }
		a.do("GET", apiPrefix+"/tasks?state=offered", admin, nil, nil, &page)
		if len(page.Items) > 0 {
			offered = page.Items[0]
		}
	}
	if offered.ID == "" || offered.AgentID != agentID {
		t.Fatalf("no offer to the agent: %+v", offered)
	}
	if r := a.do("POST", apiPrefix+"/tasks/"+offered.ID+"/accept", agent, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("accept: %d", r.StatusCode)
	}
	m = ws.next(ctx, "agent busy", func(m *wallboardMsg) bool {
		ag := agentIn(&m.Snapshot, agentID)
		return m.Type == "snapshot" && ag != nil && ag.Status == atende.StatusBusy && len(ag.Tasks) == 1
	})
	ag := agentIn(&m.Snapshot, agentID)
	if ag.Tasks[0].ID != offered.ID || ag.Tasks[0].AcceptedAt == nil || ag.Load[atende.ChannelChat] != 1 || ag.HandledToday != 1 {
		t.Fatalf("busy agent: %+v", ag)
	}
	if q := queueIn(&m.Snapshot, queueID); q.Waiting != 1 || q.Agents.Busy != 1 || q.HandledToday != 1 || q.ServiceLevelToday == nil || q.ASATodaySec == nil {
		t.Fatalf("queue after the accept: %+v", q)
	}
	if m.Totals.Agents.Busy != 1 || m.Totals.HandledToday != 1 {
		t.Fatalf("totals: %+v", m.Totals)
	}

	// The customer of the other task leaves: abandoned today.
	if r := a.do("POST", apiPrefix+"/tasks/"+task.ID+"/cancel", admin, map[string]any{"abandoned": true}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	m = ws.queueWhere(ctx, "abandoned", queueID, func(q *wallboard.QueueView, _ *wallboard.Snapshot) bool { return q.AbandonedToday == 1 })
	if q := queueIn(&m.Snapshot, queueID); q.Waiting != 0 || q.ShortAbandonedToday != 1 {
		// It waited well under 5 s: a short abandon.
		t.Fatalf("after the abandon: %+v", q)
	}

	// The REST snapshot says the same, and filters.
	var snap wallboard.Snapshot
	if r := a.do("GET", apiPrefix+"/wallboard?queue_id="+queueID, a.tokens["supervisor"], nil, nil, &snap); r.StatusCode != 200 ||
		len(snap.Queues) != 1 || snap.Queues[0].AbandonedToday != 1 || agentIn(&snap, agentID) == nil {
		t.Fatalf("GET wallboard: %d %+v", r.StatusCode, snap)
	}
	a.do("GET", apiPrefix+"/wallboard?channel=voice", a.tokens["supervisor"], nil, nil, &snap)
	if len(snap.Queues) != 0 || snap.Totals.Waiting != 0 || snap.Totals.OfferedToday != 0 {
		t.Fatalf("a channel no queue takes: %+v", snap)
	}
	a.do("GET", apiPrefix+"/wallboard?team_id="+a.ids["team"], a.tokens["supervisor"], nil, nil, &snap)
	if len(snap.Queues) != 1 || len(snap.Agents) != 1 {
		t.Fatalf("the team's wallboard: %+v", snap)
	}
	wantProblem(t, a.do("GET", apiPrefix+"/wallboard?channel=fax", a.tokens["supervisor"], nil, nil, nil), 400, atende.EInvalid, "channel")
	// Agents do not see the wallboard.
	wantProblem(t, a.do("GET", apiPrefix+"/wallboard", agent, nil, nil, nil), 403, atende.EForbidden, "")
	if _, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.http.URL, "http")+apiPrefix+"/wallboard/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + agent}}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("an agent opened the wallboard stream: %v", err)
	}
}

// TestWallboardAlertRaisedAndCleared: a queue's longest-wait threshold is
// crossed and then left; each time a stored event says so, and the
// wallboard shows the alert while it lasts.
func TestWallboardAlertRaisedAndCleared(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	admin, queueID := a.tokens["admin"], a.ids["queue"]
	wantProblem(t, a.do("PATCH", apiPrefix+"/queues/"+queueID, admin, map[string]any{"routing": map[string]any{"alerts": map[string]any{"longest_wait_above_sec": -1}}},
		map[string]string{"If-Match": "*"}, nil), 400, atende.EInvalid, "routing.alerts.longest_wait_above_sec")
	ws := a.dialWallboard(ctx, a.tokens["supervisor"], "?queue_id="+queueID)
	ws.next(ctx, "the first snapshot", func(m *wallboardMsg) bool { return m.Type == "snapshot" })
	var last struct{ Last int64 }
	a.do("GET", apiPrefix+"/events?after=0&limit=500", admin, nil, nil, &last)
	// The fixture task has been waiting since the test began; a threshold
	// of one second is soon crossed.
	var q atende.Queue
	if r := a.do("PATCH", apiPrefix+"/queues/"+queueID, admin, map[string]any{"routing": map[string]any{"alerts": map[string]any{"longest_wait_above_sec": 1}}},
		map[string]string{"If-Match": "*"}, &q); r.StatusCode != 200 || q.Routing.Alerts.LongestWaitAboveSec != 1 {
		t.Fatalf("set threshold: %d %+v", r.StatusCode, q.Routing.Alerts)
	}
	raised := ws.next(ctx, "the alert", func(m *wallboardMsg) bool { return m.Type == "alert" })
	if raised.Event != "alert.raised" || raised.QueueID != queueID || raised.Kind != wallboard.KindLongestWait || raised.Value <= 1 {
		t.Fatalf("alert: %s", raised.raw)
	}
	m := ws.queueWhere(ctx, "the alert on the queue", queueID, func(q *wallboard.QueueView, _ *wallboard.Snapshot) bool { return len(q.Alerts) == 1 })
	if al := queueIn(&m.Snapshot, queueID).Alerts[0]; al.Kind != wallboard.KindLongestWait || al.Threshold != 1 || al.Since.IsZero() {
		t.Fatalf("alert on the queue: %+v", al)
	}
	// The customer leaves: nothing waits, the alert ends.
	if r := a.do("POST", apiPrefix+"/tasks/"+a.ids["task"]+"/cancel", admin, map[string]any{"abandoned": true}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	// Both the end of the alert and a frame without it arrive, in either
	// order.
	var cleared *wallboardMsg
	quiet := false
	ws.next(ctx, "the end of the alert and a frame without it", func(m *wallboardMsg) bool {
		switch {
		case m.Type == "alert" && m.Event == "alert.cleared":
			cleared = m
		case m.Type == "snapshot":
			if q := queueIn(&m.Snapshot, queueID); q != nil {
				quiet = len(q.Alerts) == 0
			}
		}
		return cleared != nil && quiet
	})
	if cleared.Kind != wallboard.KindLongestWait {
		t.Fatalf("cleared: %s", cleared.raw)
	}
	// Both were stored as events for webhooks, once each.
	var page struct {
		Items []atende.Event
	}
	a.do("GET", apiPrefix+"/events?after=0&limit=500", admin, nil, nil, &page)
	// Raised once, raised again only to change level (the fixture task may
	// already wait past twice the threshold: critical at once, or a warning
	// that turns critical), and cleared once, last.
	var kinds []string
	for _, e := range page.Items {
		if strings.HasPrefix(e.Type, "alert.") {
			var d map[string]any
			json.Unmarshal(e.Data, &d)
			if d["queue_id"] != queueID || d["kind"] != "longest_wait" || d["tenant"] != a.tenant["a"].ID || d["threshold"] != 1.0 {
				t.Errorf("stored %s: %s", e.Type, e.Data)
			}
			kinds = append(kinds, e.Type+":"+fmt.Sprint(d["level"]))
		}
	}
	switch strings.Join(kinds, ",") {
	case "alert.raised:warning,alert.cleared:warning",
		"alert.raised:critical,alert.cleared:critical",
		"alert.raised:warning,alert.raised:critical,alert.cleared:critical":
	default:
		t.Fatalf("stored alert events: %v", kinds)
	}
	// Agents do not receive alerts on their stream.
	a.do("GET", apiPrefix+"/events?after=0&limit=500", a.tokens["agent"], nil, nil, &page)
	for _, e := range page.Items {
		if strings.HasPrefix(e.Type, "alert.") {
			t.Fatalf("an agent sees %s", e.Type)
		}
	}
}

// TestWallboardTenantIsolation: another tenant's wallboard never shows a
// thing of this tenant's, live or not.
func TestWallboardTenantIsolation(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	wsB := a.dialWallboard(ctx, a.tokens["b-admin"], "")
	wsA := a.dialWallboard(ctx, a.tokens["supervisor"], "")
	wsB.next(ctx, "B's first snapshot", func(m *wallboardMsg) bool { return m.Type == "snapshot" })
	wsA.next(ctx, "A's first snapshot", func(m *wallboardMsg) bool { return m.Type == "snapshot" })
	var task routing.Task
	if r := a.do("POST", apiPrefix+"/tasks", a.tokens["admin"], map[string]any{"queue_id": a.ids["queue"], "channel": "chat"}, nil, &task); r.StatusCode != 201 {
		t.Fatalf("create task: %d", r.StatusCode)
	}
	if r := a.do("POST", apiPrefix+"/broadcasts", a.tokens["supervisor"], map[string]any{"text": "Reunión a las 12"}, nil, nil); r.StatusCode != 201 {
		t.Fatalf("broadcast: %d", r.StatusCode)
	}
	// The broadcast goes out at once; the frame within 500 ms: either order.
	sawTask, sawBroadcast := false, false
	wsA.next(ctx, "A's task and broadcast", func(m *wallboardMsg) bool {
		if q := queueIn(&m.Snapshot, a.ids["queue"]); m.Type == "snapshot" && q != nil && q.Waiting == 2 {
			sawTask = true
		}
		if m.Type == "broadcast" && m.Text == "Reunión a las 12" && m.Event == "broadcast.sent" {
			sawBroadcast = true
		}
		return sawTask && sawBroadcast
	})
	// B's stream: read for a while, nothing of A's may pass.
	rctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	for {
		_, b, err := wsB.c.Read(rctx)
		if err != nil {
			break
		}
		for _, id := range []string{a.tenant["a"].ID, a.ids["queue"], task.ID, a.users["agent"].ID, "Reunión"} {
			if strings.Contains(string(b), id) {
				t.Fatalf("tenant B's wallboard shows %s: %s", id, b)
			}
		}
	}
}

// TestBroadcastReachesTheAgents: a supervisor's broadcast is a stored event
// every agent's stream carries, with the sender's name.
func TestBroadcastReachesTheAgents(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	stream := a.dialEvents(ctx, a.tokens["agent"], -1)
	wantProblem(t, a.do("POST", apiPrefix+"/broadcasts", a.tokens["supervisor"], map[string]any{"text": "  "}, nil, nil), 400, atende.EInvalid, "text")
	wantProblem(t, a.do("POST", apiPrefix+"/broadcasts", a.tokens["supervisor"], map[string]any{"text": "hola", "team_id": atende.NewID()}, nil, nil), 400, atende.EInvalid, "team_id")
	wantProblem(t, a.do("POST", apiPrefix+"/broadcasts", a.tokens["agent"], map[string]any{"text": "hola"}, nil, nil), 403, atende.EForbidden, "")
	var b struct {
		ID, Text, From, TeamID string
	}
	if r := a.do("POST", apiPrefix+"/broadcasts", a.tokens["supervisor"], map[string]any{"text": "Sistema lento", "team_id": a.ids["team"]}, nil, &b); r.StatusCode != 201 || b.ID == "" {
		t.Fatalf("broadcast: %d %+v", r.StatusCode, b)
	}
	for {
		e := readEvent(t, ctx, stream)
		if e.Type != "broadcast.sent" {
			continue
		}
		var d struct {
			ID     string `json:"id"`
			Text   string `json:"text"`
			From   string `json:"from"`
			TeamID string `json:"team_id"`
		}
		json.Unmarshal(e.Data, &d)
		if d.ID != b.ID || d.Text != "Sistema lento" || d.From != a.users["supervisor"].Name || d.TeamID != a.ids["team"] {
			t.Fatalf("broadcast event: %s", e.Data)
		}
		return
	}
}

// waitTask polls a task until ok holds, failing after 5 s.
func (a *testAPI) waitTask(id string, what string, ok func(t *routing.Task) bool) *routing.Task {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got routing.Task
		a.do("GET", apiPrefix+"/tasks/"+id, a.tokens["admin"], nil, nil, &got)
		if ok(&got) {
			return &got
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("task %s never %s: %+v", id, what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSupervisorTakesOverAndJoins: a supervisor (who is also an agent)
// takes over the task an agent is working on, holding it at once; the agent
// is told and freed; joining the conversation leaves an entry in the
// timeline in the tenant's language.
func TestSupervisorTakesOverAndJoins(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	admin, agent, sup := a.tokens["admin"], a.tokens["agent"], a.tokens["supervisor"]
	agentID, supID, taskID := a.users["agent"].ID, a.users["supervisor"].ID, a.ids["task"]
	// Not an agent: there is no one to hold the task.
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+taskID+"/takeover", sup, nil, nil, nil), 409, atende.EConflict, "")
	for id, body := range map[string]map[string]any{
		supID:   {"roles": []string{"supervisor", "agent"}},
		agentID: {"skills": []map[string]any{{"skill_id": a.ids["skill"], "proficiency": 5}}},
	} {
		if r := a.do("PATCH", apiPrefix+"/users/"+id, admin, body, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
			t.Fatalf("patch user: %d", r.StatusCode)
		}
	}
	agentStream := a.dialEvents(ctx, agent, -1)
	ws := a.dialWallboard(ctx, sup, "")
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	a.waitTask(taskID, "offered to the agent", func(t *routing.Task) bool { return t.State == routing.TaskOffered && t.AgentID == agentID })
	if r := a.do("POST", apiPrefix+"/tasks/"+taskID+"/accept", agent, nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("accept: %d", r.StatusCode)
	}
	// Only managers take over.
	wantProblem(t, a.do("POST", apiPrefix+"/tasks/"+taskID+"/takeover", agent, nil, nil, nil), 403, atende.EForbidden, "")
	var got routing.Task
	if r := a.do("POST", apiPrefix+"/tasks/"+taskID+"/takeover", sup, nil, nil, &got); r.StatusCode != 200 ||
		got.State != routing.TaskAssigned || got.AgentID != supID || got.AcceptedAt == nil {
		t.Fatalf("takeover: %d %+v", r.StatusCode, got)
	}
	for {
		e := readEvent(t, ctx, agentStream)
		if e.Type == "task.transferred" && e.Subject == taskID {
			break // the agent's desktop drops the task
		}
	}
	ws.next(ctx, "the supervisor busy and the agent free", func(m *wallboardMsg) bool {
		s, ag := agentIn(&m.Snapshot, supID), agentIn(&m.Snapshot, agentID)
		return m.Type == "snapshot" && s != nil && ag != nil && s.Status == atende.StatusBusy && len(s.Tasks) == 1 && s.Tasks[0].ID == taskID &&
			len(ag.Tasks) == 0 && ag.Status != atende.StatusBusy
	})

	var e atende.TimelineEvent
	if r := a.do("POST", apiPrefix+"/conversations/"+a.ids["conversation"]+"/join", sup, nil, nil, &e); r.StatusCode != 201 ||
		e.Kind != "joined" || e.Body != a.users["supervisor"].Name+" se ha unido a la conversación" || e.AuthorID != supID {
		t.Fatalf("join: %d %+v", r.StatusCode, e)
	}
	var timeline struct{ Items []atende.TimelineEvent }
	a.do("GET", apiPrefix+"/conversations/"+a.ids["conversation"]+"/events", sup, nil, nil, &timeline)
	if n := len(timeline.Items); n == 0 || timeline.Items[n-1].ID != e.ID {
		t.Fatalf("timeline: %+v", timeline.Items)
	}
	wantProblem(t, a.do("POST", apiPrefix+"/conversations/"+atende.NewID()+"/join", sup, nil, nil, nil), 404, atende.ENotFound, "")
}

// TestMovingAnAgentBetweenQueuesIsLive: changing a team's members moves the
// agent into the queue the team serves at once: routing offers its task, and
// the wallboard lists the queue among the agent's.
func TestMovingAnAgentBetweenQueuesIsLive(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	admin, agent := a.tokens["admin"], a.tokens["agent"]
	agentID := a.users["agent"].ID
	var team atende.Team
	if r := a.do("POST", apiPrefix+"/teams", admin, map[string]any{"name": "Lisboa"}, nil, &team); r.StatusCode != 201 {
		t.Fatalf("team: %d", r.StatusCode)
	}
	var q atende.Queue
	if r := a.do("POST", apiPrefix+"/queues", admin, map[string]any{"name": "Ventas", "channels": []string{"chat"}, "team_ids": []string{team.ID}}, nil, &q); r.StatusCode != 201 {
		t.Fatalf("queue: %d", r.StatusCode)
	}
	var task routing.Task
	if r := a.do("POST", apiPrefix+"/tasks", admin, map[string]any{"queue_id": q.ID, "channel": "chat"}, nil, &task); r.StatusCode != 201 {
		t.Fatalf("task: %d", r.StatusCode)
	}
	ws := a.dialWallboard(ctx, a.tokens["supervisor"], "?queue_id="+q.ID)
	m := ws.next(ctx, "the first snapshot", func(m *wallboardMsg) bool { return m.Type == "snapshot" })
	if len(m.Agents) != 0 || len(m.Queues) != 1 || m.Queues[0].Waiting != 1 {
		t.Fatalf("before the move: %s", m.raw)
	}
	if r := a.do("PUT", apiPrefix+"/users/"+agentID+"/state", agent, map[string]string{"status": "available"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("available: %d", r.StatusCode)
	}
	// The fixture task of the other queue needs a skill the agent lacks;
	// this one waits for a member of Lisboa.
	if got := a.waitTask(task.ID, "waiting", func(t *routing.Task) bool { return t.ID != "" }); got.State != routing.TaskWaiting {
		t.Fatalf("offered to a non-member: %+v", got)
	}
	if r := a.do("PATCH", apiPrefix+"/teams/"+team.ID, admin, map[string]any{"member_ids": []string{agentID}}, map[string]string{"If-Match": "*"}, nil); r.StatusCode != 200 {
		t.Fatalf("move: %d", r.StatusCode)
	}
	a.waitTask(task.ID, "offered to the moved agent", func(t *routing.Task) bool { return t.State == routing.TaskOffered && t.AgentID == agentID })
	ws.next(ctx, "the agent in Ventas", func(m *wallboardMsg) bool {
		ag := agentIn(&m.Snapshot, agentID)
		return m.Type == "snapshot" && ag != nil && len(m.Queues) == 1 && m.Queues[0].Waiting == 0 && m.Queues[0].Agents.Available == 1
	})
}
