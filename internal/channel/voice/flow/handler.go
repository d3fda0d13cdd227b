package flow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice"
	"github.com/emiago/diago"
)

// Store is what the call handler reads; *store.Store implements it.
type Store interface {
	Tenant(ctx context.Context, id string) (*atende.Tenant, error)
	Flow(ctx context.Context, tenantID, id string) (*atende.Flow, error)
	Queue(ctx context.Context, tenantID, id string) (*atende.Queue, error)
}

// Handler is the voice channel's CallHandler for calls to a DID whose target
// is a flow: it answers the call and runs the flow on it.
type Handler struct {
	Engine *Engine
	Store  Store
	// Services returns what the flow may ask of atende for one call.
	Services func(c *voice.Call) Services
	// Done receives each finished run, for the call's record; nil: logged.
	Done func(ctx context.Context, c *voice.Call, flowID string, r *Result)
	// Next handles the calls that are not for a flow (a DID to a queue, a
	// call to a user); nil: they are refused.
	Next voice.CallHandler
	Log  *slog.Logger
}

var _ voice.CallHandler = (*Handler)(nil)

// HandleCall implements voice.CallHandler.
func (h *Handler) HandleCall(ctx context.Context, c *voice.Call) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	if c.DID == nil || c.DID.TargetKind != atende.DIDToFlow {
		if h.Next != nil {
			h.Next.HandleCall(ctx, c)
			return
		}
		// Known but not for a flow (a DID to a queue, a call to a phone):
		// nothing here takes it yet.
		_ = c.Dialog.Respond(480, "Temporarily Unavailable", nil)
		return
	}
	f, loc, err := h.load(ctx, c)
	if err != nil {
		log.ErrorContext(ctx, "voice flow not runnable", "tenant", c.TenantID, "did", c.DID.Number, "flow", c.DID.TargetID, "err", err)
		_ = c.Dialog.Respond(480, "Temporarily Unavailable", nil)
		return
	}
	m, err := c.Dialog.Answer(diago.AnswerOptions{})
	if err != nil {
		log.WarnContext(ctx, "voice answer", "tenant", c.TenantID, "err", err)
		return
	}
	defer m.Close()
	var s Services
	if h.Services != nil {
		s = h.Services(c)
	}
	call, err := NewDiagoCall(c.Dialog, m, s)
	if err != nil {
		log.WarnContext(ctx, "voice flow media", "tenant", c.TenantID, "err", err)
		_ = c.Dialog.Hangup(context.WithoutCancel(ctx))
		return
	}
	in := Input{CallID: c.Dialog.ID, Caller: c.Caller, Called: c.DID.Number, Location: loc,
		Calendar: func(ctx context.Context, queueID string) (*atende.Calendar, error) {
			q, err := h.Store.Queue(ctx, c.TenantID, queueID)
			if err != nil {
				return nil, err
			}
			return &q.Routing.Hours, nil
		}}
	r := h.Engine.Run(ctx, f, call, in)
	_ = call.Hangup(ctx) // a no-op when the call has already ended
	if h.Done != nil {
		h.Done(ctx, c, f.ID, r)
		return
	}
	log.InfoContext(ctx, "voice flow finished", "tenant", c.TenantID, "flow", f.ID, "outcome", r.Outcome, "steps", len(r.Trace), "err", r.Error)
}

func (h *Handler) load(ctx context.Context, c *voice.Call) (*atende.Flow, *time.Location, error) {
	t, err := h.Store.Tenant(ctx, c.TenantID)
	if err != nil {
		return nil, nil, fmt.Errorf("tenant: %w", err)
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil, nil, fmt.Errorf("tenant time zone %q: %w", t.TimeZone, err)
	}
	f, err := h.Store.Flow(ctx, c.TenantID, c.DID.TargetID)
	if err != nil {
		return nil, nil, fmt.Errorf("flow %s: %w", c.DID.TargetID, err)
	}
	return f, loc, nil
}
