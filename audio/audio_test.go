package audio

import (
	"math"
	"slices"
	"testing"
)

func TestMulawRoundTrip(t *testing.T) {
	// Every code decodes and re-encodes to itself, except the two zeros
	// (0x7F and 0xFF both mean 0; 0 encodes as 0xFF).
	for i := range 256 {
		u := byte(i)
		got := MulawEncode(mulawDecode(u))
		if got != u && !(u == 0x7F && got == 0xFF) {
			t.Errorf("code %#02x: decode %d, re-encode %#02x", u, mulawDecode(u), got)
		}
	}
}

func TestMulawKnownValues(t *testing.T) {
	tests := []struct {
		in   int16
		want byte
	}{
		{0, 0xFF},
		{-1, 0x7F},
		{32767, 0x80},
		{-32768, 0x00},
		{1000, 0xCE},
		{-1000, 0x4E},
	}
	for _, tc := range tests {
		if got := MulawEncode(tc.in); got != tc.want {
			t.Errorf("MulawEncode(%d) = %#02x, want %#02x", tc.in, got, tc.want)
		}
	}
	if got := mulawDecode(0x80); got != 32124 {
		t.Errorf("mulawDecode(0x80) = %d, want 32124", got)
	}
}

func TestMulawErrorIsSmall(t *testing.T) {
	// G.711 keeps the quantisation error within about 1/16 of the magnitude.
	for v := -32000; v <= 32000; v += 7 {
		d := mulawDecode(MulawEncode(int16(v)))
		errAbs := math.Abs(float64(int(d) - v))
		if errAbs > math.Max(8, math.Abs(float64(v))/16) {
			t.Fatalf("sample %d decodes to %d (error %.0f)", v, d, errAbs)
		}
	}
}

func TestToneDetection(t *testing.T) {
	tests := []struct {
		name     string
		gen      []float64
		probe    float64
		detected bool
	}{
		{"440 at 440", []float64{440}, 440, true},
		{"1000 at 1000", []float64{1000}, 1000, true},
		{"440 at 1000", []float64{440}, 1000, false},
		{"1000 at 440", []float64{1000}, 440, false},
		{"dual 697+1209 at 770", []float64{697, 1209}, 770, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pcm := make([]int16, 1600) // 200 ms
			NewTone(SampleRate, 0.3, tc.gen...).Fill(pcm)
			// Through µ-law and back, as over RTP.
			pcm = DecodeMulaw(nil, EncodeMulaw(nil, pcm))
			if got := DetectTone(pcm, SampleRate, tc.probe, 0.5); got != tc.detected {
				t.Errorf("DetectTone = %v (level %.3f), want %v", got, ToneLevel(pcm, SampleRate, tc.probe), tc.detected)
			}
		})
	}
	if lvl := ToneLevel(make([]int16, 160), SampleRate, 440); lvl != 0 {
		t.Errorf("silence level %v, want 0", lvl)
	}
	pcm := make([]int16, 1600)
	NewTone(SampleRate, 0.3, 697, 1209).Fill(pcm)
	if lvl := ToneLevel(pcm, SampleRate, 697); lvl < 0.4 || lvl > 0.6 {
		t.Errorf("dual tone: level at 697 Hz %.3f, want about 0.5", lvl)
	}
}

func TestToneContinuousAcrossFrames(t *testing.T) {
	whole := make([]int16, 800)
	NewTone(SampleRate, 0.5, 440).Fill(whole)
	tone := NewTone(SampleRate, 0.5, 440)
	var parts []int16
	for range 5 {
		f := make([]int16, FrameSamples)
		tone.Fill(f)
		parts = append(parts, f...)
	}
	for i := range whole {
		if d := int(whole[i]) - int(parts[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d: framed %d, whole %d", i, parts[i], whole[i])
		}
	}
}

func TestLoop(t *testing.T) {
	once := NewLoop([]int16{1, 2, 3}, false)
	got := make([]int16, 5)
	once.Fill(got)
	if want := []int16{1, 2, 3, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("once: %v, want %v", got, want)
	}
	rep := NewLoop([]int16{1, 2, 3}, true)
	rep.Fill(got)
	if want := []int16{1, 2, 3, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("repeat: %v, want %v", got, want)
	}
	NewLoop(nil, true).Fill(got) // must not spin
	if want := []int16{0, 0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("empty repeat: %v, want %v", got, want)
	}
}

func TestMixSaturates(t *testing.T) {
	dst := []int16{30000, -30000, 5}
	Mix(dst, []int16{10000, -10000, 5})
	if want := []int16{32767, -32768, 10}; !slices.Equal(dst, want) {
		t.Errorf("Mix = %v, want %v", dst, want)
	}
}

// mulawDecode is one µ-law byte as a linear sample.
func mulawDecode(u byte) int16 { return DecodeMulaw(nil, []byte{u})[0] }
