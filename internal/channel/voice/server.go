package voice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Transports a listener can serve.
const (
	UDP = "udp"
	TCP = "tcp"
	TLS = "tls"
	WS  = "ws"
)

// ListenSpec asks for one listener.
type ListenSpec struct {
	Transport string // udp, tcp, tls or ws
	Addr      string // host:port
}

// Listeners are the open sockets of the SIP server. They are opened before
// anything else starts, so a busy port fails the start at once.
type Listeners struct {
	list []listener
}

type listener struct {
	transport string
	udp       net.PacketConn
	stream    net.Listener
}

func (l listener) addr() net.Addr {
	if l.udp != nil {
		return l.udp.LocalAddr()
	}
	return l.stream.Addr()
}

func (l listener) close() error {
	if l.udp != nil {
		return l.udp.Close()
	}
	return l.stream.Close()
}

// ListenError names the listener that could not open.
type ListenError struct {
	Spec ListenSpec
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("cannot listen for SIP over %s on %s: %v", strings.ToUpper(e.Spec.Transport), e.Spec.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Listen opens every listener in specs; TLS listeners need tlsConf. On
// error nothing stays open.
func Listen(specs []ListenSpec, tlsConf *tls.Config) (*Listeners, error) {
	ls := &Listeners{}
	for _, sp := range specs {
		var l listener
		var err error
		l.transport = sp.Transport
		switch sp.Transport {
		case UDP:
			l.udp, err = net.ListenPacket("udp", sp.Addr)
		case TCP, WS:
			l.stream, err = net.Listen("tcp", sp.Addr)
		case TLS:
			if tlsConf == nil {
				err = errors.New("no TLS certificate configured")
			} else {
				l.stream, err = tls.Listen("tcp", sp.Addr, tlsConf)
			}
		default:
			err = fmt.Errorf("unknown transport %q", sp.Transport)
		}
		if err != nil {
			ls.Close()
			return nil, &ListenError{Spec: sp, Err: err}
		}
		ls.list = append(ls.list, l)
	}
	return ls, nil
}

// Addrs lists the listeners as "transport addr", e.g. "udp 127.0.0.1:5060".
func (ls *Listeners) Addrs() []string {
	var out []string
	for _, l := range ls.list {
		out = append(out, l.transport+" "+l.addr().String())
	}
	return out
}

// Addr returns the bound address of the first listener of transport.
func (ls *Listeners) Addr(transport string) string {
	for _, l := range ls.list {
		if l.transport == transport {
			return l.addr().String()
		}
	}
	return ""
}

// Close closes every listener.
func (ls *Listeners) Close() error {
	var errs []error
	for _, l := range ls.list {
		errs = append(errs, l.close())
	}
	return errors.Join(errs...)
}

// Config configures the SIP server.
type Config struct {
	Store   Store
	Secrets *secrets.Box
	// Handler takes identified calls; nil: they are answered 480.
	Handler CallHandler
	// ExternalHost is the address phones and providers reach this node at
	// (behind NAT); empty: the listeners' own address.
	ExternalHost string
	// Node names this node in the registrations it holds.
	Node   string
	Logger *slog.Logger
	// Metrics, when set, receives the server's metrics.
	Metrics prometheus.Registerer
	// MinExpires and MaxExpires bound registrations (RFC 3261 10.3); the
	// defaults are 60 s and 3600 s.
	MinExpires, MaxExpires time.Duration
	// NonceTTL is how long a digest challenge is good for (default 5 min).
	NonceTTL time.Duration
	// LimitRate and LimitBurst bound unauthenticated REGISTER and INVITE per
	// source IP (defaults 2/s, burst 30).
	LimitRate, LimitBurst float64
	// TrunkReload is how often trunks are read again (default 5 s: a new
	// or changed trunk takes calls within that).
	TrunkReload time.Duration
}

// Server is the SIP server of one node.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ls     *Listeners
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dg     *diago.Diago

	nonces  *nonces
	limit   *limiter
	domains *domainCache
	binds   *bindingCache
	trunks  *trunkSet
	pwMu    sync.Mutex
	pwCache map[string]string // sealed -> plain, for digest checks

	calls   sync.Map // inviteKey -> *Call, while diago sets up the dialog
	metrics *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New builds the server on open listeners; Start serves them.
func New(cfg Config, ls *Listeners) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinExpires == 0 {
		cfg.MinExpires = time.Minute
	}
	if cfg.MaxExpires == 0 {
		cfg.MaxExpires = time.Hour
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = 5 * time.Minute
	}
	if cfg.LimitRate == 0 {
		cfg.LimitRate, cfg.LimitBurst = 2, 30
	}
	if cfg.TrunkReload == 0 {
		cfg.TrunkReload = 5 * time.Second
	}
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ls: ls,
		nonces: newNonces(cfg.NonceTTL), limit: newLimiter(cfg.LimitRate, cfg.LimitBurst),
		domains: newDomainCache(cfg.Store), binds: newBindingCache(cfg.Store), trunks: &trunkSet{},
		pwCache: map[string]string{}, metrics: newMetrics(cfg.Metrics)}
	sipLog := cfg.Logger.With("layer", "sip")
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("atende"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)))
	if err != nil {
		return nil, fmt.Errorf("SIP user agent: %w", err)
	}
	s.ua = ua
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog)); err != nil {
		ua.Close()
		return nil, err
	}
	clientOpts := []sipgo.ClientOption{sipgo.WithClientLogger(sipLog)}
	if h := s.advertisedHost(UDP); h != "" {
		clientOpts = append(clientOpts, sipgo.WithClientHostname(h))
	}
	if s.client, err = sipgo.NewClient(ua, clientOpts...); err != nil {
		ua.Close()
		return nil, err
	}
	opts := []diago.DiagoOption{diago.WithServer(s.srv), diago.WithLogger(sipLog),
		diago.WithServerRequestMiddleware(s.inviteMiddleware)}
	for _, l := range ls.list {
		host, port := splitHostPort(l.addr().String())
		opts = append(opts, diago.WithTransport(diago.Transport{ID: l.transport + " " + l.addr().String(),
			Transport: l.transport, BindHost: host, BindPort: port, ExternalHost: cfg.ExternalHost}))
	}
	s.dg = diago.NewDiago(ua, opts...)
	s.dg.HandleFunc(s.serveDialog)
	// After diago, whose own handlers these replace.
	s.srv.OnRegister(s.checked(s.handleRegister))
	s.srv.OnOptions(s.checked(s.handleOptions))
	return s, nil
}

