package httpapi

import (
	"sync"
	"time"
)

// authCacheTTL bounds how long a resolved credential is trusted without
// asking the store again. Changes made through this server (revoking a
// token, deactivating a user, changing roles or a password, logging out)
// purge the cache at once; the TTL bounds the delay for changes made
// elsewhere (another node, the admin command line).
const authCacheTTL = 10 * time.Second

// authCache remembers which principal a session cookie or bearer token
// stands for, so each request does not read the token and user again.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry // by credential secret
	byUser  map[string]map[string]bool
	now     func() time.Time
}

type authEntry struct {
	p       *principal
	expires time.Time
}

func newAuthCache() *authCache {
	return &authCache{entries: map[string]authEntry{}, byUser: map[string]map[string]bool{}, now: time.Now}
}

func (c *authCache) get(secret string) *principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[secret]
	if !ok {
		return nil
	}
	if c.now().After(e.expires) {
		c.drop(secret, e.p.UserID)
		return nil
	}
	return e.p
}

func (c *authCache) put(secret string, p *principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 100_000 {
		c.entries, c.byUser = map[string]authEntry{}, map[string]map[string]bool{}
	}
	c.entries[secret] = authEntry{p: p, expires: c.now().Add(authCacheTTL)}
	if c.byUser[p.UserID] == nil {
		c.byUser[p.UserID] = map[string]bool{}
	}
	c.byUser[p.UserID][secret] = true
}

// purgeUser forgets every credential of a user.
func (c *authCache) purgeUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for secret := range c.byUser[userID] {
		delete(c.entries, secret)
	}
	delete(c.byUser, userID)
}

// purge forgets one credential.
func (c *authCache) purge(secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[secret]; ok {
		c.drop(secret, e.p.UserID)
	}
}

// purgeToken forgets the credential resolved to a token id.
func (c *authCache) purgeToken(tokenID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for secret, e := range c.entries {
		if e.p.TokenID == tokenID {
			c.drop(secret, e.p.UserID)
		}
	}
}

func (c *authCache) drop(secret, userID string) {
	delete(c.entries, secret)
	if m := c.byUser[userID]; m != nil {
		delete(m, secret)
		if len(m) == 0 {
			delete(c.byUser, userID)
		}
	}
}
