package voice

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/emiago/sipgo/sip"
)

// The registrar (RFC 3261 section 10): phones register user@domain, where
// the domain names the tenant and is the digest realm, and the user is one
// of the tenant's SIP accounts.

// defaultExpires is granted when a REGISTER asks for no particular time.
const defaultExpires = 3600

// maxContacts bounds the contacts one REGISTER may carry.
const maxContacts = 10

func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	if !s.admit(req, tx) {
		return
	}
	to := req.To()
	if to == nil || to.Address.User == "" {
		s.unauthenticated(req)
		s.reject(req, tx, 400, "Bad Request", "bad_request")
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	domain := strings.ToLower(to.Address.Host)
	tenantID, err := s.domains.tenant(ctx, domain)
	if err != nil {
		s.log.Error("SIP domain lookup", "domain", domain, "err", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	if tenantID == "" {
		s.unauthenticated(req)
		s.metrics.registrations.WithLabelValues("unknown_domain").Inc()
		s.reject(req, tx, 404, "Not Found", "unknown_domain")
		return
	}
	acc, ok := s.authenticate(ctx, req, tx, tenantID, domain, false)
	if !ok {
		return
	}
	if !strings.EqualFold(acc.Username, to.Address.User) {
		// The credentials are good but for another address.
		s.unauthenticated(req)
		s.metrics.registrations.WithLabelValues("forbidden").Inc()
		s.reject(req, tx, 403, "Forbidden", "wrong_user")
		return
	}
	s.updateBindings(ctx, req, tx, tenantID, acc)
}

// authenticate checks the digest credentials of req against the tenant's
// SIP accounts. It answers the request itself (challenge or refusal) and
// returns false when they do not prove an active account. proxy selects
// the Proxy-Authorization / 407 pair used for INVITE.
func (s *Server) authenticate(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tenantID, realm string, proxy bool) (*atende.SIPAccount, bool) {
	hName, chName, code, reason := "Authorization", "WWW-Authenticate", 401, "Unauthorized"
	if proxy {
		hName, chName, code, reason = "Proxy-Authorization", "Proxy-Authenticate", 407, "Proxy Authentication Required"
	}
	method := string(req.Method)
	challenge := func(stale bool, why string) {
		var hs []sip.Header
		for _, v := range s.nonces.challenges(realm, stale) {
			hs = append(hs, sip.NewHeader(chName, v))
		}
		if method == "REGISTER" {
			s.metrics.registrations.WithLabelValues(why).Inc()
		}
		s.metrics.rejected.WithLabelValues(method, why).Inc()
		s.respond(req, tx, code, reason, hs...)
	}
	forbid := func(why string) {
		s.unauthenticated(req)
		if method == "REGISTER" {
			s.metrics.registrations.WithLabelValues("forbidden").Inc()
		}
		s.reject(req, tx, 403, "Forbidden", why)
	}
	h := req.GetHeader(hName)
	if h == nil {
		s.unauthenticated(req)
		challenge(false, "challenged")
		return nil, false
	}
	cred, err := ParseCredentials(h.Value())
	if err != nil {
		s.unauthenticated(req)
		s.reject(req, tx, 400, "Bad Request", "bad_credentials")
		return nil, false
	}
	if !strings.EqualFold(cred.Realm, realm) || s.nonces.check(cred.Nonce, realm) == nonceBad {
		s.unauthenticated(req)
		challenge(false, "challenged")
		return nil, false
	}
	acc, sealed, err := s.cfg.Store.SIPAccountByUsername(ctx, tenantID, cred.Username)
	if err != nil {
		if atende.ErrorCode(err) != atende.ENotFound {
			s.log.Error("SIP account lookup", "err", err)
			s.respond(req, tx, 500, "Server Internal Error")
			return nil, false
		}
		forbid("unknown_user")
		return nil, false
	}
	if !acc.Active {
		forbid("inactive_user")
		return nil, false
	}
	pw, err := s.password(tenantID, "sip_password", sealed)
	if err != nil {
		s.log.Error("open SIP password", "account", acc.ID, "err", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return nil, false
	}
	if !cred.Verify(method, pw) {
		forbid("wrong_password")
		return nil, false
	}
	if s.nonces.check(cred.Nonce, realm) == nonceStale {
		// The right password on an old nonce: ask again without counting a
		// failure, the phone retries at once with the new nonce.
		challenge(true, "stale")
		return nil, false
	}
	return acc, true
}

// expiresOf reads the expiry a contact asks for: its expires parameter,
// else the Expires header, else the default; -1 when unreadable.
func expiresOf(c *sip.ContactHeader, header sip.Header) int {
	if v, ok := c.Params.Get("expires"); ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return -1
		}
		return int(min(n, 1<<31-1))
	}
	if header != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(header.Value()), 10, 32)
		if err != nil {
			return -1
		}
		return int(min(n, 1<<31-1))
	}
	return defaultExpires
}

