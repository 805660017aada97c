package ari

import (
	"sync"
	"time"
)

// queue is a FIFO that never blocks the producer. It grows as needed up to
// max entries; past that the oldest entry is dropped and counted, so a stuck
// consumer costs bounded memory and the loss is visible.
type queue[T any] struct {
	mu      sync.Mutex
	items   []T
	head    int
	max     int
	dropped uint64
	closed  bool
	notify  chan struct{} // signalled (non-blocking, cap 1) on push
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, notify: make(chan struct{}, 1)}
}

// push appends v. It reports whether an old entry had to be dropped to make
// room; a push to a closed queue is ignored.
func (q *queue[T]) push(v T) (dropped bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if len(q.items)-q.head >= q.max {
		var zero T
		q.items[q.head] = zero
		q.head++
		q.dropped++
		dropped = true
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return dropped
}

// pop removes the oldest entry without blocking.
func (q *queue[T]) pop() (v T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return v, false
	}
	v = q.items[q.head]
	var zero T
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > 1024 && q.head*2 > len(q.items):
		// Compact so a queue that once grew large gives its memory back.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v, true
}

func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

func (q *queue[T]) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// close discards pending entries and ignores later pushes.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.items)
	q.items, q.head = nil, 0
	q.mu.Unlock()
}

// pump moves entries from q to out until done is closed, then closes out.
// It is the only sender on out.
func pump[T any](q *queue[T], out chan<- T, done <-chan struct{}) {
	defer close(out)
	for {
		v, ok := q.pop()
		if !ok {
			select {
			case <-q.notify:
				continue
			case <-done:
				return
			}
		}
		select {
		case out <- v:
		case <-done:
			return
		}
	}
}

// rawMessage is one frame as read off the socket.
type rawMessage struct {
	data     []byte
	received time.Time
}
