package voice

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// trunkSet is the active trunks with the source prefixes calls from them
// come from: an ip trunk's CIDRs, a register trunk's host addresses.
type trunkSet struct {
	mu      sync.RWMutex
	entries []trunkEntry
}

type trunkEntry struct {
	trunk    *atende.Trunk
	prefixes []netip.Prefix
}

func (ts *trunkSet) set(entries []trunkEntry) {
	ts.mu.Lock()
	ts.entries = entries
	ts.mu.Unlock()
}

// match returns the trunks whose sources include ip.
func (ts *trunkSet) match(ip netip.Addr) []*atende.Trunk {
	if !ip.IsValid() {
		return nil
	}
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var out []*atende.Trunk
	for _, e := range ts.entries {
		for _, p := range e.prefixes {
			if p.Contains(ip) {
				out = append(out, e.trunk)
				break
			}
		}
	}
	return out
}

// runTrunks keeps the trunk set and the outbound registrations in step with
// the store until ctx ends.
func (s *Server) runTrunks(ctx context.Context) {
	type running struct {
		version int64
		cancel  context.CancelFunc
		done    chan struct{}
	}
	regs := map[string]*running{}
	states := &trunkStates{m: map[string]string{}, gauge: s.metrics.trunks}
	stop := func(id string) {
		r := regs[id]
		r.cancel()
		<-r.done
		delete(regs, id)
		states.set(id, "")
	}
	defer func() {
		for id := range regs {
			stop(id)
		}
	}()
	t := time.NewTicker(s.cfg.TrunkReload)
	defer t.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		trunks, err := s.cfg.Store.ActiveTrunks(lctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("load SIP trunks", "err", err)
			}
		} else {
			s.trunks.set(s.trunkEntries(lctx, trunks))
			seen := map[string]bool{}
			for i := range trunks {
				tr := trunks[i]
				if tr.Mode != atende.TrunkRegister {
					continue
				}
				seen[tr.ID] = true
				if r := regs[tr.ID]; r != nil && r.version == tr.Version {
					continue
				} else if r != nil {
					stop(tr.ID)
				}
				rctx, rcancel := context.WithCancel(ctx)
				r := &running{version: tr.Version, cancel: rcancel, done: make(chan struct{})}
				regs[tr.ID] = r
				go func() {
					defer close(r.done)
					s.keepRegistered(rctx, &tr, states)
				}()
			}
			for id := range regs {
				if !seen[id] {
					stop(id)
				}
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trunkEntries resolves the sources of the trunks.
func (s *Server) trunkEntries(ctx context.Context, trunks []atende.Trunk) []trunkEntry {
	var out []trunkEntry
	for i := range trunks {
		t := &trunks[i]
		e := trunkEntry{trunk: t}
		switch t.Mode {
		case atende.TrunkIP:
			for _, c := range t.AllowedCIDRs {
				if p, err := atende.ParseSourcePrefix(c); err == nil {
					e.prefixes = append(e.prefixes, p)
				}
			}
		case atende.TrunkRegister:
			addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
			if err != nil {
				s.log.Warn("resolve SIP trunk host", "trunk", t.ID, "host", t.Host, "err", err)
			}
			for _, a := range addrs {
				a = a.Unmap()
				e.prefixes = append(e.prefixes, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		out = append(out, e)
	}
	return out
}

// trunkStates counts register trunks by state for the metrics.
type trunkStates struct {
	mu    sync.Mutex
	m     map[string]string
	gauge *prometheus.GaugeVec
}

func (ts *trunkStates) set(id, state string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if state == "" {
		delete(ts.m, id)
	} else {
		ts.m[id] = state
	}
	counts := map[string]float64{atende.TrunkRegistering: 0, atende.TrunkRegistered: 0, atende.TrunkFailed: 0}
	for _, st := range ts.m {
		counts[st]++
	}
	for st, n := range counts {
		ts.gauge.WithLabelValues(st).Set(n)
	}
}

// Backoff of failed trunk registrations.
const (
	trunkRetryMin = 5 * time.Second
	trunkRetryMax = 5 * time.Minute
)

// keepRegistered registers t with its provider and refreshes it before it
// expires, backing off after failures, until ctx ends; then it
// unregisters.
func (s *Server) keepRegistered(ctx context.Context, t *atende.Trunk, states *trunkStates) {
	log := s.log.With("trunk", t.ID, "tenant", t.TenantID)
	record := func(st atende.TrunkState) {
		st.TrunkID, st.TenantID = t.ID, t.TenantID
		states.set(t.ID, st.State)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.cfg.Store.SetTrunkState(wctx, st); err != nil {
			log.Warn("record SIP trunk state", "err", err)
		}
	}
	password, err := s.password(t.TenantID, "trunk_password", t.SealedPassword)
	if err != nil {
		record(atende.TrunkState{State: atende.TrunkFailed, LastError: "cannot open the stored password: " + err.Error()})
		return
	}
	reg := &trunkRegistration{s: s, t: t, password: password, callID: sip.GenerateTagN(24) + "@atende"}
	record(atende.TrunkState{State: atende.TrunkRegistering})
	backoff := trunkRetryMin
	for {
		granted, err := reg.register(ctx, t.Expiry)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		if err != nil {
			log.Warn("SIP trunk registration failed", "err", err, "retry_in", backoff)
			record(atende.TrunkState{State: atende.TrunkFailed, LastError: truncate(err.Error(), 500)})
			wait, backoff = backoff, min(backoff*2, trunkRetryMax)
		} else {
			record(atende.TrunkState{State: atende.TrunkRegistered, Expires: time.Now().Add(granted)})
			backoff = trunkRetryMin
			// Refresh ahead of expiry, leaving time for a retry or two.
			wait = max(granted-min(granted/4, time.Minute), time.Second)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Best effort: the provider forgets us now rather than at expiry.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := reg.register(uctx, 0); err != nil {
		log.Debug("SIP trunk unregister", "err", err)
	}
	record(atende.TrunkState{State: atende.TrunkOff})
}

// trunkRegistration is one trunk's registration: the same Call-ID and a
// growing CSeq across refreshes (RFC 3261 10.2.4).
type trunkRegistration struct {
	s        *Server
	t        *atende.Trunk
	password string
	callID   string
	cseq     uint32
}

// register sends one REGISTER (answering a digest challenge) asking for
// expires seconds, and returns the time the provider granted.
func (r *trunkRegistration) register(ctx context.Context, expires int) (time.Duration, error) {
	t := r.t
	domain := t.Domain
	if domain == "" {
		domain = t.Host
	}
	transport := t.Transport
	if r.s.ls.Addr(transport) == "" && transport == UDP && r.s.ls.Addr(TCP) != "" {
		transport = TCP
	}
	local := r.s.ls.Addr(transport)
	if local == "" && transport != TLS {
		return 0, fmt.Errorf("no %s listener to register from", strings.ToUpper(transport))
	}
	_, port := splitHostPort(local)
	host := r.s.advertisedHost(transport)

	aor := sip.Uri{Scheme: "sip", User: t.Username, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	from := &sip.FromHeader{Address: aor}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&callID)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	contact := sip.Uri{Scheme: "sip", User: t.Username, Host: host, Port: port}
	if transport != UDP {
		contact.UriParams = sip.NewParams()
		contact.UriParams.Add("transport", transport)
	}
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetTransport(strings.ToUpper(transport))
	req.SetDestination(net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))

	res, err := r.s.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("REGISTER to %s: %w", req.Destination(), err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		r.cseq++
		req.CSeq().SeqNo = r.cseq
		res, err = r.s.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: t.Username, Password: r.password})
		if err != nil {
			return 0, fmt.Errorf("REGISTER to %s with credentials: %w", req.Destination(), err)
		}
		if c := req.CSeq(); c != nil {
			r.cseq = c.SeqNo
		}
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("the provider answered %d %s", res.StatusCode, res.Reason)
	}
	return grantedExpiry(res, contact, expires), nil
}

// grantedExpiry reads the registration time the provider granted for our
// contact (its expires parameter, else the Expires header), never more
// than asked.
func grantedExpiry(res *sip.Response, contact sip.Uri, asked int) time.Duration {
	granted := asked
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			granted = n
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.User != contact.User || !strings.EqualFold(c.Address.Host, contact.Host) || c.Address.Port != contact.Port {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				granted = n
			}
		}
	}
	return time.Duration(min(granted, asked)) * time.Second
}
