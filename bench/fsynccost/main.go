// Command fsynccost measures what one durable write costs on this machine's
// disk: it appends a small block to a file and calls fsync (or fdatasync), in
// a loop, the way a database commit does, and reports the rate and latency
// percentiles of the append+sync pairs.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "`directory` (on the disk to measure) for the scratch file")
	n := flag.Int("n", 2000, "writes to time")
	size := flag.Int("size", 4096, "bytes per write")
	data := flag.Bool("fdatasync", false, "use fdatasync instead of fsync")
	flag.Parse()

	path := filepath.Join(*dir, fmt.Sprintf("fsynccost-%d.tmp", os.Getpid()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsynccost:", err)
		os.Exit(1)
	}
	defer os.Remove(path)
	defer f.Close()

	buf := make([]byte, *size)
	lat := make([]time.Duration, 0, *n)
	start := time.Now()
	for range *n {
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "fsynccost:", err)
			os.Exit(1)
		}
		if *data {
			err = syscall.Fdatasync(int(f.Fd()))
		} else {
			err = f.Sync()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fsynccost:", err)
			os.Exit(1)
		}
		lat = append(lat, time.Since(t))
	}
	total := time.Since(start)
	slices.Sort(lat)
	p := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)]) / float64(time.Millisecond)
	}
	kind := "fsync"
	if *data {
		kind = "fdatasync"
	}
	fmt.Printf("%d x (write %d B + %s) in %s: %.0f/s; p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		*n, *size, kind, *dir, float64(*n)/total.Seconds(), p(.5), p(.95), p(.99), p(1))
}
