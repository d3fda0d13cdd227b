package voice

import (
	"math"
	"sync"
	"time"
)

// limiter slows down unauthenticated REGISTER and INVITE floods (password
// guessing, toll-fraud scanners) per source IP. Only requests that do not
// authenticate spend tokens: a challenge, a wrong password, an unknown
// domain or number. A phone that registers properly spends one token per
// refresh (its first, unauthenticated try). When the bucket is empty the
// source is answered 503 with Retry-After; when it keeps sending anyway,
// its requests are dropped without an answer.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	// answerBlocked is how many requests of an empty bucket are still
	// answered 503 before the rest are dropped.
	answerBlocked int

	mu   sync.Mutex
	keys map[string]*limitState
	now  func() time.Time
}

type limitState struct {
	tokens  float64
	at      time.Time
	refused int // requests refused since the bucket last had a token
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, answerBlocked: 20, keys: map[string]*limitState{}, now: time.Now}
}

// verdict says what to do with a request from a source.
type verdict int

const (
	allow  verdict = iota
	refuse         // answer 503 with Retry-After
	drop           // send nothing
)

func (l *limiter) refill(key string) *limitState {
	now := l.now()
	st := l.keys[key]
	if st == nil {
		st = &limitState{tokens: l.burst, at: now}
		l.keys[key] = st
	}
	st.tokens = math.Min(l.burst, st.tokens+now.Sub(st.at).Seconds()*l.rate)
	st.at = now
	return st
}

// check says whether key may be served now and, if not, after how long.
func (l *limiter) check(key string) (verdict, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.refill(key)
	if st.tokens >= 1 {
		st.refused = 0
		return allow, 0
	}
	st.refused++
	wait := time.Duration((1 - st.tokens) / l.rate * float64(time.Second))
	if st.refused > l.answerBlocked {
		return drop, wait
	}
	return refuse, wait
}

// spend takes a token from key for a request that did not authenticate.
func (l *limiter) spend(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.refill(key)
	st.tokens = math.Max(0, st.tokens-1)
}

// sweep forgets sources whose buckets are full again.
func (l *limiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, st := range l.keys {
		if st.tokens+now.Sub(st.at).Seconds()*l.rate >= l.burst {
			delete(l.keys, k)
		}
	}
}
