// Package prompts lets admins replace the caller prompts with their own
// recordings, and go back to the shipped ones (package sounds).
//
// The daemon writes a recording where Asterisk reads the shipped one,
// <asterisk.sounds_dir>/<lang>/llamenos/<name>.ulaw, over it: the
// dialplan name stays "llamenos/<name>" and the next call hears the new
// recording, with nothing to reload. A prompt is "custom" when its file
// differs from the shipped one. Reverting writes the shipped one back.
//
// Uploads are WAV files, 8 kHz mono, 16-bit PCM or µ-law, of 0.5 s to
// 60 s (the browser converts whatever it can decode to that); anything
// else is refused with ErrBadRecording saying what is wrong. Every change
// is in the audit log (prompt.replaced, prompt.reverted) with the prompt's
// language and name.
package prompts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"llamenos/audio"
	"llamenos/sounds"
	"llamenos/store"
)

// Limits of an uploaded recording.
const (
	MinLength = 500 * time.Millisecond
	MaxLength = 60 * time.Second
	// MaxUpload is the largest WAV accepted: 60 s of 16-bit PCM and room
	// for the header and metadata chunks.
	MaxUpload = 2*sounds.SampleRate*60 + 64<<10
	// minRMS is -50 dBFS: quieter than that is silence or a muted
	// microphone, not a prompt a caller could hear.
	minRMS = 32768.0 / 316
)

// Errors.
var (
	// ErrBadRecording: the upload is not a recording the appliance plays.
	ErrBadRecording = errors.New("prompts: bad recording")
	// ErrUnknown: no such prompt, or a language the hotline does not offer.
	ErrUnknown = errors.New("prompts: no such prompt or language")
	// ErrDisabled: asterisk.sounds_dir is empty.
	ErrDisabled = errors.New("prompts: replacing prompts is off (asterisk.sounds_dir is empty)")
)

// Prompt is one prompt in one language.
type Prompt struct {
	Name string `json:"name"`
	Lang string `json:"lang"`
	// State: "default" (the shipped recording), "custom" (an admin's) or
	// "missing" (no file: asterisk-config has not installed the prompts,
	// or nobody recorded one for a language shipped without them).
	State   string  `json:"state"`
	Seconds float64 `json:"seconds"`
	// Default: a shipped recording exists to revert to.
	Default bool `json:"default"`
}

// Prompt states.
const (
	StateDefault = "default"
	StateCustom  = "custom"
	StateMissing = "missing"
)

// Service reads and writes the prompts in Dir.
type Service struct {
	Dir   string // Asterisk's sounds directory; "" disables changes
	Store *store.Store
	Log   *slog.Logger
}

func (s *Service) check(lang, name string, langs []string) error {
	if !slices.Contains(sounds.Names, name) || !slices.Contains(langs, lang) {
		return fmt.Errorf("%w: %s/%s", ErrUnknown, lang, name)
	}
	if s.Dir == "" {
		return ErrDisabled
	}
	return nil
}

func (s *Service) path(lang, name string) string {
	return filepath.Join(s.Dir, filepath.FromSlash(sounds.Path(lang, name)))
}

