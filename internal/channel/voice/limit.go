package voice

import (
	"sync"
	"time"

	"github.com/atende/atende/internal/ratelimit"
)

// limiter slows down unauthenticated REGISTER and INVITE floods (password
// guessing, toll-fraud scanners) per source IP. Only requests that do not
// authenticate spend tokens: a challenge, a wrong password, an unknown
// domain or number. A phone that registers properly spends one token per
// refresh (its first, unauthenticated try). When the bucket is empty the
// source is answered 503 with Retry-After; when it keeps sending anyway,
// its requests are dropped without an answer.
type limiter struct {
	bucket *ratelimit.Bucket
	// answerBlocked is how many requests of an empty bucket are still
	// answered 503 before the rest are dropped.
	answerBlocked int

	mu      sync.Mutex
	refused map[string]int // requests refused since the source's bucket last had a token
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{bucket: ratelimit.New(rate, burst), answerBlocked: 20, refused: map[string]int{}}
}

// verdict says what to do with a request from a source.
type verdict int

const (
	allow  verdict = iota
	refuse         // answer 503 with Retry-After
	drop           // send nothing
)

// check says whether key may be served now and, if not, after how long.
func (l *limiter) check(key string) (verdict, time.Duration) {
	ok, wait := l.bucket.Peek(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		delete(l.refused, key)
		return allow, 0
	}
	l.refused[key]++
	if l.refused[key] > l.answerBlocked {
		return drop, wait
	}
	return refuse, wait
}

// spend takes a token from key for a request that did not authenticate.
func (l *limiter) spend(key string) { l.bucket.Spend(key) }

// sweep forgets sources whose buckets are full again.
func (l *limiter) sweep() {
	l.mu.Lock()
	for k := range l.refused {
		if ok, _ := l.bucket.Peek(k); ok {
			delete(l.refused, k)
		}
	}
	l.mu.Unlock()
	l.bucket.Sweep()
}
