package durability

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Shape of the email load: concurrent SMTP clients, each on its own
// connection, sending distinct messages into a few threads.
const (
	smtpWriters  = 16
	emailThreads = 4
	emailLoadFor = 1500 * time.Millisecond
)

// TestKill9EmailImportExactlyOnce kills `atende serve` with SIGKILL while
// SMTP clients deliver mail to its receiving server, restarts it on the same
// store, and checks that every message answered 250 is stored exactly once,
// and that sending every message again (answered or in doubt) stores none
// twice.
func TestKill9EmailImportExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and runs the server binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := buildAtende(t, ctx)
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		runEmailKill9(t, ctx, bin, []string{"--data", filepath.Join(dir, "data")}, dir)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgresDatabase(t, ctx)
		dir := t.TempDir()
		runEmailKill9(t, ctx, bin, []string{"--db", dsn, "--data", filepath.Join(dir, "data")}, dir)
	})
}

// loadMail is one message of the load: its Message-ID is its identity.
func loadMail(id string, thread int) string {
	return "From: Cliente <cliente" + fmt.Sprint(thread) + "@load.test>\r\nTo: soporte@acme.test\r\nSubject: Re: hilo " + fmt.Sprint(thread) +
		"\r\nMessage-ID: <" + id + "@load.test>\r\nIn-Reply-To: <seed-" + fmt.Sprint(thread) + "@load.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmessage " + id + "\r\n"
}

func sendOne(addr, id string, thread int) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(fmt.Sprintf("cliente%d@load.test", thread), []string{"soporte@acme.test"}, strings.NewReader(loadMail(id, thread))); err != nil {
		return err
	}
	return c.Quit()
}

