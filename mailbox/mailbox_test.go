package mailbox

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBoundedDropsOldestAndCounts(t *testing.T) {
	q := New[int](3)
	for i := range 5 {
		q.Push(i)
	}
	if q.Dropped() != 2 || q.Len() != 3 {
		t.Fatalf("dropped %d len %d", q.Dropped(), q.Len())
	}
	for want := 2; want < 5; want++ {
		if v, ok := q.Pop(); !ok || v != want {
			t.Fatalf("pop = %d, %v; want %d", v, ok, want)
		}
	}
	if _, ok := q.Pop(); ok {
		t.Fatal("pop from empty box")
	}
	q.Close()
	q.Push(9)
	if q.Len() != 0 {
		t.Fatal("push after close kept")
	}
}

func TestUnboundedKeepsOrderAndCompacts(t *testing.T) {
	big := New[int](0)
	for i := range 5000 {
		if big.Push(i) {
			t.Fatal("an unbounded box dropped an entry")
		}
	}
	for want := range 5000 {
		if v, _ := big.Pop(); v != want {
			t.Fatalf("pop %d, want %d", v, want)
		}
		if want == 2500 {
			big.Push(5000)
		}
	}
	if v, _ := big.Pop(); v != 5000 {
		t.Fatalf("late push lost: %d", v)
	}
	if big.Dropped() != 0 {
		t.Fatal("dropped counted without a bound")
	}
}

func TestReadySignalsAfterPush(t *testing.T) {
	b := New[string](0)
	select {
	case <-b.Ready():
		t.Fatal("ready before any push")
	default:
	}
	b.Push("a")
	b.Push("b")
	select {
	case <-b.Ready():
	default:
		t.Fatal("no signal after push")
	}
	var got []string
	for v, ok := b.Pop(); ok; v, ok = b.Pop() {
		got = append(got, v)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("got %v", got)
	}
}

func TestPumpDeliversInOrderAndStops(t *testing.T) {
	b := New[int](0)
	out := make(chan int)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() { Pump(b, out, done); close(finished) }()
	for i := range 100 {
		b.Push(i)
	}
	for want := range 100 {
		if v := <-out; v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
	}
	close(done)
	<-finished
	if _, ok := <-out; ok {
		t.Fatal("out not closed after done")
	}
}

// TestOnDiscardGetsEveryLostEntry: the oldest entry of a full box, the
// entries Close discards, a push after Close and the entry Pump holds when
// it stops all reach the discard function; delivered entries do not.
func TestOnDiscardGetsEveryLostEntry(t *testing.T) {
	var lost []int
	b := New[int](2).OnDiscard(func(v int) { lost = append(lost, v) })
	b.Push(1)
	b.Push(2)
	b.Push(3) // drops 1
	if v, _ := b.Pop(); v != 2 {
		t.Fatalf("pop %d, want 2", v)
	}
	b.Push(4)
	b.Close() // discards 3 and 4
	b.Push(5) // after Close
	if want := []int{1, 3, 4, 5}; !slices.Equal(lost, want) {
		t.Fatalf("discarded %v, want %v", lost, want)
	}

	var mu sync.Mutex
	var pumped []int
	p := New[int](0).OnDiscard(func(v int) { mu.Lock(); pumped = append(pumped, v); mu.Unlock() })
	out := make(chan int) // nobody reads: the pump holds 7 when done closes
	done := make(chan struct{})
	finished := make(chan struct{})
	p.Push(7)
	go func() { Pump(p, out, done); close(finished) }()
	deadline := time.Now().Add(5 * time.Second)
	for p.Len() != 0 { // until the pump took 7 and waits to hand it over
		if time.Now().After(deadline) {
			t.Fatal("the pump never took the entry")
		}
		runtime.Gosched()
	}
	close(done)
	<-finished
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(pumped, []int{7}) {
		t.Fatalf("discarded %v, want [7]", pumped)
	}
}
