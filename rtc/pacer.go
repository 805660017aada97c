package rtc

import "time"

// The browser → Asterisk playout buffer.
//
// Asterisk's UnicastRTP channel has no jitter buffer, and once a bridge has
// a third member (recorder, announcer) softmix drops a channel's buffered
// input when more than 80 ms of it piles up. A browser on a bad network
// delivers in bursts, so the relay smooths what it forwards.
//
// Design: a token bucket, not a free-running 20 ms ticker. What Asterisk
// cares about is how far the audio it receives runs ahead of real time.
// Credit accrues in real time up to pacerBurst packets (60 ms for 20 ms
// packets), and a packet leaves at once if it finds enough credit. So:
//   - ordinary network jitter (up to a packet time) adds no latency at all,
//     and there is no second clock to drift against the browser's;
//   - in any stretch of time Asterisk receives at most that stretch plus
//     60 ms of audio, so its input never holds more than 60 ms beyond what
//     it is playing, one packet short of softmix's flush threshold; a
//     clump of up to three packets, the usual result of a scheduling or
//     network hiccup, passes without delay.
//
// Packets beyond the credit wait, at most pacerDepth of them; when the
// queue is full the oldest is dropped, so a stall followed by a burst adds
// at most 60 ms of latency. Since the queue drains exactly as fast as a
// real-time stream refills it, such a backlog only shrinks when the stream
// pauses for a packet time (a lost or very late packet). On a steady
// stream it would stay for the rest of the call. One packet of backlog
// (20 ms) is left alone; beyond that, after pacerTrimAfter in which no
// packet could leave on arrival, the oldest queued packet is dropped, one
// per pacerTrimAfter: latency comes back to at most 20 ms at the cost of
// 20 ms of audio per second, the same trade an adaptive jitter buffer
// makes.
//
// A fixed ticker draining a queue would add half a packet time on average
// (up to a whole one) to every packet, and slowly fill or starve as the two
// clocks drift.
//
// Underrun: nothing is sent. Asterisk sees the gap in sequence numbers and
// timestamps (the rewriter keeps them), treats it as loss, and softmix mixes
// silence for a missing frame anyway. Synthesised comfort silence would hide
// the loss from the trunk's jitter buffer and from a recording's timeline.
const (
	pacerDepth     = 3 // packets waiting at most
	pacerBurst     = 3 // packets of credit at most
	pacerTrimAfter = time.Second
)

// queued is one browser packet waiting to be forwarded.
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
	q    [pacerDepth]queued
	head int
	n    int
	// delayed: no packet has left on arrival since backlogSince (the
	// first delayed packet, or the last trim).
	delayed      bool
	backlogSince time.Time

	credit  time.Duration // audio that may leave now
	at      time.Time     // when credit was last brought up to date
	started bool
}

// refill brings the credit up to now, capped at pacerBurst packets of dur.
func (p *pacer) refill(now time.Time, dur time.Duration) {
	limit := pacerBurst * dur
	if !p.started {
		p.started, p.credit, p.at = true, limit, now
		return
	}
	if now.After(p.at) {
		p.credit += now.Sub(p.at)
		p.at = now
	}
	p.credit = min(p.credit, limit)
}

// admit decides what happens to a packet arriving at now. If sendNow is
// true the caller forwards it immediately and must call sent. Otherwise it
// was copied into the queue, and the caller must call due at the time
// pending gives. dropped counts older packets discarded to make room.
func (p *pacer) admit(meta queuedMeta, payload []byte, now time.Time) (sendNow bool, dropped int) {
	if p.n == 0 {
		dur := payloadDuration(len(payload))
		p.refill(now, dur)
		if p.credit >= dur {
			p.delayed = false
			return true, 0
		}
	}
	if !p.delayed {
		p.delayed, p.backlogSince = true, now
	}
	dropped = p.trim(now)
	if p.n == pacerDepth {
		p.pop()
		dropped++
	}
	slot := &p.q[(p.head+p.n)%pacerDepth]
	slot.queuedMeta = meta
	slot.n = copy(slot.payload[:], payload)
	p.n++
	return false, dropped
}

// trim drops the oldest packet of a backlog of two or more that has lasted
// too long.
func (p *pacer) trim(now time.Time) int {
	if p.n < 2 || !p.delayed || now.Sub(p.backlogSince) < pacerTrimAfter {
		return 0
	}
	p.pop()
	p.backlogSince = now
	return 1
}

// sent spends the credit for a packet of n payload bytes.
func (p *pacer) sent(n int) {
	p.credit -= payloadDuration(n)
}

// due returns the queued packet that may leave at now, or nil. The caller
// forwards it, then calls pop and sent. dropped counts packets trimmed.
func (p *pacer) due(now time.Time) (q *queued, dropped int) {
	dropped = p.trim(now)
	if p.n == 0 {
		return nil, dropped
	}
	q = &p.q[p.head]
	dur := payloadDuration(q.n)
	p.refill(now, dur)
	if p.credit < dur {
		return nil, dropped
	}
	return q, dropped
}

// pop removes the oldest queued packet.
func (p *pacer) pop() {
	p.head = (p.head + 1) % pacerDepth
	p.n--
}

// pending reports whether packets wait, and when the oldest may leave.
func (p *pacer) pending() (bool, time.Time) {
	if p.n == 0 {
		return false, time.Time{}
	}
	need := payloadDuration(p.q[p.head].n) - p.credit
	return true, p.at.Add(max(need, 0))
}

// reset empties the queue, e.g. when the relay closes.
func (p *pacer) reset() {
	p.head, p.n = 0, 0
}
