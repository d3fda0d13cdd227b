// Package webhook delivers the tenants' stored events to the endpoints their
// administrators register: signed, in order per webhook, at least once, with
// retries and backoff, and only ever to public addresses.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/atende/atende"
)

// Guard decides which addresses a webhook may reach. Requests to the
// server's own network (loopback, private ranges, link-local such as the
// cloud metadata service) would let a tenant administrator probe what only
// the server can see, so they are refused: when the URL is set, by resolving
// its host, and again when connecting, on the address actually dialled, so a
// name that resolves differently later (DNS rebinding) gains nothing.
type Guard struct {
	// AllowLoopback lets webhooks reach loopback addresses, over http too;
	// for tests and local development only.
	AllowLoopback bool
	// Resolver looks host names up (default net.DefaultResolver).
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// blocked are ranges no webhook may reach besides those netip classifies
// (loopback, private, link-local, multicast, unspecified).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, some metadata services
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("100::/64"),        // discard
}

// errBlocked says an address is not one a webhook may reach.
var errBlocked = errors.New("is not a public address")

// CheckAddr reports whether a webhook may connect to addr.
func (g *Guard) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	if g.AllowLoopback && addr.IsLoopback() {
		return nil
	}
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return fmt.Errorf("%s %w", addr, errBlocked)
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return fmt.Errorf("%s %w", addr, errBlocked)
		}
	}
	return nil
}

// CheckURL checks that a webhook may be sent to raw: its form, https (or
// http to loopback when allowed), and every address its host resolves to.
// Its errors are field errors on "url".
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := atende.ParseWebhookURL(strings.TrimSpace(raw))
	if err != nil {
		return err
	}
	host := u.Hostname()
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return atende.FieldError("url", "the host %s does not resolve", host)
	}
	loopback := true
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return atende.FieldError("url", "the host %s resolves to %v: webhooks only reach public addresses", host, err)
		}
		loopback = loopback && a.Unmap().IsLoopback()
	}
	if u.Scheme != "https" && !(g.AllowLoopback && loopback) {
		return atende.FieldError("url", "must be an https:// URL")
	}
	return nil
}

func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		// RFC 6761: always loopback, whatever a resolver says.
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var r interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	} = net.DefaultResolver
	if g.Resolver != nil {
		r = g.Resolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	return addrs, err
}

// control refuses, at connect time, any address CheckAddr refuses.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: unexpected address %q", address)
	}
	if err := g.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("webhook: refusing to connect to %w", err)
	}
	return nil
}
