package voice

import (
	"context"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// A new INVITE is identified before a dialog exists: from a trunk (source
// address) to one of its tenant's DIDs, or from a tenant's registered phone
// (digest, 407) to another user or a DID of the tenant. Anything else is
// refused with a final answer, so no dialog is ever made for it.

// inviteMiddleware wraps diago's handlers: new INVITEs are identified
// first; everything else (re-INVITE, ACK, BYE, CANCEL, ...) passes.
func (s *Server) inviteMiddleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.wellFormed(req, tx) {
			return
		}
		if body := sdpBody(req); body != nil {
			if err := checkSDP(body); err != nil {
				if !req.IsAck() {
					s.reject(req, tx, 488, "Not Acceptable Here", "bad_sdp")
				}
				return
			}
		}
		if !req.IsInvite() {
			next(req, tx)
			return
		}
		if to := req.To(); to != nil {
			if _, ok := to.Params.Get("tag"); ok {
				next(req, tx) // in-dialog
				return
			}
		}
		call, ok := s.identify(req, tx)
		if !ok {
			return
		}
		if s.cfg.Handler == nil {
			s.reject(req, tx, 480, "Temporarily Unavailable", "no_handler")
			return
		}
		kind := "did"
		if call.DID == nil {
			kind = "user"
		}
		s.metrics.calls.WithLabelValues(kind).Inc()
		key := inviteKey(req)
		s.calls.Store(key, call)
		defer s.calls.Delete(key)
		next(req, tx)
	}
}

// inviteKey names an INVITE transaction; it survives diago's copy of the
// request.
func inviteKey(req *sip.Request) string {
	branch := ""
	if v := req.Via(); v != nil {
		branch, _ = v.Params.Get("branch")
	}
	callID := ""
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	return callID + "\x00" + branch
}

// serveDialog hands a dialog diago made for an identified INVITE to the
// call handler.
func (s *Server) serveDialog(d *diago.DialogServerSession) {
	v, ok := s.calls.Load(inviteKey(d.InviteRequest))
	if !ok {
		// Not one we identified: refuse rather than leave it ringing.
		d.Respond(500, "Server Internal Error", nil)
		return
	}
	call := *v.(*Call)
	call.Dialog = d
	s.cfg.Handler.HandleCall(d.Context(), &call)
}

// identify finds whose call req is and what it is for, or answers it.
func (s *Server) identify(req *sip.Request, tx sip.ServerTransaction) (*Call, bool) {
	if req.Contact() == nil || req.From() == nil || req.To() == nil || req.CSeq() == nil {
		s.reject(req, tx, 400, "Bad Request", "bad_request")
		return nil, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	ip := sourceIP(req)
	if trunks := s.trunks.match(ip); len(trunks) > 0 {
		return s.identifyTrunkCall(ctx, req, tx, trunks)
	}
	// Not from a provider: only the tenant's own phones may call, and they
	// authenticate. Anyone else is limited like a REGISTER flood.
	if !s.admit(req, tx) {
		return nil, false
	}
	domain := strings.ToLower(req.Recipient.Host)
	tenantID, err := s.domains.tenant(ctx, domain)
	if err != nil {
		s.log.Error("SIP domain lookup", "err", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return nil, false
	}
	if tenantID == "" {
		s.unauthenticated(req)
		s.reject(req, tx, 403, "Forbidden", "unknown_source")
		return nil, false
	}
	acc, ok := s.authenticate(ctx, req, tx, tenantID, domain, true)
	if !ok {
		return nil, false
	}
	call := &Call{TenantID: tenantID, Account: acc, Caller: acc.Username}
	callee := req.Recipient.User
	if target, _, err := s.cfg.Store.SIPAccountByUsername(ctx, tenantID, callee); err == nil && target.Active {
		binds, err := s.binds.get(ctx, tenantID, target.Username)
		if err != nil {
			s.log.Error("SIP registrations lookup", "err", err)
			s.respond(req, tx, 500, "Server Internal Error")
			return nil, false
		}
		if len(binds) == 0 {
			s.reject(req, tx, 480, "Temporarily Unavailable", "not_registered")
			return nil, false
		}
		call.Callee, call.Bindings = target.Username, binds
		return call, true
	}
	if num, err := DialledNumber(callee, ""); err == nil {
		if did, err := s.cfg.Store.DIDByNumber(ctx, num); err == nil && did.TenantID == tenantID {
			call.DID = did
			return call, true
		}
	}
	s.reject(req, tx, 404, "Not Found", "unknown_target")
	return nil, false
}

// identifyTrunkCall finds the DID of a call from a provider. Several
// tenants may use one provider: the DID decides whose trunk it is.
func (s *Server) identifyTrunkCall(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, trunks []*atende.Trunk) (*Call, bool) {
	users := []string{req.Recipient.User}
	if u := req.To().Address.User; u != "" && u != req.Recipient.User {
		users = append(users, u)
	}
	for _, user := range users {
		for _, t := range trunks {
			num, err := DialledNumber(user, t.DefaultCountry)
			if err != nil {
				continue
			}
			did, err := s.cfg.Store.DIDByNumber(ctx, num)
			if err != nil {
				if atende.ErrorCode(err) != atende.ENotFound {
					s.log.Error("DID lookup", "err", err)
					s.respond(req, tx, 500, "Server Internal Error")
					return nil, false
				}
				continue
			}
			if did.TenantID != t.TenantID {
				continue
			}
			caller := req.From().Address.User
			if n, err := DialledNumber(caller, t.DefaultCountry); err == nil {
				caller = n
			}
			return &Call{TenantID: t.TenantID, Trunk: t, DID: did, Caller: truncate(caller, 64)}, true
		}
	}
	s.reject(req, tx, 404, "Not Found", "unknown_did")
	return nil, false
}
