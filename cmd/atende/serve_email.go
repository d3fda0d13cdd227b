package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
)

// emailRuntime is the email channel of a running server: the outbound
// queue's worker, the IMAP importers of mailboxes with IMAP settings and,
// when configured, the SMTP receiving server.
type emailRuntime struct {
	secrets  *secrets.Box
	outbound *email.Outbound
	smtp     *email.ReceiveServer
	imap     *email.IMAPWorkers
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// startEmail opens the secret key, starts the outbound worker, the IMAP
// importers and, with smtp-addr, the SMTP receiving server.
func startEmail(ctx context.Context, cfg Config, st *store.Store, router *routing.Router, log *slog.Logger) (*emailRuntime, error) {
	var box *secrets.Box
	var err error
	if cfg.SecretKey != "" {
		box, err = secrets.New([]byte(cfg.SecretKey))
	} else {
		path := cfg.SecretKeyFile
		if path == "" {
			path = filepath.Join(cfg.DataDir, "secret.key")
		}
		box, err = secrets.LoadKeyFile(path, true)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key (setting secret-key or secret-key-file): %w", err)
	}
	ms, err := media.New(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		return nil, err
	}
	rt := &emailRuntime{secrets: box}
	rt.outbound = &email.Outbound{Store: st, Media: ms, Secrets: box, Log: log.With("component", "email"),
		Templates: func(lang string) (string, string) {
			return i18n.T(lang, "email.auto_ack.subject"), i18n.T(lang, "email.auto_ack.body")
		}}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.cancel = cancel
	rt.wg.Add(1)
	go func() { defer rt.wg.Done(); rt.outbound.Run(wctx) }()
	importer := &email.Importer{Store: st, Media: ms, Router: router, Outbound: rt.outbound, Log: log.With("component", "email")}
	rt.imap = &email.IMAPWorkers{IMAPImporter: email.IMAPImporter{Importer: importer, Secrets: box, Log: log.With("component", "imap")}}
	rt.wg.Add(1)
	go func() { defer rt.wg.Done(); rt.imap.Run(wctx) }()
	if cfg.SMTPAddr == "" {
		return rt, nil
	}
	ln, err := net.Listen("tcp", cfg.SMTPAddr)
	if err != nil {
		rt.stop()
		return nil, fmt.Errorf("cannot listen on %s (setting smtp-addr, ATENDE_SMTP_ADDR): %w", cfg.SMTPAddr, err)
	}
	rt.smtp = &email.ReceiveServer{Domain: cfg.SMTPDomain, Log: log.With("component", "smtp"), Importer: importer}
	if cfg.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			rt.stop()
			return nil, err
		}
		rt.smtp.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	rt.wg.Add(1)
	go func() { defer rt.wg.Done(); rt.smtp.Serve(ln) }()
	log.Info("SMTP receiving server listening", "addr", ln.Addr().String(), "starttls", cfg.TLS())
	return rt, nil
}

// stop ends the SMTP sessions (letting one in progress finish its write),
// the IMAP importers and the outbound worker.
func (rt *emailRuntime) stop() {
	rt.once.Do(func() {
		if rt.smtp != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := rt.smtp.Shutdown(ctx); err != nil {
				rt.smtp.Close()
			}
			cancel()
		}
		rt.cancel()
		rt.wg.Wait()
	})
}
