package transcribe

import (
	"math"

	"llamenos/audio"
)

// EngineRate is the sample rate whisper.cpp takes: 16 kHz mono float32.
const EngineRate = 16000

// The interpolation filter: a Kaiser-windowed sinc at the 16 kHz rate,
// cut off at 4 kHz (the old Nyquist frequency). Telephone speech ends at
// 3.4 kHz, so the band 3.4–4.6 kHz is free for the transition, and the
// images of the 8 kHz signal (8 kHz − f, from 4.6 kHz up) fall in the
// stopband. halfTaps = 40 (81 taps) and β = 8 give a ripple under
// 0.001 dB up to 3.4 kHz and more than 75 dB of image rejection from
// 4.6 kHz (resample_test.go measures both).
const (
	halfTaps   = 40
	kaiserBeta = 8.0
)

// interp holds the 81 taps, gain 2 (zero-stuffing halves the amplitude).
var interp = makeInterp()

func makeInterp() [2*halfTaps + 1]float64 {
	var h [2*halfTaps + 1]float64
	i0b := besselI0(kaiserBeta)
	for i := range h {
		n := float64(i - halfTaps)
		// sinc with its cutoff at a quarter of the 16 kHz rate, times 2.
		s := 1.0
		if n != 0 {
			x := math.Pi * n / 2
			s = math.Sin(x) / x
		}
		r := n / halfTaps
		w := besselI0(kaiserBeta*math.Sqrt(1-r*r)) / i0b
		h[i] = s * w
	}
	// Normalise the DC gain of each phase to exactly 1, so a constant in
	// gives the same constant out on both the even and the odd samples.
	var even, odd float64
	for i, v := range h {
		if (i-halfTaps)%2 == 0 {
			even += v
		} else {
			odd += v
		}
	}
	for i := range h {
		if (i-halfTaps)%2 == 0 {
			h[i] /= even
		} else {
			h[i] /= odd
		}
	}
	return h
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (it converges fast for the arguments of a window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 64; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// Upsample2 doubles the sample rate of in (8 kHz to 16 kHz) through the
// low-pass interpolation filter. The output is aligned with the input:
// out[2n] is at the time of in[n], and len(out) = 2·len(in). Outside the
// input the signal is taken as silence.
func Upsample2(in []float32) []float32 {
	out := make([]float32, 2*len(in))
	for m := range out {
		// out[m] = Σ_n in[n]·h[m − 2n + halfTaps], over the taps in range.
		// n runs from ⌈(m − halfTaps)/2⌉ to ⌊(m + halfTaps)/2⌋.
		d := m - halfTaps
		lo := d / 2 // truncation is the ceiling for d < 0
		if d > 0 && d%2 != 0 {
			lo++
		}
		if lo < 0 {
			lo = 0
		}
		hi := (m + halfTaps) / 2
		if hi > len(in)-1 {
			hi = len(in) - 1
		}
		var acc float64
		for n := lo; n <= hi; n++ {
			acc += float64(in[n]) * interp[m-2*n+halfTaps]
		}
		out[m] = float32(acc)
	}
	return out
}

// EngineAudio turns telephone audio (8 kHz G.711 µ-law) into what the
// engine takes: 16 kHz float32 in [-1, 1].
func EngineAudio(mulaw []byte) []float32 {
	pcm := audio.DecodeMulaw(nil, mulaw)
	f := make([]float32, len(pcm))
	for i, s := range pcm {
		f[i] = float32(s) / 32768
	}
	return Upsample2(f)
}
