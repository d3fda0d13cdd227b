package flow

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende/internal/channel/voice/prompts"
	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// freeUDPPort returns a UDP port of 127.0.0.1 free at the time of asking.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serveSIP starts a diago user agent on a free loopback UDP port that runs
// serve for each call, until the test ends.
func serveSIP(t *testing.T, ctx context.Context, serve func(d *diago.DialogServerSession)) int {
	t.Helper()
	port := freeUDPPort(t)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("atende-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	if err := srv.ServeBackground(ctx, serve); err != nil {
		t.Fatal(err)
	}
	return port
}

// inviteSIP calls the user agent on port from another one.
func inviteSIP(t *testing.T, ctx context.Context, port int) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	cli := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: freeUDPPort(t)}))
	return cli.Invite(ctx, sip.Uri{User: "+34910000000", Host: "127.0.0.1", Port: port}, diago.InviteOptions{})
}

// dialSIP calls the user agent on port and fails the test if it does not answer.
func dialSIP(t *testing.T, ctx context.Context, port int) (*diago.DialogClientSession, *diago.DialogMedia) {
	t.Helper()
	d, m, err := inviteSIP(t, ctx, port)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return d, m
}

// listen counts the audio frames a caller receives, and those with sound.
func listen(t *testing.T, med *diago.DialogMedia) (frames, voiced *atomic.Int64) {
	t.Helper()
	r, err := med.AudioReader()
	if err != nil {
		t.Fatal(err)
	}
	frames, voiced = new(atomic.Int64), new(atomic.Int64)
	go func() {
		buf := make([]byte, media.RTPBufSize)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			frames.Add(1)
			for _, b := range buf[:n] {
				if b != 0xff && b != 0x7f { // μ-law silence
					voiced.Add(1)
					break
				}
			}
		}
	}()
	return frames, voiced
}

const diagoFlow = `{"name": "t", "language": "es", "entry": "welcome", "nodes": {
  "welcome": {"kind": "play", "prompts": ["welcome"], "next": "main"},
  "main": {"kind": "menu", "prompts": ["menu_complaint", "menu_cancellation", "menu_agent"], "options": {"1": "q", "2": "bye"}, "timeout_sec": 10},
  "q": {"kind": "queue", "queue_id": "` + queueA + `", "priority": 3},
  "bye": {"kind": "hangup", "prompts": ["goodbye"]}
}}`

// TestDiagoCallRunsAMenuOverSIP runs a flow on a real SIP call between two
// diago user agents on loopback: the caller listens to the prompts as G.711
// RTP and answers the menu with an RFC 4733 DTMF key.
func TestDiagoCallRunsAMenuOverSIP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   rune
		wait  int // prompt frames to hear before pressing
		trace string
		out   Outcome
	}{
		// Pressed while the menu plays: barge-in stops it and picks the option.
		{"option one queues", '1', 150, "welcome>next main>option:1 q>end", OutcomeAnswered},
		// Pressed during the greeting: typed ahead into the menu.
		{"option two hangs up", '2', 20, "welcome>next main>option:2 bye>end", OutcomeHangup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testDiagoMenu(t, tc.key, tc.wait, tc.trace, tc.out)
		})
	}
}

func testDiagoMenu(t *testing.T, key rune, wait int, trace string, want Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := mustFlow(t, diagoFlow)

	results := make(chan *Result, 1)
	var enqueued atomic.Pointer[QueueRequest]
	port := serveSIP(t, ctx, func(d *diago.DialogServerSession) {
		_ = d.Trying()
		m, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		defer m.Close()
		call, err := NewDiagoCall(d, m, Services{Enqueue: func(_ context.Context, r QueueRequest) (QueueOutcome, error) {
			enqueued.Store(&r)
			return QueueAnswered, nil
		}})
		if err != nil {
			t.Errorf("call: %v", err)
			return
		}
		res := (&Engine{}).Run(d.Context(), f, call, Input{CallID: d.ID, Caller: d.FromUser()})
		_ = call.Hangup(ctx)
		results <- res
	})
	dialog, med := dialSIP(t, ctx, port)
	defer dialog.Close()
	defer med.Close()

	frames, voiced := listen(t, med)
	waitFor(t, 15*time.Second, "prompt audio", func() bool { return voiced.Load() >= int64(wait) })
	w, err := med.AudioWriterDTMF()
	if err != nil {
		t.Fatal(err)
	}
	// The event's last packets may find the call already hung up by the
	// flow, which reacts to its first.
	if err := w.WriteDTMF(key); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("press %c: %v", key, err)
	}

	var res *Result
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatal("the flow did not finish")
	}
	if res.Outcome != want || nodes(res) != trace {
		t.Fatalf("outcome %s trace %q; want %s %q", res.Outcome, nodes(res), want, trace)
	}
	if want == OutcomeAnswered {
		if q := enqueued.Load(); q == nil || q.QueueID != queueA || q.Priority != 3 || q.Language != "es" {
			t.Fatalf("enqueued %+v", q)
		}
	}
	// The server hung up: the caller's dialog ends.
	select {
	case <-dialog.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the caller's dialog is still up after the flow hung up")
	}
	if frames.Load() < int64(wait) {
		t.Fatalf("received %d audio frames", frames.Load())
	}
	if want == OutcomeAnswered {
		// Barge-in: the menu stopped when the key came, so less audio
		// arrived than the greeting and the whole menu hold.
		full := 0.0
		for _, id := range []string{"welcome", "menu_complaint", "menu_cancellation", "menu_agent"} {
			b, err := prompts.WAV("es", id)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := prompts.ParseWAV(b)
			full += a.Seconds() * 50 // 20 ms frames
		}
		if got := float64(frames.Load()); got >= full-25 {
			t.Fatalf("received %.0f frames; the whole menu is %.0f, so it was not interrupted", got, full)
		}
	}
	t.Logf("caller received %d audio frames (%d with sound)", frames.Load(), voiced.Load())
}

// TestDiagoCallCollectsDigits types an account number as RFC 4733 events,
// one key after another, and checks each key counts once.
func TestDiagoCallCollectsDigits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := mustFlow(t, `{"name": "t", "language": "en", "entry": "acct", "nodes": {
	  "acct": {"kind": "collect", "prompts": ["enter_account"], "min_digits": 4, "max_digits": 8, "timeout_sec": 10, "variable": "acct", "next": "bye"},
	  "bye": {"kind": "hangup", "prompts": ["goodbye"]}
	}}`)
	results := make(chan *Result, 1)
	port := serveSIP(t, ctx, func(d *diago.DialogServerSession) {
		m, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		defer m.Close()
		call, err := NewDiagoCall(d, m, Services{})
		if err != nil {
			t.Errorf("call: %v", err)
			return
		}
		results <- (&Engine{}).Run(d.Context(), f, call, Input{})
		_ = call.Hangup(ctx)
	})
	dialog, med := dialSIP(t, ctx, port)
	defer dialog.Close()
	defer med.Close()
	_, voiced := listen(t, med)
	waitFor(t, 15*time.Second, "the prompt", func() bool { return voiced.Load() >= 10 })
	w, err := med.AudioWriterDTMF()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range "90210#" {
		if err := w.WriteDTMF(k); err != nil {
			t.Fatalf("press %c: %v", k, err)
		}
	}
	select {
	case r := <-results:
		if r.Vars["acct"] != "90210" || nodes(r) != "acct>next bye>end" {
			t.Fatalf("collected %q, trace %s", r.Vars["acct"], nodes(r))
		}
	case <-ctx.Done():
		t.Fatal("the flow did not finish")
	}
}
