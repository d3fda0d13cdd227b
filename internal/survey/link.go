// Package survey asks customers how a conversation went (CSAT 1-5, NPS
// 0-10) after it ends: the signed links of survey emails, the sender that
// schedules a survey when an email conversation is resolved and queues the
// email when it is due, the question texts, and the server-rendered pages
// the links open. The HTTP handlers live in internal/httpapi.
package survey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/secrets"
)

// LinkPrefix starts every survey link token.
const LinkPrefix = "sv_"

// LinkTTL is how long a survey link can be answered.
const LinkTTL = 30 * 24 * time.Hour

// Claims are what a survey link names: one question (kind) about one
// conversation of one tenant, until Expires.
type Claims struct {
	TenantID       string `json:"t"`
	ConversationID string `json:"c"`
	Kind           string `json:"k"`           // csat or nps
	Lang           string `json:"l,omitempty"` // the language of the page
	Expires        int64  `json:"e"`           // Unix seconds
}

// ErrBadLink is the one answer for every link that is not valid: forged,
// changed, expired or malformed. Which check failed is not the holder's
// business.
var ErrBadLink = errors.New("the survey link is not valid")

// maxLink bounds what is parsed at all.
const maxLink = 512

// Sign returns the link token for c under key (HMAC-SHA256).
func Sign(key []byte, c Claims) string {
	payload, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return LinkPrefix + p + "." + base64.RawURLEncoding.EncodeToString(mac(key, p))
}

// TenantOf reads the tenant a token claims without checking it, to find the
// key to check it with. Never trust the answer before Verify.
func TenantOf(token string) (string, bool) {
	c, _, _, ok := split(token)
	if !ok {
		return "", false
	}
	return c.TenantID, atende.ValidID(c.TenantID)
}

// Verify checks the token's signature under key, its expiry and its claims.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	c, p, sig, ok := split(token)
	if !ok || !hmac.Equal(sig, mac(key, p)) {
		return Claims{}, ErrBadLink
	}
	if now.Unix() >= c.Expires {
		return Claims{}, ErrBadLink
	}
	if !atende.ValidID(c.TenantID) || !atende.ValidID(c.ConversationID) || (c.Kind != atende.SurveyKindCSAT && c.Kind != atende.SurveyKindNPS) ||
		(c.Lang != "" && !atende.ValidLanguage(c.Lang)) {
		return Claims{}, ErrBadLink
	}
	return c, nil
}

func split(token string) (c Claims, payload string, sig []byte, ok bool) {
	if len(token) > maxLink || !strings.HasPrefix(token, LinkPrefix) {
		return c, "", nil, false
	}
	p, s, found := strings.Cut(token[len(LinkPrefix):], ".")
	if !found {
		return c, "", nil, false
	}
	raw, err := b64.DecodeString(p)
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return c, "", nil, false
	}
	sig, err = b64.DecodeString(s)
	if err != nil {
		return c, "", nil, false
	}
	return c, p, sig, true
}

// b64 decodes strictly, so a link has one spelling only.
var b64 = base64.RawURLEncoding.Strict()

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("atende survey link v1\n"))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// KeyStore keeps each tenant's sealed link key.
type KeyStore interface {
	SurveyKey(ctx context.Context, tenantID string, newSealed func() (string, error)) (string, error)
}

// ErrNoSecretKey is returned by Keys when the server has no secret key to
// seal link keys with.
var ErrNoSecretKey = errors.New("no secret key is configured (setting secret-key-file); survey links need one")

// Keys hands out each tenant's link key: 32 random bytes made on first use,
// stored sealed by the server's secret key (context survey_key:<tenant>),
// so every node and every restart signs and checks with the same key and a
// copy of the database alone cannot mint links.
type Keys struct {
	Store KeyStore
	Box   *secrets.Box
	cache sync.Map // tenant id -> []byte
}

// Key returns the tenant's link key.
func (k *Keys) Key(ctx context.Context, tenantID string) ([]byte, error) {
	if v, ok := k.cache.Load(tenantID); ok {
		return v.([]byte), nil
	}
	if k.Box == nil {
		return nil, ErrNoSecretKey
	}
	keyCtx := "survey_key:" + tenantID
	sealed, err := k.Store.SurveyKey(ctx, tenantID, func() (string, error) {
		raw := make([]byte, 32)
		rand.Read(raw)
		return k.Box.Seal(hex.EncodeToString(raw), keyCtx)
	})
	if err != nil {
		return nil, err
	}
	plain, err := k.Box.Open(sealed, keyCtx)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(plain)
	if err != nil {
		return nil, err
	}
	k.cache.Store(tenantID, key)
	return key, nil
}
