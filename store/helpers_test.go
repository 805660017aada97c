package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"llamenos/e2ee"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t testing.TB, opts ...func(*Options)) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llamenos.db")
	o := Options{LockTimeout: 200 * time.Millisecond, KeyFile: filepath.Join(t.TempDir(), KeyFileName), CallerHashCost: cheapHash}
	for _, f := range opts {
		f(&o)
	}
	s, err := Open(context.Background(), path, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

// cheapHash is Argon2id's least work: the tests here are about where the
// key is and what is kept, and many of them hash numbers. The benchmark and
// the dictionary test's cost check use the default.
var cheapHash = e2ee.CallerHashCost{Time: 1, MemoryKiB: 8}

// callerHash is the caller hash of number under s's key.
func callerHash(t testing.TB, s *Store, number string) Hash {
	t.Helper()
	h, err := s.CallerKey().PhoneHash(number)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func withClock(c *testClock) func(*Options) { return func(o *Options) { o.Now = c.Now } }

// pk is a deterministic, well-formed public key for test person n.
func pk(n int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("volunteer %d", n)))
	return hex.EncodeToString(h[:])
}

func newID(t testing.TB) string {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sealer stands in for e2ee: AES-GCM under a key the store never sees, so
// the plaintext cannot reach the file unless a bug stores it unsealed.
type sealer struct{ aead cipher.AEAD }

func newSealer(t testing.TB) *sealer {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &sealer{aead}
}

func (s *sealer) seal(plain string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(plain), nil)
}

func (s *sealer) open(t testing.TB, env []byte) string {
	t.Helper()
	n := s.aead.NonceSize()
	out, err := s.aead.Open(nil, env[:n], env[n:], nil)
	if err != nil {
		t.Fatalf("open envelope: %v", err)
	}
	return string(out)
}

func update(t testing.TB, s *Store, fn func(*Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t testing.TB, s *Store, fn func(*Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func mustCheck(t testing.TB, s *Store) VerifyReport {
	t.Helper()
	rep, err := s.Check(context.Background())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return rep
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// testCall is a finished, answered call starting at start.
func testCall(t testing.TB, start time.Time, by string, caller Hash) Call {
	return Call{
		ID:           newID(t),
		StartedAt:    start,
		AnsweredAt:   start.Add(10 * time.Second),
		EndedAt:      start.Add(5 * time.Minute),
		QueueWait:    10 * time.Second,
		Duration:     290 * time.Second,
		AnsweredBy:   by,
		Outcome:      OutcomeAnswered,
		CallerHash:   caller,
		CallerNumber: []byte("sealed-number-placeholder"),
	}
}

// tokenHash is the stored form of an invite code or session token, as the
// auth package computes it: SHA-256 of the secret.
func tokenHash(token string) Hash { return sha256.Sum256([]byte(token)) }

// parseAuditHead reads the String form of an AuditHead.
func parseAuditHead(s string) (AuditHead, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 {
		return AuditHead{}, fmt.Errorf("audit anchor %q: want SEQ:HASH", truncate(s, 100))
	}
	h, err := ParseHash(hash)
	if err != nil {
		return AuditHead{}, fmt.Errorf("audit anchor %q: %w", truncate(s, 100), err)
	}
	return AuditHead{Seq: n, Hash: h}, nil
}
