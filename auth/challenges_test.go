package auth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/store"
)

func newTestChallenges() (*Challenges, *testClock) {
	clock := &testClock{now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	return NewChallenges(clock.Now), clock
}

func issue(t *testing.T, c *Challenges, purpose string) []byte {
	t.Helper()
	ch, _, err := c.Issue(purpose)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestChallengeSingleUse(t *testing.T) {
	c, _ := newTestChallenges()
	ch := issue(t, c, e2ee.AuthLogin)
	if len(ch) != ChallengeSize {
		t.Fatalf("challenge of %d bytes, want %d", len(ch), ChallengeSize)
	}
	if other := issue(t, c, e2ee.AuthLogin); bytes.Equal(ch, other) {
		t.Fatal("two challenges are equal")
	}
	if err := c.Consume(e2ee.AuthLogin, ch); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := c.Consume(e2ee.AuthLogin, ch); !errors.Is(err, ErrChallenge) {
		t.Fatalf("second use: %v, want ErrChallenge", err)
	}
}

func TestChallengeExpires(t *testing.T) {
	c, clock := newTestChallenges()
	start := clock.Now()
	early, exp, err := c.Issue(e2ee.AuthLogin)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(start.Add(ChallengeTTL)) {
		t.Errorf("expiry %v, want %v", exp, start.Add(ChallengeTTL))
	}
	late := issue(t, c, e2ee.AuthLogin)
	clock.Advance(ChallengeTTL - time.Nanosecond)
	if err := c.Consume(e2ee.AuthLogin, early); err != nil {
		t.Fatalf("answered just inside the TTL: %v", err)
	}
	clock.Advance(time.Nanosecond)
	if err := c.Consume(e2ee.AuthLogin, late); !errors.Is(err, ErrChallenge) {
		t.Fatalf("answered at the expiry: %v, want ErrChallenge", err)
	}
}

// TestChallengeBoundToPurpose: a challenge answers only what it was issued
// for; a try for another purpose does not use it up.
func TestChallengeBoundToPurpose(t *testing.T) {
	c, _ := newTestChallenges()
	ch := issue(t, c, e2ee.AuthLogin)
	if err := c.Consume(e2ee.AuthSetup, ch); !errors.Is(err, ErrChallenge) {
		t.Fatalf("login challenge used for setup: %v, want ErrChallenge", err)
	}
	if err := c.Consume(e2ee.AuthLogin, ch); err != nil {
		t.Fatalf("login challenge after a wrong-purpose try: %v", err)
	}
	if err := c.Consume(e2ee.AuthLogin, ch); !errors.Is(err, ErrChallenge) {
		t.Fatalf("login challenge used twice: %v, want ErrChallenge", err)
	}
}

func TestChallengeRefusesStrangers(t *testing.T) {
	c, _ := newTestChallenges()
	ch := issue(t, c, e2ee.AuthLogin)
	forged := bytes.Clone(ch)
	forged[0] ^= 1
	for name, b := range map[string][]byte{"unknown": forged, "short": ch[:ChallengeSize-1], "long": append(bytes.Clone(ch), 0), "empty": nil} {
		if err := c.Consume(e2ee.AuthLogin, b); !errors.Is(err, ErrChallenge) {
			t.Errorf("%s challenge: %v, want ErrChallenge", name, err)
		}
	}
	if err := c.Consume(e2ee.AuthLogin, ch); err != nil {
		t.Fatalf("the real challenge after the strangers: %v", err)
	}
}

// TestProofChecks: a login proof must sign this origin, this purpose and
// this challenge with the claimed key, once.
func TestProofChecks(t *testing.T) {
	f := newFixture(t)
	k := f.person(store.RoleVolunteer)
	other := newKey(t)
	ch := func(purpose string) []byte { return issue(t, f.svc.Challenges, purpose) }

	wrongOrigin := func() Proof {
		c := ch(e2ee.AuthLogin)
		sig, err := e2eetest.SignAuth(rand.Reader, k.sk, e2ee.AuthLogin, "https://elsewhere.example", c)
		if err != nil {
			t.Fatal(err)
		}
		return Proof{PubKey: k.pk, Challenge: c, Signature: sig}
	}
	impostor := f.sign(other, e2ee.AuthLogin, ch(e2ee.AuthLogin))
	impostor.PubKey = k.pk
	cases := map[string]Proof{
		"signed for setup":     f.sign(k, e2ee.AuthSetup, ch(e2ee.AuthLogin)),
		"setup challenge":      f.sign(k, e2ee.AuthLogin, ch(e2ee.AuthSetup)),
		"another origin":       wrongOrigin(),
		"another key signed":   impostor,
		"unissued challenge":   f.sign(k, e2ee.AuthLogin, bytes.Repeat([]byte{7}, ChallengeSize)),
		"malformed public key": {PubKey: "zz", Challenge: ch(e2ee.AuthLogin)},
	}
	for name, p := range cases {
		if _, err := f.svc.Login(f.ctx, p); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}

	// A bad signature does not use the challenge up (it proves nothing, so
	// it must not fill the memory of used challenges); the good one works
	// once, and its replay is refused.
	c := ch(e2ee.AuthLogin)
	bad := f.sign(k, e2ee.AuthLogin, c)
	bad.Signature[5] ^= 1
	if _, err := f.svc.Login(f.ctx, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	good := f.sign(k, e2ee.AuthLogin, c)
	if _, err := f.svc.Login(f.ctx, good); err != nil {
		t.Fatalf("good signature after a bad one: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, good); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("replayed proof: %v, want ErrBadSignature", err)
	}
}
