package rtc

import (
	"testing"
	"time"
)

// pacerSim drives the pacer with a virtual clock the way the relay does:
// arrivals call admit, and the timer drains at nextAt.
type pacerSim struct {
	p     pacer
	sends []sent
	drops int
}

type sent struct {
	seq uint16
	at  time.Duration
}

func (s *pacerSim) arrive(seq uint16, at time.Duration) {
	now := time.Unix(0, 0).Add(at)
	sendNow, dropped := s.p.admit(queuedMeta{seq: seq, arrival: now}, make([]byte, 160), now)
	if dropped {
		s.drops++
	}
	if sendNow {
		s.sends = append(s.sends, sent{seq, at})
		s.p.sent(160, now)
	}
}

// runTimer fires the drain timer as many times as it would before until.
func (s *pacerSim) runTimer(until time.Duration) {
	for {
		waiting, next := s.p.pending()
		at := next.Sub(time.Unix(0, 0))
		if !waiting || at > until {
			return
		}
		q := s.p.due(next)
		if q == nil {
			panic("timer fired with nothing due")
		}
		s.sends = append(s.sends, sent{q.seq, at})
		s.p.pop()
		s.p.sent(q.n, next)
	}
}

func TestPacer(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	cases := []struct {
		name     string
		arrivals []time.Duration // packet i (seq i) arrives at arrivals[i]
		want     []sent
		drops    int
	}{
		{
			name:     "steady 20 ms passes at once",
			arrivals: []time.Duration{0, ms(20), ms(40), ms(60)},
			want:     []sent{{0, 0}, {1, ms(20)}, {2, ms(40)}, {3, ms(60)}},
		},
		{
			name:     "jitter within a quarter packet passes at once",
			arrivals: []time.Duration{0, ms(16), ms(44), ms(59)},
			want:     []sent{{0, 0}, {1, ms(16)}, {2, ms(44)}, {3, ms(59)}},
		},
		{
			name:     "burst of three spreads 15 ms apart",
			arrivals: []time.Duration{0, ms(60), ms(60.1), ms(60.2)},
			want:     []sent{{0, 0}, {1, ms(60)}, {2, ms(75)}, {3, ms(90)}},
		},
		{
			name:     "packet early after a send waits for its slot",
			arrivals: []time.Duration{0, ms(5)},
			want:     []sent{{0, 0}, {1, ms(15)}},
		},
		{
			name: "overrun drops the oldest, keeps the newest three",
			// One on time, then six at once after a stall.
			arrivals: []time.Duration{0, ms(200), ms(200), ms(200), ms(200), ms(200), ms(200)},
			want:     []sent{{0, 0}, {1, ms(200)}, {4, ms(215)}, {5, ms(230)}, {6, ms(245)}},
			drops:    2,
		},
		{
			name: "backlog drains while the stream continues",
			arrivals: []time.Duration{0, ms(1), ms(2), ms(3), // burst: 3 queued
				ms(20), ms(40), ms(60), ms(80), ms(100), ms(120), ms(140), ms(160), ms(180)},
			// Queue of 3 at 15 ms spacing against 20 ms arrivals empties by
			// 4/3 real time; afterwards packets pass as they come.
			want: []sent{{0, 0}, {1, ms(15)}, {2, ms(30)}, {3, ms(45)}, {4, ms(60)}, {5, ms(75)},
				{6, ms(90)}, {7, ms(105)}, {8, ms(120)}, {9, ms(135)}, {10, ms(150)}, {11, ms(165)}, {12, ms(180)}},
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
			if len(s.sends) != len(c.want) {
				t.Fatalf("sent %v, want %v", s.sends, c.want)
			}
			for i := range c.want {
				if s.sends[i] != c.want[i] {
					t.Errorf("send %d: %v, want %v", i, s.sends[i], c.want[i])
				}
			}
			for i := 1; i < len(s.sends); i++ {
				if gap := s.sends[i].at - s.sends[i-1].at; gap < ms(15) {
					t.Errorf("sends %d and %d only %v apart", i-1, i, gap)
				}
			}
		})
	}
}
