// Package transcribetest is the transcriber that stands in for whisper in
// tests and in the demo's test mode: it "hears" pure tones. Each stretch of
// audio where one of its frequencies dominates becomes a segment whose text
// names the frequency ("440 Hz"), timed like a real transcriber's segments,
// so a test can check which speaker said what, and when, after the audio went
// through the relay, the µ-law capture, the job and the sealing.
package transcribetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"llamenos/audio"
	"llamenos/transcribe"
)

// Window is the analysis step: 100 ms separates tones 50 Hz apart.
const Window = 100 * time.Millisecond

// DefaultFreqs are the tones heard when Transcriber.Freqs is empty: the
// multiples of 50 Hz from 200 Hz to 3 kHz, the telephone band.
var DefaultFreqs = func() []float64 {
	var out []float64
	for f := 200.0; f <= 3000; f += 50 {
		out = append(out, f)
	}
	return out
}()

// Pause is the longest silence within one segment: lost packets and
// breaths do not end a sentence.
const Pause = 300 * time.Millisecond

// threshold is the ToneLevel a frequency needs to count as heard.
const threshold = 0.5

// Transcriber hears tones. The zero value works. It is safe for concurrent
// use.
type Transcriber struct {
	// Freqs are the tones it can hear; empty: DefaultFreqs.
	Freqs []float64
	// FailFirst makes the first n jobs fail, to test retries.
	FailFirst int

	jobs  atomic.Int64
	mu    sync.Mutex
	langs []string
}

var _ transcribe.Transcriber = (*Transcriber)(nil)

// ErrInjected is the failure FailFirst makes.
var ErrInjected = fmt.Errorf("transcribetest: injected failure")

// Transcribe returns one segment per stretch of one tone. Silence and
// anything without a dominant tone are not speech.
func (t *Transcriber) Transcribe(ctx context.Context, req transcribe.Request) ([]transcribe.Segment, error) {
	n := t.jobs.Add(1)
	t.mu.Lock()
	t.langs = append(t.langs, req.Language)
	t.mu.Unlock()
	if n <= int64(t.FailFirst) {
		return nil, ErrInjected
	}
	freqs := t.Freqs
	if len(freqs) == 0 {
		freqs = DefaultFreqs
	}
	win := int(Window.Seconds() * audio.SampleRate)
	pcm := audio.DecodeMulaw(make([]int16, 0, len(req.Audio)), req.Audio)
	var out []transcribe.Segment
	// cur is the tone of the open segment, from start to end (samples);
	// silence shorter than Pause within it is a pause, not its end.
	cur, start, end := 0.0, 0, 0
	flush := func() {
		if cur != 0 {
			out = append(out, transcribe.Segment{Start: samples(start), End: samples(end), Text: fmt.Sprintf("%.0f Hz", cur)})
		}
		cur = 0
	}
	pause := int(Pause.Seconds() * audio.SampleRate)
	for i := 0; i+win <= len(pcm); i += win {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("transcribetest: %w", err)
		}
		f := dominant(pcm[i:i+win], freqs)
		switch {
		case f == 0 && cur != 0 && i+win-end > pause:
			flush()
		case f == 0:
		case f == cur:
			end = i + win
		default:
			flush()
			cur, start, end = f, i, i+win
		}
	}
	flush()
	return out, nil
}

// Jobs counts the jobs run, failed ones included.
func (t *Transcriber) Jobs() int { return int(t.jobs.Load()) }

// Languages lists the language of every job, in order.
func (t *Transcriber) Languages() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.langs)
}

func samples(n int) time.Duration { return time.Duration(n) * time.Second / audio.SampleRate }

// dominant is the frequency of freqs that dominates block, or 0.
func dominant(block []int16, freqs []float64) float64 {
	best, bestLevel := 0.0, threshold
	for _, f := range freqs {
		if l := audio.ToneLevel(block, audio.SampleRate, f); l >= bestLevel {
			best, bestLevel = f, l
		}
	}
	return best
}
