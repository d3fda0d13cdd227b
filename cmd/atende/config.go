package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/atende/atende/internal/secrets"
)

// A setting is one configuration value. It can be given, from strongest to
// weakest, as a flag (--name), an environment variable (ATENDE_NAME), a key of
// the TOML config file (name = ...) or not at all (its default).
type setting struct {
	name    string
	def     string
	metavar string // for --help; empty for a boolean
	usage   string
}

// env is the environment variable that holds the setting.
func (s setting) env() string { return envName(s.name) }

func envName(name string) string {
	return "ATENDE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// settings lists every setting, in the order --help shows them.
var settings = []setting{
	{"addr", ":8080", "HOST:PORT", "address to listen on for HTTP (HTTPS with tls-cert and tls-key)"},
	{"data", "./data", "DIR", "data directory: the SQLite database and media files"},
	{"db", "", "DSN", "database: empty for SQLite in the data directory, sqlite:PATH, or postgres://user:pass@host/db"},
	{"tls-cert", "", "FILE", "TLS certificate (PEM, with any intermediates); needs tls-key"},
	{"tls-key", "", "FILE", "TLS private key (PEM); needs tls-cert"},
	{"log-level", "info", "LEVEL", "log level: debug, info, warn or error"},
	{"log-format", "text", "FORMAT", "log format: text or json (logs go to stderr)"},
	{"demo", "false", "", "seed a demo tenant with sample data on first start"},
	{"public-url", "", "URL", "URL users open, for printed links (default: derived from addr)"},
	{"shutdown-timeout", "15s", "DURATION", "how long to let in-flight requests finish on SIGTERM/SIGINT"},
	{"node-id", "", "NAME", "this node's name in routing leases (default: the host name); keep it stable across restarts"},
	{"smtp-addr", "", "HOST:PORT", "address of atende's SMTP receiving server for inbound email, e.g. :25 (default: off); STARTTLS with tls-cert and tls-key"},
	{"smtp-domain", "", "NAME", "name the SMTP receiving server greets with (default: the host name)"},
	{"secret-key", "", "KEY", "key that encrypts stored credentials (mailbox passwords, DKIM keys): 64 hex digits, e.g. openssl rand -hex 32; overrides secret-key-file"},
	{"secret-key-file", "", "FILE", "file holding the secret key (default: DATA/secret.key, created on first start; back it up with the database)"},
	{"sip-udp", ":5060", "HOST:PORT", "address to listen on for SIP over UDP (phones, trunks); empty turns it off"},
	{"sip-tcp", ":5060", "HOST:PORT", "address to listen on for SIP over TCP; empty turns it off"},
	{"sip-tls", "", "HOST:PORT", "address to listen on for SIP over TLS, e.g. :5061, with tls-cert and tls-key (default: off)"},
	{"sip-ws", "", "HOST:PORT", "address to listen on for SIP over WebSocket (RFC 7118), e.g. :5066 (default: off)"},
	{"sip-external-host", "", "HOST", "host name or IP address phones and providers reach this node at, when behind NAT (default: the listening address)"},
	{"webhook-allow-loopback", "false", "", "let webhooks reach loopback addresses, over plain http too (for tests and local development only; never in production)"},
	{"debug-addr", "", "HOST:PORT", "loopback address for Go's profiling endpoints (/debug/pprof/), e.g. 127.0.0.1:6060 (default: off)"},
}

func settingByName(name string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.name == name })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// Config is the validated configuration of a command.
type Config struct {
	File            string // the config file read, if any
	Addr            string
	DataDir         string
	DB              string
	TLSCert         string
	TLSKey          string
	LogLevel        slog.Level
	LogFormat       string
	Demo            bool
	PublicURL       string // empty: derived from the listening address
	ShutdownTimeout time.Duration
	NodeID          string
	SMTPAddr        string // empty: no SMTP receiving server
	SMTPDomain      string
	SecretKey       string // the parsed key bytes; empty: read (or create) SecretKeyFile
	SecretKeyFile   string
	SIPUDP          string // empty: off
	SIPTCP          string
	SIPTLS          string
	SIPWS           string
	SIPExternalHost string
	// WebhookAllowLoopback lets webhooks reach 127.0.0.1 and ::1.
	WebhookAllowLoopback bool
	DebugAddr            string // empty: no profiling listener
}

