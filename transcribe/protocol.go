package transcribe

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The daemon and its worker talk over the worker's stdin and stdout in
// frames: a 4-byte big-endian length, then that many bytes. The daemon
// sends two frames, the job (JSON) and the audio (µ-law bytes); the worker
// answers with one frame, the result (JSON). Nothing else goes over the
// pipes: whisper.cpp's own messages go to stderr.

// maxFrame bounds a frame: two hours of 8 kHz µ-law audio is 57.6 MB.
const maxFrame = 64 << 20

// MaxAudio is the longest audio a job takes, in µ-law bytes (two hours).
const MaxAudio = 2 * 3600 * 8000

// job is what the worker is told besides the audio.
type job struct {
	Model    string `json:"model"`
	Threads  int    `json:"threads"`
	Language string `json:"language"`
	// Nice is the scheduling niceness the worker gives itself (0–19)
	// before it loads the model.
	Nice int `json:"nice"`
	// MemoryLimit bounds the growth of the worker's address space in
	// bytes (0: no bound).
	MemoryLimit int64 `json:"memoryLimit"`
}

// result is the worker's answer.
type result struct {
	Segments []Segment `json:"segments"`
	// Error is set when the engine refused or failed the job.
	Error string `json:"error,omitempty"`
}

func writeFrame(w io.Writer, b []byte) error {
	if len(b) > maxFrame {
		return fmt.Errorf("transcribe: frame of %d bytes exceeds %d", len(b), maxFrame)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("transcribe: frame of %d bytes exceeds %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFrame(w, b)
}

func readJSON(r io.Reader, v any) error {
	b, err := readFrame(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
