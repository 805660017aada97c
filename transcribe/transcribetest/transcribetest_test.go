package transcribetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/transcribe"
)

func mulaw(src audio.Source, d time.Duration) []byte {
	pcm := make([]int16, int(d.Seconds()*audio.SampleRate))
	src.Fill(pcm)
	return audio.EncodeMulaw(nil, pcm)
}

func TestHearsToneSequence(t *testing.T) {
	var a []byte
	a = append(a, mulaw(audio.NewTone(audio.SampleRate, 0.4, 600), 400*time.Millisecond)...)
	a = append(a, mulaw(audio.Silence{}, 200*time.Millisecond)...) // a pause
	a = append(a, mulaw(audio.NewTone(audio.SampleRate, 0.4, 600), 400*time.Millisecond)...)
	a = append(a, mulaw(audio.Silence{}, 500*time.Millisecond)...)
	a = append(a, mulaw(audio.NewTone(audio.SampleRate, 0.4, 1200), 700*time.Millisecond)...)
	tr := &Transcriber{FailFirst: 1}
	if _, err := tr.Transcribe(context.Background(), transcribe.Request{Audio: a}); !errors.Is(err, ErrInjected) {
		t.Fatalf("first job: %v", err)
	}
	segs, err := tr.Transcribe(context.Background(), transcribe.Request{Audio: a, Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	want := []transcribe.Segment{
		{Start: 0, End: time.Second, Text: "600 Hz"},
		{Start: 1500 * time.Millisecond, End: 2200 * time.Millisecond, Text: "1200 Hz"},
	}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v", segs)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Errorf("segment %d: %+v, want %+v", i, segs[i], want[i])
		}
	}
	if got := tr.Languages(); len(got) != 2 || got[1] != "es" || tr.Jobs() != 2 {
		t.Errorf("jobs %d, languages %v", tr.Jobs(), got)
	}
}
