// Package admission owns how a Motor process sheds load before it falls
// over: a token bucket per caller identity (golang.org/x/time/rate), so one
// caller cannot take the process from everyone else, and a cap on the work
// in flight, so many callers together cannot run it out of memory. The gRPC
// servers (internal/rpc) and the HTTP server (cmd/motor) use the same two
// pieces; HTTP.go wraps a whole HTTP server with them.
package admission

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rates is how fast one identity may call: a steady rate per second and a
// burst above it.
type Rates struct {
	PerSecond float64
	Burst     int
}

// Limiter keeps one token bucket per identity. Buckets idle long enough to
// have refilled are forgotten, so the map stays as small as the set of
// recent callers.
type Limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
	// sweepAt is when idle buckets are next looked for.
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// maxBuckets bounds the map even when callers churn faster than buckets
// refill (a flood of made-up identities): past it, the oldest are dropped.
const maxBuckets = 100_000

// NewLimiter returns a limiter with no buckets yet.
func NewLimiter() *Limiter {
	return &Limiter{buckets: map[string]*bucket{}, now: time.Now}
}

// Allow takes one token from key's bucket (created with r on first use). When
// none is left it reports how long until one is.
func (l *Limiter) Allow(key string, r Rates) (ok bool, retryAfter time.Duration) {
	q := l.Take(key, r)
	return q.OK, q.RetryAfter
}

// Quota is what one call left of a caller's bucket: whether it was let in,
// how long until the next token when not, the whole tokens left, and how
// long until the bucket is full again.
type Quota struct {
	OK         bool
	RetryAfter time.Duration
	Remaining  int
	Reset      time.Duration
}

// Take is Allow, also telling what is left (the RateLimit headers).
func (l *Limiter) Take(key string, r Rates) Quota {
	if r.PerSecond <= 0 {
		return Quota{OK: true, Remaining: -1}
	}
	now := l.now()
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		l.sweep(now)
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), max(r.Burst, 1))}
		l.buckets[key] = b
	}
	b.last = now
	l.mu.Unlock()

	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return Quota{RetryAfter: time.Second}
	}
	q := Quota{OK: true}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		q = Quota{RetryAfter: d}
	}
	left := b.lim.TokensAt(now)
	q.Remaining = max(int(left), 0)
	q.Reset = time.Duration((float64(max(r.Burst, 1)) - left) / r.PerSecond * float64(time.Second))
	return q
}

// sweep forgets buckets idle for longer than a full refill takes; they
// would be full again anyway. Callers hold l.mu.
func (l *Limiter) sweep(now time.Time) {
	if now.Before(l.sweepAt) && len(l.buckets) < maxBuckets {
		return
	}
	l.sweepAt = now.Add(time.Minute)
	var oldest time.Time
	for k, b := range l.buckets {
		full := time.Duration(float64(b.lim.Burst()) / math.Max(float64(b.lim.Limit()), 1e-9) * float64(time.Second))
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		} else if oldest.IsZero() || b.last.Before(oldest) {
			oldest = b.last
		}
	}
	for k, b := range l.buckets {
		if len(l.buckets) < maxBuckets {
			break
		}
		if !b.last.After(oldest) {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of buckets kept (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// InFlight caps the calls served at once. Acquire never waits: a process
// that is full says so at once instead of queueing callers until memory
// runs out.
type InFlight struct {
	slots chan struct{}
}

// NewInFlight allows n calls at once; n ≤ 0 means no cap.
func NewInFlight(n int) *InFlight {
	if n <= 0 {
		return &InFlight{}
	}
	return &InFlight{slots: make(chan struct{}, n)}
}

// Acquire takes a slot, or reports false when all are taken. Every true
// must be followed by one Release.
func (f *InFlight) Acquire() bool {
	if f == nil || f.slots == nil {
		return true
	}
	select {
	case f.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release gives a slot back.
func (f *InFlight) Release() {
	if f == nil || f.slots == nil {
		return
	}
	<-f.slots
}

// Busy is the number of slots taken.
func (f *InFlight) Busy() int {
	if f == nil {
		return 0
	}
	return len(f.slots)
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
