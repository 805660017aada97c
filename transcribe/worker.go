package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Worker is the daemon's Transcriber: it runs each job in a new worker
// process (Command, for example this binary re-executed as `llamenos
// transcribe-worker`), at a low CPU priority and under a memory bound,
// and kills it at the job's deadline. A worker that crashes, runs out of
// memory or hangs fails that attempt only; the job is tried once more,
// then fails with an error. Jobs run one at a time.
type Worker struct {
	// Command is the worker's argv: Command[0] is the executable.
	Command []string
	// Env is the worker's environment (nil: the daemon's), to which
	// workerEnv adds its settings.
	Env []string
	// Model is the model file's path, already verified (VerifyModel).
	Model   string
	Threads int
	// Nice is the worker's niceness, 0–19 (DefaultNice when 0).
	Nice int
	// MemoryLimit bounds in bytes how much the worker's address space may
	// grow once it starts the job (DefaultMemoryLimit of the model when 0).
	MemoryLimit int64
	// Deadline gives a job's time limit for audio of a given length
	// (DefaultDeadline when nil).
	Deadline func(audio time.Duration) time.Duration
	Log      *slog.Logger

	sem chan struct{}
}

// DefaultNice is the lowest CPU priority: inference only uses the time
// that the calls' media does not.
const DefaultNice = 19

// DefaultMemoryLimit lets a worker grow by twice its model's size plus
// 1 GiB: the weights, the engine's buffers and the threads' stacks.
func DefaultMemoryLimit(modelSize int64) int64 { return 2*modelSize + 1<<30 }

// DefaultDeadline is one minute plus ten times the audio's length: a slow
// model on a loaded box stays well within it, a hung one does not.
func DefaultDeadline(audio time.Duration) time.Duration { return time.Minute + 10*audio }

// NewWorker returns a Worker that runs jobs one at a time.
func NewWorker(w Worker) *Worker {
	w.sem = make(chan struct{}, 1)
	if w.Nice == 0 {
		w.Nice = DefaultNice
	}
	if w.Deadline == nil {
		w.Deadline = DefaultDeadline
	}
	if w.MemoryLimit == 0 {
		var size int64
		if fi, err := os.Stat(w.Model); err == nil {
			size = fi.Size()
		}
		w.MemoryLimit = DefaultMemoryLimit(size)
	}
	if w.Threads < 1 {
		w.Threads = 1
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	return &w
}

// languageRE is an ISO 639 code, the only form Request.Language takes.
var languageRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// errAttempt marks a failure of the worker process (crash, out of memory,
// deadline), which is worth a second attempt; the engine's own refusal is not.
var errAttempt = errors.New("worker failed")

// Transcribe runs req in a worker process; see Worker.
func (w *Worker) Transcribe(ctx context.Context, req Request) ([]Segment, error) {
	if req.Language != "" && !languageRE.MatchString(req.Language) {
		return nil, fmt.Errorf("transcribe: language %q is not an ISO 639 code", req.Language)
	}
	if len(req.Audio) > MaxAudio {
		return nil, fmt.Errorf("transcribe: %d bytes of audio exceed the %d a job takes", len(req.Audio), MaxAudio)
	}
	if len(req.Audio) == 0 {
		return nil, nil
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("transcribe: waiting for the worker: %w", ctx.Err())
	}
	defer func() { <-w.sem }()

	dur := time.Duration(len(req.Audio)) * time.Second / 8000
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		start := time.Now()
		var segs []Segment
		segs, err = w.attempt(ctx, req, dur)
		if err == nil {
			w.Log.Info("transcription done", "audio", dur, "took", time.Since(start).Round(time.Millisecond), "segments", len(segs), "attempt", attempt)
			return segs, nil
		}
		if ctx.Err() != nil || !errors.Is(err, errAttempt) {
			break
		}
		w.Log.Warn("transcription attempt failed", "attempt", attempt, "audio", dur, "err", err)
	}
	w.Log.Error("transcription failed", "audio", dur, "err", err)
	// Retried here already where a retry can help (errAttempt).
	return nil, fmt.Errorf("transcribe: %w: %w", ErrFinal, err)
}

