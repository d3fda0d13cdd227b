package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
)

// fakeResolver answers from a table, as a DNS server under someone else's
// control might.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestGuardRefusesTheServersOwnNetworks(t *testing.T) {
	g := &Guard{}
	for _, a := range []string{
		"127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1", "fd00:ec2::254",
		"100.100.100.200", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1",
	} {
		if err := g.CheckAddr(netip.MustParseAddr(a)); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"} {
		if err := g.CheckAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	lo := &Guard{AllowLoopback: true}
	if lo.CheckAddr(netip.MustParseAddr("127.0.0.1")) != nil || lo.CheckAddr(netip.MustParseAddr("10.0.0.1")) == nil {
		t.Error("the loopback setting allows loopback only")
	}
}

func TestGuardChecksURLs(t *testing.T) {
	res := fakeResolver{"hooks.example.com": {"93.184.215.14"}, "rebind.example.com": {"93.184.215.14", "127.0.0.1"}, "meta.example.com": {"169.254.169.254"}}
	g := &Guard{Resolver: res}
	lo := &Guard{Resolver: res, AllowLoopback: true}
	for _, tc := range []struct {
		g    *Guard
		url  string
		want string // "" accepted, else part of the error
	}{
		{g, "https://hooks.example.com/in", ""},
		{g, "https://93.184.215.14:8443/in", ""},
		{g, "http://hooks.example.com/in", "https"},
		{g, "https://rebind.example.com/in", "public addresses"},
		{g, "https://meta.example.com/", "public addresses"},
		{g, "https://[::1]/", "public addresses"},
		{g, "https://localhost/", "public addresses"},
		{g, "https://nowhere.example.com/", "does not resolve"},
		{g, "https://user:pw@hooks.example.com/", "password"},
		{lo, "http://127.0.0.1:8080/in", ""},
		{lo, "http://localhost:8080/in", ""},
		{lo, "http://hooks.example.com/in", "https"},
		{lo, "https://10.0.0.1/in", "public addresses"},
	} {
		err := tc.g.CheckURL(context.Background(), tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s refused: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error about %q", tc.url, err, tc.want)
		case err != nil && atende.ErrorCode(err) != atende.EInvalid:
			t.Errorf("%s: %v is not a field error", tc.url, err)
		}
	}
}

func TestClientDialsOnlyAllowedAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	resp, err := NewClient(&Guard{}, time.Second).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("connected to loopback")
	}
	if !strings.Contains(err.Error(), "public address") {
		t.Fatalf("error %v", err)
	}
	resp, err = NewClient(&Guard{AllowLoopback: true}, time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestSignAndVerify(t *testing.T) {
	secret, body, now := NewSecret(), []byte(`{"id":1}`), time.Unix(1_700_000_000, 0)
	if !strings.HasPrefix(secret, "whsec_") || secret == NewSecret() {
		t.Fatalf("secret %q", secret)
	}
	sig := Sign(secret, now, body)
	// Computed apart (Python's hmac): HMAC-SHA256 keyed with "whsec_test"
	// over `1700000000.{"id":1}`.
	if got := Sign("whsec_test", now, body); got != "t=1700000000,v1=2f441ba4b3b2d50d28a9ab9d9fd8880376ecd1eb5d0435401553f5d8d0a5dcf8" {
		t.Fatalf("signature %q", got)
	}
	for _, tc := range []struct {
		name, header string
		body         []byte
		at           time.Time
		want         error
	}{
		{"valid", sig, body, now.Add(time.Minute), nil},
		{"one of two during a rotation", sig + ",v1=" + strings.Repeat("0", 64), body, now, nil},
		{"tampered body", sig, []byte(`{"id":2}`), now, ErrBadSignature},
		{"too old", sig, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", sig, body, now.Add(-6 * time.Minute), ErrStale},
		{"no signature", "t=1700000000", body, now, ErrBadSignature},
		{"garbage", "nonsense", body, now, ErrBadSignature},
	} {
		if err := Verify(secret, tc.header, tc.body, 5*time.Minute, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
