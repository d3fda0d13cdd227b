package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/demo"
	"github.com/atende/atende/internal/httpapi"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/survey"
	"github.com/atende/atende/internal/wallboard"
	"github.com/atende/atende/internal/webhook"
	"github.com/atende/atende/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The first tenant and administrator made on an empty installation.
const (
	firstTenantName = "Atende"
	firstTenantSlug = "default"
	firstAdminEmail = "admin@atende.local"
	firstAdminName  = "Administrator"
)

var serveSettings = []string{"addr", "data", "db", "tls-cert", "tls-key", "log-level", "log-format", "demo", "public-url", "shutdown-timeout", "node-id",
	"smtp-addr", "smtp-domain", "secret-key", "secret-key-file", "webhook-allow-loopback", "debug-addr",
	"sip-udp", "sip-tcp", "sip-tls", "sip-ws", "sip-external-host"}

func (c *cli) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("atende serve", flag.ContinueOnError)
	cf := addConfigFlags(fs, serveSettings...)
	if err := c.parseFlags(fs, args, func(w io.Writer) {
		fmt.Fprint(w, "Usage: atende serve [settings]\n\n"+
			"Runs the atende server: HTTP API, web app, /healthz, /readyz and /metrics.\n"+
			"The database is migrated on start. On an empty database a first tenant and an\n"+
			"administrator are created and the administrator's password is printed once.\n\n")
		cf.usage(w)
	}); err != nil {
		return err
	}
	cfg, err := cf.resolve(c.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	return c.runServer(ctx, cfg)
}

