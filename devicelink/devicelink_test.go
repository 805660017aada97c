package devicelink

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"llamenos/e2ee/e2eetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func key(t *testing.T) (string, []byte) {
	t.Helper()
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	return hex.EncodeToString(pk[:]), pk[:]
}

func TestLinkRunsOnceInOrder(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := New(c.now, time.Minute, 10)
	newHex, newRaw := key(t)
	oldHex, _ := key(t)
	commit := Commitment(newRaw)
	id, token, _, err := r.Create(commit[:])
	if err != nil {
		t.Fatal(err)
	}
	if NormalizeID(id[:5]+"-"+id[5:]) != id || len(id) != IDLength {
		t.Fatalf("id %q does not survive how people type it", id)
	}
	if err := r.Reveal(id, token, newHex); !errors.Is(err, ErrStep) {
		t.Fatalf("reveal before answer: %v", err)
	}
	if err := r.Seal(id, "alice", make([]byte, SealedSize)); !errors.Is(err, ErrStep) {
		t.Fatalf("seal before answer: %v", err)
	}
	if err := r.Answer(id, "alice", oldHex); !errors.Is(err, ErrStep) {
		t.Fatalf("answer before claim: %v", err)
	}
	got, _, err := r.Claim(id, "alice")
	if err != nil || got != commit {
		t.Fatalf("claim: %x %v", got, err)
	}
	if _, _, err := r.Claim(id, "mallory"); !errors.Is(err, ErrStep) {
		t.Fatalf("second claim: %v", err)
	}
	if err := r.Answer(id, "mallory", oldHex); !errors.Is(err, ErrNotYours) {
		t.Fatalf("answer by another account: %v", err)
	}
	if v, err := r.Status(id, token); err != nil || v.State != Claimed || v.OldKey != "" {
		t.Fatalf("status after claim: %+v %v", v, err)
	}
	if err := r.Answer(id, "alice", oldHex); err != nil {
		t.Fatal(err)
	}
	if err := r.Answer(id, "alice", oldHex); !errors.Is(err, ErrStep) {
		t.Fatalf("second answer: %v", err)
	}
	if _, err := r.Peek(id, "mallory"); !errors.Is(err, ErrNotYours) {
		t.Fatalf("peek by another account: %v", err)
	}
	if _, err := r.Status(id, []byte("wrong token")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("status with a wrong token: %v", err)
	}
	if v, err := r.Status(id, token); err != nil || v.State != Answered || v.OldKey != oldHex {
		t.Fatalf("status after answer: %+v %v", v, err)
	}
	otherHex, _ := key(t)
	if err := r.Reveal(id, token, otherHex); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reveal of a key that is not the committed one: %v", err)
	}
	if err := r.Seal(id, "alice", make([]byte, SealedSize)); !errors.Is(err, ErrStep) {
		t.Fatalf("seal before reveal: %v", err)
	}
	if err := r.Reveal(id, token, newHex); err != nil {
		t.Fatal(err)
	}
	v, err := r.Peek(id, "alice")
	if err != nil || v.State != Revealed || v.NewKey != newHex {
		t.Fatalf("peek after reveal: %+v %v", v, err)
	}
	if err := r.Seal(id, "alice", make([]byte, SealedSize-1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short sealed key: %v", err)
	}
	sealed := bytes.Repeat([]byte{7}, SealedSize)
	if err := r.Seal(id, "alice", sealed); err != nil {
		t.Fatal(err)
	}
	if err := r.Seal(id, "alice", sealed); !errors.Is(err, ErrStep) {
		t.Fatalf("second seal: %v", err)
	}
	if v, err := r.Status(id, token); err != nil || v.State != Sealed || !bytes.Equal(v.Sealed, sealed) {
		t.Fatalf("collect: %+v %v", v, err)
	}
	if _, err := r.Status(id, token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a collected link answered again: %v", err)
	}
	if r.Pending() != 0 {
		t.Fatalf("%d links left", r.Pending())
	}
}

func TestLinksExpireAndAreBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := New(c.now, time.Minute, 2)
	commit := Commitment(make([]byte, 32))
	id, token, _, err := r.Create(commit[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Create(commit[:]); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Create(commit[:]); !errors.Is(err, ErrFull) {
		t.Fatalf("third link with a bound of two: %v", err)
	}
	if _, _, _, err := r.Create(commit[:31]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short commitment: %v", err)
	}
	c.add(time.Minute)
	if _, err := r.Status(id, token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired link: %v", err)
	}
	if _, _, err := r.Claim(id, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claiming an expired link: %v", err)
	}
	if _, _, _, err := r.Create(commit[:]); err != nil {
		t.Fatalf("expired links still count against the bound: %v", err)
	}
	if err := r.Answer("AAAAAAAAAA", "alice", "00"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
	if NormalizeID("ABCDE-FGHI1") != "" || NormalizeID("abcde fghij") != "ABCDEFGHIJ" {
		t.Fatal("NormalizeID")
	}
}

// TestCommitmentMatchesTheBrowser pins the digest ui/test/link.test.mjs pins
// for the same key (the generator's x coordinate).
func TestCommitmentMatchesTheBrowser(t *testing.T) {
	g, _ := hex.DecodeString("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	c := Commitment(g)
	if got := hex.EncodeToString(c[:]); got != "f0eca7a14915bb7ab8dbd45acf0af76a14578856f8d5139a2cb39ff19993cd97" {
		t.Fatalf("commitment %s", got)
	}
}
