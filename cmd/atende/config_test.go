package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadServeConfig parses args as `atende serve` does, with env as the
// environment.
func loadServeConfig(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("atende serve", flag.ContinueOnError)
	cf := addConfigFlags(fs, serveSettings...)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return cf.resolve(func(k string) string { return env[k] })
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsMakeAWorkingConfig(t *testing.T) {
	cfg, err := loadServeConfig(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := Config{Addr: ":8080", DataDir: "./data", LogLevel: slog.LevelInfo, LogFormat: "text", ShutdownTimeout: 15 * time.Second, NodeID: host,
		SIPUDP: ":5060", SIPTCP: ":5060"}
	if cfg != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestFlagBeatsEnvironmentBeatsFileBeatsDefault(t *testing.T) {
	file := writeFile(t, "atende.toml", `
addr = ":7000"
data = "/from/file"
log-level = "warn"
log-format = "json"
demo = true
shutdown-timeout = "1m"
`)
	env := map[string]string{
		"ATENDE_CONFIG":    file,
		"ATENDE_ADDR":      ":7001",
		"ATENDE_DATA":      "/from/env",
		"ATENDE_LOG_LEVEL": "error",
	}
	cfg, err := loadServeConfig(t, []string{"--addr", ":7002"}, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		setting   string
		got, want any
	}{
		{"addr: flag over env and file", cfg.Addr, ":7002"},
		{"data: env over file", cfg.DataDir, "/from/env"},
		{"log-level: env over file", cfg.LogLevel, slog.LevelError},
		{"log-format: file over default", cfg.LogFormat, "json"},
		{"demo: file over default", cfg.Demo, true},
		{"shutdown-timeout: file over default", cfg.ShutdownTimeout, time.Minute},
		{"public-url: default", cfg.PublicURL, ""},
		{"file recorded", cfg.File, file},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.setting, c.got, c.want)
		}
	}
}

func TestConfigFlagBeatsConfigEnvironment(t *testing.T) {
	envFile := writeFile(t, "env.toml", `addr = ":1111"`)
	flagFile := writeFile(t, "flag.toml", `addr = ":2222"`)
	cfg, err := loadServeConfig(t, []string{"--config", flagFile}, map[string]string{"ATENDE_CONFIG": envFile})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":2222" || cfg.File != flagFile {
		t.Fatalf("addr %q from %q; want :2222 from the --config file", cfg.Addr, cfg.File)
	}
}

func TestBooleanFlagWithoutValue(t *testing.T) {
	cfg, err := loadServeConfig(t, []string{"--demo"}, map[string]string{"ATENDE_DEMO": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Demo {
		t.Fatal("--demo did not win over ATENDE_DEMO=false")
	}
	cfg, err = loadServeConfig(t, []string{"--demo=false"}, map[string]string{"ATENDE_DEMO": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Demo {
		t.Fatal("--demo=false did not win over ATENDE_DEMO=true")
	}
}

func TestEmptyEnvironmentVariableIsUnset(t *testing.T) {
	cfg, err := loadServeConfig(t, nil, map[string]string{"ATENDE_ADDR": ""})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" {
		t.Fatalf("addr = %q; want the default", cfg.Addr)
	}
}

func TestInvalidSettingsNameTheSetting(t *testing.T) {
	certFile, keyFile := writeCert(t)
	garbage := writeFile(t, "garbage.pem", "not a certificate")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string // config file content
		want string // substring of the error
	}{
		{"bad log level from env", nil, map[string]string{"ATENDE_LOG_LEVEL": "verbose"}, "",
			`invalid setting log-level (ATENDE_LOG_LEVEL): must be one of debug, info, warn, error; got "verbose" (from the environment)`},
		{"bad log level from file", nil, nil, `log-level = "loud"`,
			`invalid setting log-level (ATENDE_LOG_LEVEL): must be one of debug, info, warn, error; got "loud" (from the config file)`},
		{"bad log format", []string{"--log-format", "xml"}, nil, "",
			`invalid setting log-format (ATENDE_LOG_FORMAT): must be one of text, json; got "xml" (from the command line)`},
		{"addr without port", []string{"--addr", "localhost"}, nil, "",
			`invalid setting addr (ATENDE_ADDR): not a HOST:PORT address`},
		{"addr with bad port", []string{"--addr", ":99999"}, nil, "",
			`invalid setting addr (ATENDE_ADDR): port must be a number from 0 to 65535`},
		{"tls cert without key", []string{"--tls-cert", certFile}, nil, "",
			`invalid setting tls-cert (ATENDE_TLS_CERT): is set but tls-key (ATENDE_TLS_KEY) is not`},
		{"tls key without cert", nil, map[string]string{"ATENDE_TLS_KEY": keyFile}, "",
			`invalid setting tls-key (ATENDE_TLS_KEY): is set but tls-cert (ATENDE_TLS_CERT) is not`},
		{"unreadable cert", []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", keyFile}, nil, "",
			`invalid setting tls-cert (ATENDE_TLS_CERT): cannot read /nonexistent/cert.pem: no such file or directory`},
		{"unreadable key", []string{"--tls-cert", certFile, "--tls-key", "/nonexistent/key.pem"}, nil, "",
			`invalid setting tls-key (ATENDE_TLS_KEY): cannot read /nonexistent/key.pem`},
		{"cert that is not a certificate", []string{"--tls-cert", garbage, "--tls-key", keyFile}, nil, "",
			`invalid setting tls-cert (ATENDE_TLS_CERT): cannot load the certificate and key`},
		{"bad demo", nil, map[string]string{"ATENDE_DEMO": "perhaps"}, "",
			`invalid setting demo (ATENDE_DEMO): must be true or false; got "perhaps"`},
		{"bad shutdown timeout", []string{"--shutdown-timeout", "15"}, nil, "",
			`invalid setting shutdown-timeout (ATENDE_SHUTDOWN_TIMEOUT): must be a duration such as 15s or 1m; got "15"`},
		{"negative shutdown timeout", []string{"--shutdown-timeout", "-1s"}, nil, "",
			`invalid setting shutdown-timeout (ATENDE_SHUTDOWN_TIMEOUT): must be positive`},
		{"bad public url", []string{"--public-url", "atende.example.com"}, nil, "",
			`invalid setting public-url (ATENDE_PUBLIC_URL): must be an http:// or https:// URL`},
		{"unknown database scheme", []string{"--db", "mysql://u:secret@h/db"}, nil, "",
			`invalid setting db (ATENDE_DB): must be empty (SQLite in the data directory), sqlite:PATH or postgres://...; got scheme "mysql"`},
		{"postgres without host", []string{"--db", "postgres:///db"}, nil, "",
			`invalid setting db (ATENDE_DB): postgres:// URL has no host`},
		{"sip-udp without port", []string{"--sip-udp", "0.0.0.0"}, nil, "",
			`invalid setting sip-udp (ATENDE_SIP_UDP): not a HOST:PORT address`},
		{"sip-tls without a certificate", []string{"--sip-tls", ":5061"}, nil, "",
			`invalid setting sip-tls (ATENDE_SIP_TLS): needs tls-cert and tls-key`},
		{"sip external host with a port", nil, map[string]string{"ATENDE_SIP_EXTERNAL_HOST": "pbx.example.com:5060"}, "",
			`invalid setting sip-external-host (ATENDE_SIP_EXTERNAL_HOST): must be a host name or IP address without port`},
		{"debug listener beyond the machine", []string{"--debug-addr", "0.0.0.0:6060"}, nil, "",
			`invalid setting debug-addr (ATENDE_DEBUG_ADDR): the host must be a loopback address`},
		{"debug listener on every interface", []string{"--debug-addr", ":6060"}, nil, "",
			`invalid setting debug-addr (ATENDE_DEBUG_ADDR): the host must be a loopback address`},
		{"empty data dir", []string{"--data", " "}, nil, "",
			`invalid setting data (ATENDE_DATA): must not be empty`},
		{"unknown key in the config file", nil, nil, "adress = \":80\"\n",
			`unknown key "adress"; known keys: addr, data, db,`},
		{"table in the config file", nil, nil, "[addr]\nport = 80\n",
			`key "addr" must be a string, number or boolean`},
		{"config file that is not TOML", nil, nil, "addr = \n",
			`config file `},
		{"missing config file", nil, map[string]string{"ATENDE_CONFIG": "/nonexistent/atende.toml"}, "",
			`invalid setting config (ATENDE_CONFIG): cannot read /nonexistent/atende.toml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				env["ATENDE_CONFIG"] = writeFile(t, "atende.toml", tt.file)
			}
			_, err := loadServeConfig(t, tt.args, env)
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n  %v\nwant it to contain:\n  %s", err, tt.want)
			}
		})
	}
}

func TestDatabaseErrorNeverShowsThePassword(t *testing.T) {
	_, err := loadServeConfig(t, []string{"--db", "mysql://user:hunter2@db/atende"}, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must exist and not contain the password", err)
	}
}

func TestEveryErrorIsReported(t *testing.T) {
	_, err := loadServeConfig(t, []string{"--log-level", "x", "--log-format", "y"}, nil)
	if err == nil || !strings.Contains(err.Error(), "log-level") || !strings.Contains(err.Error(), "log-format") {
		t.Fatalf("error %v; want both log-level and log-format named", err)
	}
}

func TestValidTLSPairIsAccepted(t *testing.T) {
	certFile, keyFile := writeCert(t)
	cfg, err := loadServeConfig(t, []string{"--tls-cert", certFile, "--tls-key", keyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLS() {
		t.Fatal("TLS() = false with a certificate and key")
	}
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	fs := flag.NewFlagSet("atende serve", flag.ContinueOnError)
	cf := addConfigFlags(fs, serveSettings...)
	var b strings.Builder
	cf.usage(&b)
	for _, s := range settings {
		for _, want := range []string{"--" + s.name, s.env()} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("help does not mention %s", want)
			}
		}
	}
	for _, want := range []string{`default ":8080"`, `default "15s"`, "ATENDE_CONFIG"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
}

func TestDefaultPublicURL(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{"[::]:8080", false, "http://localhost:8080"},
		{"0.0.0.0:8080", false, "http://localhost:8080"},
		{"127.0.0.1:9000", false, "http://127.0.0.1:9000"},
		{"[::1]:9000", true, "https://[::1]:9000"},
		{"[::]:443", true, "https://localhost"},
		{"atende.example.com:80", false, "http://atende.example.com"},
	}
	for _, tt := range tests {
		if got := defaultPublicURL(tt.addr, tt.tls); got != tt.want {
			t.Errorf("defaultPublicURL(%q, %v) = %q; want %q", tt.addr, tt.tls, got, tt.want)
		}
	}
}

func TestLocaleFromEnvironment(t *testing.T) {
	tests := map[string]string{
		"":                "en-US",
		"C.UTF-8":         "en-US",
		"en_GB.UTF-8":     "en-GB",
		"es_MX.UTF-8":     "es-MX",
		"es_VE.UTF-8":     "es-ES",
		"pt_BR.UTF-8":     "pt-BR",
		"pt_PT.UTF-8@foo": "pt-PT",
		"pt":              "pt-BR",
		"de_DE.UTF-8":     "en-US",
	}
	for lang, want := range tests {
		if got := localeFromEnv(func(k string) string {
			if k == "LANG" {
				return lang
			}
			return ""
		}); got != want {
			t.Errorf("LANG=%q: locale %q; want %q", lang, got, want)
		}
	}
}

// writeCert writes a self-signed certificate and its key for localhost.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}
