//go:build asterisk

package realasterisk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/pipeline"
	"llamenos/rtc/rtctest"
	"llamenos/sounds"
)

// vmTones is what a caller leaving a message says: three tones of 800 ms
// each, which the test transcriber names.
var vmTones = []float64{600, 1200, 900}

const vmStep = 800 * time.Millisecond

func vmSpeech() audio.Source {
	return audio.NewSequence(toneAmp, int(vmStep.Seconds()*audio.SampleRate), vmTones...)
}

// setVoicemail sets the hotline's voicemail mode, and call transcripts on
// or off.
func (h *hotline) setVoicemail(t *testing.T, mode string, transcripts bool) {
	t.Helper()
	var st map[string]any
	h.admin.must("GET", "/api/settings", nil, &st)
	st["voicemail"] = map[string]any{"mode": mode, "maxSeconds": 120, "keepAudio": true}
	st["callTranscripts"] = transcripts
	h.admin.must("PUT", "/api/settings", st, nil)
}

// written lists the files under Asterisk's directory that Asterisk may
// write into, with their sizes: its spool (voicemail, monitor, recording,
// outgoing), its data and its lib directory (recordings land in either,
// depending on the path asked for), logs and the control socket aside.
func (a *asterisk) written() map[string]int64 {
	a.t.Helper()
	out := map[string]int64{}
	for _, d := range []string{"spool", "data", "lib", "cache"} {
		root := filepath.Join(a.dir, d)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type()&fs.ModeSymlink != 0 || e.IsDir() {
				return nil // the linked installed sounds are not this Asterisk's
			}
			if strings.HasPrefix(e.Name(), "astdb") {
				return nil // its key-value store, which it rewrites as it likes
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			out[path] = info.Size()
			return nil
		})
		if err != nil {
			a.t.Fatal(err)
		}
	}
	return out
}

// checkNothingWritten fails t if Asterisk made or changed a file since
// before, or if it holds any stored recording.
func (a *asterisk) checkNothingWritten(t *testing.T, before map[string]int64) {
	t.Helper()
	for path, size := range a.written() {
		if was, ok := before[path]; !ok || was != size {
			t.Errorf("Asterisk wrote %s (%d bytes)", path, size)
		}
	}
	// Asterisk answers GET /recordings/stored with a 500 ("Allocation
	// failed") while its recording directory does not exist: then there is
	// no recording to list, and none was made.
	if _, err := os.Stat(filepath.Join(a.dir, "spool", "recording")); errors.Is(err, fs.ErrNotExist) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stored []struct{ Name string }
	if err := a.ari(ctx, "GET", "/recordings/stored", &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) > 0 {
		t.Errorf("Asterisk holds recordings %v", stored)
	}
}

// channelNames lists the names of the channels Asterisk holds now.
func (a *asterisk) channelNames() []string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ch []ariObject
	if err := a.ari(ctx, "GET", "/channels", &ch); err != nil {
		a.t.Fatal(err)
	}
	var names []string
	for _, c := range ch {
		names = append(names, c.Name)
	}
	return names
}

// ariDebug has Asterisk log every ARI request it gets into a log file of
// its own, and returns a function that lists the requests so far as
// "METHOD /path" lines.
func (a *asterisk) ariDebug() func() []string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "ari-requests"
	for _, cmd := range []string{"logger add channel " + name + " verbose", "ari set debug all on"} {
		if out, err := a.cli(ctx, cmd); err != nil {
			a.t.Fatalf("%s: %v: %s", cmd, err, out)
		}
	}
	file := filepath.Join(a.dir, "log", name)
	return func() []string {
		b, err := os.ReadFile(file)
		if err != nil {
			a.t.Fatalf("Asterisk logged no ARI request: %v", err)
		}
		var reqs []string
		for _, line := range strings.Split(string(b), "\n") {
			// "POST channels/externalMedia", after the line's stamp.
			f := strings.Fields(line)
			for i := 0; i+1 < len(f); i++ {
				switch f[i] {
				case "GET", "POST", "PUT", "DELETE":
					reqs = append(reqs, f[i]+" "+f[i+1])
				}
			}
		}
		return reqs
	}
}

// voicemailJSON is a voicemail as the admins' page gets it.
type voicemailJSON struct {
	CallID        string `json:"callId"`
	LengthMs      int64  `json:"lengthMs"`
	Transcription string `json:"transcription"`
	HasAudio      bool   `json:"hasAudio"`
	Audio         string `json:"audio"`
	Transcript    string `json:"transcript"`
}

