// Command emailfsync measures what the media store's durable writes cost an
// inbound email (the raw message and one attachment, each written to a
// temporary file, fsynced, renamed into place, then the directory fsynced)
// under C concurrent writers, and compares ways of grouping them:
//
//	one-dir    what media.Store.Put does today with UUIDv7 ids: every file of
//	           a tenant in one directory (id[:2] barely changes), two file
//	           fsyncs and two directory fsyncs per message
//	sharded    the same, spread over 256 directories
//	grouped    both files of a message in one directory, two file fsyncs,
//	           one directory fsync
//
//	go run ./bench/emailfsync -dir /path/on/the/data/disk
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk to measure")
	c := flag.Int("c", 16, "concurrent writers (messages in flight)")
	d := flag.Duration("d", 5*time.Second, "duration per mode")
	raw := flag.Int("raw", 69_000, "bytes of the raw message")
	att := flag.Int("att", 50_000, "bytes of the attachment")
	flag.Parse()
	for _, mode := range []string{"one-dir", "sharded", "grouped"} {
		root, err := os.MkdirTemp(*dir, "emailfsync-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n, err := run(root, mode, *c, *d, *raw, *att)
		os.RemoveAll(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%-8s C=%d: %.0f messages/s (%d in %v)\n", mode, *c, float64(n)/d.Seconds(), n, *d)
	}
}

func put(dir string, data []byte, syncDir bool) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	tmp.Close()
	b := make([]byte, 16)
	rand.Read(b)
	if err := os.Rename(tmp.Name(), filepath.Join(dir, fmt.Sprintf("%x", b))); err != nil {
		return err
	}
	if syncDir {
		return fsyncDir(dir)
	}
	return nil
}

func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func run(root, mode string, c int, d time.Duration, rawN, attN int) (int64, error) {
	raw, att := make([]byte, rawN), make([]byte, attN)
	rand.Read(raw)
	rand.Read(att)
	var n, seq atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for time.Now().Before(stop) {
				i := seq.Add(1)
				var err error
				switch mode {
				case "one-dir":
					dir := filepath.Join(root, "tenant", "01")
					if err = put(dir, raw, true); err == nil {
						err = put(dir, att, true)
					}
				case "sharded":
					if err = put(filepath.Join(root, "tenant", fmt.Sprintf("%02x", i%256)), raw, true); err == nil {
						err = put(filepath.Join(root, "tenant", fmt.Sprintf("%02x", (i*7+3)%256)), att, true)
					}
				case "grouped":
					dir := filepath.Join(root, "tenant", fmt.Sprintf("%02x", i%256))
					if err = put(dir, raw, false); err == nil {
						if err = put(dir, att, false); err == nil {
							err = fsyncDir(dir)
						}
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return n.Load(), nil
}
