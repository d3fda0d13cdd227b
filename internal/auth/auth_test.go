package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the expected parameters", h)
	}
	if err := VerifyPassword(h, "correct horse battery staple"); err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if err := VerifyPassword(h, "correct horse battery stapler"); err != ErrMismatch {
		t.Fatalf("wrong password: got %v", err)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA", strings.Replace(h, "t=2", "t=0", 1)} {
		if err := VerifyPassword(bad, "x"); err != ErrMismatch {
			t.Errorf("VerifyPassword(%q) = %v, want ErrMismatch", bad, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	if CheckPasswordPolicy("short") == nil {
		t.Error("accepted a 5-character password")
	}
	if CheckPasswordPolicy("contraseña-larga") != nil {
		t.Error("rejected a 16-character password")
	}
	if CheckPasswordPolicy(strings.Repeat("a", 2000)) == nil {
		t.Error("accepted a 2000-byte password")
	}
}

func TestRandomPasswordAndSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := RandomPassword()
		if len(p) != 20 || strings.ContainsAny(p, "0O1lI") {
			t.Fatalf("RandomPassword() = %q", p)
		}
		if seen[p] {
			t.Fatal("RandomPassword repeated itself")
		}
		seen[p] = true
	}
	s := NewSecret("atk_")
	if !strings.HasPrefix(s, "atk_") || len(s) != 4+43 {
		t.Fatalf("NewSecret = %q", s)
	}
	if HashSecret(s) == HashSecret(NewSecret("atk_")) || len(HashSecret(s)) != 64 {
		t.Fatal("HashSecret is not a per-secret SHA-256 hex")
	}
}

func TestLimiterBackoff(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLimiter()
	l.now = func() time.Time { return now }
	for i := range 5 {
		if ok, _ := l.Allow("ip:1"); !ok {
			t.Fatalf("attempt %d blocked within the free attempts", i+1)
		}
		l.Fail("ip:1")
	}
	// The fifth failure is still free; the sixth starts the delay.
	if ok, _ := l.Allow("ip:1"); !ok {
		t.Fatal("blocked after exactly Free failures")
	}
	l.Fail("ip:1")
	ok, wait := l.Allow("ip:1")
	if ok || wait != time.Second {
		t.Fatalf("after 6 failures: ok=%v wait=%v, want blocked for 1s", ok, wait)
	}
	now = now.Add(time.Second)
	l.Fail("ip:1")
	if _, wait := l.Allow("ip:1"); wait != 2*time.Second {
		t.Fatalf("after 7 failures wait=%v, want 2s (doubling)", wait)
	}
	for range 30 {
		l.Fail("ip:1")
	}
	if _, wait := l.Allow("ip:1"); wait != 15*time.Minute {
		t.Fatalf("wait=%v, want capped at 15m", wait)
	}
	if ok, _ := l.Allow("ip:2"); !ok {
		t.Fatal("another key was blocked")
	}
	l.Succeed("ip:1")
	if ok, _ := l.Allow("ip:1"); !ok {
		t.Fatal("success did not clear the key")
	}
	l.Fail("ip:3")
	now = now.Add(2 * time.Hour)
	l.Sweep()
	if len(l.keys) != 0 {
		t.Fatalf("Sweep kept %d keys", len(l.keys))
	}
}
