package rtc

import (
	"testing"
	"time"
)

// TestStatsAdd: counts add up, Last is the later one.
func TestStatsAdd(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := Stats{FromBrowser: Flow{Packets: 10, Bytes: 1600, Last: t0}, PacerDropped: 1, Malformed: 2}
	s.Add(Stats{FromBrowser: Flow{Packets: 5, Bytes: 800, Last: t0.Add(time.Second)}, ToAsterisk: Flow{Packets: 4, Bytes: 640},
		PacerDropped: 2, PacerSkipped: 3, Malformed: 1, WriteErrors: 1})
	want := Stats{FromBrowser: Flow{Packets: 15, Bytes: 2400, Last: t0.Add(time.Second)}, ToAsterisk: Flow{Packets: 4, Bytes: 640},
		PacerDropped: 3, PacerSkipped: 3, Malformed: 3, WriteErrors: 1}
	if s != want {
		t.Fatalf("sum %+v, want %+v", s, want)
	}
	s.Add(Stats{FromBrowser: Flow{Last: t0}})
	if !s.FromBrowser.Last.Equal(t0.Add(time.Second)) {
		t.Fatalf("Last went back to %v", s.FromBrowser.Last)
	}
}
