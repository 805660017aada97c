package mailbox

import (
	"testing"
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
