package hotline

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is the engine's clock in tests: time stands still until the
// test advances it, so a timer fires when the test says, never because a
// loaded machine was slow, and no test waits real seconds for one.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	armed   chan struct{} // closed and replaced whenever a timer is armed or stopped
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	d  time.Duration
	f  func()
}

func newFakeClock(start time.Time) *fakeClock {
	return &fakeClock{now: start, armed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), d: d, f: f}
	c.pending = append(c.pending, t)
	c.changedLocked()
	return t
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.pending, t)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	c.changedLocked()
	return true
}

func (c *fakeClock) changedLocked() {
	close(c.armed)
	c.armed = make(chan struct{})
}

// Advance moves the clock d forward and runs every timer that comes due,
// earliest first, before it returns. The engine's timer functions only
// post to their call's mailbox, so the effects follow asynchronously, in
// order with whatever the test asks the call next.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.pending = slices.DeleteFunc(c.pending, func(t *fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		due = append(due, t)
		return true
	})
	if len(due) > 0 {
		c.changedLocked()
	}
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.f()
	}
}

// durations lists the pending timers' durations.
func (c *fakeClock) durations() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, len(c.pending))
	for i, t := range c.pending {
		out[i] = t.d
	}
	return out
}

// waitTimers blocks until the pending timers' durations satisfy ok.
func (c *fakeClock) waitTimers(t testing.TB, what string, ok func([]time.Duration) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ch := c.armed
		c.mu.Unlock()
		if ok(c.durations()) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; pending timers: %v", what, c.durations())
		}
	}
}

// waitArmed blocks until a timer of exactly d is pending.
func (c *fakeClock) waitArmed(t testing.TB, d time.Duration, what string) {
	t.Helper()
	c.waitTimers(t, what+" ("+d.String()+" timer)", func(ds []time.Duration) bool { return slices.Contains(ds, d) })
}

func TestFakeClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newFakeClock(start)
	var got []string
	c.AfterFunc(3*time.Second, func() { got = append(got, "b") })
	c.AfterFunc(time.Second, func() { got = append(got, "a") })
	stopped := c.AfterFunc(2*time.Second, func() { got = append(got, "stopped") })
	late := c.AfterFunc(10*time.Second, func() { got = append(got, "late") })
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop of a pending timer: want true once, then false")
	}
	c.Advance(3*time.Second - time.Nanosecond)
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("fired %v before 3 s, want [a]", got)
	}
	c.Advance(time.Nanosecond)
	if !slices.Equal(got, []string{"a", "b"}) || !c.Now().Equal(start.Add(3*time.Second)) {
		t.Fatalf("fired %v at %v", got, c.Now())
	}
	if late.Stop() != true || len(c.durations()) != 0 {
		t.Fatalf("pending after stopping the last: %v", c.durations())
	}
}
