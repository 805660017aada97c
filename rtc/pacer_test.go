package rtc

import (
	"bytes"
	"cmp"
	"slices"
	"testing"
	"time"

	"llamenos/audio"
)

// pacerSim drives the pacer with a virtual clock the way the relay does:
// arrivals call admit, and the timer drains at nextAt.
type pacerSim struct {
	p     pacer
	sends []sent
	drops int // packets with sound dropped
	skips int // quiet packets skipped
}

type sent struct {
	seq uint16
	at  time.Duration
}

// loud is a 20 ms µ-law payload at full scale; quiet is 20 ms of silence.
var loud, quiet = make([]byte, 160), bytes.Repeat([]byte{0xff}, 160)

func (s *pacerSim) arrive(seq uint16, at time.Duration) { s.arriveWith(seq, at, loud) }

func (s *pacerSim) arriveWith(seq uint16, at time.Duration, payload []byte) {
	now := time.Unix(0, 0).Add(at)
	sendNow, d := s.p.admit(queuedMeta{seq: seq, arrival: now}, payload, now)
	s.count(d)
	if sendNow {
		s.sends = append(s.sends, sent{seq, at})
		s.p.sent(len(payload))
	}
}

func (s *pacerSim) count(d discards) {
	s.drops += d.lost
	s.skips += d.quiet
}

// runTimer fires the drain timer as many times as it would before until.
func (s *pacerSim) runTimer(until time.Duration) {
	for {
		waiting, next := s.p.pending()
		at := next.Sub(time.Unix(0, 0))
		if !waiting || at > until {
			return
		}
		q, d := s.p.due(next)
		s.count(d)
		if q == nil {
			if d.lost+d.quiet > 0 {
				continue
			}
			panic("timer fired with nothing due")
		}
		s.sends = append(s.sends, sent{q.seq, at})
		s.p.sent(q.n)
		s.p.pop()
	}
}

// asteriskBuffer is how much audio piles up at a receiver that plays 20 ms
// packets in real time (softmix flushes above 80 ms).
func asteriskBuffer(sends []sent) time.Duration {
	var buf, worst time.Duration
	for i, s := range sends {
		if i > 0 {
			buf = max(0, buf-(s.at-sends[i-1].at))
		}
		buf += 20 * time.Millisecond
		worst = max(worst, buf)
	}
	return worst
}

// overrun is what leaves when pacerBurst+pacerDepth+1 packets arrive at
// once: the first pacerBurst at once, then seq 4 onwards one per 20 ms.
func overrun() []sent {
	out := make([]sent, 0, pacerBurst+pacerDepth)
	for i := range pacerBurst {
		out = append(out, sent{uint16(i), 0})
	}
	for i := range pacerDepth {
		out = append(out, sent{uint16(pacerBurst + 1 + i), time.Duration(i+1) * 20 * time.Millisecond})
	}
	return out
}

