package rtc

import "time"

// The browser → Asterisk playout buffer.
//
// Asterisk's UnicastRTP channel has no jitter buffer, and once a bridge has
// a third member (recorder, announcer) softmix drops a channel's buffered
// input when more than 80 ms piles up. A browser on a bad network delivers
// in bursts, so the relay smooths its output.
//
// Design: a minimum-spacing pacer, not a free-running 20 ms ticker. A packet
// that arrives on time (its predecessor left at least 3/4 of a packet
// duration ago, i.e. 15 ms for 20 ms packets) is forwarded at once, so the
// steady state adds no latency and there is no second clock to drift
// against the browser's. Packets arriving closer together wait in a queue of
// pacerDepth packets and leave at that minimum spacing, so a burst reaches
// Asterisk at most 4/3 times real time and at most pacerDepth packets (60 ms)
// ahead: under softmix's 80 ms. When the queue is full the oldest packet is
// dropped, which keeps latency bounded after a long stall.
//
// Underrun: nothing is sent. Asterisk sees the gap in sequence numbers and
// timestamps (the rewriter keeps them), treats it as loss, and softmix mixes
// silence for a missing frame anyway. Synthesised comfort silence would hide
// the loss from the trunk's jitter buffer and from a recording's timeline.
const (
	pacerDepth = 3
	// minimum spacing = packet duration * pacerSpacingNum / pacerSpacingDen
	pacerSpacingNum = 3
	pacerSpacingDen = 4
)

// queued is one browser packet waiting to be forwarded, with the upstream
// numbers the rebaser needs.
type queued struct {
	queuedMeta
	n       int
	payload [maxPayload]byte
}

// queuedMeta is what the relay knows about a browser packet besides its
// payload.
type queuedMeta struct {
	source  uint64
	seq     uint16
	ts      uint32
	marker  bool
	arrival time.Time
}

// pacer is the state of the playout buffer. It does no I/O and reads no
// clock; the relay drives it under its own lock.
type pacer struct {
	q      [pacerDepth]queued
	head   int
	n      int
	nextAt time.Time // earliest time the next packet may leave
}

// admit decides what happens to a packet arriving at now. If sendNow is
// true the caller forwards it immediately and must call sent. Otherwise it
// was copied into the queue (dropping the oldest packet when full: dropped
// is true) and the caller must make sure the queue is drained at nextAt.
func (p *pacer) admit(meta queuedMeta, payload []byte, now time.Time) (sendNow, dropped bool) {
	if p.n == 0 && !now.Before(p.nextAt) {
		return true, false
	}
	if p.n == pacerDepth {
		p.head = (p.head + 1) % pacerDepth
		p.n--
		dropped = true
	}
	slot := &p.q[(p.head+p.n)%pacerDepth]
	slot.queuedMeta = meta
	slot.n = copy(slot.payload[:], payload)
	p.n++
	return false, dropped
}

// sent records that a packet with n payload bytes left at now.
func (p *pacer) sent(n int, now time.Time) {
	p.nextAt = now.Add(payloadDuration(n) * pacerSpacingNum / pacerSpacingDen)
}

// due returns the queued packet that may leave at now, or nil. The caller
// forwards it, then calls pop and sent.
func (p *pacer) due(now time.Time) *queued {
	if p.n == 0 || now.Before(p.nextAt) {
		return nil
	}
	return &p.q[p.head]
}

// pop removes the packet due returned.
func (p *pacer) pop() {
	p.head = (p.head + 1) % pacerDepth
	p.n--
}

// pending reports whether packets wait, and when the next may leave.
func (p *pacer) pending() (bool, time.Time) {
	return p.n > 0, p.nextAt
}

// reset empties the queue, e.g. when the relay closes.
func (p *pacer) reset() {
	p.head, p.n = 0, 0
}
