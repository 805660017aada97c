package audio

import "math"

// Source produces audio on demand. Fill writes exactly len(dst) samples; a
// source that has run out writes silence. Sources are not safe for concurrent
// use: each call or stream owns its own.
type Source interface {
	Fill(dst []int16)
}

// Tone is a sum of sine waves with continuous phase across Fill calls, so
// consecutive frames join without clicks.
type Tone struct {
	amp   float64
	steps []float64 // phase increment per sample, radians
	phase []float64
}

// NewTone returns a tone at the given sample rate made of the given
// frequencies (Hz), each with peak amplitude amp (a fraction of full scale,
// 0..1). With several frequencies the peak of the sum is amp·len(freqs), so
// keep amp·len(freqs) ≤ 1 to avoid clipping.
func NewTone(sampleRate int, amp float64, freqs ...float64) *Tone {
	t := &Tone{amp: amp * 32767, steps: make([]float64, len(freqs)), phase: make([]float64, len(freqs))}
	for i, f := range freqs {
		t.steps[i] = 2 * math.Pi * f / float64(sampleRate)
	}
	return t
}

// Fill writes the next len(dst) samples of the tone.
func (t *Tone) Fill(dst []int16) {
	for n := range dst {
		var v float64
		for i, step := range t.steps {
			v += math.Sin(t.phase[i])
			t.phase[i] += step
			if t.phase[i] > 2*math.Pi {
				t.phase[i] -= 2 * math.Pi
			}
		}
		dst[n] = clamp16(v * t.amp)
	}
}

// Loop plays a fixed set of samples, optionally over and over.
type Loop struct {
	samples []int16
	pos     int
	repeat  bool
}

// NewLoop returns a source that plays samples once (repeat false) and then
// silence, or forever (repeat true). The slice is not copied and must not be
// changed afterwards.
func NewLoop(samples []int16, repeat bool) *Loop {
	return &Loop{samples: samples, repeat: repeat}
}

// Fill writes the next len(dst) samples.
func (l *Loop) Fill(dst []int16) {
	for n := range dst {
		if l.pos >= len(l.samples) {
			if !l.repeat || len(l.samples) == 0 {
				clear(dst[n:])
				return
			}
			l.pos = 0
		}
		dst[n] = l.samples[l.pos]
		l.pos++
	}
}

// Silence is a Source of zeros.
type Silence struct{}

// Fill writes zeros.
func (Silence) Fill(dst []int16) { clear(dst) }

// Mix adds src into dst sample by sample, saturating at the int16 range.
func Mix(dst, src []int16) {
	for i := range min(len(dst), len(src)) {
		dst[i] = clamp16(float64(dst[i]) + float64(src[i]))
	}
}

func clamp16(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

// Sequence is a tone sequence at 8 kHz, as a pretend caller speaking: each
// frequency (Hz) plays for one step, 0 is a step of silence, and silence
// follows the last step for good.
type Sequence struct {
	amp   float64
	step  int // samples per step
	freqs []float64
	pos   int
	phase float64
}

// NewSequence returns a Sequence at SampleRate of steps stepSamples long,
// with peak amplitude amp (a fraction of full scale).
func NewSequence(amp float64, stepSamples int, freqs ...float64) *Sequence {
	return &Sequence{amp: amp * 32767, step: max(stepSamples, 1), freqs: freqs}
}

// Fill writes the next len(dst) samples.
func (s *Sequence) Fill(dst []int16) {
	for n := range dst {
		i := s.pos / s.step
		s.pos++
		if i >= len(s.freqs) || s.freqs[i] == 0 {
			dst[n], s.phase = 0, 0
			continue
		}
		dst[n] = clamp16(math.Sin(s.phase) * s.amp)
		s.phase += 2 * math.Pi * s.freqs[i] / SampleRate
		if s.phase > 2*math.Pi {
			s.phase -= 2 * math.Pi
		}
	}
}