// List returns every prompt in each of langs (the hotline's languages).
func (s *Service) List(langs []string) ([]Prompt, error) {
	var out []Prompt
	for _, lang := range langs {
		for _, name := range sounds.Names {
			p, err := s.stat(lang, name)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *Service) stat(lang, name string) (Prompt, error) {
	p := Prompt{Name: name, Lang: lang, State: StateMissing}
	def, err := sounds.Default(lang, name)
	p.Default = err == nil
	if s.Dir == "" {
		if p.Default {
			p.State, p.Seconds = StateDefault, sounds.Duration(len(def)).Seconds()
		}
		return p, nil
	}
	b, err := os.ReadFile(s.path(lang, name))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("prompts: %w", err)
	}
	p.Seconds = sounds.Duration(len(b)).Seconds()
	p.State = StateCustom
	if p.Default && bytes.Equal(b, def) {
		p.State = StateDefault
	}
	return p, nil
}

// Audio returns the recording Asterisk plays for the prompt now, as a WAV
// file (8 kHz, 16-bit PCM) a browser can play.
func (s *Service) Audio(lang, name string, langs []string) ([]byte, error) {
	if !slices.Contains(sounds.Names, name) || !slices.Contains(langs, lang) {
		return nil, fmt.Errorf("%w: %s/%s", ErrUnknown, lang, name)
	}
	var b []byte
	var err error
	if s.Dir == "" {
		b, err = sounds.Default(lang, name)
	} else {
		b, err = os.ReadFile(s.path(lang, name))
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, sounds.ErrNoDefault) {
		return nil, fmt.Errorf("%w: no recording of %s/%s", ErrUnknown, lang, name)
	}
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	return EncodeWAV(audio.DecodeMulaw(nil, b)), nil
}

// Replace validates wav, converts it to µ-law and writes it as the prompt,
// then records prompt.replaced for actor.
func (s *Service) Replace(ctx context.Context, actor, lang, name string, wav []byte, langs []string) (Prompt, error) {
	if err := s.check(lang, name, langs); err != nil {
		return Prompt{}, err
	}
	pcm, err := DecodeWAV(wav)
	if err != nil {
		return Prompt{}, err
	}
	return s.write(ctx, actor, lang, name, audio.EncodeMulaw(nil, pcm), "prompt.replaced")
}

// Revert writes the shipped recording back (or, for a language shipped
// without one, removes the admin's), then records prompt.reverted.
func (s *Service) Revert(ctx context.Context, actor, lang, name string, langs []string) (Prompt, error) {
	if err := s.check(lang, name, langs); err != nil {
		return Prompt{}, err
	}
	def, err := sounds.Default(lang, name)
	if errors.Is(err, sounds.ErrNoDefault) {
		if err := os.Remove(s.path(lang, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Prompt{}, fmt.Errorf("prompts: %w", err)
		}
		return s.audited(ctx, actor, lang, name, "prompt.reverted")
	}
	if err != nil {
		return Prompt{}, err
	}
	return s.write(ctx, actor, lang, name, def, "prompt.reverted")
}

func (s *Service) write(ctx context.Context, actor, lang, name string, ulaw []byte, action string) (Prompt, error) {
	dir := filepath.Dir(s.path(lang, name))
	if err := os.MkdirAll(dir, 0o775); err != nil {
		return Prompt{}, fmt.Errorf("prompts: %w (run `llamenos asterisk-config` with -sounds, and give the daemon write access to %s)", err, s.Dir)
	}
	// Asterisk reads the file as its own user: readable by all.
	if err := sounds.WriteFile(s.path(lang, name), ulaw, 0o664); err != nil {
		return Prompt{}, err
	}
	return s.audited(ctx, actor, lang, name, action)
}

func (s *Service) audited(ctx context.Context, actor, lang, name, action string) (Prompt, error) {
	subject := "prompt:" + strings.ToLower(lang) + "." + name
	if err := s.Store.Update(ctx, func(tx *store.Tx) error { return tx.Audit(actor, action, subject) }); err != nil {
		return Prompt{}, err
	}
	p, err := s.stat(lang, name)
	if err == nil {
		s.Log.Info(action, "lang", lang, "prompt", name, "seconds", math.Round(p.Seconds*10)/10)
	}
	return p, err
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRecording, fmt.Sprintf(format, args...))
}

// DecodeWAV reads an upload: a RIFF WAVE file, mono, 8000 Hz, 16-bit PCM
// (format 1) or µ-law (format 7), of MinLength to MaxLength and not
// silent. The error says what is wrong in words an admin can act on.
func DecodeWAV(b []byte) ([]int16, error) {
	if len(b) > MaxUpload {
		return nil, bad("the file is %d KB; at most %d KB (60 seconds)", len(b)>>10, MaxUpload>>10)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, bad("not a WAV file")
	}
	if n := binary.LittleEndian.Uint32(b[4:8]); int64(n) > int64(len(b)-8) {
		return nil, bad("the WAV file is cut short (%d bytes announced, %d present)", n, len(b)-8)
	}
	var format, channels, bits uint16
	var rate uint32
	var data []byte
	haveFmt, haveData := false, false
	for rest := b[12:]; len(rest) >= 8; {
		id, size := string(rest[0:4]), binary.LittleEndian.Uint32(rest[4:8])
		if int64(size) > int64(len(rest)-8) {
			return nil, bad("the WAV file is cut short in its %q chunk", id)
		}
		body := rest[8 : 8+size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, bad("the WAV format chunk is too short")
			}
			format = binary.LittleEndian.Uint16(body[0:2])
			channels = binary.LittleEndian.Uint16(body[2:4])
			rate = binary.LittleEndian.Uint32(body[4:8])
			bits = binary.LittleEndian.Uint16(body[14:16])
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, bad("the WAV data comes before its format")
			}
			data, haveData = body, true
		}
		next := 8 + int(size) + int(size&1) // chunks are padded to even sizes
		if next > len(rest) {
			break
		}
		rest = rest[next:]
	}
	if !haveFmt || !haveData {
		return nil, bad("the WAV file has no format or no audio")
	}
	if channels != 1 || rate != sounds.SampleRate {
		return nil, bad("%d channels at %d Hz; want mono at 8000 Hz", channels, rate)
	}
	var pcm []int16
	switch {
	case format == 1 && bits == 16:
		if len(data)%2 != 0 {
			return nil, bad("the 16-bit audio has an odd number of bytes")
		}
		pcm = make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case format == 7 && bits == 8:
		pcm = audio.DecodeMulaw(nil, data)
	default:
		return nil, bad("audio format %d with %d bits; want 16-bit PCM or µ-law", format, bits)
	}
	length := time.Duration(len(pcm)) * time.Second / sounds.SampleRate
	if length < MinLength || length > MaxLength {
		return nil, bad("the recording lasts %.1f s; want %.1f to %.0f s", length.Seconds(), MinLength.Seconds(), MaxLength.Seconds())
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	if math.Sqrt(sum/float64(len(pcm))) < minRMS {
		return nil, bad("the recording is silent")
	}
	return pcm, nil
}

// EncodeWAV makes a WAV file of 8 kHz 16-bit mono PCM.
func EncodeWAV(pcm []int16) []byte {
	n := 2 * len(pcm)
	b := make([]byte, 0, 44+n)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+n))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = binary.LittleEndian.AppendUint32(b, sounds.SampleRate)
	b = binary.LittleEndian.AppendUint32(b, 2*sounds.SampleRate)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
