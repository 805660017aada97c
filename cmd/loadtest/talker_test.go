package main

import "testing"

// TestTalker: spurts of 25–75 packets and pauses of 15–50, alternating.
func TestTalker(t *testing.T) {
	tk := newTalker()
	var runs [2][]int // pauses, spurts
	cur, n := tk.next(), 1
	sound := 0
	for range 200_000 {
		s := tk.next()
		if s {
			sound++
		}
		if s == cur {
			n++
			continue
		}
		i := 0
		if cur {
			i = 1
		}
		runs[i] = append(runs[i], n)
		cur, n = s, 1
	}
	for i, want := range [2][2]int{{15, 50}, {25, 75}} {
		rs := runs[i][1:] // the first run started part way
		if len(rs) < 1000 {
			t.Fatalf("only %d runs of kind %d", len(rs), i)
		}
		lo, hi := rs[0], rs[0]
		for _, r := range rs {
			lo, hi = min(lo, r), max(hi, r)
		}
		if lo != want[0] || hi != want[1] {
			t.Errorf("runs of kind %d from %d to %d packets, want %d to %d", i, lo, hi, want[0], want[1])
		}
	}
	// Mean spurt 50, mean pause 32.5: sound 60.6 % of the time.
	if f := float64(sound) / 200_000; f < 0.58 || f > 0.63 {
		t.Errorf("sound in %.3f of packets, want about 0.606", f)
	}
}
