package hotline

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/pipeline"
	"llamenos/rtc/rtctest"
	"llamenos/store"
	"llamenos/transcribe/transcribetest"
)

// TestCallTranscript: with call transcripts on, the caller hears the
// announcement before anyone rings; the relay taps both legs; after the
// hangup each side is transcribed on its own (the test transcriber hears
// tones), the segments are merged by time with speaker labels and sealed to
// the answering volunteer and the admin, and another volunteer cannot open
// it.
func TestCallTranscript(t *testing.T) {
	tr := &transcribetest.Transcriber{}
	h := vmHarness(t, tr, harnessOpts{})
	h.settings(func(s *store.Settings) { s.Recording = true })
	vols := map[string]e2eetest.SecretKey{}
	for range 2 {
		sk := h.volunteer(store.RoleVolunteer, true)
		vols[sk.Public().String()] = sk
	}
	var a, other string
	for pk := range vols {
		if a == "" {
			a = pk
		} else {
			other = pk
		}
	}
	h.shift(a)
	r := h.start()
	// The caller says 600 Hz for 2 s, then nothing; later 1200 Hz.
	call := h.place("+15552240001", audio.NewSequence(0.4, audio.SampleRate/2, 600, 600, 600, 600, 0, 0, 0, 0, 0, 0, 1200, 1200, 1200, 1200))
	ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
	if got := call.Played(); len(got) == 0 || got[0] != "sound:llamenos/transcribed" {
		t.Fatalf("before the ring the caller heard %v, want the transcription announcement first", got)
	}
	if err := r.eng.Answer(context.Background(), ring.callID, a); err != nil {
		t.Fatal(err)
	}
	br := h.connectBrowser(r.eng, ring.callID, a)
	br.Play(audio.NewTone(audio.SampleRate, 0.3, 1000))
	hears(t, 15*time.Second, "the caller to hear the volunteer's 1 kHz", 1000, call.Heard)
	hears(t, 15*time.Second, "the volunteer to hear 1200 Hz", 1200, br.Heard)
	call.Hangup()
	h.n.wait(t, 10*time.Second, "ended", isNote("ended", ring.callID, a, EndCallerHungUp))

	var trs []store.Transcript
	rtctest.WaitFor(t, 30*time.Second, "the transcript", func() bool {
		_ = h.st.View(context.Background(), func(tx *store.Tx) error {
			var err error
			trs, err = tx.TranscriptsByCall(ring.callID)
			return err
		})
		return len(trs) > 0
	})
	if rec := h.record(ring.callID); !rec.Transcribed || !rec.HasTranscript {
		t.Errorf("record transcribed %v, has transcript %v", rec.Transcribed, rec.HasTranscript)
	}
	if len(trs) != 1 || trs[0].Failed {
		t.Fatalf("transcripts %+v", trs)
	}
	ctx := e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: ring.callID, ItemID: "transcript"}
	var docs []pipeline.Document
	for _, sk := range []e2eetest.SecretKey{vols[a], h.admin} {
		pt, err := e2eetest.Open(trs[0].Envelope, ctx, sk)
		if err != nil {
			t.Fatalf("open as %s: %v", sk.Public().String()[:8], err)
		}
		var d pipeline.Document
		if err := json.Unmarshal(pt, &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	if _, err := e2eetest.Open(trs[0].Envelope, ctx, vols[other]); !errors.Is(err, e2ee.ErrNotRecipient) {
		t.Errorf("the other volunteer opened it: %v", err)
	}
	d := docs[0]
	var said []string
	for _, s := range d.Segments {
		said = append(said, s.Speaker+": "+s.Text)
	}
	// The caller's tones came before the volunteer spoke and after; each
	// side is labelled, and the merge is by time.
	caller600 := slices.Index(said, "caller: 600 Hz")
	vol1000 := slices.Index(said, "volunteer: 1000 Hz")
	caller1200 := slices.Index(said, "caller: 1200 Hz")
	if caller600 < 0 || vol1000 < 0 || caller1200 < 0 || caller600 > caller1200 {
		t.Fatalf("transcript %v", said)
	}
	for i := 1; i < len(d.Segments); i++ {
		if d.Segments[i].StartMs < d.Segments[i-1].StartMs {
			t.Errorf("segments out of time order: %v", d.Segments)
		}
	}
	for _, s := range d.Segments {
		if s.Speaker == "volunteer" && s.Text != "1000 Hz" {
			t.Errorf("the volunteer is heard saying %q", s.Text)
		}
	}
	if tr.Jobs() != 2 {
		t.Errorf("%d transcription jobs, want one per side", tr.Jobs())
	}
	h.waitEmpty(5 * time.Second)
}

// TestCallTranscriptOffOrUnavailable: without the setting, or without a
// transcriber, nothing is announced or transcribed.
func TestCallTranscriptOffOrUnavailable(t *testing.T) {
	for _, c := range []struct {
		name    string
		tr      *transcribetest.Transcriber
		setting bool
	}{{"setting-off", &transcribetest.Transcriber{}, false}, {"no-transcriber", nil, true}} {
		t.Run(c.name, func(t *testing.T) {
			h := vmHarness(t, c.tr, harnessOpts{})
			h.settings(func(s *store.Settings) { s.Recording = c.setting })
			a := h.onShift(1)[0]
			r := h.start()
			call := h.place("+15552240002", audio.NewTone(audio.SampleRate, 0.4, 600))
			ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
			if err := r.eng.Answer(context.Background(), ring.callID, a); err != nil {
				t.Fatal(err)
			}
			br := h.connectBrowser(r.eng, ring.callID, a)
			hears(t, 15*time.Second, "the volunteer to hear 600 Hz", 600, br.Heard)
			call.Hangup()
			h.n.wait(t, 10*time.Second, "ended", isNote("ended", ring.callID, a, EndCallerHungUp))
			h.waitEmpty(5 * time.Second)
			if slices.Contains(call.Played(), "sound:llamenos/transcribed") {
				t.Error("the caller was told the call is transcribed")
			}
			if rec := h.record(ring.callID); rec.Transcribed || rec.HasTranscript {
				t.Errorf("record %+v", rec)
			}
			if c.tr != nil && c.tr.Jobs() != 0 {
				t.Errorf("%d jobs", c.tr.Jobs())
			}
		})
	}
}
