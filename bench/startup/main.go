// Command startup measures how quickly `atende serve` becomes ready on an
// existing store, and how much memory it holds once idle.
//
// Each of -runs runs starts the server on a free loopback port, polls
// /readyz every millisecond and records the time from just before the process
// was started until the first 200 answer ("ready in"). After the last run the
// server is left idle for -idle and its resident set size is read from
// /proc/PID/status (VmRSS). Every server is stopped with SIGTERM.
//
// The last line of output is machine-readable:
//
//	RESULT label=... runs=5 ready_min_ms=... ready_median_ms=... ready_max_ms=... idle_rss_mb=...
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "atende", "atende `binary`")
	data := flag.String("data", "", "data `dir` of the existing store")
	db := flag.String("db", "", "database `DSN` (default: SQLite in -data)")
	runs := flag.Int("runs", 5, "how many starts to time")
	idle := flag.Duration("idle", 5*time.Second, "idle time before reading the resident set size")
	label := flag.String("label", "", "label for the RESULT line")
	logPath := flag.String("log", os.DevNull, "`file` for the servers' output")
	flag.Parse()
	if flag.NArg() > 0 || *data == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "startup: -data is required")
		flag.Usage()
		os.Exit(2)
	}
	storeArgs := []string{"--data", *data}
	if *db != "" {
		storeArgs = append(storeArgs, "--db", *db)
	}
	logFile, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fatal(err)
	}
	defer logFile.Close()

	var ready []time.Duration
	var rssKB, hwmKB int64
	for i := range *runs {
		last := i == *runs-1
		d, kb, hwm, err := startOnce(*bin, storeArgs, logFile, last, *idle)
		if err != nil {
			fatal(err)
		}
		ready = append(ready, d)
		fmt.Printf("  start %d: ready in %.1f ms\n", i+1, ms(d))
		if last {
			rssKB, hwmKB = kb, hwm
		}
	}
	sorted := slices.Clone(ready)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	fmt.Printf("  ready in: min %.1f ms, median %.1f ms, max %.1f ms over %d starts\n", ms(sorted[0]), ms(median), ms(sorted[len(sorted)-1]), len(sorted))
	fmt.Printf("  idle RSS after %v: %.1f MB (peak %.1f MB)\n", *idle, float64(rssKB)/1024, float64(hwmKB)/1024)
	fmt.Printf("RESULT label=%s runs=%d ready_min_ms=%.1f ready_median_ms=%.1f ready_max_ms=%.1f idle_rss_mb=%.1f peak_rss_mb=%.1f\n",
		*label, len(sorted), ms(sorted[0]), ms(median), ms(sorted[len(sorted)-1]), float64(rssKB)/1024, float64(hwmKB)/1024)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "startup: %v\n", err)
	os.Exit(1)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startOnce starts the server, times it until /readyz answers 200, optionally
// idles and reads its memory, and stops it.
func startOnce(bin string, storeArgs []string, log io.Writer, measureRSS bool, idle time.Duration) (ready time.Duration, rssKB, hwmKB int64, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, storeArgs...)...)
	cmd.Stdout, cmd.Stderr = log, log
	exited := make(chan struct{})
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/readyz"

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := time.After(30 * time.Second)
	for {
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = time.Since(start)
				break
			}
		}
		select {
		case <-exited:
			return 0, 0, 0, errors.New("the server exited before it was ready")
		case <-deadline:
			return 0, 0, 0, errors.New("the server was not ready after 30s")
		case <-time.After(time.Millisecond):
		}
	}
	if !measureRSS {
		return ready, 0, 0, nil
	}
	select {
	case <-time.After(idle):
	case <-exited:
		return 0, 0, 0, errors.New("the server exited while idle")
	}
	rssKB, hwmKB, err = memory(cmd.Process.Pid)
	return ready, rssKB, hwmKB, err
}

// memory reads VmRSS and VmHWM (peak RSS) of a process, in kB.
func memory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/PID/status")
	}
	return rss, hwm, sc.Err()
}
