package transcribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run the worker as this test binary re-executed with
// LLAMENOS_TEST_WORKER set to the stand-in engine's behaviour: TestMain
// then serves one job, as `llamenos transcribe-worker` does.
const (
	envMode     = "LLAMENOS_TEST_WORKER"
	envAttempts = "LLAMENOS_TEST_ATTEMPTS" // a file each worker appends a line to
	envStarted  = "LLAMENOS_TEST_STARTED"  // a FIFO the worker writes its pid to when the job starts
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envMode); mode != "" {
		open := func(model string, threads int) (Engine, error) {
			return &standIn{mode: mode, model: model, threads: threads}, nil
		}
		if mode == "whisper" {
			open = openSignalling
		}
		err := ServeWorker(context.Background(), os.Stdin, os.Stdout, open)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// standIn is the engine of the tests' worker: it answers one segment per
// second of audio, or misbehaves as told.
type standIn struct {
	mode, model string
	threads     int
}

func (e *standIn) Close() error { return nil }

func (e *standIn) Run(ctx context.Context, audio []float32, language string) ([]Segment, error) {
	if err := signalStart(e.mode); err != nil {
		return nil, err
	}
	switch e.mode {
	case "crash":
		panic("stand-in engine crashed")
	case "crash-once":
		if n := attemptsSoFar(); n < 2 {
			panic("stand-in engine crashed")
		}
	case "hang":
		time.Sleep(time.Hour)
	case "oom":
		// Past the worker's memory bound: the runtime dies with "out of
		// memory". Without the bound the pages are only reserved, and the
		// job succeeds.
		b := make([]byte, 4<<30)
		b[len(b)-1] = 1
	case "refuse":
		return nil, errors.New("stand-in engine refuses this audio")
	case "nice":
		return []Segment{{Text: threadNiceness()}}, nil
	}
	var segs []Segment
	secs := len(audio) / EngineRate
	for i := range secs {
		segs = append(segs, Segment{Start: time.Duration(i) * time.Second, End: time.Duration(i+1) * time.Second,
			Text: fmt.Sprintf("%s %s %d threads second %d", language, e.model, e.threads, i)})
	}
	return segs, nil
}

// signalStart is each worker's first step of a job: it counts the attempt
// and, when the test asks, tells it its pid through a FIFO.
func signalStart(mode string) error {
	if f := os.Getenv(envAttempts); f != "" {
		a, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		fmt.Fprintln(a, mode)
		a.Close()
	}
	if f := os.Getenv(envStarted); f != "" {
		p, err := os.OpenFile(f, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		fmt.Fprintln(p, os.Getpid())
		p.Close()
	}
	return nil
}

// openSignalling is the real engine, signalling the start of each job.
func openSignalling(model string, threads int) (Engine, error) {
	e, err := OpenWhisper(model, threads)
	if err != nil {
		return nil, err
	}
	return signalling{e}, nil
}

type signalling struct{ Engine }

func (s signalling) Run(ctx context.Context, audio []float32, language string) ([]Segment, error) {
	if err := signalStart("whisper"); err != nil {
		return nil, err
	}
	return s.Engine.Run(ctx, audio, language)
}

func attemptsSoFar() int {
	b, _ := os.ReadFile(os.Getenv(envAttempts))
	return strings.Count(string(b), "\n")
}

// threadNiceness lists the niceness of every thread of the process.
func threadNiceness() string {
	tasks, _ := os.ReadDir("/proc/self/task")
	var out []string
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "stat"))
		if err != nil {
			continue
		}
		// Field 19 is the niceness, field 41 the scheduling policy;
		// fields counted from 3 after the ")" that ends the name.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		out = append(out, f[16]+"/"+f[38])
	}
	return strings.Join(out, " ")
}

// logCount counts log records by message.
type logCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCount) WithGroup(string) slog.Handler            { return l }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[r.Message]++
	return nil
}

func (l *logCount) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

type testWorker struct {
	*Worker
	attemptsFile string
}

func newTestWorker(t *testing.T, mode string, opt Worker) testWorker {
	t.Helper()
	dir := t.TempDir()
	attempts := filepath.Join(dir, "attempts")
	opt.Command = []string{os.Args[0]}
	opt.Env = append(os.Environ(), envMode+"="+mode, envAttempts+"="+attempts,
		// The race detector's 1 s pause at exit would slow every job.
		"GORACE=atexit_sleep_ms=0")
	if opt.Model == "" {
		opt.Model = "model.bin"
	}
	return testWorker{NewWorker(opt), attempts}
}