func TestPacer(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	every := func(from, step float64, n int) []time.Duration {
		var a []time.Duration
		for i := 0; i < n; i++ {
			a = append(a, ms(from+step*float64(i)))
		}
		return a
	}
	cases := []struct {
		name     string
		arrivals []time.Duration // packet i (seq i) arrives at arrivals[i]
		want     []sent          // nil: check only the properties
		drops    int
		tail     time.Duration // ends with a steady stream: latency of its last packet
	}{
		{
			name:     "steady 20 ms passes at once",
			arrivals: every(0, 20, 4),
			want:     []sent{{0, 0}, {1, ms(20)}, {2, ms(40)}, {3, ms(60)}},
		},
		{
			name:     "jitter up to a packet time passes at once",
			arrivals: []time.Duration{0, ms(25), ms(38), ms(61), ms(80)},
			want:     []sent{{0, 0}, {1, ms(25)}, {2, ms(38)}, {3, ms(61)}, {4, ms(80)}},
		},
		{
			name:     "fourth packet of a clump waits for credit",
			arrivals: []time.Duration{0, ms(60), ms(60.1), ms(60.2), ms(60.3)},
			want:     []sent{{0, 0}, {1, ms(60)}, {2, ms(60.1)}, {3, ms(60.2)}, {4, ms(80)}},
		},
		{
			name:     "burst of five leaves three at once, then one per packet time",
			arrivals: []time.Duration{0, 0, 0, 0, 0},
			want:     []sent{{0, 0}, {1, 0}, {2, 0}, {3, ms(20)}, {4, ms(40)}},
		},
		{
			// pacerBurst leave on credit, the next pacerDepth wait; one more
			// pushes the oldest waiting packet (seq 3) out.
			name:     "overrun drops the oldest, keeps the newest pacerDepth",
			arrivals: make([]time.Duration, pacerBurst+pacerDepth+1),
			want:     overrun(),
			drops:    1,
		},
		{
			name:     "a pause of a packet time lets a backlog drain",
			arrivals: append([]time.Duration{0, ms(60), ms(60), ms(60), ms(60), ms(80), ms(100)}, every(140, 20, 5)...),
			want: []sent{{0, 0}, {1, ms(60)}, {2, ms(60)}, {3, ms(60)}, {4, ms(80)}, {5, ms(100)}, {6, ms(120)},
				{7, ms(140)}, {8, ms(160)}, {9, ms(180)}, {10, ms(200)}, {11, ms(220)}},
		},
		{
			name:     "a backlog of sound on a steady stream is trimmed to pacerHold packets after pacerGrace",
			arrivals: append([]time.Duration{0, ms(100), ms(100), ms(100), ms(100), ms(100), ms(100)}, every(120, 20, 200)...),
			drops:    1,
			tail:     ms(40),
		},
		{
			name:     "a backlog of one packet is left alone",
			arrivals: append([]time.Duration{0, ms(100), ms(100), ms(100), ms(100)}, every(120, 20, 200)...),
			tail:     ms(20),
		},
		{
			// A packet 100 ms late: three leave on credit, two wait, and no
			// pause comes in 4 s of sound.
			name:     "a backlog of pacerHold packets of sound is not trimmed",
			arrivals: append([]time.Duration{0, ms(100), ms(100), ms(100), ms(100), ms(100)}, every(120, 20, 200)...),
			tail:     ms(40),
		},
		{
			name:     "a flood at twice real time is cut to real time",
			arrivals: every(0, 10, 200),
			// 118 of 200 leave: 3 on credit, one per 20 ms while the flood
			// lasts (about 100), then the 20 queued drain, shrunk by one
			// per pacerTrimEvery down to pacerHold since the backlog is
			// older than pacerGrace.
			drops: 82,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s pacerSim
			for i, at := range c.arrivals {
				s.runTimer(at)
				s.arrive(uint16(i), at)
			}
			s.runTimer(time.Hour)
			if s.drops != c.drops {
				t.Errorf("drops %d, want %d", s.drops, c.drops)
			}
			if c.want != nil && len(s.sends) != len(c.want) {
				t.Fatalf("sent %v, want %v", s.sends, c.want)
			}
			for i := range c.want {
				got, want := s.sends[i], c.want[i]
				if d := got.at - want.at; got.seq != want.seq || d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("send %d: %v, want %v", i, got, want)
				}
			}
			for i := 1; i < len(s.sends); i++ {
				if s.sends[i].seq <= s.sends[i-1].seq {
					t.Errorf("send %d reorders: seq %d after %d", i, s.sends[i].seq, s.sends[i-1].seq)
				}
			}
			if b := asteriskBuffer(s.sends); b > pacerBurst*20*time.Millisecond {
				t.Errorf("a real-time receiver would buffer %v, want <= %v", b, pacerBurst*20*time.Millisecond)
			}
			if c.tail != 0 {
				last := len(s.sends) - 1
				if seq := s.sends[last].seq; s.sends[last].at-c.arrivals[seq] != c.tail {
					t.Errorf("last packet left at %v, arrived at %v; want %v later", s.sends[last].at, c.arrivals[seq], c.tail)
				}
			}
		})
	}
}

// arrival is one browser packet as the relay sees it: packet seq of a 20 ms
// stream, due at seq×20 ms, arriving at at.
type arrival struct {
	seq   uint16
	at    time.Duration
	quiet bool
}

