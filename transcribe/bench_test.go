package transcribe

import (
	"context"
	"encoding/binary"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of the engine (docs/operations.md, Transcription, has the
// numbers). They need a build with the tag `whisper`; elsewhere they skip.
//
//	go test -tags whisper -run '^$' -bench WorkerVsCLI ./transcribe
//
// compares a job through the worker with whisper-cli on the same model,
// audio and thread count (whisper-cli from $LLAMENOS_WHISPER_CLI or PATH).
//
//	go test -tags whisper -run '^$' -bench BusyWorker ./transcribe -args -transcribe.busy 60s
//
// keeps one worker busy with back-to-back jobs for that long, beside the
// relay's BenchmarkBridgedCalls (rtc), to see what a job costs live calls.

var (
	benchThreads = flag.Int("transcribe.threads", 2, "benchmarks: inference threads")
	benchRuns    = flag.Int("transcribe.runs", 5, "BenchmarkWorkerVsCLI: runs of each, alternating")
	benchBusy    = flag.Duration("transcribe.busy", 0, "BenchmarkBusyWorker: how long to keep a worker busy")
)

// benchSetup writes a random model of the official tiny model's shape and
// 30 s of speech-like audio.
func benchSetup(b *testing.B) (model string, audio []byte) {
	if !Built {
		b.Skip("this build has no whisper.cpp: build the tests with -tags whisper where libwhisper is installed")
	}
	return writeModel(b, b.TempDir(), "ggml-tiny-shape-random.bin", tinyShape), speechLike(30)
}

func benchWorker(b *testing.B, model string) *Worker {
	return NewWorker(Worker{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), envMode+"=whisper", "OMP_WAIT_POLICY=passive"),
		Model:   model, Threads: *benchThreads,
	})
}

func BenchmarkWorkerVsCLI(b *testing.B) {
	model, audio := benchSetup(b)
	cli := os.Getenv("LLAMENOS_WHISPER_CLI")
	if cli == "" {
		var err error
		if cli, err = exec.LookPath("whisper-cli"); err != nil {
			b.Skip("no whisper-cli: set LLAMENOS_WHISPER_CLI or put it on PATH")
		}
	}
	// whisper-cli reads the same 16 kHz audio the worker makes.
	wav := filepath.Join(b.TempDir(), "audio.wav")
	if err := os.WriteFile(wav, wav16(EngineAudio(audio)), 0o600); err != nil {
		b.Fatal(err)
	}
	w := benchWorker(b, model)
	// Each run is timed by the clock and by the CPU time of the processes
	// it ran (getrusage of reaped children): on a box shared with other
	// work the CPU time is the steadier measure of the engine's cost.
	timed := func(run func()) (wall, cpu time.Duration) {
		var r0, r1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &r0)
		start := time.Now()
		run()
		wall = time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &r1)
		us := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
		return wall, time.Duration(us(r1) - us(r0))
	}
	runWorker := func() {
		if _, err := w.Transcribe(context.Background(), Request{Audio: audio, Language: "es"}); err != nil {
			b.Fatal(err)
		}
	}
	runCLI := func() {
		// Greedy, temperature 0 without fallback: the worker's settings;
		// at the worker's niceness, so both get the same share of the CPU.
		cmd := exec.Command("nice", "-n", strconv.Itoa(DefaultNice), cli, "-m", model, "-f", wav, "-t", strconv.Itoa(*benchThreads),
			"-l", "es", "-bs", "1", "-bo", "1", "-nf", "-np")
		cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=passive")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("whisper-cli: %v\n%s", err, out)
		}
	}
	runWorker() // the page cache holds the model for both
	var wWall, wCPU, cWall, cCPU []time.Duration
	for range b.N {
		for range *benchRuns {
			wall, cpu := timed(runWorker)
			wWall, wCPU = append(wWall, wall), append(wCPU, cpu)
			wall, cpu = timed(runCLI)
			cWall, cCPU = append(cWall, wall), append(cCPU, cpu)
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	ww, wc, cw, cc := median(wWall), median(wCPU), median(cWall), median(cCPU)
	b.ReportMetric(wc.Seconds(), "worker-cpu-s/job")
	b.ReportMetric(cc.Seconds(), "cli-cpu-s/job")
	b.ReportMetric(wc.Seconds()/cc.Seconds(), "cpu-ratio")
	b.ReportMetric(ww.Seconds()/cw.Seconds(), "wall-ratio")
	// The fastest runs are the ones the box's other work disturbed least.
	b.ReportMetric(slices.Min(wWall).Seconds()/slices.Min(cWall).Seconds(), "best-wall-ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("30 s of audio, %d threads, medians of %d: worker %v wall %v CPU; whisper-cli %v wall %v CPU; ratio %.3f CPU, %.3f wall",
		*benchThreads, len(wWall), ww.Round(time.Millisecond), wc.Round(time.Millisecond), cw.Round(time.Millisecond), cc.Round(time.Millisecond),
		wc.Seconds()/cc.Seconds(), ww.Seconds()/cw.Seconds())
	b.Logf("worker wall %v cpu %v; whisper-cli wall %v cpu %v", wWall, wCPU, cWall, cCPU)
}

func BenchmarkBusyWorker(b *testing.B) {
	if *benchBusy == 0 {
		b.Skip("give -transcribe.busy DURATION")
	}
	model, audio := benchSetup(b)
	w := benchWorker(b, model)
	jobs := 0
	for range b.N {
		for end := time.Now().Add(*benchBusy); time.Now().Before(end); jobs++ {
			if _, err := w.Transcribe(context.Background(), Request{Audio: audio, Language: "es"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("%d jobs of 30 s audio in %v", jobs, *benchBusy)
}

// wav16 is a 16-bit mono 16 kHz WAV file of samples.
func wav16(samples []float32) []byte {
	le := binary.LittleEndian
	data := make([]byte, 0, 2*len(samples))
	for _, v := range samples {
		data = le.AppendUint16(data, uint16(int16(max(-32767, min(32767, v*32767)))))
	}
	h := []byte("RIFF")
	h = le.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, 1) // PCM
	h = le.AppendUint16(h, 1) // mono
	h = le.AppendUint32(h, EngineRate)
	h = le.AppendUint32(h, 2*EngineRate)
	h = le.AppendUint16(h, 2)
	h = le.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = le.AppendUint32(h, uint32(len(data)))
	return append(h, data...)
}
