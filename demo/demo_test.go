package demo

import (
	"math"
	"testing"

	"llamenos/audio"
)

func TestMelodyIsAudibleAndBounded(t *testing.T) {
	m := Melody()
	if len(m) < audio.SampleRate*2 {
		t.Fatalf("melody of %d samples is too short to loop pleasantly", len(m))
	}
	if level := rms(m); level < 500 {
		t.Fatalf("melody RMS %.0f is too quiet to hear", level)
	}
	if audio.DetectTone(m, audio.SampleRate, probeHz, 0.1) {
		t.Fatal("the melody must not contain the 1 kHz probe the tests listen for")
	}
}

// rms is the root-mean-square level of samples in linear units.
func rms(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var e float64
	for _, s := range samples {
		e += float64(s) * float64(s)
	}
	return math.Sqrt(e / float64(len(samples)))
}
