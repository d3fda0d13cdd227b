// Command emailload measures inbound email through atende's SMTP receiving
// server, in process: C SMTP clients, each on its own connection, send
// distinct messages each carrying an attachment of -size bytes (base64) to
// one mailbox for -d; every message is acknowledged only after its durable
// import (raw message and attachment fsynced, the timeline entry committed,
// a task routed). Then one message with a -big attachment is sent while the
// heap is sampled, to show that it is streamed.
//
//	go run ./bench/emailload                       # SQLite in a temporary directory
//	go run ./bench/emailload -db postgres://...    # a PostgreSQL database (migrated)
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/bus"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/emersion/go-smtp"
)

func main() {
	db := flag.String("db", "", "database `DSN` (default: SQLite in a fresh temporary directory)")
	c := flag.Int("c", 16, "concurrent SMTP clients")
	d := flag.Duration("d", 10*time.Second, "measured duration (after a 2 s warm-up)")
	size := flag.Int("size", 50_000, "attachment bytes per message")
	big := flag.Int("big", 20<<20, "attachment bytes of the single large message (0: skip)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured load to `file`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "emailload:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "emailload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*db, *c, *d, *size, *big); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "emailload:", err)
		os.Exit(1)
	}
}

// writeMail writes a message with a text part and a pseudo-random
// attachment, generated as it is written.
func writeMail(w io.Writer, msgID string, size int, seed uint64) error {
	head := "From: Ana <ana@cliente.example>\r\nTo: soporte@bench.example\r\nSubject: Adjunto " + msgID + "\r\nMessage-ID: <" + msgID + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto el fichero.\r\n" +
		"--XX\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	raw := make([]byte, 57*64)
	var line []byte
	for left := size; left > 0; {
		n := min(len(raw), left)
		rng.Read(raw[:n])
		line = line[:0]
		for i := 0; i < n; i += 57 {
			line = base64.StdEncoding.AppendEncode(line, raw[i:min(i+57, n)])
			line = append(line, '\r', '\n')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		left -= n
	}
	_, err := io.WriteString(w, "--XX--\r\n")
	return err
}

func run(dsn string, clients int, d time.Duration, size, big int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "emailload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := bus.NewMemory(bus.MemoryConfig{})
	st, err := store.Open(ctx, store.Config{DSN: dsn, DataDir: filepath.Join(dir, "data"), Bus: b})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	ms, err := media.New(filepath.Join(dir, "media"))
	if err != nil {
		return err
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	tenant := &atende.Tenant{Name: "Bench " + suffix, Slug: "bench-" + suffix, Locale: "es-ES", TimeZone: "UTC"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tenant); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	a := atende.SystemActor(tenant.ID)
	q := &atende.Queue{Name: "Email", Channels: []atende.Channel{atende.ChannelEmail}}
	if err := st.CreateQueue(ctx, a, q); err != nil {
		return err
	}
	addr := "soporte-" + suffix + "@bench.example"
	mb := &mailbox.Mailbox{Name: "Soporte", Address: addr, Active: true, QueueID: q.ID,
		Receive: &mailbox.Receive{Recipients: []string{addr}, MaxBytes: 100 << 20}}
	if err := st.CreateMailbox(ctx, a, mb); err != nil {
		return err
	}
	router := routing.NewRouter(routing.EngineConfig{Holder: "bench", Store: st, Bus: b, Blending: routing.DefaultBlending()})
	defer router.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &email.ReceiveServer{Importer: &email.Importer{Store: st, Media: ms, Router: router}, Domain: "mx.bench.example", MaxBytes: 100 << 20}
	go srv.Serve(ln)
	defer srv.Close()
	smtpAddr := ln.Addr().String()

	templates := make([][]byte, 32)
	for i := range templates {
		var buf bytes.Buffer
		writeMail(&buf, "MSGID", size, uint64(i))
		templates[i] = buf.Bytes()
	}
	store := "SQLite"
	if dsn != "" {
		store = "PostgreSQL"
	}
	fmt.Printf("emailload: %s, %d clients, %d-byte attachment (%d-byte message), 2 s warm-up + %v\n", store, clients, size, len(templates[0]), d)

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		seq       atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		errs      atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			c, err := smtp.Dial(smtpAddr)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				errs.Add(1)
				return
			}
			defer c.Close()
			var mine []time.Duration
			for !stop.Load() {
				n := seq.Add(1)
				id := fmt.Sprintf("load-%s-%d@cliente.example", suffix, n)
				msg := bytes.Replace(templates[n%int64(len(templates))], []byte("MSGID"), []byte(id), 2)
				t0 := time.Now()
				if err := c.SendMail("ana@cliente.example", []string{addr}, bytes.NewReader(msg)); err != nil {
					firstErr.CompareAndSwap(nil, err)
					errs.Add(1)
					return
				}
				if measuring.Load() {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	time.Sleep(2 * time.Second)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(d)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	if errs.Load() > 0 {
		return fmt.Errorf("%d clients failed: %v", errs.Load(), firstErr.Load())
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("  imported %d messages in %v: %.0f messages/s; latency p50 %v p99 %v max %v\n",
		len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), pct(1).Round(100*time.Microsecond))

	if big <= 0 {
		return nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeMail(pw, "big-"+suffix+"@cliente.example", big, 7)) }()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	peakC := make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				peakC <- peak
				return
			case <-tick.C:
			}
		}
	}()
	t0 := time.Now()
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		return err
	}
	err = c.SendMail("ana@cliente.example", []string{addr}, pr)
	c.Close()
	took := time.Since(t0)
	close(done)
	peak := <-peakC
	runtime.ReadMemStats(&after)
	if err != nil {
		return fmt.Errorf("large message: %w", err)
	}
	fmt.Printf("  one %.1f MiB attachment (%.1f MiB message) in %v: heap %.1f MiB before, peak %.1f MiB (growth %.1f MiB), %.1f MiB allocated in all (client and server)\n",
		float64(big)/(1<<20), float64(big)*4/3/(1<<20), took.Round(time.Millisecond), float64(before.HeapAlloc)/(1<<20), float64(peak)/(1<<20),
		(float64(peak)-float64(before.HeapAlloc))/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	return nil
}