// TLS reports whether the server serves HTTPS itself.
func (c *Config) TLS() bool { return c.TLSCert != "" }

// flagValue is a flag that remembers whether it was given.
type flagValue struct {
	s      string
	set    bool
	isBool bool
}

func (v *flagValue) String() string     { return v.s }
func (v *flagValue) Set(s string) error { v.s, v.set = s, true; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v.isBool }

// configFlags are the settings a command accepts, registered on its FlagSet.
type configFlags struct {
	names    []string
	vals     map[string]*flagValue
	defaults map[string]string // the command's own defaults, over the settings'
}

// setDefault gives a setting another default for this command.
func (cf *configFlags) setDefault(name, value string) { cf.defaults[name] = value }

func (cf *configFlags) defaultOf(s setting) string {
	if d, ok := cf.defaults[s.name]; ok {
		return d
	}
	return s.def
}

// addConfigFlags registers --config and the named settings on fs. A command
// accepts only the settings it uses; the config file and the environment may
// hold the others (one file serves every command).
func addConfigFlags(fs *flag.FlagSet, names ...string) *configFlags {
	cf := &configFlags{names: names, vals: map[string]*flagValue{}, defaults: map[string]string{}}
	v := &flagValue{}
	cf.vals["config"] = v
	fs.Var(v, "config", "")
	for _, n := range names {
		s, ok := settingByName(n)
		if !ok {
			panic("unknown setting " + n)
		}
		v := &flagValue{isBool: s.metavar == ""}
		cf.vals[n] = v
		fs.Var(v, n, s.usage)
	}
	return cf
}

// usage writes the help of the command's settings.
func (cf *configFlags) usage(w io.Writer) {
	fmt.Fprintf(w, "Settings (flag > environment > config file > default):\n")
	fmt.Fprintf(w, "  --config FILE\n        TOML config file with any of the settings below as keys, e.g. log-level = \"debug\"\n        env ATENDE_CONFIG\n")
	for _, n := range cf.names {
		s, _ := settingByName(n)
		arg := ""
		if s.metavar != "" {
			arg = " " + s.metavar
		}
		def := cf.defaultOf(s)
		if def == "" {
			def = "none"
		} else {
			def = strconv.Quote(def)
		}
		fmt.Fprintf(w, "  --%s%s\n        %s\n        env %s, default %s\n", s.name, arg, s.usage, s.env(), def)
	}
}

// source says where a setting's value came from, for error messages.
type source int

const (
	fromDefault source = iota
	fromFile
	fromEnv
	fromFlag
)

func (s source) String() string {
	return [...]string{"the default", "the config file", "the environment", "the command line"}[s]
}

