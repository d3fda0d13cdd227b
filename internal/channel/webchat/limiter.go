package webchat

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token-bucket rate limiter per key (an IP address, a visitor):
// each key may burst Burst requests and then Rate per second. Keys quiet
// long enough to have refilled are forgotten by Sweep.
type Bucket struct {
	Rate  float64
	Burst float64

	mu   sync.Mutex
	keys map[string]*bucketState
	now  func() time.Time
}

type bucketState struct {
	tokens float64
	at     time.Time
}

// NewBucket returns a limiter of rate per second with the given burst.
func NewBucket(rate, burst float64) *Bucket {
	return &Bucket{Rate: rate, Burst: burst, keys: map[string]*bucketState{}, now: time.Now}
}

// Allow takes one token for key; when none is left it reports how long to
// wait for the next.
func (b *Bucket) Allow(key string) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	st := b.keys[key]
	if st == nil {
		st = &bucketState{tokens: b.Burst, at: now}
		b.keys[key] = st
	}
	st.tokens = math.Min(b.Burst, st.tokens+now.Sub(st.at).Seconds()*b.Rate)
	st.at = now
	if st.tokens >= 1 {
		st.tokens--
		return true, 0
	}
	return false, time.Duration((1 - st.tokens) / b.Rate * float64(time.Second))
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
