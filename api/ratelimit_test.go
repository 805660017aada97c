package api

import (
	"net/http"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(60, 3, func() time.Time { return now }) // one a second, bursts of three
	for i := 0; i < 3; i++ {
		if !l.allow("a") {
			t.Fatalf("burst request %d refused", i+1)
		}
	}
	if l.allow("a") {
		t.Fatal("fourth request in the same instant allowed")
	}
	if !l.allow("b") {
		t.Fatal("another address shares the bucket")
	}
	now = now.Add(time.Second)
	if !l.allow("a") || l.allow("a") {
		t.Fatal("refill is not one per second")
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	e := newEnv(t, nil, withDeps(func(d *Deps) { d.LoginsPerMinute = 4 })) // bursts of 2
	body := map[string]any{"pubkey": newUser(t).pk, "challenge": "AAAA", "signature": "AAAA"}
	var last resp
	for i := 0; i < 3; i++ {
		last = e.do("POST", "/api/auth/login", body, nil)
	}
	if last.status != 429 || last.errCode() != "too_many_requests" {
		t.Fatalf("third quick login: %d %s", last.status, last.body)
	}
	// Other routes are not affected.
	if r := e.do("GET", "/api/health", nil, nil); r.status != 200 {
		t.Fatalf("health: %d", r.status)
	}
}

func TestRateKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5000":                "192.0.2.7",
		"[::ffff:192.0.2.7]:5000":       "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:1:2:3]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":         "2001:db8:1:3::/64",
		"[fe80::1%eth0]:443":            "fe80::/64",
		"not an address":                "not an address",
	} {
		if got := rateKey(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("rateKey(%s) = %s, want %s", addr, got, want)
		}
	}
}
