// Package audiotest holds audio helpers that only the tests and the stand-in
// browser need: the daemon never makes PCMU payloads from a Source itself.
package audiotest

import "llamenos/audio"

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