// runServer runs until ctx ends or SIGINT/SIGTERM arrives, then shuts down
// gracefully.
func (c *cli) runServer(ctx context.Context, cfg Config) error {
	start := time.Now()
	log := newLogger(c.stderr, cfg.LogLevel, cfg.LogFormat)
	bi := readBuildInfo()
	log.Info("starting atende", "version", bi.Version, "commit", bi.Commit, "go", bi.Go, "config_file", cfg.File)

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	// Listen first: a busy port fails before anything is written, and the
	// first administrator is never created without its password being shown.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (setting addr, ATENDE_ADDR): %w", cfg.Addr, err)
	}
	defer ln.Close()
	sipListeners, err := listenVoice(cfg)
	if err != nil {
		return err
	}
	defer sipListeners.Close()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = defaultPublicURL(ln.Addr().String(), cfg.TLS())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	events := bus.NewMemory(bus.MemoryConfig{Logger: log, Metrics: reg})
	defer events.Close()

	st, err := openStore(ctx, cfg, log, events, reg)
	if err != nil {
		return startErr(ctx, log, err)
	}
	defer st.Close()

	// Credentials are printed as soon as they exist, so that no interruption
	// later in the start can lose them.
	first, err := c.setUpFirstStart(ctx, st, log)
	if err != nil {
		return startErr(ctx, log, err)
	}
	if first != nil {
		c.printFirstStart(cfg, publicURL, first)
	}
	var seeded *demo.Result
	if cfg.Demo {
		if seeded, err = seedDemo(ctx, st, log); err != nil {
			return startErr(ctx, log, err)
		}
		if seeded.Created {
			c.printDemo(seeded)
		}
	}

	// One routing engine per tenant, each owning its tenant through a lease
	// named after this node, so a restarted node takes its tenants back at once.
	router := routing.NewRouter(routing.EngineConfig{Holder: cfg.NodeID, Store: st, Bus: events, Logger: log,
		Blending: routing.DefaultBlending(), Metrics: routing.NewMetrics(reg)})
	defer router.Close()
	mail, err := startEmail(ctx, cfg, st, router, log)
	if err != nil {
		return startErr(ctx, log, err)
	}
	defer mail.stop()
	hooks := &webhook.Guard{AllowLoopback: cfg.WebhookAllowLoopback}
	if hooks.AllowLoopback {
		log.Warn("webhooks may reach loopback addresses (setting webhook-allow-loopback): for tests only")
	}
	phone, err := startVoice(ctx, cfg, sipListeners, st, mail.secrets, hooks, reg, log)
	if err != nil {
		return startErr(ctx, log, err)
	}
	defer phone.Close()
	// The supervisors' live wallboards and their alerts, one model per tenant.
	wall := wallboard.NewHub(wallboard.HubConfig{Source: st, Bus: events, Logger: log})
	defer wall.Close()
	api, err := httpapi.New(httpapi.Config{
		Store:         st,
		Bus:           events,
		Logger:        log,
		Registry:      reg,
		SecureCookies: cfg.TLS() || strings.HasPrefix(cfg.PublicURL, "https://"),
		Version:       bi.Version,
		Router:        router,
		Secrets:       mail.secrets,
		Email:         mail.outbound,
		UI:            web.Handler(),
		Webhooks:      hooks,
		Wallboard:     wall,
	})
	if err != nil {
		return fmt.Errorf("build HTTP handler: %w", err)
	}

	srv := &http.Server{
		Handler: api,
		// Slow clients must not hold connections open before sending a
		// request. There is no ReadTimeout or WriteTimeout: they would also
		// cut the long-lived WebSocket streams (the deadlines survive the
		// hijack) and large uploads; handlers set their own deadlines.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.TLS() {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.DebugAddr != "" {
		_, stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			api.Close()
			return err
		}
		defer stopDebug()
	}
	served := make(chan error, 1)
	go func() {
		if cfg.TLS() {
			served <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			served <- srv.Serve(ln)
		}
	}()

	// Start every tenant's routing in the background: timers (offer
	// timeouts, escalations) must run even before anyone calls the API.
	go startRouting(ctx, st, router, log)
	// Interval statistics follow the stored events (internal/report).
	go (&report.Aggregator{Source: st, Policy: &report.StorePolicy{Config: st}, Log: log}).Run(ctx)
	go (&report.FCRTracker{Source: st, Policy: &report.StorePolicy{Config: st}, Log: log}).Run(ctx)
	// Webhooks deliver the stored events to integrators (internal/webhook).
	go (&webhook.Worker{Store: st, Secrets: mail.secrets, Guard: hooks, Holder: cfg.NodeID, Version: bi.Version,
		Log: log.With("component", "webhook")}).Run(ctx)
	// Survey emails are scheduled from the stored events too (internal/survey).
	go (&survey.Sender{Store: st, Media: mail.outbound.Media, Keys: &survey.Keys{Store: st, Box: mail.secrets},
		PublicURL: publicURL, Wake: mail.outbound.Wake, Log: log.With("component", "survey")}).Run(ctx)
	// Alerts are raised whether or not a wallboard is open.
	go startWallboards(ctx, st, wall, log)

	ready := time.Since(start)
	log.Info("ready", "addr", ln.Addr().String(), "url", publicURL, "tls", cfg.TLS(), "took", ready.Round(time.Millisecond))
	c.printReady(cfg, publicURL, first != nil, seeded, ready)

	select {
	case err := <-served:
		// The server stopped by itself: the listener failed.
		api.Close()
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}

	// A second SIGINT/SIGTERM now kills the process the default way.
	stopSignals()
	log.Info("shutting down: no new connections; waiting for in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests did not finish in time; closing their connections", "timeout", cfg.ShutdownTimeout)
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("HTTP server", "err", err)
	}
	api.Close()
	wall.Close()
	phone.Close()
	mail.stop()
	router.Close()
	events.Close()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second))
	return nil
}

// startRouting starts the routing engine of every tenant.
func startRouting(ctx context.Context, st *store.Store, router *routing.Router, log *slog.Logger) {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		log.Error("list tenants for routing", "err", err)
		return
	}
	for _, t := range tenants {
		if ctx.Err() != nil {
			return
		}
		if _, err := router.Engine(ctx, t.ID); err != nil {
			log.Error("start routing", "tenant", t.Slug, "err", err)
		}
	}
}

// startWallboards starts the wallboard model of every tenant.
func startWallboards(ctx context.Context, st *store.Store, hub *wallboard.Hub, log *slog.Logger) {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		log.Error("list tenants for the wallboard", "err", err)
		return
	}
	for _, t := range tenants {
		if ctx.Err() != nil {
			return
		}
		if _, err := hub.Model(ctx, t.ID); err != nil {
			log.Error("start the wallboard", "tenant", t.Slug, "err", err)
		}
	}
}

