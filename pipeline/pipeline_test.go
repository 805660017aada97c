package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/store"
	"llamenos/transcribe"
)

// blockingTranscriber works until its job is cancelled.
type blockingTranscriber struct{}

func (blockingTranscriber) Transcribe(ctx context.Context, _ transcribe.Request) ([]transcribe.Segment, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// speech is 3 s of µ-law that is not silence: a tone sequence.
func speech() []byte {
	pcm := make([]int16, 3*audio.SampleRate)
	audio.NewSequence(0.4, audio.SampleRate, 600, 900, 1200).Fill(pcm)
	return audio.EncodeMulaw(nil, pcm)
}

// TestSpillIsSealed: past the memory bound, audio goes to a file in the
// spill folder that holds none of it in the clear; it reads back whole,
// and Close wipes and removes it.
func TestSpillIsSealed(t *testing.T) {
	dir := t.TempDir()
	r := &Runner{MemoryLimit: 8000, SpillDir: dir}
	pt := speech()
	a := r.NewAudio()
	b := r.NewAudio()
	// a stays in memory; b pushes the total past the bound and spills.
	if err := a.Append(pt[:4000]); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pt); i += 160 {
		if err := b.Append(pt[i:min(i+160, len(pt))]); err != nil {
			t.Fatal(err)
		}
	}
	if a.Spilled() || !b.Spilled() {
		t.Fatalf("spilled: a %v, b %v", a.Spilled(), b.Spilled())
	}
	files, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"*"))
	if len(files) != 1 {
		t.Fatalf("spill files %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < len(pt)-spillChunk {
		t.Fatalf("spill file of %d bytes for %d of audio", len(raw), len(pt))
	}
	for at := 0; at+16 <= len(pt); at += 400 {
		if bytes.Contains(raw, pt[at:at+16]) {
			t.Fatalf("the spill file holds plaintext audio (window at %d)", at)
		}
	}
	got, err := b.Bytes()
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("read back %d bytes, %v; want the %d appended", len(got), err, len(pt))
	}
	if got, _ := a.Bytes(); !bytes.Equal(got, pt[:4000]) {
		t.Error("in-memory audio changed")
	}
	// A damaged file is refused, not read as audio.
	f, err := os.OpenFile(files[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{raw[10] ^ 1}, 10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := b.Bytes(); err == nil {
		t.Error("a damaged spill file read back")
	}
	b.Close()
	a.Close()
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Errorf("spill file left after Close: %v", err)
	}
	if r.mem.held.Load() != 0 {
		t.Errorf("%d bytes still counted in memory", r.mem.held.Load())
	}
}

// TestLeftoverSpillFilesDeleted: Run deletes what a crashed run left in
// its spill folder, and nothing else.
func TestLeftoverSpillFilesDeleted(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, spillPrefix+"123")
	other := filepath.Join(dir, "keep.txt")
	for _, p := range []string{left, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := removeLeftovers(dir)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Error("leftover spill file kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another file deleted")
	}
}

func TestMerge(t *testing.T) {
	segs := Merge([]Segment{
		{Speaker: SpeakerCaller, StartMs: 0, Text: "a"},
		{Speaker: SpeakerCaller, StartMs: 3000, Text: "c"},
		{Speaker: SpeakerVolunteer, StartMs: 1000, Text: "b"},
		{Speaker: SpeakerVolunteer, StartMs: 3000, Text: "d"},
	})
	var got string
	for _, s := range segs {
		got += s.Text
	}
	if got != "abcd" {
		t.Errorf("merged %q, want abcd", got)
	}
}

// TestRunStopsAndWipes: queued jobs are dropped, their audio wiped, when
// Run ends.
func TestRunStopsAndWipes(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &Runner{Store: st, SpillDir: t.TempDir(), Transcriber: blockingTranscriber{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	a := r.NewAudio()
	if err := a.Append(speech()); err != nil {
		t.Fatal(err)
	}
	r.enqueue(&job{callID: "x", caller: a})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if r.mem.held.Load() != 0 || !a.closed {
		t.Errorf("audio not wiped: %d bytes held, closed %v", r.mem.held.Load(), a.closed)
	}
}

// countingTranscriber fails every job with err and counts the jobs.
type countingTranscriber struct {
	err  error
	jobs atomic.Int32
}

func (c *countingTranscriber) Transcribe(context.Context, transcribe.Request) ([]transcribe.Segment, error) {
	c.jobs.Add(1)
	return nil, c.err
}

// TestRetryOnce: a failed job is tried once more, but not when the
// transcriber says it retried already (the worker does for a crashed
// process), so no job runs more than twice in all.
func TestRetryOnce(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		name string
		err  error
		want int32
	}{
		{"plain failure", errors.New("engine hiccup"), 2},
		{"final failure", fmt.Errorf("worker crashed twice: %w", transcribe.ErrFinal), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &countingTranscriber{err: tc.err}
			r := &Runner{Store: st, SpillDir: t.TempDir(), Transcriber: tr}
			r.init()
			a := r.NewAudio()
			if err := a.Append(speech()); err != nil {
				t.Fatal(err)
			}
			r.run(context.Background(), &job{callID: "c", voicemail: true, caller: a})
			if got := tr.jobs.Load(); got != tc.want {
				t.Errorf("%d attempts, want %d", got, tc.want)
			}
		})
	}
}
