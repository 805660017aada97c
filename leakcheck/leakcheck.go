// Package leakcheck fails a test that leaves goroutines running: a relay,
// a connection or a timer loop that outlives its Close. For tests only.
//
// Call Check first thing in a test, or first thing in the helper that
// sets a test up:
//
//	func TestCall(t *testing.T) {
//		leakcheck.Check(t)
//		...
//	}
//
// Cleanups run last registered first, so the check runs after every
// cleanup registered after it: whatever those close has had its chance to
// stop. Goroutines are told apart by whether they existed when Check was
// called, so no other test may run alongside: Check makes the test
// non-parallel (t.Setenv panics on a parallel test and keeps t.Parallel
// from being called afterwards).
package leakcheck

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout bounds how long Check waits, at the end of a test, for the
// goroutines the test started to end.
const Timeout = 5 * time.Second

// pollEvery is how often the goroutines are listed while waiting.
const pollEvery = 10 * time.Millisecond

// envKey is the variable set, for the test's duration, to keep it
// non-parallel.
const envKey = "LLAMENOS_LEAKCHECK"

// active holds the tests being checked, so that a second Check on the
// same test (a helper's, after the test's own) adds nothing.
var active sync.Map // testing.TB → struct{}

// Check registers a cleanup that waits up to Timeout for the goroutines
// started since this call to end, and fails t listing the stacks of those
// still running. A second Check on the same test does nothing.
func Check(t testing.TB) {
	t.Helper()
	check(t, Timeout)
}

func check(t testing.TB, timeout time.Duration) {
	t.Helper()
	if _, dup := active.LoadOrStore(t, struct{}{}); dup {
		return
	}
	t.Setenv(envKey, "1")
	before := map[uint64]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	t.Cleanup(func() {
		defer active.Delete(t)
		if left := wait(before, timeout); len(left) > 0 {
			stacks := make([]string, len(left))
			for i, g := range left {
				stacks[i] = g.stack
			}
			t.Errorf("leakcheck: %d goroutine(s) started during the test still running %v after it ended:\n\n%s",
				len(left), timeout, strings.Join(stacks, "\n\n"))
		}
	})
}

// wait polls until no goroutine outside before is left, or timeout has
// passed, and returns those left.
func wait(before map[uint64]bool, timeout time.Duration) []goroutine {
	deadline := time.Now().Add(timeout)
	for {
		left := started(before)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(pollEvery)
	}
}

// started lists the goroutines not in before, except the caller's own and
// those whose end the testing package waits for itself.
func started(before map[uint64]bool) []goroutine {
	self := currentID()
	var out []goroutine
	for _, g := range goroutines() {
		if before[g.id] || g.id == self || isTesting(g.stack) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// isTesting reports a goroutine of the testing package: a subtest, which
// its parent waits for before running cleanups.
func isTesting(stack string) bool {
	return strings.Contains(stack, "\ncreated by testing.(*T).Run in goroutine ")
}

type goroutine struct {
	id    uint64
	stack string
}

// goroutines lists every goroutine with its stack, as runtime.Stack
// prints them: blocks separated by a blank line, each headed
// "goroutine N [state]:".
func goroutines() []goroutine {
	var out []goroutine
	for _, block := range strings.Split(string(stacks(true)), "\n\n") {
		id, ok := parseID(block)
		if !ok {
			continue
		}
		out = append(out, goroutine{id: id, stack: strings.TrimSpace(block)})
	}
	return out
}

func currentID() uint64 {
	id, _ := parseID(string(stacks(false)))
	return id
}

func parseID(block string) (uint64, bool) {
	rest, ok := strings.CutPrefix(block, "goroutine ")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(num, 10, 64)
	return id, err == nil
}

// stacks is runtime.Stack with a buffer large enough for all of it.
func stacks(all bool) []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, all)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
