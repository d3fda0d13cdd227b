package auth

import (
	"sync"
	"time"
)

// Limiter slows down password guessing: after Free failed attempts on a key
// (an account or an IP address), each further attempt must wait a delay that
// doubles with every failure, up to Max. A success clears the key. Entries
// expire after Forget of quiet.
type Limiter struct {
	Free   int           // failures allowed before any delay
	Base   time.Duration // first delay
	Max    time.Duration // longest delay
	Forget time.Duration // quiet time after which a key is forgotten

	mu   sync.Mutex
	keys map[string]*attempts
	now  func() time.Time
}

type attempts struct {
	failures int
	next     time.Time // earliest time of the next allowed attempt
	last     time.Time
}

// NewLimiter returns a limiter: 5 free failures, then 1 s doubling to 15 min.
func NewLimiter() *Limiter {
	return &Limiter{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, keys: map[string]*attempts{}, now: time.Now}
}

// Allow reports whether an attempt on key may proceed now and, if not, how
// long to wait.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.keys[key]
	if a == nil {
		return true, 0
	}
	if wait := a.next.Sub(l.now()); wait > 0 {
		return false, wait
	}
	return true, 0
}

// Fail records a failed attempt on key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.keys[key]
	if a == nil {
		a = &attempts{}
		l.keys[key] = a
	}
	a.failures++
	a.last = now
	if over := a.failures - l.Free; over > 0 {
		d := l.Base
		for i := 1; i < over && d < l.Max; i++ {
			d *= 2
		}
		a.next = now.Add(min(d, l.Max))
	}
}

// Succeed clears key after a successful attempt.
func (l *Limiter) Succeed(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

// Sweep forgets keys quiet for longer than Forget; call it periodically.
func (l *Limiter) Sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	cutoff := l.now().Add(-l.Forget)
	for k, a := range l.keys {
		if a.last.Before(cutoff) && !a.next.After(l.now()) {
			delete(l.keys, k)
		}
	}
}
