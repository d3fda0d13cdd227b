package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atende/atende/internal/store"
)

// These tests build the real binary and run it as an operator would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// atendeBinary builds cmd/atende once per test run.
func atendeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and runs the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipped: no go tool in PATH to build the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atende-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "atende")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running `atende serve`.
type server struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
	url    string
}

// cleanEnv is the test's environment without ATENDE_* settings that would
// leak into the binary, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATENDE_") && !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T, bin, dataDir string, env ...string) *server {
	t.Helper()
	return startServerWith(t, bin, dataDir, nil, env...)
}

// startServerWith starts `atende serve` with extra arguments; with a
// certificate among them, it serves HTTPS.
func startServerWith(t *testing.T, bin, dataDir string, extraArgs []string, env ...string) *server {
	t.Helper()
	port := freePort(t)
	scheme := "http"
	if slices.Contains(extraArgs, "--tls-cert") {
		scheme = "https"
	}
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{}), url: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)}
	// SIP on free loopback ports: tests run side by side.
	args := append([]string{"serve", "--data", dataDir, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--shutdown-timeout", "5s",
		"--sip-udp", "127.0.0.1:0", "--sip-tcp", "127.0.0.1:0"}, extraArgs...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = cleanEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	s.waitReady(t)
	return s
}

// waitReady polls /healthz and the ready line with a deadline.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	client := s.client()
	for {
		select {
		case <-s.exited:
			t.Fatalf("atende serve exited early: %v\nstdout:\n%s\nstderr:\n%s", s.err, s.stdout, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("atende serve not ready within 60s\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		}
		resp, err := client.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(s.stdout.String(), "Press Ctrl-C to stop.") {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client trusts the test's self-signed certificate.
func (s *server) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test's own self-signed certificate
	}}
}

// login posts to the API's login endpoint and returns the status code.
func (s *server) login(t *testing.T, tenant, email, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"tenant": tenant, "email": email, "password": password})
	resp, err := s.client().Post(s.url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM and requires a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("atende serve did not stop within 30s of SIGTERM\nstderr:\n%s", s.stderr)
	}
	if s.err != nil {
		t.Fatalf("atende serve exited with %v after SIGTERM; want status 0\nstderr:\n%s", s.err, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no 'stopped' log line after SIGTERM\nstderr:\n%s", s.stderr)
	}
}

// runAtende runs a one-shot command and returns its stdout.
func runAtende(t *testing.T, bin string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("atende %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, &stdout, &stderr)
	}
	return stdout.String()
}

var passwordLine = regexp.MustCompile(`(?m)^\s*Password:\s+(\S+)\s*$`)

func TestServeFirstStartPrintsPasswordOnceAndStopsCleanly(t *testing.T) {
	bin := atendeBinary(t)
	data := t.TempDir()

	s := startServer(t, bin, data, "LANG=pt_BR.UTF-8")
	out := s.stdout.String()
	m := passwordLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first start printed no password\nstdout:\n%s", out)
	}
	password := m[1]
	if len(password) < 16 {
		t.Errorf("first password %q is %d characters; want at least 16", password, len(password))
	}
	for _, want := range []string{"Email:     admin@atende.local", "Tenant:    default", "Open " + s.url, "atende is ready ("} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q\nstdout:\n%s", want, out)
		}
	}
	if strings.Contains(s.stderr.String(), password) {
		t.Error("the first password was written to the log (stderr)")
	}
	if code := s.login(t, "default", "admin@atende.local", password); code != http.StatusOK {
		t.Errorf("login with the printed password: status %d; want 200", code)
	}
	s.stop(t)

	// The same data directory again: no new administrator, no password.
	s2 := startServer(t, bin, data)
	out2 := s2.stdout.String()
	if passwordLine.MatchString(out2) || strings.Contains(out2, password) {
		t.Errorf("second start printed a password\nstdout:\n%s", out2)
	}
	if !strings.Contains(out2, "Open "+s2.url+" — log in with your email and password") {
		t.Errorf("second start did not say how to log in\nstdout:\n%s", out2)
	}
	s2.stop(t)

	// The first tenant took its locale from LANG.
	st, err := store.Open(context.Background(), store.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant, err := st.TenantBySlug(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if tenant.Locale != "pt-BR" || tenant.Language != "pt-BR" {
		t.Errorf("first tenant locale %q, language %q; want pt-BR from LANG=pt_BR.UTF-8", tenant.Locale, tenant.Language)
	}
	if n, err := st.CountUsers(context.Background()); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want exactly the first administrator", n, err)
	}
}

