// Package mailbox is the one inbox type of the daemon: a FIFO whose producer
// never blocks. The ARI client queues events in it between the socket
// reader and each consumer, and every call of the call engine reads its API
// requests, relay callbacks and timers from one, in arrival order.
package mailbox

import "sync"

// Box is a FIFO that never blocks Push. With a bound, a full box drops its
// oldest entry and counts it, so a stuck consumer costs bounded memory and
// the loss is visible; without one it grows as needed.
type Box[T any] struct {
	mu      sync.Mutex
	items   []T
	head    int
	max     int // 0: unbounded
	dropped uint64
	closed  bool
	ready   chan struct{} // signalled (non-blocking, cap 1) on Push
	discard func(T)       // set by OnDiscard before use; read-only after
}

// New returns an empty box holding at most max entries (0: no bound).
func New[T any](max int) *Box[T] {
	return &Box[T]{max: max, ready: make(chan struct{}, 1)}
}

// OnDiscard makes the box hand every entry it loses to f: the oldest entry
// a full box drops, the entries Close discards, a value pushed after Close,
// and the entry Pump holds when it stops. Entries that carry private data
// are wiped this way. Call it before the box is used; it returns b.
func (b *Box[T]) OnDiscard(f func(T)) *Box[T] {
	b.discard = f
	return b
}

func (b *Box[T]) lose(v T) {
	if b.discard != nil {
		b.discard(v)
	}
}

// Push appends v and reports whether an old entry had to be dropped to make
// room. A push to a closed box is ignored.
func (b *Box[T]) Push(v T) (dropped bool) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.lose(v)
		return false
	}
	var old T
	if b.max > 0 && len(b.items)-b.head >= b.max {
		var zero T
		old = b.items[b.head]
		b.items[b.head] = zero
		b.head++
		b.dropped++
		dropped = true
	}
	b.items = append(b.items, v)
	b.mu.Unlock()
	if dropped {
		b.lose(old)
	}
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return dropped
}

// Ready is signalled after a Push. One signal may stand for several
// entries: the consumer pops until Pop reports none.
func (b *Box[T]) Ready() <-chan struct{} { return b.ready }

// Pop removes the oldest entry without blocking.
func (b *Box[T]) Pop() (v T, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head == len(b.items) {
		return v, false
	}
	v = b.items[b.head]
	var zero T
	b.items[b.head] = zero
	b.head++
	switch {
	case b.head == len(b.items):
		b.items, b.head = b.items[:0], 0
	case b.head > 1024 && b.head*2 > len(b.items):
		// Compact so a box that once grew large gives its memory back.
		n := copy(b.items, b.items[b.head:])
		clear(b.items[n:])
		b.items, b.head = b.items[:n], 0
	}
	return v, true
}

// Len is the number of entries waiting.
func (b *Box[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) - b.head
}

// Dropped counts the entries a bounded box dropped.
func (b *Box[T]) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Close discards pending entries and ignores later pushes.
func (b *Box[T]) Close() {
	b.mu.Lock()
	b.closed = true
	pending := b.items[b.head:]
	b.items, b.head = nil, 0
	b.mu.Unlock()
	for i, v := range pending {
		b.lose(v)
		var zero T
		pending[i] = zero
	}
}

// Pump moves entries from b to out until done is closed, then closes out.
// It must be the only sender on out. An entry it holds when done closes goes
// to the box's OnDiscard function.
func Pump[T any](b *Box[T], out chan<- T, done <-chan struct{}) {
	defer close(out)
	for {
		v, ok := b.Pop()
		if !ok {
			select {
			case <-b.ready:
				continue
			case <-done:
				return
			}
		}
		select {
		case out <- v:
		case <-done:
			b.lose(v)
			return
		}
	}
}
