package transcribe

import (
	"context"
	"errors"
)

// Engine is speech recognition inside the worker process: whisper.cpp in
// a build with the tag `whisper`, a stand-in in the tests.
type Engine interface {
	// Run recognises audio (EngineRate mono float32) in language, or
	// detects the language when it is "".
	Run(ctx context.Context, audio []float32, language string) ([]Segment, error)
	Close() error
}

// OpenEngine loads a model for threads threads of inference.
type OpenEngine func(model string, threads int) (Engine, error)

// ErrNotBuilt is the answer of a build without the engine.
var ErrNotBuilt = errors.New("this build has no transcription: it was built without whisper.cpp (make build WHISPER=1)")
