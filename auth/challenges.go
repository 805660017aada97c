package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A challenge carries its own proof of origin, so issuing one keeps no
// state and can never fail for lack of room:
//
//	nonce (16 random bytes) | issued at (8, Unix ms) | HMAC-SHA256(key, purpose | nonce | issued at)
//
// The key is random per process. Only answered challenges are remembered,
// until they expire, so none is accepted twice.
const (
	nonceSize     = 16
	issuedSize    = 8
	ChallengeSize = nonceSize + issuedSize + sha256.Size // 56 bytes; 128 random bits
)

// ChallengeTTL is how long a challenge may be answered.
const ChallengeTTL = 2 * time.Minute

// maxUsed bounds the memory of answered challenges (about 40 bytes each).
// Past it, the oldest are forgotten and every challenge issued before them
// is refused as too old: a flood of answers shortens how long a challenge
// lives, down to the flood's pace, but never lets one be used twice and
// never refuses a fresh one.
const maxUsed = 200_000

// ErrChallenge is returned for an unknown, expired, reused or mismatched challenge.
var ErrChallenge = errors.New("auth: challenge unknown, expired or already used")

type usedChallenge struct {
	nonce  [nonceSize]byte
	issued int64 // Unix ms
}

// Challenges issues challenges bound to a purpose and accepts each one at
// most once within ChallengeTTL.
type Challenges struct {
	key     [32]byte
	now     func() time.Time
	maxUsed int

	mu    sync.Mutex
	used  map[[nonceSize]byte]int64 // answered, not yet expired: nonce → issued at
	order []usedChallenge           // used in the order answered (a FIFO; head at start)
	start int
	floor int64 // challenges issued at or before this Unix ms are refused
}

// NewChallenges returns a challenge issuer using now as its clock.
func NewChallenges(now func() time.Time) *Challenges {
	c := &Challenges{now: now, maxUsed: maxUsed, used: map[[nonceSize]byte]int64{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		panic(fmt.Sprintf("auth: challenge key: %v", err)) // crypto/rand never fails on Linux
	}
	return c
}

func (c *Challenges) tag(purpose string, body []byte) []byte {
	m := hmac.New(sha256.New, c.key[:])
	var lp [8]byte
	binary.BigEndian.PutUint64(lp[:], uint64(len(purpose)))
	m.Write(lp[:])
	m.Write([]byte(purpose))
	m.Write(body)
	return m.Sum(nil)
}

// Issue returns a fresh challenge for purpose and its expiry.
func (c *Challenges) Issue(purpose string) ([]byte, time.Time, error) {
	b := make([]byte, nonceSize+issuedSize, ChallengeSize)
	if _, err := rand.Read(b[:nonceSize]); err != nil {
		return nil, time.Time{}, fmt.Errorf("auth: challenge: %w", err)
	}
	now := c.now()
	binary.BigEndian.PutUint64(b[nonceSize:], uint64(now.UnixMilli()))
	return append(b, c.tag(purpose, b)...), now.Add(ChallengeTTL), nil
}

// Check reports whether b is a challenge this process issued for purpose
// that has not expired. It does not use it up: Consume does, once the
// answer has been verified, so answers that prove nothing cannot fill the
// memory of used challenges.
func (c *Challenges) Check(purpose string, b []byte) error {
	_, err := c.check(purpose, b)
	return err
}

func (c *Challenges) check(purpose string, b []byte) (issued int64, err error) {
	if len(b) != ChallengeSize {
		return 0, ErrChallenge
	}
	body := b[:nonceSize+issuedSize]
	if !hmac.Equal(b[len(body):], c.tag(purpose, body)) {
		return 0, ErrChallenge
	}
	issued = int64(binary.BigEndian.Uint64(b[nonceSize:]))
	at := time.UnixMilli(issued)
	if now := c.now(); !now.Before(at.Add(ChallengeTTL)) || at.After(now.Add(time.Minute)) {
		return 0, ErrChallenge
	}
	return issued, nil
}

// Consume checks the challenge like Check and uses it up: a second use,
// even within the TTL, fails.
func (c *Challenges) Consume(purpose string, b []byte) error {
	issued, err := c.check(purpose, b)
	if err != nil {
		return err
	}
	var n [nonceSize]byte
	copy(n[:], b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked()
	if _, seen := c.used[n]; seen || issued <= c.floor {
		return ErrChallenge
	}
	if len(c.used) >= c.maxUsed {
		c.forgetOldestLocked()
	}
	c.used[n] = issued
	c.order = append(c.order, usedChallenge{n, issued})
	return nil
}

// pruneLocked forgets answered challenges from the head of the queue once
// they have expired (they would be refused as expired anyway).
func (c *Challenges) pruneLocked() {
	expired := c.now().Add(-ChallengeTTL).UnixMilli()
	for c.start < len(c.order) && c.order[c.start].issued < expired {
		delete(c.used, c.order[c.start].nonce)
		c.start++
	}
	c.compactLocked()
}

// forgetOldestLocked drops the oldest answered challenge and raises the
// floor past it, so it cannot be answered again.
func (c *Challenges) forgetOldestLocked() {
	old := c.order[c.start]
	delete(c.used, old.nonce)
	c.start++
	c.floor = max(c.floor, old.issued)
	c.compactLocked()
}

func (c *Challenges) compactLocked() {
	if c.start > len(c.order)/2 && c.start > 1024 {
		c.order = append(c.order[:0], c.order[c.start:]...)
		c.start = 0
	}
	if c.start == len(c.order) {
		c.order, c.start = c.order[:0], 0
	}
}
