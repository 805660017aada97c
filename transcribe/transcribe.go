// Package transcribe turns a call's or a voicemail's audio into timed text,
// on this box. The engine is whisper.cpp, built in only with the build tag
// `whisper`; it runs in a separate worker process so that a crash, a hang or
// an out-of-memory of inference fails one job and never the daemon.
//
// This file holds the contract between the engine and its users (the
// voicemail and call-transcript pipelines): they hand over µ-law audio and a
// language, and get segments back. Nothing here holds a key; the caller of
// Transcribe seals the result with public keys only.
package transcribe

import (
	"context"
	"errors"
	"time"
)

// Request is one job: one speaker's audio, 8 kHz µ-law mono as it comes
// from the media relay.
type Request struct {
	Audio []byte
	// Language is an ISO 639-1 code ("en", "es"), or "" to let the engine
	// detect it.
	Language string
}

// Segment is a stretch of recognised speech, timed from the start of the
// request's audio.
type Segment struct {
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	Text  string        `json:"text"`
}

// Transcriber runs jobs. Implementations are safe for concurrent use; a job
// that fails returns an error and never takes its caller down with it. An
// error that wraps ErrFinal must not be retried: the Transcriber retried
// it already, or no retry can mend it. Any other error is worth one more
// attempt.
type Transcriber interface {
	Transcribe(ctx context.Context, req Request) ([]Segment, error)
}

// ErrFinal marks a failed job that its user gives up on at once (see
// Transcriber).
var ErrFinal = errors.New("no further attempt will help")
