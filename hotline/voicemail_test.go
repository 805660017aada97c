package hotline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/pipeline"
	"llamenos/rtc/rtctest"
	"llamenos/store"
	"llamenos/transcribe"
	"llamenos/transcribe/transcribetest"
)

// vmSpeech is what the pretend caller says: 600 Hz for a second, then
// 1200 Hz for a second, then silence.
func vmSpeech() audio.Source { return audio.NewSequence(0.4, audio.SampleRate, 600, 1200) }

// vmHarness is a harness whose pipeline transcribes with tr (nil: none).
func vmHarness(t *testing.T, tr *transcribetest.Transcriber, opts harnessOpts) *harness {
	t.Helper()
	if opts.cfg.VoicemailSilence == 0 {
		opts.cfg.VoicemailSilence = 2 * time.Second
	}
	var h *harness
	p := &pipeline.Runner{SpillDir: t.TempDir()}
	if tr != nil {
		p.Transcriber = tr
	}
	opts.pipeline = p
	h = newHarness(t, opts)
	p.Store, p.Log = h.st, h.log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			t.Errorf("pipeline: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	t.Cleanup(func() { dumpLogs(t, h) })
	return h
}

func (h *harness) voicemail(callID string) store.Voicemail {
	h.t.Helper()
	var v store.Voicemail
	err := h.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		v, err = tx.Voicemail(callID)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// waitVoicemail waits for the only call's final record and returns it.
func (h *harness) finalRecord(d time.Duration) store.Call {
	h.t.Helper()
	var rec store.Call
	rtctest.WaitFor(h.t, d, "the final record", func() bool {
		recs := h.calls()
		if len(recs) != 1 || recs[0].Outcome == store.OutcomeInProgress {
			return false
		}
		rec = recs[0]
		return true
	})
	return rec
}

// openAudio opens a voicemail's sealed audio as the admin and decodes it.
func (h *harness) openAudio(v store.Voicemail) []int16 {
	h.t.Helper()
	pt, err := e2eetest.Open(v.Audio, e2ee.Context{Purpose: e2ee.PurposeVoicemailAudio, CallID: v.CallID, ItemID: "audio"}, h.admin)
	if err != nil {
		h.t.Fatalf("open the voicemail audio: %v", err)
	}
	return audio.DecodeMulaw(nil, pt)
}

func toneAt(pcm []int16, from, to time.Duration, freq float64) bool {
	a, b := durSamples(from), durSamples(to)
	if b > int64(len(pcm)) {
		return false
	}
	return audio.DetectTone(pcm[a:b], audio.SampleRate, freq, 0.5)
}

// TestVoicemailWhenNobodyCanAnswer: nobody can be rung, so the caller goes
// straight to the voicemail prompt and the beep; what they say reaches the
// daemon through externalMedia and the relay (Asterisk records nothing),
// ends after the silence, is sealed to the admin and transcribed, and the
// call's outcome is voicemail.
func TestVoicemailWhenNobodyCanAnswer(t *testing.T) {
	tr := &transcribetest.Transcriber{}
	h := vmHarness(t, tr, harnessOpts{})
	h.settings(func(s *store.Settings) { s.Languages = []string{"es"} })
	h.start()
	call := h.place("+15552230001", vmSpeech())
	waitDone(t, call, 20*time.Second, "the caller to be hung up after the silence")
	if got, want := call.Played(), []string{"sound:llamenos/voicemail", "sound:beep"}; !slices.Equal(got, want) {
		t.Errorf("caller heard %v, want %v", got, want)
	}
	rec := h.finalRecord(5 * time.Second)
	if rec.Outcome != store.OutcomeVoicemail || !rec.HasVoicemail {
		t.Fatalf("record %s, voicemail %v", rec.Outcome, rec.HasVoicemail)
	}
	if n := len(h.rings()); n != 0 {
		t.Errorf("%d rings", n)
	}
	var v store.Voicemail
	rtctest.WaitFor(t, 10*time.Second, "the transcript", func() bool {
		v = h.voicemail(rec.ID)
		return v.Transcription != store.TranscriptionPending
	})
	// Two seconds of speech, then the two seconds of silence that end it.
	if v.Length < 3900*time.Millisecond || v.Length > 4100*time.Millisecond || v.Language != "es" {
		t.Errorf("voicemail length %v, language %q; want 4 s, es", v.Length, v.Language)
	}
	pcm := h.openAudio(v)
	if !toneAt(pcm, 100*time.Millisecond, 900*time.Millisecond, 600) || !toneAt(pcm, 1100*time.Millisecond, 1900*time.Millisecond, 1200) {
		t.Error("the sealed audio is not what the caller said (600 Hz, then 1200 Hz)")
	}
	if v.Transcription != store.TranscriptionDone {
		t.Fatalf("transcription %s", v.Transcription)
	}
	pt, err := e2eetest.Open(v.Envelope, e2ee.Context{Purpose: e2ee.PurposeVoicemailTranscript, CallID: rec.ID, ItemID: "voicemail"}, h.admin)
	if err != nil {
		t.Fatal(err)
	}
	var doc pipeline.Document
	if err := json.Unmarshal(pt, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Segments) != 2 || doc.Language != "es" {
		t.Fatalf("transcript %s", pt)
	}
	for i, want := range []pipeline.Segment{{Speaker: "caller", StartMs: 0, EndMs: 1000, Text: "600 Hz"}, {Speaker: "caller", StartMs: 1000, EndMs: 2000, Text: "1200 Hz"}} {
		got := doc.Segments[i]
		if got.Speaker != want.Speaker || got.Text != want.Text || abs(got.StartMs-want.StartMs) > 100 || abs(got.EndMs-want.EndMs) > 100 {
			t.Errorf("segment %d: %+v, want about %+v", i, got, want)
		}
	}
	if langs := tr.Languages(); !slices.Equal(langs, []string{"es"}) {
		t.Errorf("transcriber asked for %v", langs)
	}
	h.waitEmpty(5 * time.Second)
	if strings.Contains(h.logs.String(), "5552230001") {
		t.Error("the caller's number is in the log")
	}
}

func abs(x int64) int64 { return max(x, -x) }

// TestVoicemailEnds: `#`, the caller's hangup and the maximum length each
// end the message with what was said until then; "always" sends callers
// to voicemail without ringing anyone; the queue timeout in "auto" does.
func TestVoicemailEnds(t *testing.T) {
	t.Run("hash", func(t *testing.T) {
		h := vmHarness(t, nil, harnessOpts{})
		h.start()
		call := h.placeSpec(aritest.CallSpec{CallerNumber: "+15552230002", Audio: audio.NewTone(audio.SampleRate, 0.4, 500), DTMF: []aritest.DTMF{{Digit: "#", At: 1500 * time.Millisecond}}})
		waitDone(t, call, 10*time.Second, "the hangup after #")
		rec := h.finalRecord(5 * time.Second)
		v := h.voicemail(rec.ID)
		// The prompt and the beep take 200 ms of the 1.5 s.
		if rec.Outcome != store.OutcomeVoicemail || v.Length < 1000*time.Millisecond || v.Length > 1400*time.Millisecond {
			t.Errorf("outcome %s, length %v; want a voicemail of about 1.3 s", rec.Outcome, v.Length)
		}
		if v.Transcription != store.TranscriptionNone {
			t.Errorf("transcription %q with no transcriber", v.Transcription)
		}
		if pcm := h.openAudio(v); !toneAt(pcm, 200*time.Millisecond, time.Second, 500) {
			t.Error("the audio is not the caller's 500 Hz")
		}
	})
	t.Run("hangup", func(t *testing.T) {
		h := vmHarness(t, nil, harnessOpts{})
		h.start()
		call := h.placeSpec(aritest.CallSpec{CallerNumber: "+15552230003", Audio: audio.NewTone(audio.SampleRate, 0.4, 500), HangupAfter: 1500 * time.Millisecond})
		waitDone(t, call, 10*time.Second, "the caller's hangup")
		rec := h.finalRecord(5 * time.Second)
		if v := h.voicemail(rec.ID); rec.Outcome != store.OutcomeVoicemail || v.Length < 900*time.Millisecond || v.Length > 1400*time.Millisecond {
			t.Errorf("outcome %s, length %v", rec.Outcome, v.Length)
		}
		h.waitEmpty(5 * time.Second)
	})
	t.Run("max-length", func(t *testing.T) {
		h := vmHarness(t, nil, harnessOpts{})
		h.settings(func(s *store.Settings) { s.VoicemailMaxSeconds = 10 })
		h.start()
		call := h.place("+15552230004", audio.NewTone(audio.SampleRate, 0.4, 500))
		waitDone(t, call, 20*time.Second, "the hangup at the maximum length")
		rec := h.finalRecord(5 * time.Second)
		if v := h.voicemail(rec.ID); v.Length != 10*time.Second {
			t.Errorf("length %v, want exactly the 10 s maximum", v.Length)
		}
	})
	t.Run("always", func(t *testing.T) {
		h := vmHarness(t, nil, harnessOpts{})
		h.settings(func(s *store.Settings) { s.VoicemailMode = store.VoicemailAlways })
		h.onShift(1)
		h.start()
		call := h.place("+15552230005", vmSpeech())
		waitDone(t, call, 20*time.Second, "the hangup after the silence")
		if rec := h.finalRecord(5 * time.Second); rec.Outcome != store.OutcomeVoicemail || len(h.rings()) != 0 {
			t.Errorf("outcome %s, rings %v", rec.Outcome, h.rings())
		}
		if got := call.Played(); !slices.Equal(got, []string{"sound:llamenos/voicemail", "sound:beep"}) {
			t.Errorf("caller heard %v", got)
		}
	})
	t.Run("after-queue-timeout", func(t *testing.T) {
		const timeout = 30 * time.Second
		h := vmHarness(t, nil, harnessOpts{})
		h.settings(func(s *store.Settings) { s.QueueTimeoutSeconds = int(timeout / time.Second) })
		a := h.onShift(1)[0]
		h.start()
		call := h.place("+15552230006", vmSpeech())
		ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
		h.clock.waitArmed(t, timeout, "the queue timeout")
		rtctest.WaitFor(t, 10*time.Second, "hold music after the greeting", func() bool { return slices.Contains(call.Played(), "moh:default") })
		h.clock.Advance(timeout)
		h.n.wait(t, 5*time.Second, "ring stop", isStop(ring.callID, a, RingStopTimeout))
		waitDone(t, call, 20*time.Second, "the hangup after the silence")
		if got, want := call.Played(), []string{"sound:llamenos/greeting", "moh:default", "sound:llamenos/voicemail", "sound:beep"}; !slices.Equal(got, want) {
			t.Errorf("caller heard %v, want %v", got, want)
		}
		if err := r0(h).eng.Answer(context.Background(), ring.callID, a); err == nil {
			t.Error("a volunteer answered a call in voicemail")
		}
		if rec := h.record(ring.callID); rec.Outcome != store.OutcomeVoicemail {
			t.Errorf("outcome %s", rec.Outcome)
		}
	})
}

func r0(h *harness) *runningEngine { return h.engine }

// TestVoicemailTranscriptRetry: a failed transcription is retried once;
// two failures leave the voicemail "failed" with its audio kept; with
// transcripts only, the audio goes once the transcript is stored.
func TestVoicemailTranscriptRetry(t *testing.T) {
	for _, c := range []struct {
		name      string
		failFirst int
		onlyText  bool
		want      string
		audioKept bool
	}{
		{"retried", 1, false, store.TranscriptionDone, true},
		{"failed", 2, true, store.TranscriptionFailed, true},
		{"transcript-only", 0, true, store.TranscriptionDone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &transcribetest.Transcriber{FailFirst: c.failFirst}
			h := vmHarness(t, tr, harnessOpts{})
			h.settings(func(s *store.Settings) { s.VoicemailTranscriptOnly = c.onlyText })
			h.start()
			call := h.place("+15552230007", vmSpeech())
			waitDone(t, call, 20*time.Second, "the hangup after the silence")
			rec := h.finalRecord(5 * time.Second)
			var v store.Voicemail
			rtctest.WaitFor(t, 10*time.Second, "the transcription to finish", func() bool {
				v = h.voicemail(rec.ID)
				return v.Transcription != store.TranscriptionPending
			})
			if v.Transcription != c.want || (len(v.Audio) > 0) != c.audioKept || (len(v.Envelope) > 0) != (c.want == store.TranscriptionDone) {
				t.Errorf("transcription %s, audio %d bytes, transcript %d bytes", v.Transcription, len(v.Audio), len(v.Envelope))
			}
			if want := min(c.failFirst+1, 2); tr.Jobs() != want {
				t.Errorf("%d attempts, want %d", tr.Jobs(), want)
			}
		})
	}
}

// spyTranscriber looks into the spill folder while a job runs: the job's
// audio is there (the memory bound is one byte), sealed.
type spyTranscriber struct {
	transcribetest.Transcriber
	dir   string
	files int
	hits  int
	seen  int
}

func (s *spyTranscriber) Transcribe(ctx context.Context, req transcribe.Request) ([]transcribe.Segment, error) {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			continue
		}
		s.files++
		for at := 0; at+32 <= len(req.Audio); at += 400 {
			w := req.Audio[at : at+32]
			if bytes.Count(w, []byte{0xFF}) == len(w) {
				continue // silence matches any silence
			}
			s.seen++
			if bytes.Contains(raw, w) {
				s.hits++
			}
		}
	}
	return s.Transcriber.Transcribe(ctx, req)
}

// TestVoicemailSpillHoldsNoPlaintext: with a memory bound of one byte the
// whole message waits for its job in the spill file, which holds none of
// the caller's audio in the clear, and is gone once the job is done.
func TestVoicemailSpillHoldsNoPlaintext(t *testing.T) {
	dir := t.TempDir()
	spy := &spyTranscriber{dir: dir}
	p := &pipeline.Runner{SpillDir: dir, MemoryLimit: 1, Transcriber: spy}
	h := newHarness(t, harnessOpts{pipeline: p, cfg: Config{VoicemailSilence: 2 * time.Second}})
	p.Store, p.Log = h.st, h.log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	h.start()
	call := h.place("+15552230008", vmSpeech())
	waitDone(t, call, 20*time.Second, "the hangup after the silence")
	rec := h.finalRecord(5 * time.Second)
	rtctest.WaitFor(t, 10*time.Second, "the transcript", func() bool { return h.voicemail(rec.ID).Transcription == store.TranscriptionDone })
	if spy.files != 1 || spy.seen < 20 || spy.hits != 0 {
		t.Errorf("spill files during the job %d, windows looked for %d, found in the clear %d", spy.files, spy.seen, spy.hits)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left in the spill folder after the job", len(ents))
	}
}
