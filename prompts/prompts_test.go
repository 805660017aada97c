package prompts

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"llamenos/audio"
)

func tonePCM(n int) []int16 {
	pcm := make([]int16, n)
	audio.NewTone(8000, 0.3, 440).Fill(pcm)
	return pcm
}

// riff assembles a WAV from chunks (id, body), padding odd ones.
func riff(chunks ...[2]string) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c[0]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c[1])))
		b = append(b, c[1]...)
		if len(c[1])%2 == 1 {
			b = append(b, 0)
		}
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) [2]string {
	b := binary.LittleEndian.AppendUint16(nil, format)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return [2]string{"fmt ", string(b)}
}

// TestDecodeWAV: PCM and µ-law WAVs with metadata chunks, odd-sized ones
// included, decode to their samples; what the appliance cannot play is
// refused with ErrBadRecording and a reason.
func TestDecodeWAV(t *testing.T) {
	pcm := tonePCM(8000)
	got, err := DecodeWAV(EncodeWAV(pcm))
	if err != nil || !slices.Equal(got, pcm) {
		t.Fatalf("PCM round trip: %v", err)
	}
	ulaw := audio.EncodeMulaw(nil, pcm)
	withMeta := riff([2]string{"LIST", "odd"}, fmtChunk(7, 1, 8000, 8), [2]string{"data", string(ulaw)})
	got, err = DecodeWAV(withMeta)
	if err != nil || !slices.Equal(got, audio.DecodeMulaw(nil, ulaw)) {
		t.Fatalf("µ-law WAV with an odd LIST chunk: %v", err)
	}
	pcmBytes := string(EncodeWAV(pcm)[44:])
	for _, c := range []struct {
		name string
		wav  []byte
		msg  string
	}{
		{"empty", nil, "not a WAV file"},
		{"stereo", riff(fmtChunk(1, 2, 8000, 16), [2]string{"data", pcmBytes}), "2 channels at 8000 Hz"},
		{"16 kHz", riff(fmtChunk(1, 1, 16000, 16), [2]string{"data", pcmBytes}), "1 channels at 16000 Hz"},
		{"float", riff(fmtChunk(3, 1, 8000, 32), [2]string{"data", pcmBytes}), "audio format 3"},
		{"no data", riff(fmtChunk(1, 1, 8000, 16)), "no format or no audio"},
		{"data first", riff([2]string{"data", pcmBytes}, fmtChunk(1, 1, 8000, 16)), "before its format"},
		{"odd PCM", riff(fmtChunk(1, 1, 8000, 16), [2]string{"data", pcmBytes + "x"}), "odd number of bytes"},
		{"announces more", EncodeWAV(pcm)[:len(EncodeWAV(pcm))-2], "cut short"},
	} {
		if _, err := DecodeWAV(c.wav); !errors.Is(err, ErrBadRecording) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want a bad recording saying %q", c.name, err, c.msg)
		}
	}
}
