// Package httpapi serves atende's REST API under /api/v1, the event WebSocket,
// the OpenAPI document and the operational endpoints (/healthz, /readyz,
// /metrics).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/wallboard"
	"github.com/atende/atende/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config wires the API to its dependencies.
type Config struct {
	Store    *store.Store
	Bus      atende.Bus
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here and served at /metrics
	// SecureCookies marks session cookies Secure; set when serving TLS or
	// behind a TLS-terminating proxy.
	SecureCookies bool
	Version       string
	// Router routes tasks; nil on a server that does not run routing.
	Router *routing.Router
	// Secrets encrypts mailbox credentials; nil: none can be stored.
	Secrets *secrets.Box
	// Email composes and queues outgoing email; nil: the composer answers 503.
	Email *email.Outbound
	// UI serves the web app at "/": every GET the API and the operational
	// endpoints do not answer, except under /api/; nil: no web app.
	UI http.Handler
	// Webhooks decides which addresses webhooks may be registered for;
	// nil: public https addresses only.
	Webhooks *webhook.Guard
	// Wallboard keeps the supervisors' live wallboards; nil: the server
	// runs its own.
	Wallboard *wallboard.Hub
}

// Server is the HTTP handler of atende.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	log    *slog.Logger
	routes []route

	auth           *authCache
	loginByAccount *auth.Limiter
	loginByIP      *auth.Limiter

	reqDuration *prometheus.HistogramVec
	wsClients   prometheus.Gauge
	// eventJSON encodes each streamed event once for every desktop.
	eventJSON *eventJSON

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	wallboard *wallboard.Hub

	openapiOnce sync.Once
	openapiDoc  []byte
}

// New builds the HTTP handler and starts its background sweeps.
func New(cfg Config) (*Server, error) {
	s := &Server{
		cfg:            cfg,
		mux:            http.NewServeMux(),
		log:            cfg.Logger,
		auth:           newAuthCache(),
		loginByAccount: auth.NewLimiter(),
		loginByIP:      auth.NewLimiter(),
		stop:           make(chan struct{}),
		eventJSON:      newEventJSON(eventJSONSize),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// An address may try more accounts than one account gets tries: an
	// office behind one NAT shares an IP.
	s.loginByIP.Free = 30
	s.reqDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atende_http_request_duration_seconds",
		Help:    "HTTP requests by route pattern and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "status"})
	s.wsClients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "atende_websocket_clients",
		Help: "Connected event-stream WebSocket clients.",
	})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.reqDuration, s.wsClients)
	}
	s.routesAuth()
	s.routesTenant()
	s.routesUsers()
	s.routesConfig()
	s.routesContacts()
	s.routesConversations()
	s.routesCanned()
	s.routesEvents()
	s.routesTasks()
	s.routesEmail()
	s.routesEmailView()
	s.routesWebchat()
	s.routesSurveys()
	s.routesReports()
	s.routesWallboard()
	s.routesWebhooks()
	s.routesFlows()
	s.routesVoice()
	s.routesOps()
	s.wg.Add(1)
	go s.sweep()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("X-Frame-Options", "DENY")
	if s.cfg.SecureCookies {
		hdr.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" && strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
		// The router's own 404 and 405 answers are plain text; the API
		// answers problem+json.
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			s.problem(w, r, "method_not_allowed", r.Method+" is not allowed here; allowed: "+probe.header.Get("Allow"), "")
		} else {
			s.problem(w, r, atende.ENotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path, "")
		}
		return
	}
	if pattern == "" && s.cfg.UI != nil && r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
		// The web app is the fallback, not a "/" route on the mux: a route
		// matching everything would hide the router's 405 answers for the
		// API and make every API miss look like a match.
		s.cfg.UI.ServeHTTP(w, r)
		return
	}
	// ServeMux.ServeHTTP, not h: it also sets the path wildcards.
	s.mux.ServeHTTP(w, r)
}

// headerProbe captures what the router would answer without sending it.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

// Close stops background work and ends event streams.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
}

// sweep forgets stale rate-limit entries and expired sessions and keys.
func (s *Server) sweep() {
	defer s.wg.Done()
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.loginByAccount.Sweep()
			s.loginByIP.Sweep()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if _, err := s.cfg.Store.DeleteExpiredSessions(ctx); err != nil {
				s.log.Warn("delete expired sessions", "err", err)
			}
			if err := s.cfg.Store.PruneIdempotencyKeys(ctx, 24*time.Hour); err != nil {
				s.log.Warn("prune idempotency keys", "err", err)
			}
			cancel()
		}
	}
}

// routesOps registers health, readiness, metrics and the OpenAPI document.
func (s *Server) routesOps() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.cfg.Store.Ping(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			s.problem(w, r, "unavailable", "the database does not answer", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": string(s.cfg.Store.Dialect())})
	})
	if s.cfg.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET "+apiPrefix+"/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.OpenAPI())
	})
}
