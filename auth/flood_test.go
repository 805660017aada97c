package auth

import (
	"errors"
	"testing"
	"time"
)

// TestChallengeFlood: issuing never runs out, however many challenges are
// asked for, and a flood of answered challenges past the memory bound
// neither refuses a fresh challenge nor lets any answered one be used again.
func TestChallengeFlood(t *testing.T) {
	now := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	c := NewChallenges(func() time.Time { return now })
	// Asked for and never answered: nothing is kept, nothing fills up.
	for i := 0; i < 50_000; i++ {
		if _, _, err := c.Issue("login"); err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
	}
	c.maxUsed = 20_000 // the production bound, scaled down for the race detector
	var flood [][]byte
	for i := 0; i < c.maxUsed+c.maxUsed/4; i++ {
		if i%100 == 0 {
			now = now.Add(50 * time.Millisecond) // the flood's pace: 2,000 a second
		}
		ch, _, err := c.Issue("login")
		if err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
		if err := c.Consume("login", ch); err != nil {
			t.Fatalf("consume %d: %v", i, err)
		}
		flood = append(flood, ch)
	}
	if len(c.used) > c.maxUsed {
		t.Fatalf("remembers %d answered challenges, bound %d", len(c.used), c.maxUsed)
	}
	for _, i := range []int{0, 1, c.maxUsed / 4, c.maxUsed, len(flood) - 1} {
		if err := c.Consume("login", flood[i]); !errors.Is(err, ErrChallenge) {
			t.Fatalf("answered challenge %d accepted again: %v", i, err)
		}
	}
	// A person signing in now: issued, then answered a few seconds later.
	ch, _, err := c.Issue("login")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if err := c.Consume("login", ch); err != nil {
		t.Fatalf("a fresh challenge during the flood: %v", err)
	}
}

func TestChallengeBinding(t *testing.T) {
	now := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	c := NewChallenges(func() time.Time { return now })
	other := NewChallenges(func() time.Time { return now })
	issue := func() []byte {
		ch, _, err := c.Issue("login")
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	if len(issue()) != ChallengeSize {
		t.Fatalf("challenge of %d bytes", len(issue()))
	}
	refused := map[string][]byte{}
	refused["another purpose"] = issue()
	for i := range ChallengeSize {
		b := issue()
		b[i] ^= 1
		refused["bit flipped"] = b
		if err := c.Check("login", b); !errors.Is(err, ErrChallenge) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	forged, _, _ := other.Issue("login")
	refused["another process"] = forged
	refused["short"] = issue()[:ChallengeSize-1]
	for name, b := range refused {
		purpose := "login"
		if name == "another purpose" {
			purpose = "setup"
		}
		if err := c.Consume(purpose, b); !errors.Is(err, ErrChallenge) {
			t.Errorf("%s: %v", name, err)
		}
	}
	late := issue()
	now = now.Add(ChallengeTTL)
	if err := c.Consume("login", late); !errors.Is(err, ErrChallenge) {
		t.Fatalf("expired: %v", err)
	}
	fresh := issue()
	if err := c.Check("login", fresh); err != nil {
		t.Fatal(err)
	}
	if err := c.Check("login", fresh); err != nil {
		t.Fatalf("Check used the challenge up: %v", err)
	}
	if err := c.Consume("login", fresh); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume("login", fresh); !errors.Is(err, ErrChallenge) {
		t.Fatalf("second use: %v", err)
	}
}
