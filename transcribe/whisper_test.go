package transcribe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run whisper.cpp itself, through the worker, on the random
// model the suite generates. They need a build with the tag `whisper` and
// a libwhisper to link (`make test-whisper`); elsewhere they skip.

func needWhisper(t *testing.T) {
	t.Helper()
	if !Built {
		t.Skip("this build has no whisper.cpp: run `make test-whisper` where libwhisper is installed (docs/operations.md)")
	}
}

// whisperWorker runs the real engine in this test binary re-executed.
func whisperWorker(t *testing.T, opt Worker) testWorker {
	t.Helper()
	opt.Model = writeTinyModel(t, t.TempDir())
	w := newTestWorker(t, "whisper", opt)
	// OpenMP's threads sleep instead of spinning between jobs' steps: the
	// box's other work (calls, tests) keeps its CPU.
	w.Env = append(w.Env, "OMP_WAIT_POLICY=passive")
	return w
}

// saneSegments checks that segments are in order, within the audio, and
// not empty.
func saneSegments(t *testing.T, segs []Segment, audio time.Duration) {
	t.Helper()
	if len(segs) == 0 {
		t.Fatal("no segments")
	}
	var prevEnd time.Duration
	for i, s := range segs {
		if s.Start < prevEnd || s.End < s.Start || s.End > audio {
			t.Fatalf("segment %d from %v to %v (after %v, audio %v); all: %s", i, s.Start, s.End, prevEnd, audio, segmentTimes(segs))
		}
		if strings.TrimSpace(s.Text) == "" {
			t.Fatalf("segment %d has no text", i)
		}
		prevEnd = s.End
	}
}

// TestWhisperTranscribes: 40 s of speech-like audio (two 30 s windows)
// through the worker and whisper.cpp, in a given language and with the
// language detected.
func TestWhisperTranscribes(t *testing.T) {
	needWhisper(t)
	w := whisperWorker(t, Worker{Threads: 2})
	const secs = 40
	audio := speechLike(secs)
	for _, lang := range []string{"es", ""} {
		start := time.Now()
		segs, err := w.Transcribe(context.Background(), Request{Audio: audio, Language: lang})
		if err != nil {
			t.Fatalf("language %q: %v", lang, err)
		}
		saneSegments(t, segs, secs*time.Second)
		t.Logf("language %q: %d segments in %v; first %v–%v, last %v–%v", lang, len(segs), time.Since(start).Round(time.Millisecond),
			segs[0].Start, segs[0].End, segs[len(segs)-1].Start, segs[len(segs)-1].End)
	}
	if n := w.attempts(t); n != 2 {
		t.Fatalf("%d attempts, want 2 (one per job)", n)
	}
}

// TestWhisperWorkerKilledMidJob: a worker killed from outside while
// whisper.cpp runs (as the kernel's OOM killer would) fails that attempt;
// killed again on the retry, the job fails cleanly with the reason.
func TestWhisperWorkerKilledMidJob(t *testing.T) {
	needWhisper(t)
	w := whisperWorker(t, Worker{Threads: 2})
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w.Env = append(w.Env, envStarted+"="+fifo)
	done := make(chan error, 1)
	go func() {
		_, err := w.Transcribe(context.Background(), Request{Audio: speechLike(40)})
		done <- err
	}()
	for attempt := 1; attempt <= 2; attempt++ {
		b, err := os.ReadFile(fifo) // the worker has loaded the model and starts inference
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("attempt %d: killing worker %d: %v", attempt, pid, err)
		}
	}
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "killed by signal killed") {
		t.Fatalf("err = %v, want the worker killed", err)
	}
	if n := w.attempts(t); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func segmentTimes(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		fmt.Fprintf(&b, "[%v–%v] ", s.Start, s.End)
	}
	return b.String()
}