// attempt runs one worker process for req.
func (w *Worker) attempt(ctx context.Context, req Request, dur time.Duration) ([]Segment, error) {
	limit := w.Deadline(dur)
	jctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(jctx, w.Command[0], w.Command[1:]...)
	cmd.Env = workerEnv(w.Env)
	// The worker dies with the daemon, and the job's end kills it
	// (CommandContext sends SIGKILL); WaitDelay stops waiting for pipes
	// that a killed worker's leftovers might hold open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	stderr := &stderrBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the worker %s: %w", w.Command[0], err)
	}
	// The job goes in while the answer is read: the pipes are small.
	sent := make(chan error, 1)
	go func() {
		err := writeJSON(stdin, job{Model: w.Model, Threads: w.Threads, Language: req.Language, Nice: w.Nice, MemoryLimit: w.MemoryLimit})
		if err == nil {
			err = writeFrame(stdin, req.Audio)
		}
		stdin.Close()
		sent <- err
	}()
	var res result
	readErr := readJSON(stdout, &res)
	// Whatever the worker printed past its answer is drained, so Wait
	// does not wait for a pipe nobody reads.
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	sendErr := <-sent
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("job stopped: %w", ctx.Err())
	case jctx.Err() != nil:
		return nil, fmt.Errorf("%w: no answer within the job's deadline of %v; worker killed", errAttempt, limit)
	case readErr != nil || waitErr != nil:
		return nil, fmt.Errorf("%w: %s", errAttempt, exitReason(waitErr, readErr, sendErr, stderr.reason()))
	case res.Error != "":
		return nil, fmt.Errorf("engine: %s", res.Error)
	}
	for _, s := range res.Segments {
		if s.Start < 0 || s.End < s.Start {
			return nil, fmt.Errorf("engine gave a segment from %v to %v", s.Start, s.End)
		}
	}
	return res.Segments, nil
}

// workerEnv is env (the daemon's when nil) with OpenMP's threads told to
// sleep rather than spin while they wait (the CPU stays free for the
// calls), and glibc kept to two malloc arenas (each reserves 64 MiB of
// address space, which the memory bound counts). Settings already in env
// win.
func workerEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := slices.Clone(env)
	for _, kv := range []string{"OMP_WAIT_POLICY=passive", "MALLOC_ARENA_MAX=2"} {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") }) {
			out = append(out, kv)
		}
	}
	return out
}

// exitReason says in words why a worker gave no answer.
func exitReason(waitErr, readErr, sendErr error, lastLine string) string {
	var why string
	var ee *exec.ExitError
	switch {
	case errors.As(waitErr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			why = "worker killed by signal " + ws.Signal().String()
		} else {
			why = fmt.Sprintf("worker exited with status %d", ee.ExitCode())
		}
	case waitErr != nil:
		why = "worker: " + waitErr.Error()
	case readErr != nil:
		why = "worker exited without an answer: " + readErr.Error()
	default:
		why = "worker: " + sendErr.Error()
	}
	if lastLine != "" {
		why += " (" + lastLine + ")"
	}
	return why
}

// stderrBuffer keeps the start and the end of what the worker wrote to
// stderr: the Go runtime says at the start of its dump why it stopped
// (a panic, out of memory), whisper.cpp at the end of its messages.
type stderrBuffer struct {
	head, tail []byte
}

const stderrKeep = 4096

func (t *stderrBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := stderrKeep - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > stderrKeep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-stderrKeep:]...)
	}
	return n, nil
}

// reason is the first line of a Go panic or fatal error if there is one,
// else the last non-empty line, cut to 200 bytes.
func (t *stderrBuffer) reason() string {
	all := string(t.head) + string(t.tail)
	lines := strings.Split(strings.TrimSpace(all), "\n")
	line := lines[len(lines)-1]
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			line = l
			break
		}
	}
	line = strings.TrimSpace(line)
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}