// stallProfile is a browser on a bad link: every period, starting at
// first, the stream stops for stall and the packets it held arrive at
// once, swapped in pairs; otherwise each packet arrives up to 5 ms late.
// quietAt says which packets are a pause in speech.
func stallProfile(length, first, period, stall time.Duration, quietAt func(time.Duration) bool) (arrivals []arrival, stalls []time.Duration) {
	const pkt = 20 * time.Millisecond
	for s := first; s+stall < length; s += period {
		stalls = append(stalls, s)
	}
	for i := 0; time.Duration(i)*pkt < length; i++ {
		due := time.Duration(i) * pkt
		a := arrival{seq: uint16(i), at: due + time.Duration(i*7%6)*time.Millisecond, quiet: quietAt(due)}
		for _, s := range stalls {
			if due >= s && due < s+stall {
				a.at = s + stall + time.Duration((i-int(s/pkt))^1)*time.Microsecond
			}
		}
		arrivals = append(arrivals, a)
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	return arrivals, stalls
}

// profileResult is what a profile measured.
type profileResult struct {
	sends      []sent
	lost, skip int
	// settle[k]: how long after the stall k's burst arrived until every
	// later packet (up to the next stall) left less than 60 ms after it
	// arrived.
	settle []time.Duration
	// maxDelay[k]: the most a packet arriving 2 s or more after burst k
	// waited in the relay.
	maxDelay []time.Duration
	// reordered: packets that waited in the queue and left before one
	// with a lower sequence number that had also waited.
	reordered int
}

func runProfile(arrivals []arrival, stalls []time.Duration, stall time.Duration) profileResult {
	var s pacerSim
	arrived := map[uint16]time.Duration{}
	for _, a := range arrivals {
		s.runTimer(a.at)
		payload := loud
		if a.quiet {
			payload = quiet
		}
		arrived[a.seq] = a.at
		s.arriveWith(a.seq, a.at, payload)
	}
	s.runTimer(time.Hour)
	r := profileResult{sends: s.sends, lost: s.drops, skip: s.skips}
	var lastWaited = -1
	for _, x := range s.sends {
		if x.at > arrived[x.seq] {
			if lastWaited >= 0 && int(x.seq) < lastWaited {
				r.reordered++
			}
			lastWaited = int(x.seq)
		}
	}
	for k, st := range stalls {
		burst, next := st+stall, time.Duration(1<<62)
		if k+1 < len(stalls) {
			next = stalls[k+1]
		}
		var settle, worst time.Duration
		for _, x := range s.sends {
			at := arrived[x.seq]
			if at < burst || at >= next {
				continue
			}
			d := x.at - at
			if d >= 60*time.Millisecond {
				settle = max(settle, at-burst+20*time.Millisecond)
			}
			if at >= burst+2*time.Second {
				worst = max(worst, d)
			}
		}
		r.settle = append(r.settle, settle)
		r.maxDelay = append(r.maxDelay, worst)
	}
	return r
}

// TestPacerAbsorbsStalls drives the pacer with browsers on a bad link:
// the stream stops for 300 ms every 3.1 s and the 15 held packets arrive
// at once, shuffled. Speech has pauses, so the backlog of a burst must go
// by skipping quiet packets: no packet with sound is lost, and 2 s after
// each burst no packet waits 60 ms or more. A tone
// without pauses must meet the same delay bound by dropping, but never
// more packets than the backlog the stall left. Throughout, a
// receiver playing in real time holds at most the burst credit.
func TestPacerAbsorbsStalls(t *testing.T) {
	const (
		length = 60 * time.Second
		stall  = 300 * time.Millisecond
		pkt    = 20 * time.Millisecond
	)
	// Backlog a stall leaves beyond the credit.
	backlog := int(stall/pkt) - pacerBurst
	cases := []struct {
		name    string
		quietAt func(time.Duration) bool
		maxLoss float64 // share of all packets with sound lost
		maxLost int     // packets with sound lost per stall
	}{
		// 1.5 s of talk, 0.5 s of pause: more talk than a volunteer
		// listening to a caller does.
		{"speech", func(d time.Duration) bool { return d%(2*time.Second) >= 1500*time.Millisecond }, 0, 0},
		{"tone", func(time.Duration) bool { return false }, 1, backlog},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arrivals, stalls := stallProfile(length, time.Second, 3100*time.Millisecond, stall, c.quietAt)
			r := runProfile(arrivals, stalls, stall)
			sounding := 0
			for _, a := range arrivals {
				if !a.quiet {
					sounding++
				}
			}
			loss := float64(r.lost) / float64(sounding)
			t.Logf("%d packets (%d with sound), %d stalls: lost %d with sound (%.2f %%), skipped %d quiet; settled after %v; worst delay 2 s after a burst %v",
				len(arrivals), sounding, len(stalls), r.lost, 100*loss, r.skip, slices.Max(r.settle), slices.Max(r.maxDelay))
			if loss > c.maxLoss {
				t.Errorf("lost %.2f %% of the packets with sound, want <= %.0f %%", 100*loss, 100*c.maxLoss)
			}
			if r.lost > c.maxLost*len(stalls) {
				t.Errorf("lost %d packets with sound in %d stalls, want <= %d a stall", r.lost, len(stalls), c.maxLost)
			}
			if len(r.sends)+r.lost+r.skip != len(arrivals) {
				t.Errorf("%d sent, %d lost, %d skipped of %d", len(r.sends), r.lost, r.skip, len(arrivals))
			}
			for k, d := range r.maxDelay {
				if d >= 60*time.Millisecond || r.settle[k] > 2*time.Second {
					t.Errorf("stall %d at %v: delay %v 2 s after the burst, settled after %v; want < 60 ms within 2 s", k, stalls[k], d, r.settle[k])
				}
			}
			if r.reordered != 0 {
				t.Errorf("%d queued packets left out of sequence order", r.reordered)
			}
			if b := asteriskBuffer(r.sends); b > pacerBurst*pkt {
				t.Errorf("a real-time receiver would buffer %v, want <= %v", b, pacerBurst*pkt)
			}
		})
	}
}