// Start serves the listeners and starts the trunks and the sweeper. It
// returns at once; Close stops everything.
func (s *Server) Start(ctx context.Context) {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, l := range s.ls.list {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var err error
			switch l.transport {
			case UDP:
				err = s.srv.ServeUDP(l.udp)
			case TCP:
				err = s.srv.ServeTCP(l.stream)
			case TLS:
				err = s.srv.ServeTLS(l.stream)
			case WS:
				err = s.srv.ServeWS(l.stream)
			}
			if err != nil && s.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("SIP listener stopped", "transport", l.transport, "addr", l.addr().String(), "err", err)
			}
		}()
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.runTrunks(s.ctx) }()
	go func() { defer s.wg.Done(); s.sweep(s.ctx) }()
}

// Close unregisters the trunks, stops serving and closes the listeners.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		err = s.ls.Close()
		s.wg.Wait()
		err = errors.Join(err, s.ua.Close())
	})
	return err
}

// Listeners returns the server's listeners.
func (s *Server) Listeners() *Listeners { return s.ls }

// sweep forgets quiet rate-limit entries and prunes expired registrations.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.limit.sweep()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if _, err := s.cfg.Store.PruneSIPBindings(pctx, time.Now()); err != nil && ctx.Err() == nil {
				s.log.Warn("prune SIP registrations", "err", err)
			}
			cancel()
		}
	}
}

// advertisedHost is the host to put in Contact and Via for transport.
func (s *Server) advertisedHost(transport string) string {
	if s.cfg.ExternalHost != "" {
		return s.cfg.ExternalHost
	}
	host, _ := splitHostPort(s.ls.Addr(transport))
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if ip, _, err := sip.ResolveInterfacesIP("ip4", nil); err == nil {
			return ip.String()
		}
	}
	return host
}

func splitHostPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// sourceIP is the address a request came from (the socket's peer, not
// what the Via says).
func sourceIP(req *sip.Request) netip.Addr {
	host, _ := splitHostPort(req.Source())
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// respond answers req; a failed write (the peer went away) is only logged.
func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("SIP respond", "code", code, "err", err)
	}
}

// reject answers a refused request and counts why.
func (s *Server) reject(req *sip.Request, tx sip.ServerTransaction, code int, reason, why string, headers ...sip.Header) {
	s.metrics.rejected.WithLabelValues(string(req.Method), why).Inc()
	s.respond(req, tx, code, reason, headers...)
}

// admit applies the rate limit of unauthenticated requests from the
// request's source; it answers or drops the request when it is over.
func (s *Server) admit(req *sip.Request, tx sip.ServerTransaction) bool {
	v, wait := s.limit.check(sourceIP(req).String())
	switch v {
	case refuse:
		secs := int(wait/time.Second) + 1
		s.reject(req, tx, 503, "Service Unavailable", "rate_limited", sip.NewHeader("Retry-After", strconv.Itoa(secs)))
		return false
	case drop:
		s.metrics.rejected.WithLabelValues(string(req.Method), "rate_limited_dropped").Inc()
		return false
	}
	return true
}

