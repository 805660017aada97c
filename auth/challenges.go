package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"sync"
	"time"
)

// ChallengeSize is 256 bits, twice e2ee.MinChallengeSize (the 128 bits below
// which a challenge could be guessed).
const ChallengeSize = 32

// ChallengeTTL is how long a challenge may be answered.
const ChallengeTTL = 2 * time.Minute

// maxChallenges bounds memory if someone requests challenges in a loop
// (the HTTP layer rate-limits too).
const maxChallenges = 20000

// ErrChallenge is returned for an unknown, expired, reused or mismatched challenge.
var ErrChallenge = errors.New("auth: challenge unknown, expired or already used")

type challenge struct {
	purpose string
	expires time.Time
}

// Challenges issues single-use random challenges and consumes them exactly
// once: a second use, even within the TTL, fails.
type Challenges struct {
	mu  sync.Mutex
	m   map[[ChallengeSize]byte]challenge
	now func() time.Time
}

// NewChallenges returns an empty challenge set using now as its clock.
func NewChallenges(now func() time.Time) *Challenges {
	return &Challenges{m: map[[ChallengeSize]byte]challenge{}, now: now}
}

// Issue returns a fresh challenge for purpose and its expiry.
func (c *Challenges) Issue(purpose string) ([]byte, time.Time, error) {
	var k [ChallengeSize]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= maxChallenges {
		c.pruneLocked(now)
		if len(c.m) >= maxChallenges {
			return nil, time.Time{}, errors.New("auth: too many outstanding challenges")
		}
	}
	exp := now.Add(ChallengeTTL)
	c.m[k] = challenge{purpose: purpose, expires: exp}
	return k[:], exp, nil
}

// Consume removes the challenge and reports whether it was valid for purpose.
// It is removed even when the purpose does not match, so a challenge can never
// be tried twice.
func (c *Challenges) Consume(purpose string, b []byte) error {
	if len(b) != ChallengeSize {
		return ErrChallenge
	}
	var k [ChallengeSize]byte
	copy(k[:], b)
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[k]
	delete(c.m, k)
	if !ok || subtle.ConstantTimeCompare([]byte(ch.purpose), []byte(purpose)) != 1 || !c.now().Before(ch.expires) {
		return ErrChallenge
	}
	return nil
}

func (c *Challenges) pruneLocked(now time.Time) {
	for k, ch := range c.m {
		if !now.Before(ch.expires) {
			delete(c.m, k)
		}
	}
}
