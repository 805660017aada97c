package transcribe

import (
	"math"
	"testing"

	"llamenos/audio"
)

// level returns the amplitude of the sinusoid at freq in x (sampled at
// rate), by a least-squares fit of a sine and a cosine over a whole
// number of periods: exact for a pure tone, and blind to the other tones
// the test uses because they complete whole periods too.
func level(x []float32, rate, freq float64) float64 {
	var s, c float64
	for i, v := range x {
		ph := 2 * math.Pi * freq * float64(i) / rate
		s += float64(v) * math.Sin(ph)
		c += float64(v) * math.Cos(ph)
	}
	n := float64(len(x))
	return 2 * math.Hypot(s, c) / n
}

func tone(n int, rate, freq, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/rate))
	}
	return x
}

// Tones at multiples of 50 Hz over a one-second window complete whole
// periods at both rates; the filter's edges are cut off so only the
// steady state is measured.
const (
	testLen  = 8000 + 2*halfTaps
	edge16   = 2 * halfTaps
	passTop  = 3400.0
	stopBase = 8000.0 // an input tone at f images at stopBase − f
)

func steady(out []float32) []float32 { return out[edge16 : edge16+16000] }

// TestUpsamplePassbandFlat: every tone of the telephone band (50 Hz to
// 3.4 kHz) comes out at its input level within ±0.01 dB. The filter's
// ripple is far smaller; the bound leaves room for float32 rounding.
func TestUpsamplePassbandFlat(t *testing.T) {
	const amp = 0.5
	worst := 0.0
	for f := 50.0; f <= passTop; f += 50 {
		out := steady(Upsample2(tone(testLen, 8000, f, amp)))
		db := 20 * math.Log10(level(out, 16000, f)/amp)
		if math.Abs(db) > math.Abs(worst) {
			worst = db
		}
		if math.Abs(db) > 0.01 {
			t.Errorf("%.0f Hz: gain %+.4f dB, want within ±0.01 dB", f, db)
		}
	}
	t.Logf("passband 50–3400 Hz: worst gain %+.5f dB", worst)
}

// TestUpsampleRejectsImages: the image of every tone of the telephone band
// (at 8 kHz − f, 4.6 to 7.95 kHz) is at least 75 dB below the tone.
// Without a proper low-pass (sample repetition, linear interpolation) the
// image is only 1 to 30 dB down.
func TestUpsampleRejectsImages(t *testing.T) {
	worst := math.Inf(1)
	for f := 50.0; f <= passTop; f += 50 {
		out := steady(Upsample2(tone(testLen, 8000, f, 0.5)))
		rej := 20 * math.Log10(level(out, 16000, f)/level(out, 16000, stopBase-f))
		worst = min(worst, rej)
		if rej < 75 {
			t.Errorf("%.0f Hz: image at %.0f Hz only %.1f dB down, want ≥ 75 dB", f, stopBase-f, rej)
		}
	}
	t.Logf("image rejection over the telephone band: worst %.1f dB", worst)
}

// TestUpsampleKeepsSamples: the filter is a half-band one, so the input
// samples pass through unchanged on the even outputs, and a constant stays
// constant on the odd ones away from the edges.
func TestUpsampleKeepsSamples(t *testing.T) {
	in := tone(400, 8000, 1000, 0.3)
	out := Upsample2(in)
	if len(out) != 2*len(in) {
		t.Fatalf("len %d, want %d", len(out), 2*len(in))
	}
	for n, v := range in {
		if d := math.Abs(float64(out[2*n] - v)); d > 1e-6 {
			t.Fatalf("out[%d] = %v, want in[%d] = %v", 2*n, out[2*n], n, v)
		}
	}
	if out := Upsample2(nil); len(out) != 0 {
		t.Fatalf("empty in gave %d samples", len(out))
	}
	ones := make([]float32, 200)
	for i := range ones {
		ones[i] = 0.25
	}
	for m, v := range Upsample2(ones)[2*halfTaps : 400-2*halfTaps] {
		if math.Abs(float64(v)-0.25) > 1e-6 {
			t.Fatalf("constant 0.25 became %v at %d", v, m+2*halfTaps)
		}
	}
}

// TestEngineAudio: µ-law in, 16 kHz float32 out, at the tone's level.
func TestEngineAudio(t *testing.T) {
	pcm := make([]int16, testLen)
	audio.NewTone(8000, 0.5, 1000).Fill(pcm)
	out := EngineAudio(audio.EncodeMulaw(nil, pcm))
	if len(out) != 2*testLen {
		t.Fatalf("len %d, want %d", len(out), 2*testLen)
	}
	if l := level(steady(out), 16000, 1000); math.Abs(l-0.5) > 0.01 {
		t.Fatalf("1 kHz at level %.4f, want 0.5", l)
	}
}
