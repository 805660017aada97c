package api

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// limiter is a per-key token bucket. Keys are client IPs taken from the
// connection itself: X-Forwarded-For is never trusted (Llámenos' mistake).
type limiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds memory under a spray of source addresses; full buckets
// are pruned first because forgetting them changes nothing.
const maxBuckets = 10000

func newLimiter(perMinute, burst int, now func() time.Time) *limiter {
	return &limiter{
		perSec:  float64(perMinute) / 60,
		burst:   float64(burst),
		buckets: map[string]*bucket{},
		now:     now,
	}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.perSec
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets { // all hot: start over rather than grow
		l.buckets = map[string]*bucket{}
	}
}

// rateKey is whom a request counts against: its IPv4 address, or the /64
// of its IPv6 address, since one subscriber usually holds a whole /64.
func rateKey(r *http.Request) string { return addrKey(r.RemoteAddr) }

// addrKey is rateKey for a "host:port" address.
func addrKey(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
