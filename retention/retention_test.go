package retention

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/hotline"
	"llamenos/store"
)

// fakeClock stands still until the test advances it; Advance runs the
// timers that come due (the hotline's test clock, in small).
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	f  func()
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) hotline.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.pending = append(c.pending, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.pending, t)
	if i >= 0 {
		t.c.pending = slices.Delete(t.c.pending, i, i+1)
	}
	return i >= 0
}

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
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// harness runs a Purger over a store on a virtual clock; step advances the
// clock by one tick and waits for the pass it starts.
type harness struct {
	t      *testing.T
	st     *store.Store
	clock  *fakeClock
	passes chan struct{}
}

func newHarness(t *testing.T) *harness {
	clock := &fakeClock{now: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), store.Options{
		NoSync: true, Now: clock.Now, CallerHashCost: e2ee.CallerHashCost{Time: 1, MemoryKiB: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{t: t, st: st, clock: clock, passes: make(chan struct{}, 1)}
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Purger{Store: h.st, Clock: h.clock, Log: slog.New(slog.DiscardHandler), passDone: func() { h.passes <- struct{}{} }}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		// A pass may be waiting to report: drain it so Run can see ctx end.
		for {
			select {
			case <-h.passes:
			case err := <-done:
				if err != nil {
					h.t.Error(err)
				}
				return
			}
		}
	})
	h.waitPass()
}

func (h *harness) waitPass() {
	h.t.Helper()
	select {
	case <-h.passes:
	case <-time.After(30 * time.Second):
		h.t.Fatal("no purge pass")
	}
}

// advance moves the virtual clock by d in ticks, waiting for each pass.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	for ; d > 0; d -= EraseEvery {
		h.clock.Advance(min(d, EraseEvery))
		if d >= EraseEvery {
			h.waitPass()
		}
	}
}

func (h *harness) update(fn func(tx *store.Tx) error) {
	h.t.Helper()
	if err := h.st.Update(context.Background(), fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) exists(id string) bool {
	_, err := store.Read(context.Background(), h.st, func(tx *store.Tx) (store.Call, error) { return tx.Call(id) })
	return err == nil
}

func (h *harness) call(started time.Time, hash store.Hash) string {
	h.t.Helper()
	id, _ := store.NewID()
	h.update(func(tx *store.Tx) error {
		_, err := tx.PutCall(store.Call{ID: id, StartedAt: started, EndedAt: started.Add(time.Minute), Outcome: store.OutcomeUnanswered, CallerHash: hash})
		return err
	})
	return id
}

// TestPurgeOnAVirtualClock: with call records kept 7 days, the first pass
// deletes only what is already older, nothing younger is touched as the
// clock moves, and each record goes in the pass after it crosses 7 days.
// Expired sessions and invites go too; the audit log gets counts only.
func TestPurgeOnAVirtualClock(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	week := 7 * 24 * time.Hour
	old := h.call(now.Add(-week-time.Second), store.Hash{})
	edge := h.call(now.Add(-week+30*time.Minute), store.Hash{}) // 7 days old in 30 minutes
	young := h.call(now.Add(-week+2*time.Hour), store.Hash{})
	h.update(func(tx *store.Tx) error {
		st, err := tx.Settings()
		if err != nil {
			return err
		}
		st.KeepCallsDays = 7
		return tx.PutSettings(st)
	})
	h.update(func(tx *store.Tx) error {
		for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Hour)} {
			if _, err := tx.PutSession(store.Session{TokenHash: store.Hash{byte(i + 1)}, PubKey: strings.Repeat("ab", 32), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}); err != nil {
				return err
			}
		}
		return nil
	})

	h.start()
	if h.exists(old) || !h.exists(edge) || !h.exists(young) {
		t.Fatalf("first pass: old %v, edge %v, young %v; want only the old one gone", h.exists(old), h.exists(edge), h.exists(young))
	}
	h.advance(20 * time.Minute)
	if !h.exists(edge) {
		t.Fatal("a record younger than 7 days was deleted")
	}
	// The next purge is an hour after the first: the edge call is past 7
	// days then, the young one still not.
	h.advance(45 * time.Minute)
	if h.exists(edge) || !h.exists(young) {
		t.Fatalf("after an hour: edge %v, young %v; want the edge gone, the young kept", h.exists(edge), h.exists(young))
	}
	h.advance(time.Hour)
	if !h.exists(young) {
		t.Fatal("a record younger than 7 days was deleted")
	}
	h.advance(time.Hour)
	if h.exists(young) {
		t.Fatal("a record 7 days and a bit old was kept")
	}

	log, _, err := h.st.AuditSearch(context.Background(), store.AuditFilter{}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var purged [][]string
	for _, e := range log {
		if e.Action == "retention.purged" {
			purged = append(purged, e.Subjects)
		}
	}
	slices.Reverse(purged)
	want := [][]string{{"calls:1"}, {"sessions:1"}, {"calls:1"}, {"sessions:1"}, {"calls:1"}}
	if len(purged) != len(want) {
		t.Fatalf("purge audit entries %v, want %v", purged, want)
	}
	for i := range want {
		if !slices.Equal(purged[i], want[i]) {
			t.Errorf("purge audit entries %v, want %v", purged, want)
		}
	}
}

// TestCallerHashErasedOnAVirtualClock: a call keeps its caller hash for
// the rate limit's window and loses it at the first tick after.
func TestCallerHashErasedOnAVirtualClock(t *testing.T) {
	h := newHarness(t)
	hash, err := h.st.CallerKey().PhoneHash("+15555550100")
	if err != nil {
		t.Fatal(err)
	}
	id := h.call(h.clock.Now(), hash)
	held := func() bool {
		c, err := store.Read(context.Background(), h.st, func(tx *store.Tx) (store.Call, error) { return tx.Call(id) })
		if err != nil {
			t.Fatal(err)
		}
		return !c.CallerHash.IsZero()
	}
	h.start()
	h.advance(store.CallerHashWindow - EraseEvery)
	if !held() {
		t.Fatal("the hash was erased inside the rate limit's window")
	}
	h.advance(2 * EraseEvery)
	if held() {
		t.Fatal("the hash outlived the window and a tick")
	}
}
