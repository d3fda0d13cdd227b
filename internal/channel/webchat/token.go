// Package webchat is the live web chat channel: the visitor's signed token,
// what a visitor may write (sanitised text, rate limits) and may see (the
// customer-visible part of the timeline), typing and read marks carried as
// transient bus events, and the watcher that gives a chat to the agent who
// accepts its task. The HTTP and WebSocket endpoints live in internal/httpapi.
package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/atende/atende"
)

// TokenPrefix starts every visitor token, so that logs and secret scanners
// can tell one apart from an API token (atk_).
const TokenPrefix = "vt_"

// TokenTTL is how long a visitor token lasts; the widget asks for a new
// session (reusing the open conversation) when it runs out.
const TokenTTL = 24 * time.Hour

// Claims are what a visitor token names: the only conversation its holder
// can reach.
type Claims struct {
	TenantID       string `json:"t"`
	WidgetID       string `json:"w"`
	VisitorID      string `json:"v"` // the visitor's reference (VisitorRef)
	ConversationID string `json:"c"`
	Expires        int64  `json:"e"` // Unix seconds
}

// errBadToken is the one answer for every bad token: which check failed is
// not the holder's business.
var errBadToken = atende.Errorf(atende.EUnauthorized, "the chat token is not valid; start a new chat session")

// Sign returns the token for c under key (HMAC-SHA256).
func Sign(key []byte, c Claims) string {
	payload, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return TokenPrefix + p + "." + base64.RawURLEncoding.EncodeToString(mac(key, p))
}

// TenantOf reads the tenant a token claims without checking it, to find the
// key to check it with. Never trust the answer before Verify.
func TenantOf(token string) (string, bool) {
	c, _, ok := split(token)
	if !ok {
		return "", false
	}
	return c.TenantID, atende.ValidID(c.TenantID)
}

// Verify checks the token's signature under key and its expiry.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	c, p, ok := split(token)
	if !ok {
		return Claims{}, errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(token[len(TokenPrefix)+len(p)+1:])
	if err != nil || !hmac.Equal(sig, mac(key, p)) {
		return Claims{}, errBadToken
	}
	if now.Unix() >= c.Expires {
		return Claims{}, errBadToken
	}
	for _, id := range []string{c.TenantID, c.WidgetID, c.ConversationID} {
		if !atende.ValidID(id) {
			return Claims{}, errBadToken
		}
	}
	if c.VisitorID == "" || len(c.VisitorID) > 128 {
		return Claims{}, errBadToken
	}
	return c, nil
}

func split(token string) (Claims, string, bool) {
	var c Claims
	if len(token) > 2000 || !strings.HasPrefix(token, TokenPrefix) {
		return c, "", false
	}
	p, _, ok := strings.Cut(token[len(TokenPrefix):], ".")
	if !ok {
		return c, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return c, "", false
	}
	return c, p, true
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("atende visitor token v1\n"))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// NewVisitorID returns a new visitor id: 128 random bits the widget keeps in
// the browser and sends back to resume its chat.
func NewVisitorID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidVisitorID reports whether a client-sent visitor id has the shape of
// one: 16-128 letters, digits, '-' or '_'.
func ValidVisitorID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// VisitorRef is what atende stores for a visitor: a hash of their id, never
// the id itself. The id works like a password for resuming a chat, so the
// contact's chat identity, the chat session and the token carry only the
// reference: someone who reads them (an agent, a database copy) cannot
// resume the visitor's chat.
func VisitorRef(tenantID, visitorID string) string {
	sum := sha256.Sum256([]byte("atende visitor\n" + tenantID + "\n" + visitorID))
	return "v_" + hex.EncodeToString(sum[:20])
}
