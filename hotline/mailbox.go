package hotline

import "sync"

// mailbox is a call's inbox for everything that is not an ARI event: API
// requests, relay callbacks, timers, engine signals. push never blocks, so
// rtc callbacks, timer functions and Notifier-facing methods can post from
// any goroutine; the call's goroutine drains it in arrival order, which is
// what makes the first Answer in the queue the winner.
type mailbox struct {
	mu    sync.Mutex
	q     []any
	ready chan struct{}
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

func (m *mailbox) push(v any) {
	m.mu.Lock()
	m.q = append(m.q, v)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// take removes and returns the oldest message, if any.
func (m *mailbox) take() (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.q) == 0 {
		return nil, false
	}
	v := m.q[0]
	m.q[0] = nil
	m.q = m.q[1:]
	return v, true
}
