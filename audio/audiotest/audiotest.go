// Package audiotest holds audio helpers that only the tests and the stand-in
// browser need: the daemon never makes PCMU payloads from a Source itself.
package audiotest

import (
	"math"

	"llamenos/audio"
)

// AppendMulaw appends the next n samples of src, µ-law encoded, to dst and
// returns the extended slice: one call makes a PCMU payload from a Source.
func AppendMulaw(dst []byte, src audio.Source, n int) []byte {
	var buf [audio.FrameSamples]int16
	for n > 0 {
		chunk := buf[:min(n, len(buf))]
		src.Fill(chunk)
		dst = audio.EncodeMulaw(dst, chunk)
		n -= len(chunk)
	}
	return dst
}

// RMS is the root mean square of samples, in sample units (0–32768).
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}
