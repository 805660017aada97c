package rtc

import "time"

// The browser → Asterisk playout buffer.
//
// Asterisk's UnicastRTP channel has no jitter buffer, and once a bridge has
// a third member (recorder, announcer) softmix drops a channel's buffered
// input when more than 80 ms of it piles up. A browser on Wi-Fi or a phone
// network delivers in bursts: it goes quiet for 100–300 ms, then everything
// it held arrives at once. The relay must neither dump such a burst onto
// Asterisk (softmix would flush it) nor throw it away (the old three-packet
// queue lost 12 of the 15 packets of a 300 ms stall, 39 % of a volunteer's
// audio on a bad link).
//
// Sending: a token bucket, not a free-running 20 ms ticker. What Asterisk
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
// Queueing: packets beyond the credit wait, up to pacerDepth of them (400 ms
// of 20 ms packets), in RTP sequence order, so a burst that arrives
// shuffled leaves in order. When the queue is full the oldest is dropped.
// A 300 ms stall thus costs no audio: three packets leave at once, twelve
// wait and leave at real-time pace.
//
// Shrinking: the queue drains exactly as fast as a real-time stream refills
// it, so a backlog left by a burst would otherwise stay for the rest of the
// call as added delay. pacerTarget packets (20 ms) of backlog are left
// alone. Beyond that:
//   - a quiet packet (every sample below about -39 dBFS, read straight off
//     the µ-law exponent bits) is skipped at once: the backlog shrinks by
//     shortening a pause, which nobody hears, and speech has plenty of them;
//   - up to pacerHold packets (40 ms) of sound wait for that pause however
//     long the talk spurt lasts. A packet 80–100 ms late, the usual hiccup
//     of a busy box or of a Wi-Fi retry, leaves just such a backlog once
//     the credit has gone; 20 ms of extra delay until the speaker next
//     pauses costs less than a lost syllable;
//   - a larger backlog of sound also waits for the next pause while the
//     speaker has paused within the last pacerPauseWait (3 s): that is
//     speech, and its next pause will absorb the backlog without losing a
//     syllable. Talk spurts last about a second on average and seldom
//     more than three, so the added delay (the stall's length less the
//     60 ms of credit) lasts until the speaker next draws breath;
//   - if a backlog beyond pacerHold has lasted pacerGrace and the stream
//     has not paused for pacerPauseWait (a tone, music, a noisy room, a
//     speaker who does not stop), the oldest packet is dropped, one per
//     pacerTrimEvery, down to pacerHold: a 240 ms backlog of continuous
//     sound adds less than 60 ms again 1.7 s after the burst, at the cost
//     of 20 ms of audio in every 60 ms for about 0.6 s, the same trade an
//     adaptive jitter buffer makes when it shrinks.
//
// Measured with TestPacerAbsorbsStalls (a 300 ms stall every 3.1 s, the
// burst shuffled): speech (1.5 s spurts) loses none of its sounding
// packets, and its delay is back under 60 ms at the next pause, within
// 1.4 s of every burst; a pauseless tone loses 7.0 % (11 packets a stall,
// the backlog beyond pacerHold), its delay back under 60 ms within 1.7 s.
// The three-packet queue this replaced lost 12 a stall either way. Before
// the pause rule (trimming after pacerGrace whatever the speaker did),
// speech lost 0.58 % here, and against a real Asterisk 22 (realasterisk
// TestBrowserStalls: the same profile from the stand-in browser, measured
// at the caller's phone) 0.63 % of its sounding packets in two runs (a
// three-packet queue: 6.4 %), and 2 s after each burst the median added
// delay was 0–2 ms.
//
// Why here and not Asterisk's JITTERBUFFER(adaptive) on the media channel:
// the relay has to pace what it sends anyway (the token bucket above), so a
// deeper queue is a small change to code that is tested here, with a fake
// clock, packet by packet. Asterisk's buffer would have to be switched on
// for every externalMedia channel over ARI, its interplay with softmix's
// 80 ms flush could only be measured against a running Asterisk, and the
// relay would still have to keep a burst from arriving there all at once.
// Nothing here rules it out later; it would sit behind this queue.
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
	pacerDepth     = 20 // packets waiting at most
	pacerBurst     = 3  // packets of credit at most
	pacerTarget    = 1  // packets of backlog left alone
	pacerHold      = 2  // packets of sound kept until a pause
	pacerGrace     = 1100 * time.Millisecond
	pacerPauseWait = 3 * time.Second
	pacerTrimEvery = 60 * time.Millisecond
)

