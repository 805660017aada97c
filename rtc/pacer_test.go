package rtc

import (
	"bytes"
	"testing"
	"time"
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
			name:     "a backlog on a steady stream is trimmed to one packet after pacerGrace",
			arrivals: append([]time.Duration{0, ms(100), ms(100), ms(100), ms(100), ms(100), ms(100)}, every(120, 20, 200)...),
			drops:    2,
			tail:     ms(20),
		},
		{
			name:     "a backlog of one packet is left alone",
			arrivals: append([]time.Duration{0, ms(100), ms(100), ms(100), ms(100)}, every(120, 20, 200)...),
			tail:     ms(20),
		},
		{
			name:     "a flood at twice real time is cut to real time",
			arrivals: every(0, 10, 200),
			// 119 of 200 leave: 3 on credit, one per 20 ms while the flood
			// lasts (about 100), then the 20 queued drain, shrunk by one
			// per pacerTrimEvery since the backlog is older than pacerGrace.
			drops: 81,
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
