package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTripAndBinding(t *testing.T) {
	key, err := ParseKey(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Seal("hunter2", "mailbox:1:imap")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "hunter2") || !strings.HasPrefix(s, "v1:") {
		t.Fatalf("sealed value %q", s)
	}
	if s2, _ := b.Seal("hunter2", "mailbox:1:imap"); s2 == s {
		t.Error("two seals of the same value are equal: nonce reused")
	}
	if got, err := b.Open(s, "mailbox:1:imap"); err != nil || got != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b.Open(s, "mailbox:2:imap"); err == nil {
		t.Error("a value opened under another context")
	}
	other, _ := New(make([]byte, 32))
	if _, err := other.Open(s, "mailbox:1:imap"); err == nil {
		t.Error("a value opened under another key")
	}
	if _, err := b.Open(s[:len(s)-2]+"AA", "mailbox:1:imap"); err == nil {
		t.Error("a tampered value opened")
	}
	if e, _ := b.Seal("", "x"); e != "" {
		t.Error("empty plaintext should seal to empty")
	}
	var none *Box
	if _, err := none.Seal("x", "y"); err != ErrNoKey {
		t.Errorf("nil box: %v", err)
	}
}

func TestLoadKeyFileCreatesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	b1, err := LoadKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	s, _ := b1.Seal("p", "c")
	b2, err := LoadKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(s, "c"); err != nil || got != "p" {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing"), false); err == nil {
		t.Error("missing file without create: no error")
	}
	if _, err := ParseKey("short"); err == nil {
		t.Error("short key accepted")
	}
}