func runEmailKill9(t *testing.T, ctx context.Context, bin string, storeArgs []string, dir string) {
	smtpAddr := freeAddr(t)
	serveArgs := append(slices.Clone(storeArgs), "--smtp-addr", smtpAddr, "--smtp-domain", "mx.durability.test")
	srv := startServer(t, ctx, bin, serveArgs, filepath.Join(dir, "serve-1.log"))
	token := createToken(t, ctx, bin, storeArgs)
	api := newAPI(srv.base, token)

	var queue struct{ ID string }
	if _, err := api.do(ctx, "POST", "/api/v1/queues", map[string]any{"name": "Email", "channels": []string{"email"}}, &queue); err != nil {
		t.Fatal(err)
	}
	if _, err := api.do(ctx, "POST", "/api/v1/mailboxes", map[string]any{"name": "Soporte", "address": "soporte@acme.test", "queue_id": queue.ID,
		"receive": map[string]any{"recipients": []string{"soporte@acme.test"}}}, nil); err != nil {
		t.Fatal(err)
	}
	// One conversation per thread, opened by a seed message.
	for i := range emailThreads {
		seed := "From: cliente" + fmt.Sprint(i) + "@load.test\r\nTo: soporte@acme.test\r\nSubject: hilo " + fmt.Sprint(i) + "\r\nMessage-ID: <seed-" + fmt.Sprint(i) +
			"@load.test>\r\n\r\nseed\r\n"
		c, err := smtp.Dial(smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("x@load.test", []string{"soporte@acme.test"}, strings.NewReader(seed)); err != nil {
			t.Fatalf("seed %d: %v\n%s", i, err, srv.logTail())
		}
		c.Close()
	}
	convs := emailConversations(t, ctx, api)

	var (
		mu       sync.Mutex
		attempts = map[string]int{} // Message-ID -> thread
		acked    = map[string]bool{}
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range smtpWriters {
		wg.Go(func() {
			for n := 0; ; n++ {
				if killed.Load() || ctx.Err() != nil {
					return
				}
				id := fmt.Sprintf("w%02d-%06d", w, n)
				thread := (w + n) % emailThreads
				mu.Lock()
				attempts[id] = thread
				mu.Unlock()
				if err := sendOne(smtpAddr, id, thread); err != nil {
					if !killed.Load() {
						t.Errorf("send %s failed before the kill: %v", id, err)
					}
					return // in doubt
				}
				mu.Lock()
				acked[id] = true // 250 after DATA
				mu.Unlock()
			}
		})
	}
	select {
	case <-time.After(emailLoadFor):
	case <-srv.exited:
		t.Fatalf("server exited under load\n%s", srv.logTail())
	}
	killed.Store(true)
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-srv.exited
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("killed with SIGKILL after %v: %d messages answered 250, %d in doubt", emailLoadFor, len(acked), len(attempts)-len(acked))
	if len(acked) < smtpWriters {
		t.Fatalf("only %d messages acknowledged: too few to test anything\n%s", len(acked), srv.logTail())
	}

	srv2 := startServer(t, ctx, bin, serveArgs, filepath.Join(dir, "serve-2.log"))
	api = newAPI(srv2.base, token)
	present := checkEmailTimelines(t, readTimelines(t, ctx, api, convs), convs, attempts)
	for id := range acked {
		if _, ok := present[id]; !ok {
			t.Errorf("message %s was answered 250 but is missing after the restart", id)
		}
	}
	survived := 0
	for id := range attempts {
		if _, ok := present[id]; ok && !acked[id] {
			survived++
		}
	}
	t.Logf("after the restart: %d acknowledged messages each present once; %d of %d in-doubt messages had been stored",
		len(acked), survived, len(attempts)-len(acked))
	if t.Failed() {
		t.FailNow()
	}

	// Every message again, as senders retrying would: none stored twice.
	ids := make([]string, 0, len(attempts))
	for id := range attempts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	work := make(chan string)
	var rwg sync.WaitGroup
	for range smtpWriters {
		rwg.Go(func() {
			for id := range work {
				if err := sendOne(smtpAddr, id, attempts[id]); err != nil {
					t.Errorf("resend %s: %v", id, err)
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	rwg.Wait()
	final := checkEmailTimelines(t, readTimelines(t, ctx, api, convs), convs, attempts)
	for _, id := range ids {
		if _, ok := final[id]; !ok {
			t.Errorf("message %s missing after it was resent", id)
		}
	}
	for id, a := range present {
		if final[id] != a {
			t.Errorf("message %s moved from seq %d to seq %d after the resend", id, a.seq, final[id].seq)
		}
	}
	if n := len(emailConversations(t, ctx, api)); n != emailThreads {
		t.Errorf("%d email conversations, want %d (every message threads)", n, emailThreads)
	}
}

// emailConversations returns the ids of the email conversations, by subject "hilo N".
func emailConversations(t *testing.T, ctx context.Context, api *apiClient) []string {
	t.Helper()
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
		} `json:"items"`
	}
	if status, err := api.do(ctx, "GET", "/api/v1/conversations?channel=email&limit=200", nil, &page); err != nil || status != http.StatusOK {
		t.Fatalf("list conversations: %d %v", status, err)
	}
	ids := make([]string, emailThreads)
	for _, c := range page.Items {
		var i int
		if _, err := fmt.Sscanf(c.Subject, "hilo %d", &i); err != nil || i < 0 || i >= emailThreads || ids[i] != "" {
			t.Fatalf("unexpected email conversation %q", c.Subject)
		}
		ids[i] = c.ID
	}
	if slices.Contains(ids, "") {
		t.Fatalf("email conversations %v: a seed is missing", ids)
	}
	return ids
}

// checkEmailTimelines checks seq numbering, that each stored message is one
// the test sent, in its thread, and that none is stored twice. It returns
// where each Message-ID is.
func checkEmailTimelines(t *testing.T, timelines map[string][]timelineEntry, convs []string, attempts map[string]int) map[string]ack {
	t.Helper()
	where := map[string]ack{}
	for thread, conv := range convs {
		for i, e := range timelines[conv] {
			if want := int64(i + 1); e.Seq != want {
				t.Errorf("conversation %s: entry %d has seq %d, want %d", conv, i, e.Seq, want)
			}
			if e.Kind != "message" || strings.TrimSpace(e.Body) == "seed" {
				continue
			}
			id, ok := strings.CutPrefix(strings.TrimSpace(e.Body), "message ")
			th, sent := attempts[id]
			switch {
			case !ok || !sent:
				t.Errorf("conversation %s seq %d: %q was never sent", conv, e.Seq, e.Body)
				continue
			case th != thread:
				t.Errorf("message %s of thread %d is in thread %d", id, th, thread)
			}
			if prev, dup := where[id]; dup {
				t.Errorf("message %s is stored twice: seq %d and seq %d", id, prev.seq, e.Seq)
				continue
			}
			where[id] = ack{conv: conv, seq: e.Seq}
		}
	}
	return where
}
