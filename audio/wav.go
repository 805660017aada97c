package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WAV files here are RIFF/WAVE with 16-bit signed little-endian PCM, one
// channel: what Asterisk's `wav` format writes and what the tests and the
// transcriber exchange.

// ErrWAVFormat is wrapped by every error about a malformed or unsupported WAV
// stream.
var ErrWAVFormat = errors.New("audio: unsupported or malformed WAV")

// WriteWAV writes samples as a 16-bit mono PCM WAV file at sampleRate.
func WriteWAV(w io.Writer, samples []int16, sampleRate int) error {
	if sampleRate <= 0 {
		return fmt.Errorf("audio: write WAV: sample rate %d", sampleRate)
	}
	dataLen := 2 * len(samples)
	if uint64(dataLen) > 0xFFFFFFFF-36 {
		return fmt.Errorf("audio: write WAV: %d samples do not fit a RIFF file", len(samples))
	}
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataLen))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)  // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(sampleRate*2)) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)                    // block align
	binary.LittleEndian.PutUint16(h[34:], 16)                   // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataLen))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("audio: write WAV header: %w", err)
	}
	buf := make([]byte, 0, 4096)
	for i, s := range samples {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(s))
		if len(buf) == cap(buf) || i == len(samples)-1 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("audio: write WAV data: %w", err)
			}
			buf = buf[:0]
		}
	}
	return nil
}

// EncodeWAV returns samples as a WAV file in memory.
func EncodeWAV(samples []int16, sampleRate int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(44 + 2*len(samples))
	if err := WriteWAV(&b, samples, sampleRate); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReadWAV reads a 16-bit mono PCM WAV stream and returns its samples and
// sample rate. Chunk sizes are not trusted: a data chunk whose declared size
// is zero or runs past the end (as after a crash mid-recording) yields the
// samples actually present, and memory grows only with bytes really read.
func ReadWAV(r io.Reader) (samples []int16, sampleRate int, err error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("%w: short RIFF header: %v", ErrWAVFormat, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not a RIFF/WAVE stream", ErrWAVFormat)
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, 0, fmt.Errorf("%w: no data chunk: %v", ErrWAVFormat, err)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, 0, fmt.Errorf("%w: fmt chunk size %d", ErrWAVFormat, size)
			}
			f := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, f); err != nil {
				return nil, 0, fmt.Errorf("%w: short fmt chunk: %v", ErrWAVFormat, err)
			}
			format := binary.LittleEndian.Uint16(f[0:])
			channels := binary.LittleEndian.Uint16(f[2:])
			rate := binary.LittleEndian.Uint32(f[4:])
			bits := binary.LittleEndian.Uint16(f[14:])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: sub-format GUID starts with the tag
				format = binary.LittleEndian.Uint16(f[24:])
			}
			if format != 1 || bits != 16 || channels != 1 {
				return nil, 0, fmt.Errorf("%w: format %d, %d bits, %d channels (want PCM, 16 bits, mono)", ErrWAVFormat, format, bits, channels)
			}
			if rate == 0 || rate > 384000 {
				return nil, 0, fmt.Errorf("%w: sample rate %d", ErrWAVFormat, rate)
			}
			sampleRate = int(rate)
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrWAVFormat)
			}
			var src io.Reader = r
			if size != 0 && size != 0xFFFFFFFF {
				src = io.LimitReader(r, int64(size))
			}
			data, err := io.ReadAll(src)
			if err != nil {
				return nil, 0, fmt.Errorf("audio: read WAV data: %w", err)
			}
			samples = make([]int16, len(data)/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return samples, sampleRate, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size%2)); err != nil {
				return nil, 0, fmt.Errorf("%w: short %q chunk: %v", ErrWAVFormat, id, err)
			}
		}
	}
}
