package leakcheck

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records what the check does to a test: its cleanups and its
// failures. Everything else goes to the real test.
type fakeTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	errs     []string
	env      map[string]string
}

func newFake(t *testing.T) *fakeTB { return &fakeTB{TB: t, env: map[string]string{}} }

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Setenv(key, value string) { f.env[key] = value }

// end runs the cleanups as the testing package does at the end of a
// test, last registered first, and returns the failures.
func (f *fakeTB) end() []string {
	f.mu.Lock()
	cs := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

// leaker blocks until stop is closed; its name shows in the stacks.
func leaker(stop <-chan struct{}) { <-stop }

// TestReportsLeak: a goroutine started during the test and still running
// at its end fails the test, its stack in the message.
func TestReportsLeak(t *testing.T) {
	Check(t) // the leaker is stopped before this test ends
	f := newFake(t)
	check(f, 200*time.Millisecond)
	if f.env[envKey] == "" {
		t.Error("the check does not keep the test from running in parallel")
	}
	stop := make(chan struct{})
	go leaker(stop)
	start := time.Now()
	errs := f.end()
	waited := time.Since(start)
	close(stop)

	if len(errs) != 1 {
		t.Fatalf("%d failures, want 1: %q", len(errs), errs)
	}
	if !strings.Contains(errs[0], "1 goroutine(s)") || !strings.Contains(errs[0], "leakcheck.leaker(") || !strings.Contains(errs[0], "created by llamenos/leakcheck.TestReportsLeak") {
		t.Errorf("failure does not name the leaked goroutine and its creator:\n%s", errs[0])
	}
	if waited < 200*time.Millisecond {
		t.Errorf("reported after %v, before the %v it should wait", waited, 200*time.Millisecond)
	}
}

// TestWaitsForGoroutinesEnding: goroutines that end shortly after the
// test, as a Close's stragglers do, are waited for and pass.
func TestWaitsForGoroutinesEnding(t *testing.T) {
	Check(t)
	f := newFake(t)
	check(f, Timeout)
	var wg sync.WaitGroup
	for range 3 {
		stop := make(chan struct{})
		wg.Go(func() { leaker(stop) })
		time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	}
	if errs := f.end(); len(errs) != 0 {
		t.Errorf("goroutines that ended within the timeout reported: %q", errs)
	}
	wg.Wait()
}

// TestPassesWithoutLeak: goroutines started and ended during the test,
// and subtests, are not reported.
func TestPassesWithoutLeak(t *testing.T) {
	Check(t)
	f := newFake(t)
	check(f, 200*time.Millisecond)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {})
	}
	wg.Wait()
	t.Run("sub", func(t *testing.T) {
		stop := make(chan struct{})
		go leaker(stop)
		close(stop)
	})
	if errs := f.end(); len(errs) != 0 {
		t.Errorf("a test without leaks failed: %q", errs)
	}
}

// TestIgnoresEarlierGoroutines: goroutines running before Check are not
// the test's.
func TestIgnoresEarlierGoroutines(t *testing.T) {
	Check(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { leaker(stop) })
	defer wg.Wait()
	defer close(stop)
	f := newFake(t)
	check(f, 100*time.Millisecond)
	if errs := f.end(); len(errs) != 0 {
		t.Errorf("a goroutine older than the test reported: %q", errs)
	}
}

// TestSecondCheckAddsNothing: a helper may call Check on a test that
// already did.
func TestSecondCheckAddsNothing(t *testing.T) {
	Check(t)
	f := newFake(t)
	check(f, 100*time.Millisecond)
	check(f, 100*time.Millisecond)
	if len(f.cleanups) != 1 {
		t.Errorf("%d cleanups registered, want 1", len(f.cleanups))
	}
	f.end()
	// Once the test is over the same value starts afresh.
	check(f, 100*time.Millisecond)
	if len(f.cleanups) != 1 {
		t.Errorf("%d cleanups registered after the end, want 1", len(f.cleanups))
	}
	f.end()
}

// TestRefusesParallel: in a parallel test Check panics instead of
// counting the goroutines of the tests running alongside.
func TestRefusesParallel(t *testing.T) {
	const child = "LEAKCHECK_TEST_PARALLEL_CHILD"
	if os.Getenv(child) != "" {
		t.Parallel()
		Check(t)
		return
	}
	Check(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRefusesParallel$", "-test.count=1")
	cmd.Env = append(os.Environ(), child+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "can not use t.Parallel") {
		t.Errorf("Check in a parallel test: %v, want a panic; output:\n%s", err, out)
	}
}

// TestSubtestsNotCounted: a running subtest is the testing package's to
// wait for, not a leak.
func TestSubtestsNotCounted(t *testing.T) {
	Check(t)
	before := map[uint64]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	t.Run("outer", func(t *testing.T) {
		t.Run("inner", func(t *testing.T) {
			// The outer subtest waits in t.Run; this one is the caller.
			if left := started(before); len(left) != 0 {
				t.Errorf("running subtests counted as started goroutines:\n%s", left[0].stack)
			}
		})
	})
}
