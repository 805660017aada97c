package demo

import (
	"testing"

	"llamenos/audio"
)

func TestMelodyIsAudibleAndBounded(t *testing.T) {
	m := Melody()
	if len(m) < audio.SampleRate*2 {
		t.Fatalf("melody of %d samples is too short to loop pleasantly", len(m))
	}
	if rms := audio.RMS(m); rms < 500 {
		t.Fatalf("melody RMS %.0f is too quiet to hear", rms)
	}
	if audio.DetectTone(m, audio.SampleRate, probeHz, 0.1) {
		t.Fatal("the melody must not contain the 1 kHz probe the tests listen for")
	}
}