// openStore opens the configured database and applies pending migrations.
func openStore(ctx context.Context, cfg Config, log *slog.Logger, b atende.Bus, reg prometheus.Registerer) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{DSN: cfg.DB, DataDir: cfg.DataDir, Bus: b, Logger: log, Metrics: reg})
	if err != nil {
		return nil, fmt.Errorf("open database (settings db, data): %w", err)
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	where := "data directory " + cfg.DataDir
	if cfg.DB != "" {
		where = "db setting" // the DSN may hold a password
	}
	log.Info("database ready", "dialect", st.Dialect(), "from", where, "migrations_applied", n)
	return st, nil
}

// firstStart is what setUpFirstStart made: the credentials to show once.
type firstStart struct {
	tenantSlug string
	email      string
	password   string // empty when the installation already had users
}

// setUpFirstStart creates the first tenant and administrator on an empty
// installation (no users anywhere), so that `atende serve` with no set-up
// gives something to log in to. The password is random and only returned,
// never logged.
func (c *cli) setUpFirstStart(ctx context.Context, st *store.Store, log *slog.Logger) (*firstStart, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	tenant, err := firstTenant(ctx, st, c.getenv)
	if err != nil {
		return nil, err
	}
	password := auth.RandomPassword()
	admin := &atende.User{
		Email:  firstAdminEmail,
		Name:   firstAdminName,
		Roles:  []atende.Role{atende.RoleAdmin},
		Active: true,
	}
	if err := st.CreateUser(ctx, cliActor(tenant.ID), admin, password); err != nil {
		return nil, fmt.Errorf("create first administrator: %w", err)
	}
	log.Info("first start: created the first administrator", "tenant", tenant.Slug, "email", admin.Email)

	return &firstStart{tenantSlug: tenant.Slug, email: admin.Email, password: password}, nil
}

// seedDemo creates the demo tenant the first time --demo is given; later
// starts find it and change nothing.
func seedDemo(ctx context.Context, st *store.Store, log *slog.Logger) (*demo.Result, error) {
	t0 := time.Now()
	res, err := demo.Seed(ctx, st, demo.Options{})
	if err != nil {
		return nil, fmt.Errorf("seed demo data (setting demo): %w", err)
	}
	if res.Created {
		log.Info("seeded the demo tenant", "tenant", res.Tenant.Slug, "users", len(res.Users), "took", time.Since(t0).Round(time.Millisecond))
	}
	return res, nil
}

// firstTenant returns the tenant the first administrator belongs to: the
// "default" one, else the oldest one an operator created with `atende admin
// create-tenant`, else a new "default" tenant.
func firstTenant(ctx context.Context, st *store.Store, getenv func(string) string) (*atende.Tenant, error) {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	if i := slices.IndexFunc(tenants, func(t atende.Tenant) bool { return t.Slug == firstTenantSlug }); i >= 0 {
		return &tenants[i], nil
	}
	if len(tenants) > 0 {
		return &tenants[0], nil
	}
	t := &atende.Tenant{
		Name:     firstTenantName,
		Slug:     firstTenantSlug,
		Locale:   localeFromEnv(getenv),
		TimeZone: timeZoneFromEnv(getenv),
	}
	if err := st.CreateTenant(ctx, cliActor(""), t); err != nil {
		return nil, fmt.Errorf("create first tenant: %w", err)
	}
	return t, nil
}

// localeFromEnv picks the first tenant's locale from $LANG (es_MX.UTF-8 gives
// es-MX): Spanish and Portuguese speakers get theirs, everyone else en-US.
func localeFromEnv(getenv func(string) string) string {
	lang := getenv("LC_ALL")
	if lang == "" {
		lang = getenv("LANG")
	}
	lang, _, _ = strings.Cut(lang, ".")
	lang, _, _ = strings.Cut(lang, "@")
	loc := strings.ReplaceAll(lang, "_", "-")
	if slices.Contains(atende.Locales, loc) {
		return loc
	}
	switch {
	case strings.HasPrefix(loc, "es"):
		return "es-ES"
	case strings.HasPrefix(loc, "pt"):
		return "pt-BR"
	}
	return "en-US"
}

