package audio

import "math"

// ToneLevel reports how much of the energy of samples lies at freq (Hz), as a
// fraction between 0 and 1, using the Goertzel algorithm. A clean sine at freq
// gives close to 1 (exactly 1 when freq falls on a DFT bin of the block);
// silence gives 0; a tone elsewhere in the band gives close to 0.
//
// Normalising by the block's total energy makes the measure independent of
// level, so µ-law round trips and gain changes do not move thresholds. The
// frequency resolution is about sampleRate/len(samples) Hz, so use blocks of
// at least 20 ms (160 samples at 8 kHz); 100 ms or more separates tones a few
// tens of Hz apart.
func ToneLevel(samples []int16, sampleRate int, freq float64) float64 {
	n := len(samples)
	if n == 0 || sampleRate <= 0 {
		return 0
	}
	var energy float64
	for _, s := range samples {
		energy += float64(s) * float64(s)
	}
	if energy == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(sampleRate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, s := range samples {
		s0 := float64(s) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	level := 2 * power / (float64(n) * energy)
	return min(level, 1)
}

// DetectTone reports whether freq dominates samples: its ToneLevel is at
// least threshold (0.5 is a good default for a tone in light noise).
func DetectTone(samples []int16, sampleRate int, freq, threshold float64) bool {
	return ToneLevel(samples, sampleRate, freq) >= threshold
}
