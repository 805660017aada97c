//go:build whisper

package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ggerganov/whisper.cpp/bindings/go/pkg/whisper"
)

// Built is true: this build has whisper.cpp (build tag `whisper`, linked
// against the system's libwhisper).
const Built = true

// whisperEngine is whisper.cpp through its official Go bindings.
type whisperEngine struct {
	model   whisper.Model
	threads int
}

// OpenWhisper loads a ggml model file for threads threads of inference.
func OpenWhisper(model string, threads int) (Engine, error) {
	m, err := whisper.New(model)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", model, err)
	}
	return &whisperEngine{model: m, threads: threads}, nil
}

func (e *whisperEngine) Close() error { return e.model.Close() }

// Run decodes greedily at temperature 0 with no temperature fallback: one
// pass, whose cost the job's deadline can count on.
func (e *whisperEngine) Run(ctx context.Context, audio []float32, language string) ([]Segment, error) {
	wc, err := e.model.NewContext()
	if err != nil {
		return nil, err
	}
	if language == "" || !e.model.IsMultilingual() {
		language = "auto"
		if !e.model.IsMultilingual() {
			language = "en"
		}
	}
	if err := wc.SetLanguage(language); err != nil {
		return nil, fmt.Errorf("language %q: %w", language, err)
	}
	wc.SetThreads(uint(e.threads))
	wc.SetTemperature(0)
	wc.SetTemperatureFallback(0)
	wc.SetBeamSize(1)
	// Each encoder pass asks whether to go on: a job whose context ended
	// stops at the next 30 s window.
	keepGoing := func() bool { return ctx.Err() == nil }
	if err := wc.Process(audio, keepGoing, nil, nil); err != nil {
		return nil, fmt.Errorf("whisper.cpp: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// whisper.cpp times the last segment of a window to the window's end
	// (30 s on), even past the end of the audio: segments end with it.
	end := time.Duration(len(audio)) * time.Second / EngineRate
	var segs []Segment
	for {
		s, err := wc.NextSegment()
		if errors.Is(err, io.EOF) {
			return segs, nil
		}
		if err != nil {
			return nil, err
		}
		s.End = min(s.End, end)
		s.Start = min(s.Start, s.End)
		segs = append(segs, Segment{Start: s.Start, End: s.End, Text: s.Text})
	}
}
