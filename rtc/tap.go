package rtc

import (
	"sync"
	"sync/atomic"
	"time"
)

// Direction says whose voice a frame carries.
type Direction uint8

const (
	// FromCaller is Asterisk → browser: the caller's audio.
	FromCaller Direction = iota + 1
	// FromVolunteer is browser → Asterisk: the volunteer's audio.
	FromVolunteer
)

func (d Direction) String() string {
	switch d {
	case FromCaller:
		return "caller"
	case FromVolunteer:
		return "volunteer"
	default:
		return "unknown"
	}
}

// Frame is one packet of µ-law audio copied out of the relay. It is a value
// with its own storage, so a subscriber may keep it as long as it likes and
// the relay never allocates to hand it over.
type Frame struct {
	Direction Direction
	// Timestamp is the RTP timestamp (8 kHz) in this direction's output
	// stream, which stays continuous across upstream changes.
	Timestamp uint32
	// Seq is the RTP sequence number in the same output stream; a gap means
	// lost packets.
	Seq uint16
	// Arrival is when the relay received the packet.
	Arrival time.Time

	n   uint16
	buf [maxPayload]byte
}

// Payload is the µ-law audio, one byte per 8 kHz sample.
func (f *Frame) Payload() []byte { return f.buf[:f.n] }

// Tap is a read-only subscription to both directions of one call's audio,
// for transcription and voicemail. The relay never waits for a tap: when
// its buffer is full the frame is dropped and counted.
type Tap struct {
	c       chan Frame
	dropped atomic.Uint64
	relay   *Relay
	once    sync.Once
}

// Frames delivers the audio in each direction's order. It is closed when
// the tap or the relay is closed.
func (t *Tap) Frames() <-chan Frame { return t.c }

// Dropped counts frames lost because the subscriber fell behind.
func (t *Tap) Dropped() uint64 { return t.dropped.Load() }

// Close unsubscribes and closes Frames. It is safe to call more than once
// and after the relay closed.
func (t *Tap) Close() {
	t.relay.removeTap(t)
}

// taps is the relay's set of subscribers. The hot path checks count first
// so a call without taps pays one atomic load per packet.
type taps struct {
	mu    sync.RWMutex
	list  []*Tap
	count atomic.Int32
	done  bool
}

func (ts *taps) add(t *Tap) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.done {
		t.once.Do(func() { close(t.c) })
		return
	}
	ts.list = append(ts.list, t)
	ts.count.Store(int32(len(ts.list)))
}

func (ts *taps) remove(t *Tap) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for i, x := range ts.list {
		if x == t {
			ts.list = append(ts.list[:i], ts.list[i+1:]...)
			break
		}
	}
	ts.count.Store(int32(len(ts.list)))
	t.once.Do(func() { close(t.c) })
}

// closeAll ends every subscription; later adds get a closed channel.
func (ts *taps) closeAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.list {
		t.once.Do(func() { close(t.c) })
	}
	ts.list = nil
	ts.done = true
	ts.count.Store(0)
}

// publish copies one packet to every subscriber without blocking. Sends
// happen under the read lock, so no channel is closed mid-send.
func (ts *taps) publish(dir Direction, seq uint16, timestamp uint32, arrival time.Time, payload []byte) {
	if ts.count.Load() == 0 {
		return
	}
	f := Frame{Direction: dir, Timestamp: timestamp, Seq: seq, Arrival: arrival}
	f.n = uint16(copy(f.buf[:], payload))
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, t := range ts.list {
		select {
		case t.c <- f:
		default:
			t.dropped.Add(1)
		}
	}
}
