// Package secrets encrypts credentials kept at rest (mailbox passwords, DKIM
// keys) with AES-256-GCM under a key from the configuration, so a copy of the
// database alone does not give them away.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// prefix marks the format of a sealed value, so that a later key rotation or
// algorithm can tell its values from these.
const prefix = "v1:"

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// Box seals and opens values with one key. The zero value is not usable; use
// New or LoadKeyFile.
type Box struct {
	aead cipher.AEAD
}

// ErrNoKey is returned by a nil *Box.
var ErrNoKey = errors.New("no secret key configured (setting secret-key or secret-key-file)")

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey reads a key written as 64 hex digits or as base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a secret key is 32 bytes written as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
}

// LoadKeyFile reads the key in path. When the file does not exist and create
// is true, a new random key is written there (mode 0600) first, so a fresh
// installation works with no set-up; back that file up with the database.
func LoadKeyFile(path string, create bool) (*Box, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create secret key file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create secret key file: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		serr := f.Sync()
		if err := errors.Join(werr, serr, f.Close()); err != nil {
			return nil, fmt.Errorf("write secret key file %s: %w", path, err)
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return New(key)
}

// Seal encrypts plaintext; context (e.g. "mailbox:<id>:imap_password") is
// authenticated but not stored, so a sealed value copied onto another row or
// field does not open. An empty plaintext seals to "".
func (b *Box) Seal(plaintext, context string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if b == nil {
		return "", ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed, context string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if b == nil {
		return "", ErrNoKey
	}
	if !strings.HasPrefix(sealed, prefix) {
		return "", errors.New("open secret: unknown format")
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed[len(prefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("open secret: malformed value")
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", errors.New("open secret: wrong key or tampered value")
	}
	return string(pt), nil
}