func (w testWorker) attempts(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(w.attemptsFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// seconds of µ-law silence.
func silence(secs int) []byte {
	b := make([]byte, secs*8000)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

func TestWorkerTranscribes(t *testing.T) {
	w := newTestWorker(t, "echo", Worker{Threads: 3, Model: "m.bin"})
	segs, err := w.Transcribe(context.Background(), Request{Audio: silence(3), Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 {
		t.Fatalf("got %d segments, want 3 (one per second at 16 kHz): %+v", len(segs), segs)
	}
	if want := (Segment{Start: 2 * time.Second, End: 3 * time.Second, Text: "es m.bin 3 threads second 2"}); segs[2] != want {
		t.Fatalf("segment 2 = %+v, want %+v", segs[2], want)
	}
	if n := w.attempts(t); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	if segs, err := w.Transcribe(context.Background(), Request{}); err != nil || segs != nil {
		t.Fatalf("empty audio: %v, %v; want no segments, no worker", segs, err)
	}
	if _, err := w.Transcribe(context.Background(), Request{Audio: silence(1), Language: "es; rm"}); err == nil {
		t.Fatal("a language that is no ISO 639 code was accepted")
	}
	if n := w.attempts(t); n != 1 {
		t.Fatalf("%d attempts, want still 1", n)
	}
}

// TestWorkerCrashFailsTheJobOnly: a worker that crashes every time fails
// the job after one retry, with the reason; the daemon (this test) lives on.
func TestWorkerCrashFailsTheJobOnly(t *testing.T) {
	w := newTestWorker(t, "crash", Worker{})
	_, err := w.Transcribe(context.Background(), Request{Audio: silence(1)})
	if err == nil || !strings.Contains(err.Error(), "panic: stand-in engine crashed") || !strings.Contains(err.Error(), "status 2") {
		t.Fatalf("err = %v, want the worker's panic and exit status", err)
	}
	if n := w.attempts(t); n != 2 {
		t.Fatalf("%d attempts, want 2 (retried once)", n)
	}
}

func TestWorkerCrashOnceIsRetried(t *testing.T) {
	w := newTestWorker(t, "crash-once", Worker{})
	segs, err := w.Transcribe(context.Background(), Request{Audio: silence(2)})
	if err != nil || len(segs) != 2 {
		t.Fatalf("got %v, %v; want 2 segments from the second attempt", segs, err)
	}
	if n := w.attempts(t); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

// TestWorkerRefusalIsNotRetried: the engine's own error is the job's
// answer; running it again would give the same.
func TestWorkerRefusalIsNotRetried(t *testing.T) {
	w := newTestWorker(t, "refuse", Worker{})
	_, err := w.Transcribe(context.Background(), Request{Audio: silence(1)})
	if err == nil || !strings.Contains(err.Error(), "refuses this audio") {
		t.Fatalf("err = %v, want the engine's refusal", err)
	}
	if n := w.attempts(t); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

// TestWorkerHangIsKilled: a worker that never answers is killed at the
// job's deadline, tried once more, and the job fails.
func TestWorkerHangIsKilled(t *testing.T) {
	const limit = 2 * time.Second
	logs := &logCount{}
	w := newTestWorker(t, "hang", Worker{Deadline: func(time.Duration) time.Duration { return limit }, Log: slog.New(logs)})
	start := time.Now()
	_, err := w.Transcribe(context.Background(), Request{Audio: silence(1)})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want the deadline", err)
	}
	// Attempts are counted by the daemon's log, not by the workers: on a
	// slow box a worker may be killed before it has started the job.
	if a, f := logs.count("transcription attempt failed"), logs.count("transcription failed"); a != 2 || f != 1 {
		t.Fatalf("logged %d failed attempts and %d failed jobs, want 2 and 1 (one retry)", a, f)
	}
	if took < 2*limit {
		t.Fatalf("failed after %v, before two deadlines of %v", took, limit)
	}
	t.Logf("two hung attempts killed after %v", took)
}

// TestWorkerMemoryBound: a worker that allocates past its bound dies of
// it, and the job fails.
func TestWorkerMemoryBound(t *testing.T) {
	w := newTestWorker(t, "oom", Worker{MemoryLimit: 512 << 20})
	_, err := w.Transcribe(context.Background(), Request{Audio: silence(1)})
	// The runtime says "out of memory"; built with -race, it says its
	// mapping failed ("address space collisions").
	if err == nil || !strings.Contains(err.Error(), "out of memory") && !strings.Contains(err.Error(), "address space collisions") {
		t.Fatalf("err = %v, want the worker out of memory", err)
	}
	if n := w.attempts(t); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

// TestWorkerLowPriority: every thread of the worker runs under
// SCHED_IDLE (policy 5) at niceness 19.
func TestWorkerLowPriority(t *testing.T) {
	w := newTestWorker(t, "nice", Worker{})
	segs, err := w.Transcribe(context.Background(), Request{Audio: silence(1)})
	if err != nil || len(segs) != 1 {
		t.Fatalf("got %v, %v", segs, err)
	}
	nices := strings.Fields(segs[0].Text)
	if len(nices) < 2 {
		t.Fatalf("niceness of %d threads (%q): want the Go runtime's several", len(nices), segs[0].Text)
	}
	for _, n := range nices {
		if n != strconv.Itoa(DefaultNice)+"/5" {
			t.Fatalf("thread niceness/policy %q, want all %d/5", segs[0].Text, DefaultNice)
		}
	}
}

// TestWorkerCancelKillsIt: cancelling a job mid-way kills its worker at
// once and is not retried.
func TestWorkerCancelKillsIt(t *testing.T) {
	w := newTestWorker(t, "hang", Worker{})
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w.Env = append(w.Env, envStarted+"="+fifo)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := w.Transcribe(ctx, Request{Audio: silence(1)})
		done <- err
	}()
	b, err := os.ReadFile(fifo) // until the worker has started the job
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("worker %d still there after the job ended: %v", pid, err)
	}
	if n := w.attempts(t); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}
