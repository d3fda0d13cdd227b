package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atende/atende/internal/channel/voice"
	"github.com/atende/atende/internal/channel/voice/flow"
	"github.com/atende/atende/internal/secrets"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/webhook"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// listenVoice opens the SIP listeners the settings ask for. It runs before
// anything is written, like the HTTP listener, so a busy port fails the
// start with the setting to change.
func listenVoice(cfg Config) (*voice.Listeners, error) {
	var specs []voice.ListenSpec
	settingOf := map[string]string{}
	for _, l := range []struct{ transport, addr, setting string }{
		{voice.UDP, cfg.SIPUDP, "sip-udp"}, {voice.TCP, cfg.SIPTCP, "sip-tcp"},
		{voice.TLS, cfg.SIPTLS, "sip-tls"}, {voice.WS, cfg.SIPWS, "sip-ws"},
	} {
		if l.addr != "" {
			specs = append(specs, voice.ListenSpec{Transport: l.transport, Addr: l.addr})
			settingOf[l.transport] = l.setting
		}
	}
	var tlsConf *tls.Config
	if cfg.SIPTLS != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("SIP over TLS (setting sip-tls): %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ls, err := voice.Listen(specs, tlsConf)
	if err != nil {
		var le *voice.ListenError
		if errors.As(err, &le) {
			name := settingOf[le.Spec.Transport]
			return nil, fmt.Errorf("%w (setting %s, %s; empty turns it off)", err, name, envName(name))
		}
		return nil, err
	}
	return ls, nil
}

// startVoice starts the SIP server on the open listeners: registrar,
// trunks and inbound call identification. Calls to a DID whose target is a
// flow run that flow (its HTTP lookups go through guard, as webhooks do);
// other calls are refused until queues take voice.
func startVoice(ctx context.Context, cfg Config, ls *voice.Listeners, st *store.Store, box *secrets.Box, guard *webhook.Guard, reg prometheus.Registerer, log *slog.Logger) (*voice.Server, error) {
	// The SIP library logs some transport events through its package
	// default logger; send them to ours (structured, leveled) rather than
	// to plain stderr.
	sip.SetDefaultLogger(log.With("component", "voice", "layer", "sip"))
	srv, err := voice.New(voice.Config{Store: st, Secrets: box, ExternalHost: cfg.SIPExternalHost, Node: cfg.NodeID,
		Logger: log.With("component", "voice"), Metrics: reg,
		Handler: &flow.Handler{
			Engine: &flow.Engine{HTTP: webhook.NewClient(guard, 10*time.Second), Guard: guard,
				Metrics: flow.NewMetrics(reg), Log: log.With("component", "flow")},
			Store: st,
			Log:   log.With("component", "flow"),
		}}, ls)
	if err != nil {
		return nil, fmt.Errorf("start the SIP server: %w", err)
	}
	srv.Start(ctx)
	addrs := ls.Addrs()
	if len(addrs) == 0 {
		log.Info("SIP is off (settings sip-udp, sip-tcp, sip-tls, sip-ws are empty)")
	} else {
		log.Info("SIP listening", "listeners", addrs, "external_host", cfg.SIPExternalHost)
	}
	return srv, nil
}