// timeZoneFromEnv takes $TZ when it names an IANA zone, else UTC.
func timeZoneFromEnv(getenv func(string) string) string {
	tz := strings.TrimPrefix(getenv("TZ"), ":")
	if tz == "" || tz == "Local" || strings.HasPrefix(tz, "/") {
		return "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "UTC"
	}
	return tz
}

// What follows is printed to stdout, not to the log: passwords must not end
// up in log files.

// printFirstStart shows the first administrator's credentials, once.
func (c *cli) printFirstStart(cfg Config, publicURL string, first *firstStart) {
	w, line := c.stdout, strings.Repeat("=", 72)
	fmt.Fprintf(w, "\n%s\n", line)
	fmt.Fprintf(w, "  atende is set up. Log in as the first administrator:\n\n")
	fmt.Fprintf(w, "    URL:       %s\n", publicURL)
	fmt.Fprintf(w, "    Tenant:    %s\n", first.tenantSlug)
	fmt.Fprintf(w, "    Email:     %s\n", first.email)
	fmt.Fprintf(w, "    Password:  %s\n\n", first.password)
	fmt.Fprintf(w, "  This password is shown only now and is not kept anywhere readable.\n")
	fmt.Fprintf(w, "  To set a new one later:\n    %s\n", resetPasswordCommand(cfg, first.tenantSlug, first.email))
	fmt.Fprintf(w, "%s\n\n", line)
}

// printDemo shows who can log in to the demo tenant just created.
func (c *cli) printDemo(seeded *demo.Result) {
	w, line := c.stdout, strings.Repeat("=", 72)
	fmt.Fprintf(w, "%s\n", line)
	fmt.Fprintf(w, "  Demo tenant %q (tenant %s) has %d users. Some of them:\n\n", seeded.Tenant.Name, seeded.Tenant.Slug, len(seeded.Users))
	seen := map[atende.Role]bool{}
	for _, u := range seeded.Users {
		if len(u.Roles) == 0 || seen[u.Roles[0]] {
			continue
		}
		seen[u.Roles[0]] = true
		fmt.Fprintf(w, "    %-11s %s (%s)\n", u.Roles[0], u.Email, u.Name)
	}
	fmt.Fprintf(w, "\n  Every demo user has the password (shown only now):\n    %s\n", seeded.Password)
	fmt.Fprintf(w, "%s\n\n", line)
}

// printReady tells, at every start, where to go and how to log in.
func (c *cli) printReady(cfg Config, publicURL string, firstStart bool, seeded *demo.Result, ready time.Duration) {
	w := c.stdout
	fmt.Fprintf(w, "atende is ready (%s).\n", ready.Round(time.Millisecond))
	if firstStart {
		fmt.Fprintf(w, "Open %s — log in with the email and password above.\n", publicURL)
	} else {
		fmt.Fprintf(w, "Open %s — log in with your email and password.\n", publicURL)
		fmt.Fprintf(w, "Forgot the administrator password? %s\n", resetPasswordCommand(cfg, firstTenantSlug, firstAdminEmail))
	}
	if seeded != nil && !seeded.Created {
		fmt.Fprintf(w, "Demo tenant: %s. Its users' password was shown when it was created; to set a new one:\n  %s\n",
			seeded.Tenant.Slug, resetPasswordCommand(cfg, seeded.Tenant.Slug, "EMAIL"))
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

// startErr turns a failure caused by SIGINT/SIGTERM during the start into a
// clean exit.
func startErr(ctx context.Context, log *slog.Logger, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		log.Info("interrupted while starting; stopped")
		return nil
	}
	return err
}

// resetPasswordCommand is the command an operator runs to reset a password on
// this same installation.
func resetPasswordCommand(cfg Config, tenant, email string) string {
	cmd := "atende admin reset-password"
	switch {
	case cfg.File != "":
		cmd += " --config " + shellQuote(cfg.File)
	case cfg.DB != "":
		cmd += " --db '...'"
	case cfg.DataDir != "./data":
		cmd += " --data " + shellQuote(cfg.DataDir)
	}
	return cmd + " --tenant " + shellQuote(tenant) + " --email " + shellQuote(email)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./@:=+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cliActor is who the audit log names for changes made from the command line.
func cliActor(tenantID string) atende.Actor {
	a := atende.SystemActor(tenantID)
	a.Name = "atende command line"
	return a
}
