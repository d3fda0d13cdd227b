package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkLoopbackAddr accepts HOST:PORT whose host is a loopback address or
// localhost: the profiling endpoints have no authentication, so they are
// never offered beyond the machine.
func checkLoopbackAddr(addr string) error {
	if err := checkAddr(addr); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("the host must be a loopback address (127.0.0.1, ::1 or localhost)")
	}
	return nil
}

// serveDebug serves Go's profiling endpoints (/debug/pprof/) on addr, apart
// from the API, until stop is called; bound is the address listened on.
func serveDebug(addr string, log *slog.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("cannot listen on %s (setting debug-addr, ATENDE_DEBUG_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Warn("profiling endpoints are open (setting debug-addr)", "addr", ln.Addr().String())
	return ln.Addr().String(), func() { srv.Close() }, nil
}