// resolve merges flags, environment, config file and defaults and validates
// the result. It must be called after fs.Parse.
func (cf *configFlags) resolve(getenv func(string) string) (Config, error) {
	cfg := Config{}
	raw := map[string]string{}
	src := map[string]source{}
	for _, s := range settings {
		raw[s.name], src[s.name] = cf.defaultOf(s), fromDefault
	}

	cfg.File = getenv("ATENDE_CONFIG")
	if v := cf.vals["config"]; v.set {
		cfg.File = v.s
	}
	if cfg.File != "" {
		file, err := readConfigFile(cfg.File)
		if err != nil {
			return cfg, err
		}
		for k, v := range file {
			raw[k], src[k] = v, fromFile
		}
	}
	for _, s := range settings {
		if v, ok := lookupEnv(getenv, s.env()); ok {
			raw[s.name], src[s.name] = v, fromEnv
		}
	}
	for _, n := range cf.names {
		if v := cf.vals[n]; v.set {
			raw[n], src[n] = v.s, fromFlag
		}
	}

	var errs []error
	bad := func(name, format string, args ...any) {
		s, _ := settingByName(name)
		errs = append(errs, fmt.Errorf("invalid setting %s (%s): %s (from %s)", name, s.env(), fmt.Sprintf(format, args...), src[name]))
	}
	wants := func(name string) bool { return slices.Contains(cf.names, name) }

	if wants("addr") {
		cfg.Addr = raw["addr"]
		if err := checkAddr(cfg.Addr); err != nil {
			bad("addr", "%v; want HOST:PORT such as :8080 or 127.0.0.1:8080, got %q", err, cfg.Addr)
		}
	}
	if wants("data") {
		cfg.DataDir = strings.TrimSpace(raw["data"])
		if cfg.DataDir == "" {
			bad("data", "must not be empty")
		}
	}
	if wants("db") {
		cfg.DB = strings.TrimSpace(raw["db"])
		if err := checkDSN(cfg.DB); err != nil {
			bad("db", "%v", err)
		}
	}
	if wants("tls-cert") {
		cfg.TLSCert, cfg.TLSKey = raw["tls-cert"], raw["tls-key"]
		switch {
		case cfg.TLSCert != "" && cfg.TLSKey == "":
			bad("tls-cert", "is set but tls-key (ATENDE_TLS_KEY) is not; set both or neither")
		case cfg.TLSCert == "" && cfg.TLSKey != "":
			bad("tls-key", "is set but tls-cert (ATENDE_TLS_CERT) is not; set both or neither")
		case cfg.TLSCert != "":
			if _, err := os.Stat(cfg.TLSCert); err != nil {
				bad("tls-cert", "cannot read %s: %v", cfg.TLSCert, unwrapPathError(err))
			} else if _, err := os.Stat(cfg.TLSKey); err != nil {
				bad("tls-key", "cannot read %s: %v", cfg.TLSKey, unwrapPathError(err))
			} else if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
				bad("tls-cert", "cannot load the certificate and key: %v", err)
			}
		}
	}
	if wants("log-level") {
		switch lv := strings.ToLower(raw["log-level"]); lv {
		case "debug", "info", "warn", "error":
			_ = cfg.LogLevel.UnmarshalText([]byte(lv))
		default:
			bad("log-level", "must be one of debug, info, warn, error; got %q", raw["log-level"])
		}
	}
	if wants("log-format") {
		cfg.LogFormat = strings.ToLower(raw["log-format"])
		if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
			bad("log-format", "must be one of text, json; got %q", raw["log-format"])
		}
	}
	if wants("demo") {
		b, err := strconv.ParseBool(raw["demo"])
		if err != nil {
			bad("demo", "must be true or false; got %q", raw["demo"])
		}
		cfg.Demo = b
	}
	if wants("public-url") {
		cfg.PublicURL = strings.TrimRight(raw["public-url"], "/")
		if cfg.PublicURL != "" {
			u, err := url.Parse(cfg.PublicURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("public-url", "must be an http:// or https:// URL such as https://atende.example.com; got %q", raw["public-url"])
			}
		}
	}
	if wants("shutdown-timeout") {
		d, err := time.ParseDuration(raw["shutdown-timeout"])
		switch {
		case err != nil:
			bad("shutdown-timeout", "must be a duration such as 15s or 1m; got %q", raw["shutdown-timeout"])
		case d <= 0:
			bad("shutdown-timeout", "must be positive; got %q", raw["shutdown-timeout"])
		}
		cfg.ShutdownTimeout = d
	}
	if wants("node-id") {
		cfg.NodeID = strings.TrimSpace(raw["node-id"])
		if cfg.NodeID == "" {
			cfg.NodeID, _ = os.Hostname()
		}
		if cfg.NodeID == "" || len(cfg.NodeID) > 100 {
			bad("node-id", "must be 1-100 characters; got %q", raw["node-id"])
		}
	}
	if wants("smtp-addr") {
		cfg.SMTPAddr = strings.TrimSpace(raw["smtp-addr"])
		if cfg.SMTPAddr != "" {
			if err := checkAddr(cfg.SMTPAddr); err != nil {
				bad("smtp-addr", "%v; want HOST:PORT such as :25 or 127.0.0.1:2525, or empty to turn it off; got %q", err, cfg.SMTPAddr)
			}
		}
	}
	if wants("smtp-domain") {
		cfg.SMTPDomain = strings.TrimSpace(raw["smtp-domain"])
	}
	if wants("secret-key") {
		// Never repeat the key in a message: it is a secret.
		if k := strings.TrimSpace(raw["secret-key"]); k != "" {
			key, err := secrets.ParseKey(k)
			if err != nil {
				bad("secret-key", "%v", err)
			}
			cfg.SecretKey = string(key)
		}
	}
	for _, sip := range []struct {
		name string
		dst  *string
	}{{"sip-udp", &cfg.SIPUDP}, {"sip-tcp", &cfg.SIPTCP}, {"sip-tls", &cfg.SIPTLS}, {"sip-ws", &cfg.SIPWS}} {
		if !wants(sip.name) {
			continue
		}
		*sip.dst = strings.TrimSpace(raw[sip.name])
		if *sip.dst == "" {
			continue
		}
		if err := checkAddr(*sip.dst); err != nil {
			bad(sip.name, "%v; want HOST:PORT such as :5060, or empty to turn it off; got %q", err, *sip.dst)
		}
	}
	if cfg.SIPTLS != "" && cfg.TLSCert == "" {
		bad("sip-tls", "needs tls-cert and tls-key (ATENDE_TLS_CERT, ATENDE_TLS_KEY)")
	}
	if wants("sip-external-host") {
		cfg.SIPExternalHost = strings.TrimSpace(raw["sip-external-host"])
		if strings.ContainsAny(cfg.SIPExternalHost, " :/@;") && net.ParseIP(cfg.SIPExternalHost) == nil {
			bad("sip-external-host", "must be a host name or IP address without port; got %q", cfg.SIPExternalHost)
		}
	}
	if wants("webhook-allow-loopback") {
		b, err := strconv.ParseBool(raw["webhook-allow-loopback"])
		if err != nil {
			bad("webhook-allow-loopback", "must be true or false; got %q", raw["webhook-allow-loopback"])
		}
		cfg.WebhookAllowLoopback = b
	}
	if wants("debug-addr") {
		cfg.DebugAddr = strings.TrimSpace(raw["debug-addr"])
		if cfg.DebugAddr != "" {
			if err := checkLoopbackAddr(cfg.DebugAddr); err != nil {
				bad("debug-addr", "%v; want a loopback HOST:PORT such as 127.0.0.1:6060, or empty to turn it off; got %q", err, cfg.DebugAddr)
			}
		}
	}
	if wants("secret-key-file") {
		cfg.SecretKeyFile = strings.TrimSpace(raw["secret-key-file"]) // empty: DATA/secret.key
	}
	return cfg, errors.Join(errs...)
}

