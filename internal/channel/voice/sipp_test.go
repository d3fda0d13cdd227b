package voice

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Scenarios played by sipp (Debian package sip-tester, installed by
// scripts/install-test-deps.sh), a real SIP peer.

func sippPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("skipped: sipp not installed (scripts/install-test-deps.sh installs Debian's sip-tester)")
	}
	return p
}

func freeUDPPort(t *testing.T, host string) string {
	t.Helper()
	c, err := net.ListenPacket("udp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	return port
}

// runSipp plays scenario once from localIP against the server's UDP
// listener and returns whether sipp reported success, with its output.
func runSipp(t *testing.T, srv *Server, scenario, localIP, service string, args ...string) (bool, string) {
	t.Helper()
	bin := sippPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	all := append([]string{"-sf", filepath.Join("testdata", "sipp", scenario), "-i", localIP, "-p", freeUDPPort(t, localIP),
		"-m", "1", "-s", service, "-nostdin", "-timeout", "15s", "-timeout_error", "-max_recv_loops", "1000",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	all = append(all, srv.ls.Addr(UDP))
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir, _ = filepath.Abs(".")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("sipp did not finish in time:\n%s", out)
	}
	errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
	return err == nil, string(out) + "\n" + string(errs)
}

func TestSippRegistersWithDigestAndUnregisters(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	ok, out := runSipp(t, e.srv, "register.xml", "127.0.0.1", e.user, "-au", e.user, "-ap", e.pass)
	if !ok {
		t.Fatalf("sipp failed:\n%s", lastLines(out, 40))
	}
	// It unregistered at the end.
	binds, err := e.st.SIPBindings(context.Background(), e.tenant.ID, e.user)
	if err != nil || len(binds) != 0 {
		t.Fatalf("bindings after unregister: %+v %v", binds, err)
	}
}

func TestSippWrongPasswordIsForbidden(t *testing.T) {
	e := newEnv(t, envOptions{noIPTrunk: true})
	ok, out := runSipp(t, e.srv, "register_wrong_password.xml", "127.0.0.1", e.user, "-au", e.user, "-ap", "not-"+e.pass)
	if !ok {
		t.Fatalf("sipp failed:\n%s", lastLines(out, 40))
	}
}

func TestSippInviteToUnknownDIDIsNotFound(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	ok, out := runSipp(t, e.srv, "invite_unknown_did.xml", "127.0.0.2", "+551130009999")
	if !ok {
		t.Fatalf("sipp failed:\n%s", lastLines(out, 40))
	}
	if len(e.handler.calls) != 0 {
		t.Fatal("the unknown DID reached the call handler")
	}
}

func TestSippCancelWhileRinging(t *testing.T) {
	e := newEnv(t, envOptions{handler: true})
	ended := make(chan struct{})
	e.handler.setHold(func(ctx context.Context, c *Call) {
		c.Dialog.Ringing()
		<-ctx.Done()
		close(ended)
	})
	ok, out := runSipp(t, e.srv, "invite_cancel.xml", "127.0.0.2", "1130000001")
	if !ok {
		t.Fatalf("sipp failed:\n%s", lastLines(out, 40))
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the call handler did not see the call end")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
