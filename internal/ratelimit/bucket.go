// Package ratelimit holds the token buckets that slow down public endpoints
// and floods: per key (an IP address, a visitor), a burst and then a steady
// rate.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token-bucket rate limiter per key: each key may burst Burst
// requests and then Rate per second. Keys quiet long enough to have
// refilled are forgotten by Sweep.
type Bucket struct {
	Rate  float64
	Burst float64

	mu   sync.Mutex
	keys map[string]*state
	now  func() time.Time
}

type state struct {
	tokens float64
	at     time.Time
}

// New returns a limiter of rate per second with the given burst.
func New(rate, burst float64) *Bucket {
	return &Bucket{Rate: rate, Burst: burst, keys: map[string]*state{}, now: time.Now}
}

// refill brings key's tokens up to now. The caller holds b.mu.
func (b *Bucket) refill(key string) *state {
	now := b.now()
	st := b.keys[key]
	if st == nil {
		st = &state{tokens: b.Burst, at: now}
		b.keys[key] = st
	}
	st.tokens = math.Min(b.Burst, st.tokens+now.Sub(st.at).Seconds()*b.Rate)
	st.at = now
	return st
}

// wait is how long key waits for its next token. The caller holds b.mu.
func (b *Bucket) wait(st *state) time.Duration {
	return time.Duration((1 - st.tokens) / b.Rate * float64(time.Second))
}

// Allow takes one token for key; when none is left it reports how long to
// wait for the next.
func (b *Bucket) Allow(key string) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.refill(key)
	if st.tokens >= 1 {
		st.tokens--
		return true, 0
	}
	return false, b.wait(st)
}

// Peek is Allow without taking the token: for limits that charge only
// some requests afterwards (with Spend), such as failed authentications.
func (b *Bucket) Peek(key string) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.refill(key)
	if st.tokens >= 1 {
		return true, 0
	}
	return false, b.wait(st)
}

// Spend takes a token from key, if it has one left.
func (b *Bucket) Spend(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.refill(key)
	st.tokens = math.Max(0, st.tokens-1)
}

// Sweep forgets keys whose buckets are full again.
func (b *Bucket) Sweep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for k, st := range b.keys {
		if st.tokens+now.Sub(st.at).Seconds()*b.Rate >= b.Burst {
			delete(b.keys, k)
		}
	}
}