// waitVoicemail waits for the only voicemail to be stored and transcribed,
// and returns it with its envelopes.
func (h *hotline) waitVoicemail(t *testing.T) voicemailJSON {
	t.Helper()
	var list struct{ Voicemails []voicemailJSON }
	rtctest.WaitFor(t, 30*time.Second, "a transcribed voicemail", func() bool {
		h.admin.must("GET", "/api/voicemails", nil, &list)
		return len(list.Voicemails) == 1 && list.Voicemails[0].Transcription != "pending"
	})
	var v voicemailJSON
	h.admin.must("GET", "/api/voicemails/"+list.Voicemails[0].CallID, nil, &v)
	return v
}

// open opens an envelope from the API (base64url) as p.
func (p *person) open(env string, ctx e2ee.Context) []byte {
	p.t.Helper()
	raw, err := e2ee.DecodeBase64URL(env)
	if err != nil {
		p.t.Fatal(err)
	}
	pt, err := e2eetest.Open(raw, ctx, p.sk)
	if err != nil {
		p.t.Fatalf("open %s as %s: %v", ctx.Purpose, p.pk[:8], err)
	}
	return pt
}

// tonesIn lists, in order, the tones of want that dominate 100 ms windows
// of pcm, each once per stretch.
func tonesIn(pcm []int16, want []float64) []float64 {
	var out []float64
	win := audio.SampleRate / 10
	for i := 0; i+win <= len(pcm); i += win {
		for _, f := range want {
			if audio.DetectTone(pcm[i:i+win], audio.SampleRate, f, 0.8) {
				if len(out) == 0 || out[len(out)-1] != f {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// waitPrompt waits until the caller has heard the whole of the shipped
// prompt name (µ-law, which Asterisk relays untouched) and returns when the
// packet with its last byte arrived.
func (c *caller) waitPrompt(a *asterisk, name string, within time.Duration) time.Time {
	c.t.Helper()
	prompt, err := os.ReadFile(filepath.Join(a.dir, "data", "sounds", "en", sounds.Dir, name+sounds.Ext))
	if err != nil {
		c.t.Fatal(err)
	}
	// Its last second: Asterisk may leave off a last partial frame.
	tail := prompt[max(len(prompt)-audio.FrameSamples-audio.SampleRate, 0) : len(prompt)-audio.FrameSamples]
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		var heard []byte
		var ends []int // where each frame ends in heard
		frames := c.frames()
		for _, f := range frames {
			heard = append(heard, f.payload...)
			ends = append(ends, len(heard))
		}
		if i := bytes.Index(heard, tail); i >= 0 {
			last := i + len(tail) - 1
			for j, e := range ends {
				if e > last {
					return frames[j].at
				}
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("the caller did not hear the whole of %s within %v", name, within)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkBeep waits for the core sound beep after since and fails t unless
// the caller heard it whole, at the frequency of the file.
func checkBeep(t *testing.T, a *asterisk, c *caller, since time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.dir, "data", "sounds", "en", "beep.wav"))
	if err != nil {
		t.Fatal(err)
	}
	// 16-bit mono after a 44-byte header (see soundDuration).
	var beep []int16
	for i := 44; i+1 < len(b); i += 2 {
		beep = append(beep, int16(uint16(b[i])|uint16(b[i+1])<<8))
	}
	d := a.soundDuration("beep")
	// The beep, but for a last partial frame, which Asterisk leaves off.
	heard := c.waitHeard(since, d-20*time.Millisecond, 10*time.Second)
	want := measure(beep, 0).peakHz
	got := measure(heard, want)
	t.Logf("the beep: %v of %.0f Hz; the caller heard %s", d, want, got)
	if math.Abs(got.peakHz-want) > 10 || got.share < 0.5 {
		t.Errorf("after the voicemail prompt the caller heard %v, not the beep (%.0f Hz)", got, want)
	}
}

// TestVoicemail: the caller hears the voicemail prompt and the beep, says
// three tones, and ends the message with # or by hanging up: with
// voicemail mode "always", and with "auto" when nobody can be rung (an
// admin is connected, not available) and at the queue timeout (a
// volunteer is rung and does not answer). The message is stored as long
// as what was said, its sealed audio opens with the admin's key and holds
// the tones in order, the test transcriber's transcript names them, and
// Asterisk recorded nothing: no file, no recording, no recording or snoop
// request from the daemon.
func TestVoicemail(t *testing.T) {
	for _, tc := range []struct{ mode, end string }{
		{"always", "hash"}, {"always", "hangup"}, {"auto", "hash"}, {"auto-timeout", "hangup"},
	} {
		t.Run(tc.mode+"-"+tc.end, func(t *testing.T) {
			end := tc.end
			h := newHotline(t)
			var vol *socket
			switch tc.mode {
			case "always":
				h.setVoicemail(t, "always", false)
			case "auto":
				h.setVoicemail(t, "auto", false)
				h.admin.connect() // an admin, not available
			case "auto-timeout":
				h.setVoicemail(t, "auto", false)
				var st map[string]any
				h.admin.must("GET", "/api/settings", nil, &st)
				st["queueTimeoutSeconds"] = 30 // the shortest the setting takes
				h.admin.must("PUT", "/api/settings", st, nil)
				_, vol = h.volunteer(t)
			}
			requests := h.a.ariDebug()
			before := h.a.written()

			c := dial(t, h.a)
			c.say(audio.Silence{})
			if vol != nil {
				ring := vol.next(30*time.Second, "ring", is("ring", ""))
				if m := vol.next(60*time.Second, "ring:stop", is("ring:stop", ring.CallID)); m.Reason != "timeout" {
					t.Errorf("ring:stop reason %q, want timeout", m.Reason)
				}
			}
			checkBeep(t, h.a, c, c.waitPrompt(h.a, "voicemail", 60*time.Second))
			c.say(vmSpeech())
			// While the caller speaks: the caller's channel and the
			// daemon's externalMedia channel, nothing else.
			for _, n := range h.a.channelNames() {
				if !strings.HasPrefix(n, "PJSIP/") && !strings.HasPrefix(n, "UnicastRTP/") {
					t.Errorf("during the voicemail Asterisk holds channel %s", n)
				}
			}
			c.waitSaid(time.Duration(len(vmTones))*vmStep+200*time.Millisecond, 30*time.Second)
			// The message is as long as the audio the caller sent after
			// the beep (on a loaded box the sender's ticker skips ticks,
			// and the RTP timestamps with it), until the # or the hangup.
			want := c.voice.played()
			if end == "hash" {
				c.press('#')
				c.wait(30 * time.Second) // the daemon hung up
			} else {
				c.hangUp()
				c.wait(30 * time.Second)
			}
			h.a.waitEmpty(10 * time.Second)
			h.waitOutcomes(t, "voicemail")

			v := h.waitVoicemail(t)
			got := time.Duration(v.LengthMs) * time.Millisecond
			t.Logf("voicemail of %v; the caller sent %v of audio after the beep until the %s", got, want, end)
			if got < want-500*time.Millisecond || got > want+500*time.Millisecond {
				t.Errorf("the voicemail lasts %v, the caller said %v", got, want)
			}
			if !v.HasAudio || v.Transcription != "done" {
				t.Fatalf("voicemail has audio %v, transcription %q", v.HasAudio, v.Transcription)
			}
			pcm := audio.DecodeMulaw(nil, h.admin.open(v.Audio, e2ee.Context{Purpose: e2ee.PurposeVoicemailAudio, CallID: v.CallID, ItemID: "audio"}))
			if d := time.Duration(len(pcm)) * time.Second / audio.SampleRate; d != got {
				t.Errorf("the sealed audio lasts %v, the voicemail says %v", d, got)
			}
			if tones := tonesIn(pcm, vmTones); !slices.Equal(tones, vmTones) {
				t.Errorf("the sealed audio holds the tones %v, the caller said %v", tones, vmTones)
			}
			var doc pipeline.Document
			pt := h.admin.open(v.Transcript, e2ee.Context{Purpose: e2ee.PurposeVoicemailTranscript, CallID: v.CallID, ItemID: "voicemail"})
			if err := json.Unmarshal(pt, &doc); err != nil {
				t.Fatal(err)
			}
			var said []string
			for _, s := range doc.Segments {
				said = append(said, s.Speaker+": "+s.Text)
			}
			if want := []string{"caller: 600 Hz", "caller: 1200 Hz", "caller: 900 Hz"}; !slices.Equal(said, want) {
				t.Errorf("the transcript says %q, want %q", said, want)
			}

			h.a.checkNothingWritten(t, before)
			checkNoRecording(t, requests())
			h.checkPrivacy(t)
		})
	}
}

// heardBytes is the µ-law the caller received before t0, as sent.
func (c *caller) heardBytes(t0 time.Time) []byte {
	var out []byte
	for _, f := range c.frames() {
		if f.at.Before(t0) {
			out = append(out, f.payload...)
		}
	}
	return out
}

// TestCallTranscript: with call transcripts on, the caller hears the
// announcement before the volunteer is rung; the volunteer answers; the
// caller says 500 Hz, the volunteer 1 kHz, the caller 700 Hz, in turn
// (tones the test transcriber, which listens on multiples of 50 Hz, can
// name).
// After the hangup the transcript opens for the volunteer and for the
// admin, and its segments name each tone with its speaker, in time order.
func TestCallTranscript(t *testing.T) {
	h := newHotline(t)
	h.setVoicemail(t, "auto", true)
	v, s := h.volunteer(t)
	requests := h.a.ariDebug()
	before := h.a.written()

	c := dial(t, h.a)
	c.say(audio.NewTone(audio.SampleRate, toneAmp, 500))
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	announcement, err := os.ReadFile(filepath.Join(h.a.dir, "data", "sounds", "en", sounds.Dir, "transcribed"+sounds.Ext))
	if err != nil {
		t.Fatal(err)
	}
	// Asterisk relays the prompt's µ-law untouched: a second from its
	// middle is in what the caller heard before the ring.
	mid := len(announcement) / 2
	if heard := c.heardBytes(ring.at); !bytes.Contains(heard, announcement[mid-audio.SampleRate/2:mid+audio.SampleRate/2]) {
		t.Errorf("before the ring the caller heard %v, not the announcement (%v)",
			time.Duration(len(heard))*time.Second/audio.SampleRate, sounds.Duration(len(announcement)))
	}

	b := s.answer(ring.CallID)
	voice := newSwitchable(audio.Silence{})
	b.Play(voice)
	since := time.Now()
	// The caller's 500 Hz (they say it from the start).
	hearTone(t, "the volunteer", since, 500, func() []frame { return browserFrames(b) })
	c.say(audio.Silence{})
	since = time.Now()
	voice.set(audio.NewTone(audio.SampleRate, toneAmp, volunteerHz))
	hearTone(t, "the caller", since, volunteerHz, c.frames)
	voice.set(audio.Silence{})
	since = time.Now()
	c.say(audio.NewTone(audio.SampleRate, toneAmp, 700))
	hearTone(t, "the volunteer", since, 700, func() []frame { return browserFrames(b) })
	h.callerHangsUp(t, s, c, ring.CallID)

	var trs struct {
		Transcripts []struct {
			Failed   bool   `json:"failed"`
			Envelope string `json:"envelope"`
		}
	}
	rtctest.WaitFor(t, 60*time.Second, "the call transcript", func() bool {
		v.must("GET", "/api/calls/"+ring.CallID+"/transcripts", nil, &trs)
		return len(trs.Transcripts) > 0
	})
	if len(trs.Transcripts) != 1 || trs.Transcripts[0].Failed {
		t.Fatalf("transcripts %+v", trs.Transcripts)
	}
	ctx := e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: ring.CallID, ItemID: "transcript"}
	var docs []pipeline.Document
	for _, p := range []*person{v, h.admin} {
		var d pipeline.Document
		if err := json.Unmarshal(p.open(trs.Transcripts[0].Envelope, ctx), &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	d := docs[0]
	var said []string
	for i, sg := range d.Segments {
		said = append(said, sg.Speaker+": "+sg.Text)
		if i > 0 && sg.StartMs < d.Segments[i-1].StartMs {
			t.Errorf("segments out of time order: %+v", d.Segments)
		}
	}
	t.Logf("transcript: %q", said)
	if want := []string{"caller: 500 Hz", "volunteer: 1000 Hz", "caller: 700 Hz"}; !slices.Equal(said, want) {
		t.Errorf("the transcript says %q, want %q", said, want)
	}
	if !slices.EqualFunc(docs[0].Segments, docs[1].Segments, func(a, b pipeline.Segment) bool { return a == b }) {
		t.Errorf("the admin's transcript %+v is not the volunteer's %+v", docs[1].Segments, docs[0].Segments)
	}
	h.a.checkNothingWritten(t, before)
	checkNoRecording(t, requests())
	h.checkPrivacy(t)
}

// browserFrames is what the stand-in browser heard so far.
func browserFrames(b *rtctest.Browser) []frame {
	var out []frame
	for _, p := range b.Received() {
		out = append(out, frame{at: p.At, samples: audio.DecodeMulaw(nil, p.Payload)})
	}
	return out
}

// checkNoRecording fails t if the daemon asked Asterisk to record or snoop
// on a channel, or to run MixMonitor, in any of the ARI requests reqs.
func checkNoRecording(t *testing.T, reqs []string) {
	t.Helper()
	// The request log works: the daemon's externalMedia channel is in it.
	if !slices.ContainsFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "POST channels/externalMedia") }) {
		t.Errorf("Asterisk's log of the ARI requests has no externalMedia channel: %q", reqs)
	}
	for _, r := range reqs {
		lr := strings.ToLower(r)
		if strings.Contains(lr, "/record") || strings.Contains(lr, "/snoop") || strings.Contains(lr, "mixmonitor") {
			t.Errorf("the daemon asked Asterisk: %s", r)
		}
	}
}
