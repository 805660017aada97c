package transcribe

import (
	"fmt"
	"log/slog"
)

// Setup is what the daemon knows of transcription at start: the
// [transcription] section, the data directory and how to start a worker.
type Setup struct {
	DataDir string
	// Model is the configured model: relative to DataDir, or absolute;
	// "" when none is configured.
	Model   string
	Threads int
	// Command starts a worker (`llamenos transcribe-worker`).
	Command []string
	Log     *slog.Logger
}

// Status says whether this daemon transcribes, and if not, why not, in
// words an admin can act on. The API, `llamenos check` and the log show it.
type Status struct {
	Available bool `json:"available"`
	// Built is false when this binary has no engine at all.
	Built bool `json:"built"`
	// Model is the verified model's path when Available.
	Model  string `json:"model,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Start checks that this build has the engine and that the configured
// model verifies (VerifyModel), and returns the Worker that transcribes
// with it. When transcription is not available it returns a nil
// Transcriber and a Status that says why; voicemail then keeps the sealed
// audio only.
func Start(s Setup) (Transcriber, Status) {
	st := Check(s.DataDir, s.Model)
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !st.Available {
		log.Warn("transcription is off", "reason", st.Reason)
		return nil, st
	}
	log.Info("transcription is on", "model", st.Model, "threads", s.Threads)
	return NewWorker(Worker{Command: s.Command, Model: st.Model, Threads: s.Threads, Log: log}), st
}

// Check is Start without the worker: what `llamenos check` reports.
func Check(dataDir, model string) Status {
	if !Built {
		return Status{Reason: ErrNotBuilt.Error()}
	}
	if model == "" {
		return Status{Built: true, Reason: "no model configured: install one with `llamenos model install` and name it in [transcription] model"}
	}
	path := ModelPath(dataDir, model)
	in, err := VerifyModel(path)
	if err != nil {
		return Status{Built: true, Reason: fmt.Sprintf("refusing to transcribe with a model that fails verification: %v", err)}
	}
	return Status{Available: true, Built: true, Model: in.Path}
}

// String is the status in one line.
func (s Status) String() string {
	if s.Available {
		return "on, with model " + s.Model
	}
	return "off: " + s.Reason
}