// lookupEnv treats an empty variable as unset, as shells and container
// runtimes commonly leave them.
func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// readConfigFile reads a TOML file whose keys are setting names.
func readConfigFile(path string) (map[string]string, error) {
	var m map[string]any
	if _, err := toml.DecodeFile(path, &m); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("config file %s: %v", path, err)
		}
		return nil, fmt.Errorf("invalid setting config (ATENDE_CONFIG): cannot read %s: %v", path, unwrapPathError(err))
	}
	out := map[string]string{}
	var known []string
	for _, s := range settings {
		known = append(known, s.name)
	}
	for k, v := range m {
		if _, ok := settingByName(k); !ok {
			return nil, fmt.Errorf("config file %s: unknown key %q; known keys: %s", path, k, strings.Join(known, ", "))
		}
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool, int64, float64:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("config file %s: key %q must be a string, number or boolean", path, k)
		}
	}
	return out, nil
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not a HOST:PORT address")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

// checkDSN accepts what store.Open accepts. It never repeats the DSN, which
// may hold a password.
func checkDSN(dsn string) error {
	switch {
	case dsn == "":
		return nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("not a valid postgres:// URL")
		}
		if u.Host == "" {
			return errors.New("postgres:// URL has no host")
		}
		return nil
	case strings.HasPrefix(dsn, "sqlite:"), strings.HasPrefix(dsn, "file:"):
		if strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:") == "" {
			return errors.New("sqlite: needs a path, e.g. sqlite:/var/lib/atende/atende.db (or leave db empty)")
		}
		return nil
	default:
		scheme := "none"
		if i := strings.Index(dsn, ":"); i > 0 {
			scheme = dsn[:i]
		}
		return fmt.Errorf("must be empty (SQLite in the data directory), sqlite:PATH or postgres://...; got scheme %q", scheme)
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// defaultPublicURL is the URL to print when public-url is not set: the
// listening address, with localhost for a wildcard host.
func defaultPublicURL(listenAddr string, useTLS bool) string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + bracketIPv6(host)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func bracketIPv6(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}
