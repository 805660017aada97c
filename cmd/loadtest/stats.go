package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile is the nearest-rank p-th percentile of ds (0 when empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// series is one quantity sampled over the soak.
type series struct {
	name string
	at   []time.Duration // since the start of the soak
	v    []float64
}

func (s *series) add(at time.Duration, v float64) {
	s.at = append(s.at, at)
	s.v = append(s.v, v)
}

// flatCheck says whether s stayed flat: the least-squares slope over the
// whole span, and the mean of the last tenth of the samples against the
// mean of the first tenth, may each move it by at most tol (a fraction of
// its mean) plus slack (an absolute amount, for small counts). A leak of a
// goroutine or a few kilobytes per call shows as a steady rise in both.
func flatCheck(s series, tol, slack float64) (ok bool, summary string) {
	n := len(s.v)
	if n < 10 {
		return false, fmt.Sprintf("%s: only %d samples, too few to judge", s.name, n)
	}
	var mx, my float64
	for i := range s.v {
		mx += s.at[i].Seconds()
		my += s.v[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx float64
	for i := range s.v {
		dx := s.at[i].Seconds() - mx
		sxy += dx * (s.v[i] - my)
		sxx += dx * dx
	}
	slope := sxy / sxx // per second
	span := (s.at[n-1] - s.at[0]).Seconds()
	k := max(1, n/10)
	mean := func(v []float64) float64 {
		var t float64
		for _, x := range v {
			t += x
		}
		return t / float64(len(v))
	}
	first, last := mean(s.v[:k]), mean(s.v[n-k:])
	bound := tol*my + slack
	drift := slope * span
	ok = math.Abs(drift) <= bound && math.Abs(last-first) <= bound
	verdict := "flat"
	if !ok {
		verdict = "NOT FLAT"
	}
	return ok, fmt.Sprintf("%s: %s — first tenth %.1f, last tenth %.1f, trend %+.1f over %.0f min (bound ±%.1f), %d samples",
		s.name, verdict, first, last, drift, span/60, bound, n)
}
