package records

import (
	"testing"
	"time"

	"llamenos/fault"
)

func TestDailyUsageWindow(t *testing.T) {
	var u usage
	t0 := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	refused := func(err error) bool {
		f, ok := fault.As(err)
		return ok && f.Kind == fault.KindQuota
	}
	if _, err := u.reserve("a", 60, 100, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := u.reserve("a", 41, 100, t0.Add(time.Hour)); !refused(err) {
		t.Fatalf("past the limit: %v", err)
	}
	if _, err := u.reserve("b", 100, 100, t0.Add(time.Hour)); err != nil {
		t.Fatalf("another author has their own limit: %v", err)
	}
	release, err := u.reserve("a", 40, 100, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	release() // the write failed: its bytes are given back
	if _, err := u.reserve("a", 40, 100, t0.Add(3*time.Hour)); err != nil {
		t.Fatalf("released bytes still counted: %v", err)
	}
	if _, err := u.reserve("a", 1, 100, t0.Add(23*time.Hour)); !refused(err) {
		t.Fatalf("the window closed early: %v", err)
	}
	if _, err := u.reserve("a", 100, 100, t0.Add(25*time.Hour)); err != nil {
		t.Fatalf("a day later: %v", err)
	}
	if len(u.windows) != 1 {
		t.Fatalf("expired windows kept: %d", len(u.windows))
	}
}
