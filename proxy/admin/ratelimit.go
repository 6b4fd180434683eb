package admin

import (
	"sync"
	"time"
)

// limiter rate-limits failed authentications per client address with a
// token bucket: burst failures at once, then one more per refill. Only
// failures take tokens, so a correct token is never slowed down, except
// that an address that used up its bucket is turned away (429) before its
// token is even compared, until the bucket refills.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	refill  time.Duration
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the memory an attacker with many addresses can use;
// past it, full buckets (which carry no information) are dropped first.
const maxBuckets = 10000

func newLimiter(burst int, refill time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), refill: refill, now: now,
		buckets: make(map[string]*bucket)}
}

// blocked reports whether addr must wait, and for how long.
func (l *limiter) blocked(addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.current(addr)
	if b == nil || b.tokens >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(l.refill))
	return true, wait
}

// fail takes a token for a failed attempt from addr.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.current(addr)
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune()
		}
		b = &bucket{tokens: l.burst, at: l.now()}
		l.buckets[addr] = b
	}
	b.tokens = max(b.tokens-1, 0)
}

// current refills addr's bucket to now; nil when addr has none.
func (l *limiter) current(addr string) *bucket {
	b, ok := l.buckets[addr]
	if !ok {
		return nil
	}
	now := l.now()
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
	return b
}

func (l *limiter) prune() {
	for addr := range l.buckets {
		if b := l.current(addr); b.tokens >= l.burst {
			delete(l.buckets, addr)
		}
	}
	if len(l.buckets) >= maxBuckets {
		// All busy: forget them all rather than grow without bound.
		clear(l.buckets)
	}
}