func TestAdminCommandsOnADataDirectory(t *testing.T) {
	bin := atendeBinary(t)
	data := t.TempDir()

	out := runAtende(t, bin, "", "admin", "create-tenant", "--data", data, "--name", "Acme Soporte", "--slug", "acme", "--locale", "es-MX", "--time-zone", "America/Mexico_City")
	if !strings.Contains(out, "Created tenant \"Acme Soporte\": slug acme, locale es-MX, time zone America/Mexico_City") {
		t.Errorf("create-tenant printed:\n%s", out)
	}

	out = runAtende(t, bin, "", "admin", "create-user", "--data", data, "--tenant", "acme", "--email", "Ana@Example.com", "--name", "Ana Lima", "--roles", "admin,agent")
	if !strings.Contains(out, "Created user ana@example.com (Ana Lima) in tenant acme with roles admin, agent") {
		t.Errorf("create-user printed:\n%s", out)
	}
	pw := regexp.MustCompile(`(?m)^  (\S{16,})$`).FindStringSubmatch(out)
	if pw == nil {
		t.Fatalf("create-user printed no generated password of 16+ characters:\n%s", out)
	}

	out = runAtende(t, bin, "a long enough passphrase\n", "admin", "create-user", "--data", data, "--tenant", "acme", "--email", "bob@example.com", "--name", "Bob", "--password-stdin")
	if !strings.Contains(out, "Created user bob@example.com") || strings.Contains(out, "Password") {
		t.Errorf("create-user --password-stdin printed:\n%s", out)
	}

	out = runAtende(t, bin, "", "admin", "reset-password", "--data", data, "--tenant", "acme", "--email", "ana@example.com")
	if np := regexp.MustCompile(`(?m)^  (\S{16,})$`).FindStringSubmatch(out); np == nil || np[1] == pw[1] {
		t.Errorf("reset-password printed no new password:\n%s", out)
	}

	out = runAtende(t, bin, "", "admin", "create-token", "--data", data, "--tenant", "acme", "--email", "ana@example.com", "--name", "CRM sync", "--scopes", "contacts:read,events:read", "--expires", "24h")
	if !strings.Contains(out, "scopes: contacts:read, events:read") || !regexp.MustCompile(`(?m)^  atk_\S+$`).MatchString(out) {
		t.Errorf("create-token printed:\n%s", out)
	}

	secret := regexp.MustCompile(`(?m)^  (atk_\S+)$`).FindStringSubmatch(out)

	// A server started on this directory finds users: no first administrator.
	s := startServer(t, bin, data)
	if passwordLine.MatchString(s.stdout.String()) {
		t.Errorf("serve created a first administrator although users exist\nstdout:\n%s", s.stdout)
	}
	if code := s.login(t, "acme", "bob@example.com", "a long enough passphrase"); code != http.StatusOK {
		t.Errorf("login with the password given on stdin: status %d; want 200", code)
	}
	if code := s.login(t, "acme", "ana@example.com", pw[1]); code == http.StatusOK {
		t.Error("login with the password replaced by reset-password still works")
	}
	if secret != nil {
		req, _ := http.NewRequest("GET", s.url+"/api/v1/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret[1])
		resp, err := s.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/auth/me with the printed token: status %d; want 200", resp.StatusCode)
		}
	}
	s.stop(t)
}

func TestServeHTTPS(t *testing.T) {
	bin := atendeBinary(t)
	certFile, keyFile := writeCert(t)
	s := startServerWith(t, bin, t.TempDir(), []string{"--tls-cert", certFile, "--tls-key", keyFile})
	if !strings.Contains(s.stdout.String(), "Open "+s.url) {
		t.Errorf("stdout does not point to the https URL %s\nstdout:\n%s", s.url, s.stdout)
	}
	// Plain HTTP on the TLS port is refused.
	resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
	s.stop(t)
}

func TestServeFailsClearlyWhenThePortIsTaken(t *testing.T) {
	bin := atendeBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", ln.Addr().String())
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; want status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "cannot listen on "+ln.Addr().String()+" (setting addr, ATENDE_ADDR)") {
		t.Errorf("output does not name the setting:\n%s", out)
	}
	// Nothing was created: the first start must still show its password later.
	if _, err := os.Stat(filepath.Join(data, "atende.db")); err == nil {
		t.Error("a database was created although the server could not listen")
	}
}

