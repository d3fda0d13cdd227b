// Package server starts `atende serve` as a separate process for the load
// generators under bench/: on a free loopback port, on a fresh SQLite data
// directory or a given database, with an admin API token made by the admin
// CLI. The server runs in its own process so that its CPU and memory can be
// read from /proc apart from the load generator's.
package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config says which server to start.
type Config struct {
	Bin  string // the atende binary
	Data string // data directory; empty: a fresh temporary one, removed by Stop
	DB   string // database DSN; empty: SQLite in Data
	// Name prefixes the temporary directory and the log file and names the
	// API token, e.g. "appendload".
	Name string
	// TokenTTL is how long the admin token lasts (default 2 h).
	TokenTTL time.Duration
	// Args are more flags for `atende serve`.
	Args []string
}

// Server is a running `atende serve`.
type Server struct {
	URL       string // http://127.0.0.1:PORT
	Token     string // admin API token of admin@atende.local in the default tenant
	LogPath   string
	bin       string
	storeArgs []string
	cmd       *exec.Cmd
	tempDir   string
	exited    chan struct{}
}

// Start starts the server, waits until /readyz answers 200 and makes an admin
// API token with `atende admin create-token`.
func Start(ctx context.Context, c Config) (*Server, error) {
	if c.Name == "" {
		c.Name = "bench"
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = 2 * time.Hour
	}
	s := &Server{bin: c.Bin, exited: make(chan struct{})}
	data := c.Data
	if data == "" {
		dir, err := os.MkdirTemp("", c.Name+"-")
		if err != nil {
			return nil, err
		}
		s.tempDir = dir
		data = filepath.Join(dir, "data")
	}
	storeArgs := []string{"--data", data}
	if c.DB != "" {
		storeArgs = append(storeArgs, "--db", c.DB)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s.URL = "http://" + addr
	s.storeArgs = storeArgs
	s.LogPath = filepath.Join(os.TempDir(), c.Name+"-serve-"+RandomHex(4)+".log")
	logFile, err := os.Create(s.LogPath)
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	args := append([]string{"serve", "--addr", addr, "--log-level", "warn"}, storeArgs...)
	s.cmd = exec.Command(c.Bin, append(args, c.Args...)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		s.removeTemp()
		return nil, fmt.Errorf("start %s serve: %w", c.Bin, err)
	}
	go func() {
		s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	fmt.Printf("%s: started %s serve on %s, pid %d (log %s)\n", c.Name, c.Bin, addr, s.PID(), s.LogPath)
	if err := waitReady(ctx, s.URL, s.exited, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	tok, err := s.Admin(ctx, "create-token", "--tenant", "default", "--email", "admin@atende.local", "--name", c.Name, "--expires", c.TokenTTL.String())
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Token = LastLine(tok)
	return s, nil
}

// Admin runs `atende admin ARGS...` on the server's store and returns what it
// printed.
func (s *Server) Admin(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, s.bin, append(append([]string{"admin"}, args...), s.storeArgs...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("atende admin %s: %w", args[0], err)
	}
	return string(out), nil
}

// LastLine is the last non-empty line of out, trimmed: where the admin
// commands print a secret.
func LastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop asks the server to shut down (SIGTERM), kills it after 20 s, and
// removes the temporary data directory Start made.
func (s *Server) Stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.removeTemp()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// waitReady polls /readyz until it answers 200.
func waitReady(ctx context.Context, base string, exited <-chan struct{}, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-exited:
			return errors.New("the server exited before it was ready")
		case <-deadline:
			return fmt.Errorf("the server was not ready after %v", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// RandomHex is n random bytes in hex, for names unique to a run.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Metrics reads a server's Prometheus samples from base/metrics, keyed by
// name and labels.
func Metrics(ctx context.Context, hc *http.Client, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name, val := line[:i], line[i+1:]
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			m[name] = v
		}
	}
	return m, sc.Err()
}
