package main

import (
	"testing"
	"time"
)

func TestFlatCheck(t *testing.T) {
	mk := func(f func(i int) float64) series {
		s := series{name: "x"}
		for i := range 120 {
			s.add(time.Duration(i)*15*time.Second, f(i))
		}
		return s
	}
	// Noise around a level is flat.
	if ok, msg := flatCheck(mk(func(i int) float64 { return 1000 + float64(i%7*10) }), 0.05, 0); !ok {
		t.Errorf("noisy level judged not flat: %s", msg)
	}
	// A leak of one unit per sample (12 % over the span) is not.
	if ok, msg := flatCheck(mk(func(i int) float64 { return 1000 + float64(i) }), 0.05, 0); ok {
		t.Errorf("steady growth judged flat: %s", msg)
	}
	// A step up half-way (memory kept after a burst) is not.
	if ok, msg := flatCheck(mk(func(i int) float64 {
		if i < 60 {
			return 1000
		}
		return 1200
	}), 0.05, 0); ok {
		t.Errorf("a step judged flat: %s", msg)
	}
	if ok, _ := flatCheck(series{name: "x"}, 0.05, 0); ok {
		t.Error("no samples judged flat")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(ds, 99); got != 99*time.Millisecond {
		t.Errorf("p99 = %v", got)
	}
	if got := percentile(ds, 50); got != 50*time.Millisecond {
		t.Errorf("p50 = %v", got)
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v", got)
	}
}
