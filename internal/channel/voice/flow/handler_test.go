package flow

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice"
	"github.com/emiago/diago"
)

type fakeStore struct {
	tenant *atende.Tenant
	flows  map[string]*atende.Flow
	queues map[string]*atende.Queue
}

func (s *fakeStore) Tenant(_ context.Context, id string) (*atende.Tenant, error) {
	if id != s.tenant.ID {
		return nil, atende.Errorf(atende.ENotFound, "tenant not found")
	}
	return s.tenant, nil
}

func (s *fakeStore) Flow(_ context.Context, tenantID, id string) (*atende.Flow, error) {
	if f, ok := s.flows[id]; ok && tenantID == s.tenant.ID {
		return f, nil
	}
	return nil, atende.Errorf(atende.ENotFound, "flow not found")
}

func (s *fakeStore) Queue(_ context.Context, tenantID, id string) (*atende.Queue, error) {
	if q, ok := s.queues[id]; ok && tenantID == s.tenant.ID {
		return q, nil
	}
	return nil, atende.Errorf(atende.ENotFound, "queue not found")
}

type nextHandler struct{ calls atomic.Int32 }

func (h *nextHandler) HandleCall(_ context.Context, c *voice.Call) {
	h.calls.Add(1)
	_ = c.Dialog.Respond(486, "Busy Here", nil)
}

// TestHandlerRunsTheDIDsFlow hands identified calls to the Handler as the
// voice channel does: a DID to a flow runs it with the tenant's time zone
// and the queue's hours; other calls go to the next handler; a DID whose
// flow is gone is refused.
func TestHandlerRunsTheDIDsFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tenant := &atende.Tenant{ID: atende.NewID(), TimeZone: "America/Sao_Paulo"}
	f := mustFlow(t, `{"name": "t", "language": "pt-BR", "entry": "h", "nodes": {
	  "h": {"kind": "hours", "queue_id": "`+queueA+`", "branches": {"open": "open", "closed": "closed"}},
	  "open": {"kind": "hangup", "prompts": ["please_wait"]}, "closed": {"kind": "hangup", "prompts": ["out_of_hours"]}
	}}`)
	f.ID = atende.NewID()
	// The queue opens 09:00-18:00 every day in the tenant's time zone.
	var week []atende.OpenHours
	for d := time.Sunday; d <= time.Saturday; d++ {
		week = append(week, atende.OpenHours{Day: d, Open: "09:00", Close: "18:00"})
	}
	st := &fakeStore{tenant: tenant, flows: map[string]*atende.Flow{f.ID: f},
		queues: map[string]*atende.Queue{queueA: {ID: queueA, Routing: atende.QueueRouting{Hours: atende.Calendar{Weekly: week}}}}}
	done := make(chan *Result, 1)
	next := &nextHandler{}
	h := &Handler{Engine: &Engine{Clock: fixedClock{time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)}}, Store: st, Next: next,
		Done: func(_ context.Context, c *voice.Call, flowID string, r *Result) {
			if flowID != f.ID || c.TenantID != tenant.ID {
				t.Errorf("done for %s %s", flowID, c.TenantID)
			}
			done <- r
		}}
	var did atomic.Pointer[atende.DID]
	port := serveSIP(t, ctx, func(d *diago.DialogServerSession) {
		h.HandleCall(d.Context(), &voice.Call{TenantID: tenant.ID, Caller: "+5511999990000", DID: did.Load(), Dialog: d})
	})

	// 20:00 UTC is past closing in UTC but 17:00 in São Paulo: open.
	did.Store(&atende.DID{Number: "+551130000000", TargetKind: atende.DIDToFlow, TargetID: f.ID})
	dialog, med := dialSIP(t, ctx, port)
	frames, _ := listen(t, med)
	var r *Result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the flow did not finish")
	}
	if r.Outcome != OutcomeHangup || nodes(r) != "h>open open>end" || r.Vars["called"] != "+551130000000" || r.Vars["caller"] != "+5511999990000" {
		t.Fatalf("outcome %s trace %s vars %v", r.Outcome, nodes(r), r.Vars)
	}
	select {
	case <-dialog.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not hung up")
	}
	if frames.Load() == 0 {
		t.Fatal("the caller heard nothing")
	}
	dialog.Close()
	med.Close()

	// A DID straight to a queue is not the flow handler's.
	did.Store(&atende.DID{Number: "+551130000001", TargetKind: atende.DIDToQueue, TargetID: queueA})
	if _, _, err := inviteSIP(t, ctx, port); err == nil || next.calls.Load() != 1 {
		t.Fatalf("queue DID: err %v, next handler calls %d", err, next.calls.Load())
	}
	// A flow deleted since the DID was set: refused, nothing answered.
	did.Store(&atende.DID{Number: "+551130000002", TargetKind: atende.DIDToFlow, TargetID: atende.NewID()})
	if _, _, err := inviteSIP(t, ctx, port); err == nil {
		t.Fatal("a call to a missing flow was answered")
	}
}