// queued is one browser packet waiting to be forwarded.
type queued struct {
	queuedMeta
	n       int
	quiet   bool
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

// discards counts packets the pacer threw away: lost ones carried sound,
// quiet ones shortened a pause.
type discards struct {
	lost, quiet int
}

func (d *discards) add(q *queued) {
	if q.quiet {
		d.quiet++
	} else {
		d.lost++
	}
}

// pacer is the state of the playout buffer. It does no I/O and reads no
// clock; the relay drives it under its own lock.
type pacer struct {
	q    [pacerDepth]queued
	head int
	n    int
	// excessSince: the backlog has been above pacerHold since then
	// (zero: it was not at the last trim). lastTrim: when a sounding packet was last dropped
	// to shrink it.
	excessSince time.Time
	lastTrim    time.Time
	// lastQuiet: when the last quiet packet arrived (zero: none yet).
	lastQuiet time.Time

	credit  time.Duration // audio that may leave now
	at      time.Time     // when credit was last brought up to date
	started bool
}

// quietMulaw reports whether every sample of a µ-law payload has a
// magnitude of at most 372 of 32767 (about -39 dBFS): segment 0 or 1,
// which is the exponent in bits 4–6 of the inverted byte.
func quietMulaw(payload []byte) bool {
	for _, b := range payload {
		if (^b>>4)&0x07 > 1 {
			return false
		}
	}
	return true
}

// slot returns the i-th oldest queued packet.
func (p *pacer) slot(i int) *queued {
	return &p.q[(p.head+i)%pacerDepth]
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
// pending gives. d counts packets discarded to make room or to shrink the
// backlog.
func (p *pacer) admit(meta queuedMeta, payload []byte, now time.Time) (sendNow bool, d discards) {
	quiet := quietMulaw(payload)
	if quiet {
		p.lastQuiet = now
	}
	if p.n == 0 {
		dur := payloadDuration(len(payload))
		p.refill(now, dur)
		if p.credit >= dur {
			p.excessSince = time.Time{}
			return true, d
		}
	}
	if p.n == pacerDepth {
		d.add(p.slot(0))
		p.pop()
	}
	// Insert in sequence order among the same source's packets; another
	// source (a reconnected browser) queues after everything before it.
	i := p.n
	for ; i > 0; i-- {
		prev := p.slot(i - 1)
		if prev.source != meta.source || int16(meta.seq-prev.seq) >= 0 {
			break
		}
		*p.slot(i) = *prev
	}
	s := p.slot(i)
	s.queuedMeta = meta
	s.n = copy(s.payload[:], payload)
	s.quiet = quiet
	p.n++
	t := p.trim(now)
	d.lost += t.lost
	d.quiet += t.quiet
	return false, d
}

// trim shrinks a backlog: quiet packets beyond pacerTarget at once, the
// oldest sounding one beyond pacerHold once per pacerTrimEvery after
// pacerGrace, unless the stream paused within pacerPauseWait.
func (p *pacer) trim(now time.Time) (d discards) {
	for i := 0; i < p.n && p.n > pacerTarget; {
		if !p.slot(i).quiet {
			i++
			continue
		}
		d.quiet++
		p.remove(i)
	}
	if p.n <= pacerHold {
		p.excessSince = time.Time{}
		return d
	}
	if p.excessSince.IsZero() {
		p.excessSince = now
	}
	paused := !p.lastQuiet.IsZero() && now.Sub(p.lastQuiet) < pacerPauseWait
	if !paused && now.Sub(p.excessSince) >= pacerGrace && now.Sub(p.lastTrim) >= pacerTrimEvery {
		d.add(p.slot(0))
		p.pop()
		p.lastTrim = now
	}
	return d
}

// sent spends the credit for a packet of n payload bytes.
func (p *pacer) sent(n int) {
	p.credit -= payloadDuration(n)
}

// due returns the queued packet that may leave at now, or nil. The caller
// forwards it, then calls pop and sent. d counts packets trimmed.
func (p *pacer) due(now time.Time) (q *queued, d discards) {
	d = p.trim(now)
	if p.n == 0 {
		return nil, d
	}
	q = p.slot(0)
	dur := payloadDuration(q.n)
	p.refill(now, dur)
	if p.credit < dur {
		return nil, d
	}
	return q, d
}

// pop removes the oldest queued packet.
func (p *pacer) pop() {
	p.head = (p.head + 1) % pacerDepth
	p.n--
}

// remove takes the i-th oldest queued packet out of the queue.
func (p *pacer) remove(i int) {
	for ; i > 0; i-- {
		*p.slot(i) = *p.slot(i - 1)
	}
	p.pop()
}

// pending reports whether packets wait, and when the oldest may leave.
func (p *pacer) pending() (bool, time.Time) {
	if p.n == 0 {
		return false, time.Time{}
	}
	need := payloadDuration(p.slot(0).n) - p.credit
	return true, p.at.Add(max(need, 0))
}

// reset empties the queue, e.g. when the relay closes.
func (p *pacer) reset() {
	p.head, p.n = 0, 0
	p.excessSince, p.lastTrim, p.lastQuiet = time.Time{}, time.Time{}, time.Time{}
}
