package audiotest

import (
	"bytes"
	"testing"

	"llamenos/audio"
)

func TestAppendMulaw(t *testing.T) {
	// Frame by frame, as an RTP sender would, matches encoding all at once.
	whole := make([]int16, 4000) // 500 ms
	audio.NewTone(audio.SampleRate, 0.25, 440).Fill(whole)
	tone := audio.NewTone(audio.SampleRate, 0.25, 440)
	var framed []byte
	for range 25 {
		framed = AppendMulaw(framed, tone, audio.FrameSamples)
	}
	if want := audio.EncodeMulaw(nil, whole); !bytes.Equal(framed, want) {
		t.Fatal("framed µ-law differs from encoding the whole tone at once")
	}
	// An odd length larger than the internal buffer, appended after a prefix.
	got := AppendMulaw([]byte{0xAA}, audio.NewTone(audio.SampleRate, 0.25, 440), 333)
	if len(got) != 334 || got[0] != 0xAA || !bytes.Equal(got[1:], framed[:333]) {
		t.Errorf("AppendMulaw(prefix, 333 samples): %d bytes, prefix %#02x", len(got), got[0])
	}
	// Tone levels after the µ-law round trip, as the RTP tests measure them.
	pcm := audio.DecodeMulaw(nil, framed)
	if lvl := audio.ToneLevel(pcm, audio.SampleRate, 440); lvl < 0.9 {
		t.Errorf("440 Hz tone scores %.2f at 440 Hz, want > 0.9", lvl)
	}
	if lvl := audio.ToneLevel(pcm, audio.SampleRate, 1000); lvl > 0.05 {
		t.Errorf("440 Hz tone scores %.2f at 1000 Hz, want < 0.05", lvl)
	}
}
