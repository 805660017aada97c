package demo

import (
	"testing"

	"llamenos/audio"
	"llamenos/audio/audiotest"
)

func TestMelodyIsAudibleAndBounded(t *testing.T) {
	m := Melody()
	if len(m) < audio.SampleRate*2 {
		t.Fatalf("melody of %d samples is too short to loop pleasantly", len(m))
	}
	if level := audiotest.RMS(m); level < 500 {
		t.Fatalf("melody RMS %.0f is too quiet to hear", level)
	}
	if audio.DetectTone(m, audio.SampleRate, probeHz, 0.1) {
		t.Fatal("the melody must not contain the 1 kHz probe the tests listen for")
	}
}