// updateBindings applies a REGISTER's contacts to the account's bindings
// and answers with the bindings now in force.
func (s *Server) updateBindings(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tenantID string, acc *atende.SIPAccount) {
	headers := req.GetHeaders("Contact")
	expHeader := req.GetHeader("Expires")
	var contacts []*sip.ContactHeader
	wildcard := false
	for _, h := range headers {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			s.reject(req, tx, 400, "Bad Request", "bad_contact")
			return
		}
		if c.Address.Wildcard {
			wildcard = true
		}
		contacts = append(contacts, c)
	}
	if len(contacts) > maxContacts {
		s.reject(req, tx, 403, "Too Many Contacts", "too_many_contacts")
		return
	}
	if wildcard {
		// "Contact: *" removes every binding, and only with Expires: 0.
		if len(contacts) != 1 || expHeader == nil || strings.TrimSpace(expHeader.Value()) != "0" {
			s.reject(req, tx, 400, "Bad Request", "bad_wildcard")
			return
		}
		if err := s.cfg.Store.DeleteSIPBindings(ctx, tenantID, acc.ID, ""); err != nil {
			s.log.Error("delete SIP registrations", "err", err)
			s.respond(req, tx, 500, "Server Internal Error")
			return
		}
		s.binds.forget(tenantID, acc.Username)
		s.metrics.registrations.WithLabelValues("unregistered").Inc()
		s.respondBindings(ctx, req, tx, tenantID, acc)
		return
	}
	minExp, maxExp := int(s.cfg.MinExpires/time.Second), int(s.cfg.MaxExpires/time.Second)
	type change struct {
		contact string
		expires int
	}
	var changes []change
	for _, c := range contacts {
		exp := expiresOf(c, expHeader)
		switch {
		case exp < 0:
			s.reject(req, tx, 400, "Bad Request", "bad_expires")
			return
		case exp > 0 && exp < minExp:
			s.metrics.registrations.WithLabelValues("interval_too_brief").Inc()
			s.reject(req, tx, 423, "Interval Too Brief", "interval_too_brief", sip.NewHeader("Min-Expires", strconv.Itoa(minExp)))
			return
		}
		if c.Address.Host == "" || len(c.Address.String()) > 512 {
			s.reject(req, tx, 400, "Bad Request", "bad_contact")
			return
		}
		changes = append(changes, change{contact: c.Address.String(), expires: min(exp, maxExp)})
	}
	now := time.Now()
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = truncate(h.Value(), 200)
	}
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = truncate(h.Value(), 200)
	}
	// RFC 3261 10.3 step 7: a REGISTER older than the one that made a
	// binding (same Call-ID, lower or equal CSeq) arrived late or twice.
	existing, err := s.cfg.Store.SIPBindings(ctx, tenantID, acc.Username)
	if err != nil {
		s.log.Error("list SIP registrations", "err", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	for _, ch := range changes {
		for _, b := range existing {
			if b.Contact == ch.contact && b.CallID == callID && b.CSeq >= cseq {
				s.reject(req, tx, 500, "Server Internal Error (REGISTER out of order)", "out_of_order")
				return
			}
		}
	}
	for _, ch := range changes {
		var err error
		if ch.expires == 0 {
			err = s.cfg.Store.DeleteSIPBindings(ctx, tenantID, acc.ID, ch.contact)
			s.metrics.registrations.WithLabelValues("unregistered").Inc()
		} else {
			err = s.cfg.Store.PutSIPBinding(ctx, &atende.SIPBinding{TenantID: tenantID, AccountID: acc.ID, Username: acc.Username,
				Contact: ch.contact, Source: req.Source(), Transport: strings.ToLower(req.Transport()), UserAgent: ua,
				CallID: callID, CSeq: cseq, Node: s.cfg.Node, Expires: now.Add(time.Duration(ch.expires) * time.Second)})
			s.metrics.registrations.WithLabelValues("registered").Inc()
		}
		if err != nil {
			s.log.Error("store SIP registration", "err", err)
			s.respond(req, tx, 500, "Server Internal Error")
			return
		}
	}
	s.binds.forget(tenantID, acc.Username)
	s.respondBindings(ctx, req, tx, tenantID, acc)
}

// respondBindings answers 200 with the account's current contacts and the
// time each has left.
func (s *Server) respondBindings(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tenantID string, acc *atende.SIPAccount) {
	list, err := s.cfg.Store.SIPBindings(ctx, tenantID, acc.Username)
	if err != nil {
		s.log.Error("list SIP registrations", "err", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	now := time.Now()
	hs := []sip.Header{sip.NewHeader("Date", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))}
	for _, b := range list {
		left := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		hs = append(hs, sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", b.Contact, max(left, 0))))
	}
	s.respond(req, tx, 200, "OK", hs...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