// unauthenticated spends the source's rate-limit token for a request that
// did not prove who sent it.
func (s *Server) unauthenticated(req *sip.Request) { s.limit.spend(sourceIP(req).String()) }

// maxHeaderBytes bounds the header values of a request; real ones stay
// far below (a large INVITE has a couple of kilobytes).
const maxHeaderBytes = 16 << 10

// wellFormed answers a request that lacks what RFC 3261 section 8.1.1
// requires, or that is not UTF-8 or too large, with a 4xx/5xx and reports
// false. The parser lets such requests through; handlers must not see them.
func (s *Server) wellFormed(req *sip.Request, tx sip.ServerTransaction) bool {
	bad := func(code int, reason, why string) bool {
		if !req.IsAck() { // an ACK is never answered
			s.reject(req, tx, code, reason, why)
		}
		return false
	}
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return bad(400, "Missing Mandatory Header", "missing_header")
	}
	if req.CSeq().MethodName != req.Method && !(req.IsAck() && req.CSeq().MethodName == sip.INVITE) {
		return bad(400, "CSeq Method Does Not Match", "bad_cseq")
	}
	size := 0
	for _, h := range req.Headers() {
		v := h.Value()
		size += len(v)
		if !utf8.ValidString(v) {
			return bad(400, "Bad Request (not UTF-8)", "not_utf8")
		}
	}
	if size > maxHeaderBytes {
		return bad(513, "Message Too Large", "too_large")
	}
	return true
}

// checked runs h on well-formed requests only.
func (s *Server) checked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if s.wellFormed(req, tx) {
			h(req, tx)
		}
	}
}

// handleOptions answers keep-alives and capability queries.
func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 200, "OK",
		sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER, NOTIFY"),
		sip.NewHeader("Accept", "application/sdp"))
}

// password opens a sealed SIP password, remembering the result: digest
// checks happen on every REGISTER refresh.
func (s *Server) password(tenantID, field, sealed string) (string, error) {
	s.pwMu.Lock()
	pw, ok := s.pwCache[sealed]
	s.pwMu.Unlock()
	if ok {
		return pw, nil
	}
	pw, err := s.cfg.Secrets.Open(sealed, SecretContext(tenantID, field))
	if err != nil {
		return "", err
	}
	s.pwMu.Lock()
	if len(s.pwCache) > 100000 {
		clear(s.pwCache)
	}
	s.pwCache[sealed] = pw
	s.pwMu.Unlock()
	return pw, nil
}

// domainCache maps SIP domains to tenants for a short while, so a REGISTER
// flood does not become a query flood.
type domainCache struct {
	st  Store
	mu  sync.Mutex
	m   map[string]domainEntry
	ttl time.Duration
}

type domainEntry struct {
	tenantID string // empty: no such domain
	at       time.Time
}

func newDomainCache(st Store) *domainCache {
	return &domainCache{st: st, m: map[string]domainEntry{}, ttl: 10 * time.Second}
}

// tenant returns the tenant of domain, or "" when none has it.
func (c *domainCache) tenant(ctx context.Context, domain string) (string, error) {
	domain = strings.ToLower(domain)
	c.mu.Lock()
	e, ok := c.m[domain]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.tenantID, nil
	}
	id, err := c.st.TenantBySIPDomain(ctx, domain)
	if err != nil && atende.ErrorCode(err) != atende.ENotFound {
		return "", err
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[domain] = domainEntry{tenantID: id, at: time.Now()}
	c.mu.Unlock()
	return id, nil
}

// bindingCache keeps the registrations of recently called users; the store
// has them all, for every node.
type bindingCache struct {
	st  Store
	mu  sync.Mutex
	m   map[string]bindingEntry
	ttl time.Duration
}

type bindingEntry struct {
	list []atende.SIPBinding
	at   time.Time
}

func newBindingCache(st Store) *bindingCache {
	return &bindingCache{st: st, m: map[string]bindingEntry{}, ttl: 5 * time.Second}
}

func (c *bindingCache) get(ctx context.Context, tenantID, username string) ([]atende.SIPBinding, error) {
	key := tenantID + "/" + username
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	now := time.Now()
	if !ok || now.Sub(e.at) >= c.ttl {
		list, err := c.st.SIPBindings(ctx, tenantID, username)
		if err != nil {
			return nil, err
		}
		e = bindingEntry{list: list, at: now}
		c.mu.Lock()
		if len(c.m) > 10000 {
			clear(c.m)
		}
		c.m[key] = e
		c.mu.Unlock()
	}
	var live []atende.SIPBinding
	for _, b := range e.list {
		if b.Expires.After(now) {
			live = append(live, b)
		}
	}
	return live, nil
}

func (c *bindingCache) forget(tenantID, username string) {
	c.mu.Lock()
	delete(c.m, tenantID+"/"+username)
	c.mu.Unlock()
}

var _ io.Closer = (*Server)(nil)
