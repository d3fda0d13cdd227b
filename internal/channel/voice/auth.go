package voice

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Digest authentication (RFC 3261 section 22, RFC 2617, RFC 8760 for
// SHA-256). Nonces are stateless: a time stamp and an HMAC over it and the
// realm, so no table of challenges grows under a flood of REGISTERs and a
// stale nonce is told apart from a forged one.

// Credentials are the parsed parameters of an Authorization or
// Proxy-Authorization header with the Digest scheme.
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string // MD5 (default) or SHA-256
	CNonce    string
	QOP       string
	NC        string
	Opaque    string
}

// maxAuthHeader bounds the header we parse; real ones are a few hundred bytes.
const maxAuthHeader = 4096

// ParseCredentials reads a Digest Authorization header value.
func ParseCredentials(v string) (*Credentials, error) {
	if len(v) > maxAuthHeader {
		return nil, errors.New("authorization header too long")
	}
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("authorization scheme %q is not Digest", scheme)
	}
	params, err := parseAuthParams(rest)
	if err != nil {
		return nil, err
	}
	c := &Credentials{
		Username: params["username"], Realm: params["realm"], Nonce: params["nonce"], URI: params["uri"],
		Response: strings.ToLower(params["response"]), Algorithm: params["algorithm"], CNonce: params["cnonce"],
		QOP: params["qop"], NC: params["nc"], Opaque: params["opaque"],
	}
	if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return nil, errors.New("authorization lacks username, nonce, uri or response")
	}
	if c.Algorithm == "" {
		c.Algorithm = "MD5"
	}
	if newHash(c.Algorithm) == nil {
		return nil, fmt.Errorf("digest algorithm %q is not supported", c.Algorithm)
	}
	if c.QOP != "" && (c.QOP != "auth" || c.CNonce == "" || c.NC == "") {
		return nil, errors.New("qop must be auth, with cnonce and nc")
	}
	return c, nil
}

// parseAuthParams reads comma-separated name=value pairs whose values are
// tokens or quoted strings (with backslash escapes).
func parseAuthParams(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		name := strings.ToLower(s[start:i])
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if name == "" || i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("authorization parameter %q has no value", name)
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("authorization parameter %q has an unterminated quote", name)
			}
		} else {
			start := i
			for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			val.WriteString(s[start:i])
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("authorization parameter %q is repeated", name)
		}
		out[name] = val.String()
	}
}

func newHash(alg string) func() hash.Hash {
	switch strings.ToUpper(alg) {
	case "MD5":
		return md5.New
	case "SHA-256":
		return sha256.New
	}
	return nil
}

func hexHash(h func() hash.Hash, parts ...string) string {
	d := h()
	d.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(d.Sum(nil))
}

// expectedResponse computes the digest response for password.
func (c *Credentials) expectedResponse(method, password string) string {
	h := newHash(c.Algorithm)
	ha1 := hexHash(h, c.Username, c.Realm, password)
	ha2 := hexHash(h, method, c.URI)
	if c.QOP == "auth" {
		return hexHash(h, ha1, c.Nonce, c.NC, c.CNonce, c.QOP, ha2)
	}
	return hexHash(h, ha1, c.Nonce, ha2)
}

// Verify reports whether the credentials prove knowledge of password for
// a request with method.
func (c *Credentials) Verify(method, password string) bool {
	want := c.expectedResponse(method, password)
	return subtle.ConstantTimeCompare([]byte(want), []byte(c.Response)) == 1
}

// nonces issues and checks stateless nonces.
type nonces struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func newNonces(ttl time.Duration) *nonces {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return &nonces{key: key, ttl: ttl, now: time.Now}
}

func (n *nonces) mac(stamp []byte, realm string) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write(stamp)
	m.Write([]byte(realm))
	return m.Sum(nil)[:16]
}

// issue makes a nonce for realm.
func (n *nonces) issue(realm string) string {
	b := make([]byte, 8, 24)
	binary.BigEndian.PutUint64(b, uint64(n.now().UnixNano()))
	b = append(b, n.mac(b, realm)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// nonceState is what check found.
type nonceState int

const (
	nonceValid nonceState = iota
	nonceStale            // ours, but expired: the client should retry with a new one
	nonceBad              // not ours (or for another realm)
)

func (n *nonces) check(nonce, realm string) nonceState {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 24 {
		return nonceBad
	}
	if !hmac.Equal(b[8:], n.mac(b[:8], realm)) {
		return nonceBad
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	age := n.now().Sub(issued)
	if age < -time.Minute || age > n.ttl {
		return nonceStale
	}
	return nonceValid
}

// challenges are the WWW-Authenticate (or Proxy-Authenticate) values for
// realm: MD5 first, the algorithm every phone knows, then SHA-256
// (RFC 8760) for those that prefer it.
func (n *nonces) challenges(realm string, stale bool) []string {
	nonce := n.issue(realm)
	var out []string
	for _, alg := range []string{"MD5", "SHA-256"} {
		v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, realm, nonce, alg)
		if stale {
			v += ", stale=true"
		}
		out = append(out, v)
	}
	return out
}