func TestServeFailsClearlyWhenTheSIPPortIsTaken(t *testing.T) {
	bin := atendeBinary(t)
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0", "--sip-udp", busy.LocalAddr().String(), "--sip-tcp", "")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; want status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "cannot listen for SIP over UDP on "+busy.LocalAddr().String()) || !strings.Contains(string(out), "setting sip-udp, ATENDE_SIP_UDP") {
		t.Errorf("output does not name the SIP setting:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(data, "atende.db")); err == nil {
		t.Error("a database was created although the server could not listen")
	}
}

func TestInvalidConfigExitsWithStatus2(t *testing.T) {
	bin := atendeBinary(t)
	cmd := exec.Command(bin, "serve", "--data", t.TempDir())
	cmd.Env = cleanEnv("ATENDE_LOG_LEVEL=verbose")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v; want status 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "invalid setting log-level (ATENDE_LOG_LEVEL)") {
		t.Errorf("output:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	bin := atendeBinary(t)
	out := runAtende(t, bin, "", "version")
	if !regexp.MustCompile(`^atende \S+\ncommit \S+\ngo1\.`).MatchString(out) {
		t.Errorf("version printed:\n%s", out)
	}
}

func TestMigrateReportsWhatItApplied(t *testing.T) {
	bin := atendeBinary(t)
	data := t.TempDir()
	out := runAtende(t, bin, "", "migrate", "--data", data)
	if !regexp.MustCompile(`^Applied \d+ migrations? to the sqlite database\.\n$`).MatchString(out) {
		t.Errorf("first migrate printed %q", out)
	}
	out = runAtende(t, bin, "", "migrate", "--data", data)
	if out != "The sqlite database is up to date: no migrations to apply.\n" {
		t.Errorf("second migrate printed %q", out)
	}
}

func TestServeDemoSeedsADemoTenantOnce(t *testing.T) {
	bin := atendeBinary(t)
	data := t.TempDir()
	s := startServerWith(t, bin, data, []string{"--demo"})
	out := s.stdout.String()
	m := regexp.MustCompile(`Every demo user has the password \(shown only now\):\n\s+(\S+)\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "admin@demo.atende.local") {
		t.Fatalf("first --demo start did not print the demo users and password\nstdout:\n%s", out)
	}
	if !passwordLine.MatchString(out) {
		t.Errorf("--demo start did not also create the first administrator\nstdout:\n%s", out)
	}
	if code := s.login(t, "demo", "admin@demo.atende.local", m[1]); code != http.StatusOK {
		t.Errorf("login as the demo administrator: status %d; want 200", code)
	}
	if strings.Contains(s.stderr.String(), m[1]) {
		t.Error("the demo password was written to the log (stderr)")
	}
	s.stop(t)

	s2 := startServerWith(t, bin, data, []string{"--demo"})
	out2 := s2.stdout.String()
	if strings.Contains(out2, "Every demo user") || !strings.Contains(out2, "Demo tenant: demo.") {
		t.Errorf("second --demo start:\n%s", out2)
	}
	s2.stop(t)
}

// TestShutdownEndsLiveEventStreams: an open WebSocket stream (hijacked, so
// http.Server.Shutdown does not wait for it) must not keep the process alive
// past SIGTERM, and must be closed by the server rather than left hanging.
func TestShutdownEndsLiveEventStreams(t *testing.T) {
	bin := atendeBinary(t)
	data := t.TempDir()
	startServer(t, bin, data).stop(t) // creates the first administrator
	out := runAtende(t, bin, "", "admin", "create-token", "--data", data, "--tenant", "default", "--email", "admin@atende.local", "--name", "stream")
	secret := regexp.MustCompile(`(?m)^  (atk_\S+)$`).FindStringSubmatch(out)
	if secret == nil {
		t.Fatalf("create-token printed no secret:\n%s", out)
	}

	s := startServer(t, bin, data)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
		strings.TrimPrefix(s.url, "http://"), secret[1])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status := make([]byte, len("HTTP/1.1 101"))
	if _, err := io.ReadFull(conn, status); err != nil || string(status) != "HTTP/1.1 101" {
		t.Fatalf("WebSocket upgrade answered %q, %v", status, err)
	}

	began := time.Now()
	s.stop(t)
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("shutdown with an open event stream took %v; the stream should end at once", took)
	}
	// The server closed the stream: reading reaches EOF (after any close frame).
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("stream not closed by the server: %v", err)
	}
}
