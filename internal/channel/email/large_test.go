package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/emersion/go-smtp"
)

// attachmentMail writes, into w, a message with a text part and an
// attachment of size pseudo-random bytes (base64, 76-column lines),
// generated as it is written: the test itself never holds the message.
// sum receives the attachment's SHA-256.
func attachmentMail(w io.Writer, msgID string, size int, seed uint64, sum hash.Hash) error {
	head := "From: Ana <ana@cliente.es>\r\nTo: soporte@acme.es\r\nSubject: Planos\r\nMessage-ID: <" + msgID + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto los planos.\r\n" +
		"--XX\r\nContent-Type: application/octet-stream; name=\"planos.bin\"\r\nContent-Disposition: attachment; filename=\"planos.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	raw := make([]byte, 57*64)
	line := make([]byte, 0, 78*64)
	for left := size; left > 0; {
		n := min(len(raw), left)
		rng.Read(raw[:n])
		if sum != nil {
			sum.Write(raw[:n])
		}
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

// heapPeak samples the live heap until stop, and returns the highest value.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// TestImport20MBAttachmentStreamsWithBoundedMemory sends a message with a
// 20 MB attachment (27 MB once in base64) through the SMTP receiving
// server and checks that the attachment is stored whole and that the heap
// never grew by more than a fraction of the message.
func TestImport20MBAttachmentStreamsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: 27 MB through SMTP")
	}
	const size = 20 << 20
	e := newEnv(t)
	ctx := context.Background()
	mb, err := e.st.UpdateMailbox(ctx, e.actor, e.mb.ID, 0, func(m *mailbox.Mailbox) error {
		m.Receive.MaxBytes = 40 << 20 // 20 MB in base64 is over the default 25 MiB
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mb = mb
	addr := e.startSMTP()

	sum := sha256.New()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(attachmentMail(pw, "big@cliente.es", size, 1, sum)) }()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peakC := heapPeak(stop)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendMail("ana@cliente.es", []string{"soporte@acme.es"}, pr)
	c.Close()
	close(stop)
	peak := <-peakC
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("20 MiB attachment (%.1f MiB message): heap %.1f MiB before, peak %.1f MiB, growth %.1f MiB",
		float64(size)*4/3/(1<<20), float64(before.HeapAlloc)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20))
	if growth > size/4 {
		t.Errorf("heap grew by %d bytes importing a %d-byte attachment: it is buffered, not streamed", growth, size)
	}

	convs := e.emailConversations()
	if len(convs) != 1 {
		t.Fatalf("%d conversations", len(convs))
	}
	tl := e.timeline(convs[0].ID)
	var d struct{ Email EventData }
	if err := json.Unmarshal(tl[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Email.Parts) != 1 {
		t.Fatalf("attachments %+v", d.Email.Parts)
	}
	p := d.Email.Parts[0]
	f, err := e.media.Open(e.actor.TenantID, p.MediaID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, _ := io.Copy(h, f)
	if n != size || p.Size != size || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(sum.Sum(nil)) || p.Name != "planos.bin" {
		t.Errorf("attachment stored as %q, %d bytes (part says %d), sha256 %x; want %d bytes, sha256 %x", p.Name, n, p.Size, h.Sum(nil), size, sum.Sum(nil))
	}
}

// BenchmarkSMTPImport50KB measures messages per second, each with a 50 KB
// attachment, through the SMTP receiving server on SQLite, from 16
// concurrent clients each on its own connection.
func BenchmarkSMTPImport50KB(b *testing.B) {
	e := newEnv(b)
	addr := e.startSMTP()
	msgs := make([][]byte, 64)
	for i := range msgs {
		var buf bytes.Buffer
		attachmentMail(&buf, "x", 50_000, uint64(i), nil)
		msgs[i] = buf.Bytes()
	}
	var next atomic.Int64
	const clients = 16
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				id := fmt.Sprintf("bench-%d-%d@cliente.es", i, time.Now().UnixNano())
				msg := bytes.Replace(msgs[i%int64(len(msgs))], []byte("<x>"), []byte("<"+id+">"), 1)
				if err := c.SendMail("ana@cliente.es", []string{"soporte@acme.es"}, bytes.NewReader(msg)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