// TestPacerPassesReordering has every tenth packet of a steady stream
// arrive 25 ms late, after its successor: it must neither be lost nor
// delay anything, since it finds credit.
func TestPacerPassesReordering(t *testing.T) {
	var arrivals []arrival
	for i := range 500 {
		at := time.Duration(i) * 20 * time.Millisecond
		if i%10 == 5 {
			at += 25 * time.Millisecond
		}
		arrivals = append(arrivals, arrival{seq: uint16(i), at: at})
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	r := runProfile(arrivals, nil, 0)
	if r.lost != 0 || r.skip != 0 || len(r.sends) != len(arrivals) {
		t.Errorf("sent %d of %d, lost %d, skipped %d; want all sent", len(r.sends), len(arrivals), r.lost, r.skip)
	}
	for _, x := range r.sends {
		if x.at != arrivals[slices.IndexFunc(arrivals, func(a arrival) bool { return a.seq == x.seq })].at {
			t.Errorf("seq %d waited", x.seq)
		}
	}
}

// TestQuietMulaw pins the pacer's silence threshold: peaks up to 372 of
// 32767 (about -39 dBFS) are quiet, anything louder is sound.
func TestQuietMulaw(t *testing.T) {
	cases := []struct {
		name  string
		peak  float64 // share of full scale
		quiet bool
	}{
		{"digital silence", 0, true},
		{"-40 dBFS", 0.01, true},
		{"-37 dBFS", 0.014, false},
		{"a tone at -12 dBFS", 0.25, false},
	}
	for _, c := range cases {
		payload := frame(audio.NewTone(audio.SampleRate, c.peak, 1000))
		if got := quietMulaw(payload); got != c.quiet {
			t.Errorf("%s: quiet %v, want %v", c.name, got, c.quiet)
		}
	}
}

// TestPacerWaitsForPause: a speaker paused, then talks on through a
// 200 ms stall. The backlog beyond pacerHold (six packets) waits for the
// next pause as long as the last one was under pacerPauseWait ago; a
// speaker who has not paused for that long has it trimmed.
func TestPacerWaitsForPause(t *testing.T) {
	const pkt = 20 * time.Millisecond
	const pause = 200 * time.Millisecond // the pause before the stall
	const stallAt, stall = 500 * time.Millisecond, 200 * time.Millisecond
	// The packets held in the stall arrive with the one due as it ends;
	// pacerBurst of them leave on credit.
	backlog := int(stall/pkt) + 1 - pacerBurst
	cases := []struct {
		name     string
		talkTill time.Duration // the next pause starts here, for 500 ms
		drops    int
	}{
		{"the next pause comes 2.3 s after the last", 2500 * time.Millisecond, 0},
		{"the next pause comes 4.8 s after the last", 5 * time.Second, backlog - pacerHold},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s pacerSim
			var lastSound time.Duration
			arrived := map[uint16]time.Duration{}
			for i := 0; time.Duration(i)*pkt < c.talkTill+500*time.Millisecond; i++ {
				due := time.Duration(i) * pkt
				at := due
				if due >= stallAt && due < stallAt+stall {
					at = stallAt + stall
				}
				payload := loud
				if due < pause || due >= c.talkTill {
					payload = quiet
				} else {
					lastSound = due
				}
				s.runTimer(at)
				arrived[uint16(i)] = at
				s.arriveWith(uint16(i), at, payload)
			}
			s.runTimer(time.Hour)
			if s.drops != c.drops {
				t.Errorf("dropped %d packets with sound, want %d", s.drops, c.drops)
			}
			// Once the pause has absorbed the backlog, the stream passes
			// with at most pacerTarget packets of added delay.
			last := s.sends[len(s.sends)-1]
			if d := last.at - arrived[last.seq]; d > pacerTarget*pkt {
				t.Errorf("after the pause a packet waited %v, want <= %v", d, pacerTarget*pkt)
			}
			for _, x := range s.sends {
				if time.Duration(x.seq)*pkt == lastSound {
					return
				}
			}
			t.Errorf("the last packet with sound (at %v) was not sent", lastSound)
		})
	}
}
