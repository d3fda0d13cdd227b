package survey

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
)

var (
	keyA = bytes.Repeat([]byte{1}, 32)
	keyB = bytes.Repeat([]byte{2}, 32)
	now  = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
)

func claims() Claims {
	return Claims{TenantID: atende.NewID(), ConversationID: atende.NewID(), Kind: "csat", Lang: "es", Expires: now.Add(LinkTTL).Unix()}
}

func TestLinkRoundTrip(t *testing.T) {
	c := claims()
	tok := Sign(keyA, c)
	if !strings.HasPrefix(tok, LinkPrefix) || strings.ContainsAny(tok, "/?#&=+ ") {
		t.Fatalf("token %q is not URL-path safe", tok)
	}
	if tn, ok := TenantOf(tok); !ok || tn != c.TenantID {
		t.Fatalf("TenantOf = %q %v", tn, ok)
	}
	got, err := Verify(keyA, tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v %v, want %+v", got, err, c)
	}
}

func TestLinkRefused(t *testing.T) {
	c := claims()
	tok := Sign(keyA, c)
	payload, sig, _ := strings.Cut(strings.TrimPrefix(tok, LinkPrefix), ".")
	other := c
	other.ConversationID = atende.NewID()
	otherPayload, _, _ := strings.Cut(strings.TrimPrefix(Sign(keyA, other), LinkPrefix), ".")
	bad := func(k string, mutate func(*Claims)) string {
		x := c
		mutate(&x)
		return Sign(keyA, x)
	}
	for name, tc := range map[string]struct {
		key []byte
		tok string
		at  time.Time
	}{
		"another tenant's key":          {keyB, tok, now},
		"expired":                       {keyA, tok, now.Add(LinkTTL)},
		"payload swapped":               {keyA, LinkPrefix + otherPayload + "." + sig, now},
		"signature cut":                 {keyA, LinkPrefix + payload + "." + sig[:10], now},
		"no signature":                  {keyA, LinkPrefix + payload, now},
		"wrong prefix":                  {keyA, "vt_" + strings.TrimPrefix(tok, LinkPrefix), now},
		"empty":                         {keyA, "", now},
		"too long":                      {keyA, tok + strings.Repeat("A", maxLink), now},
		"unknown kind":                  {keyA, bad("kind", func(c *Claims) { c.Kind = "ces" }), now},
		"unknown language":              {keyA, bad("lang", func(c *Claims) { c.Lang = "de" }), now},
		"conversation is not an id":     {keyA, bad("conv", func(c *Claims) { c.ConversationID = "../x" }), now},
		"payload not JSON":              {keyA, LinkPrefix + base64.RawURLEncoding.EncodeToString([]byte("x")) + "." + sig, now},
		"signature of the visitor kind": {keyA, LinkPrefix + payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), now},
	} {
		if _, err := Verify(tc.key, tc.tok, tc.at); err != ErrBadLink {
			t.Errorf("%s: Verify = %v, want ErrBadLink", name, err)
		}
	}
}

// fixedClaims are the same in every fuzzing process.
var fixedClaims = Claims{TenantID: "01a2126e-ce40-7919-9cae-7a63924e7979", ConversationID: "01a2126e-ce40-791d-b226-243f79d8c510",
	Kind: "nps", Lang: "pt-BR", Expires: now.Add(time.Hour).Unix()}

// FuzzVerify feeds the link parser arbitrary tokens: it never panics, and
// the only token it accepts is the one signed with the key (the seed).
func FuzzVerify(f *testing.F) {
	c := fixedClaims
	f.Add(Sign(keyA, c))
	f.Add(LinkPrefix + "e30." + "AAAA")
	f.Add(LinkPrefix + ".")
	f.Add("sv_" + strings.Repeat("=", 40))
	f.Fuzz(func(t *testing.T, tok string) {
		TenantOf(tok)
		got, err := Verify(keyA, tok, now)
		if err != nil {
			return
		}
		if got != c || tok != Sign(keyA, c) {
			t.Fatalf("accepted %q with claims %+v", tok, got)
		}
	})
}
