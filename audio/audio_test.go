package audio

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestMulawRoundTrip(t *testing.T) {
	// Every code decodes and re-encodes to itself, except the two zeros
	// (0x7F and 0xFF both mean 0; 0 encodes as 0xFF).
	for i := range 256 {
		u := byte(i)
		got := MulawEncode(MulawDecode(u))
		if got != u && !(u == 0x7F && got == 0xFF) {
			t.Errorf("code %#02x: decode %d, re-encode %#02x", u, MulawDecode(u), got)
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
	if got := MulawDecode(0x80); got != 32124 {
		t.Errorf("MulawDecode(0x80) = %d, want 32124", got)
	}
}

func TestMulawErrorIsSmall(t *testing.T) {
	// G.711 keeps the quantisation error within about 1/16 of the magnitude.
	for v := -32000; v <= 32000; v += 7 {
		d := MulawDecode(MulawEncode(int16(v)))
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

func TestAppendMulaw(t *testing.T) {
	// Frame by frame, as an RTP sender would, matches encoding all at once.
	whole := make([]int16, 4000) // 500 ms
	NewTone(SampleRate, 0.25, 440).Fill(whole)
	tone := NewTone(SampleRate, 0.25, 440)
	var framed []byte
	for range 25 {
		framed = AppendMulaw(framed, tone, FrameSamples)
	}
	if want := EncodeMulaw(nil, whole); !bytes.Equal(framed, want) {
		t.Fatal("framed µ-law differs from encoding the whole tone at once")
	}
	// An odd length larger than the internal buffer, appended after a prefix.
	got := AppendMulaw([]byte{0xAA}, NewTone(SampleRate, 0.25, 440), 333)
	if len(got) != 334 || got[0] != 0xAA || !bytes.Equal(got[1:], framed[:333]) {
		t.Errorf("AppendMulaw(prefix, 333 samples): %d bytes, prefix %#02x", len(got), got[0])
	}
	// Tone levels after the µ-law round trip, as the RTP tests measure them.
	pcm := DecodeMulaw(nil, framed)
	if lvl := ToneLevel(pcm, SampleRate, 440); lvl < 0.9 {
		t.Errorf("440 Hz tone scores %.2f at 440 Hz, want > 0.9", lvl)
	}
	if lvl := ToneLevel(pcm, SampleRate, 1000); lvl > 0.05 {
		t.Errorf("440 Hz tone scores %.2f at 1000 Hz, want < 0.05", lvl)
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

func TestWAVRoundTrip(t *testing.T) {
	pcm := make([]int16, 8001)
	NewTone(SampleRate, 0.5, 440).Fill(pcm)
	b, err := EncodeWAV(pcm, SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 44+2*len(pcm) {
		t.Fatalf("file is %d bytes, want %d", len(b), 44+2*len(pcm))
	}
	got, rate, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rate != SampleRate || !slices.Equal(got, pcm) {
		t.Fatalf("round trip: rate %d, %d samples equal=%v", rate, len(got), slices.Equal(got, pcm))
	}
}

func TestReadWAVTruncatedHeaderSizes(t *testing.T) {
	pcm := []int16{1, -2, 3, -4}
	b, _ := EncodeWAV(pcm, 16000)
	// A recording cut off by a crash: sizes left at zero.
	for _, off := range []int{4, 40} {
		b[off], b[off+1], b[off+2], b[off+3] = 0, 0, 0, 0
	}
	got, rate, err := ReadWAV(bytes.NewReader(b))
	if err != nil || rate != 16000 || !slices.Equal(got, pcm) {
		t.Fatalf("got %v rate %d err %v", got, rate, err)
	}
}

func TestReadWAVRejects(t *testing.T) {
	good, _ := EncodeWAV([]int16{1, 2}, SampleRate)
	stereo := bytes.Clone(good)
	stereo[22] = 2
	eightBit := bytes.Clone(good)
	eightBit[34] = 8
	tests := map[string][]byte{
		"empty":       nil,
		"not riff":    []byte("RIFX\x00\x00\x00\x00WAVE"),
		"stereo":      stereo,
		"8-bit":       eightBit,
		"no data":     good[:36],
		"data no fmt": append([]byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00"), 1, 2),
	}
	for name, in := range tests {
		if _, _, err := ReadWAV(bytes.NewReader(in)); !errors.Is(err, ErrWAVFormat) {
			t.Errorf("%s: err = %v, want ErrWAVFormat", name, err)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	good, _ := EncodeWAV([]int16{1, 2, 3}, SampleRate)
	f.Add(good)
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, rate, err := ReadWAV(bytes.NewReader(b))
		if err == nil && (rate <= 0 || len(samples) > len(b)/2) {
			t.Fatalf("accepted with rate %d and %d samples from %d bytes", rate, len(samples), len(b))
		}
	})
}
