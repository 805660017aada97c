//go:build asterisk

package realasterisk

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/audio/audiotest"
	"llamenos/prompts"
	"llamenos/rtc/rtctest"
)

// hotline is one Asterisk and one daemon, with an admin signed in.
type hotline struct {
	tl    tools
	a     *asterisk
	d     *llamenos
	admin *person
}

// newHotline starts Asterisk on the rendered configuration (checking its
// start log), then the daemon, and creates the first admin.
func newHotline(t *testing.T) *hotline {
	t.Helper()
	tl := needTools(t)
	a := newAsterisk(t, tl)
	a.checkStartLog()
	d := newDaemon(t, a)
	d.waitARI("connected", 30*time.Second)
	return &hotline{tl: tl, a: a, d: d, admin: setupAdmin(t, d)}
}

// volunteer makes an available volunteer whose browser is connected.
func (h *hotline) volunteer(t *testing.T) (*person, *socket) {
	t.Helper()
	v := invite(t, h.d, h.admin)
	v.setAvailable(true)
	s := v.connect()
	s.next(10*time.Second, "hello", is("hello", ""))
	return v, s
}

// callerHangsUp ends a call from the caller's side: the volunteer's page
// is told, SIPp completes its BYE, and nothing is left in Asterisk.
func (h *hotline) callerHangsUp(t *testing.T, s *socket, c *caller, callID string) {
	t.Helper()
	c.hangUp()
	s.next(10*time.Second, "call:ended", is("call:ended", callID))
	c.wait(30 * time.Second)
	h.a.waitEmpty(10 * time.Second)
}

// checkPrivacy fails t if the caller's number reached the daemon's log or
// Asterisk's.
func (h *hotline) checkPrivacy(t *testing.T) {
	t.Helper()
	if h.d != nil && h.d.logContains(callerNumber) {
		t.Error("the daemon's log holds the caller's number")
	}
	b, err := os.ReadFile(h.a.logFile())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), callerNumber) || strings.Contains(string(b), callerNumber[1:]) {
		t.Error("Asterisk's log holds the caller's number")
	}
}

// waitOutcomes waits until the call records, newest first, have the
// outcomes want: the daemon writes a call's last record after its
// teardown.
func (h *hotline) waitOutcomes(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	rtctest.WaitFor(t, 10*time.Second, fmt.Sprintf("call records with outcomes %v (have %v)", want, got), func() bool {
		var calls struct {
			Calls []struct{ Outcome string }
		}
		h.admin.must("GET", "/api/calls", nil, &calls)
		got = got[:0]
		for _, c := range calls.Calls {
			got = append(got, c.Outcome)
		}
		return slices.Equal(got, want)
	})
}

// talk answers the ringing call and checks the audio both ways: the
// volunteer hears the caller's 440 Hz, the caller the volunteer's 1 kHz,
// each at the level it was sent. It logs how long after the answer each
// tone first arrived.
func talk(t *testing.T, s *socket, c *caller, callID string) *rtctest.Browser {
	t.Helper()
	b := s.answer(callID)
	connected := time.Now()
	b.Play(audio.NewTone(audio.SampleRate, toneAmp, volunteerHz))
	toCaller := hearTone(t, "the caller", connected, volunteerHz, c.frames)
	toVolunteer := hearTone(t, "the volunteer", connected, callerHz, func() []frame {
		var out []frame
		for _, p := range b.Received() {
			out = append(out, frame{at: p.At, samples: audio.DecodeMulaw(nil, p.Payload)})
		}
		return out
	})
	t.Logf("after the WebRTC connection: the volunteer's voice reached the caller in %d ms, the caller's the volunteer in %d ms",
		toCaller.Milliseconds(), toVolunteer.Milliseconds())
	if toCaller > maxVoiceDelay {
		t.Errorf("the caller heard the volunteer %v after the WebRTC connection, want at most %v", toCaller, maxVoiceDelay)
	}
	return b
}

// maxVoiceDelay bounds the time from the volunteer's WebRTC connection to
// the caller hearing them: tens of milliseconds on a quiet box, unless a
// prompt still playing to the caller holds up their joining the bridge.
const maxVoiceDelay = time.Second

// hearTone waits until who hears the tone freq after since, then for a
// second of it, checks its frequency and level, and returns how long after
// since it began. It may begin late: until the caller joins the call's
// bridge they hear whatever was playing to them.
func hearTone(t *testing.T, who string, since time.Time, freq float64, frames func() []frame) time.Duration {
	t.Helper()
	const within = 20 * time.Second
	deadline := time.Now().Add(within)
	for {
		var onset time.Time
		var tone []int16
		for _, f := range frames() {
			switch {
			case !f.at.After(since):
			case !onset.IsZero():
				tone = append(tone, f.samples...)
			case audio.ToneLevel(f.samples, audio.SampleRate, freq) >= 0.8 && dbfs(audiotest.RMS(f.samples)) > -30:
				onset = f.at
			}
		}
		// The second measured starts 100 ms after the onset, away from
		// whatever the tone replaced.
		if skip := audio.SampleRate / 10; len(tone) >= skip+audio.SampleRate {
			checkTone(t, who, tone[skip:skip+audio.SampleRate], freq)
			return onset.Sub(since)
		}
		if time.Now().After(deadline) {
			if onset.IsZero() {
				t.Fatalf("%s did not hear %v Hz within %v", who, freq, within)
			}
			t.Fatalf("%s heard %v Hz begin, then less than a second of audio within %v", who, freq, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ringLatency logs how long after SIPp's INVITE the ring reached the
// volunteer's socket, and fails t past maxRingLatency.
func ringLatency(t *testing.T, c *caller, ring message) {
	t.Helper()
	d := ring.at.Sub(c.inviteSent())
	t.Logf("ring latency from the INVITE: %d ms", d.Milliseconds())
	if d > maxRingLatency {
		t.Errorf("the volunteer was rung %v after the INVITE, want at most %v", d, maxRingLatency)
	}
}

// maxRingLatency bounds the time from the caller's INVITE to the ring in
// the volunteer's browser; it is tens of milliseconds on a quiet box.
const maxRingLatency = 3 * time.Second

// TestCall: a caller rings, a volunteer answers, both hear each other; one
// call ends by the volunteer hanging up, the next by the caller. Nothing
// is left in Asterisk after either.
func TestCall(t *testing.T) {
	h := newHotline(t)
	v, s := h.volunteer(t)

	// The volunteer hangs up.
	c := dial(t, h.a)
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	talk(t, s, c, ring.CallID)
	v.must("POST", "/api/calls/"+ring.CallID+"/hangup", nil, nil)
	if m := s.next(10*time.Second, "call:ended", is("call:ended", ring.CallID)); m.Reason != "volunteer-hung-up" {
		t.Errorf("call:ended reason %q, want volunteer-hung-up", m.Reason)
	}
	c.wait(30 * time.Second) // SIPp got Asterisk's BYE
	ringLatency(t, c, ring)
	h.a.waitEmpty(10 * time.Second)

	// The caller hangs up.
	c = dial(t, h.a)
	ring = s.next(30*time.Second, "ring", is("ring", ""))
	talk(t, s, c, ring.CallID)
	c.hangUp()
	if m := s.next(10*time.Second, "call:ended", is("call:ended", ring.CallID)); m.Reason != "caller-hung-up" {
		t.Errorf("call:ended reason %q, want caller-hung-up", m.Reason)
	}
	c.wait(30 * time.Second)
	ringLatency(t, c, ring)
	h.a.waitEmpty(10 * time.Second)

	h.waitOutcomes(t, "answered", "answered")
	h.checkPrivacy(t)
}

// checkPrompt fails t unless the caller heard about the whole of the
// named prompt.
func checkPrompt(t *testing.T, a *asterisk, c *caller, name string) {
	t.Helper()
	checkHeard(t, c, name, a.soundDuration(name))
}

// checkHeard: the caller heard the whole of what lasts want, loud.
func checkHeard(t *testing.T, c *caller, name string, want time.Duration) {
	t.Helper()
	heard := c.heardSince(time.Time{})
	var loud time.Duration
	for i := 0; i+160 <= len(heard); i += 160 {
		if dbfs(audiotest.RMS(heard[i:i+160])) > -50 {
			loud += 20 * time.Millisecond
		}
	}
	got := time.Duration(len(heard)) * time.Second / audio.SampleRate
	t.Logf("the caller heard %v of audio, %v of it above -50 dBFS, at %.1f dBFS; %s lasts %v",
		got.Round(10*time.Millisecond), loud, dbfs(audiotest.RMS(heard)), name, want.Round(10*time.Millisecond))
	if got < want*9/10 {
		t.Errorf("the caller heard %v, want the whole %s (%v)", got, name, want)
	}
	if loud < want/2 {
		t.Errorf("the caller heard only %v above -50 dBFS of %s (%v)", loud, name, want)
	}
}

// TestNobodyAvailable: on a hotline that takes no voicemail, with no
// volunteer available, the caller hears the unavailable prompt and
// Asterisk hangs up; the record says unanswered.
func TestNobodyAvailable(t *testing.T) {
	h := newHotline(t)
	var st map[string]any
	h.admin.must("GET", "/api/settings", nil, &st)
	st["voicemail"] = map[string]any{"mode": "never", "maxSeconds": 120, "keepAudio": true}
	h.admin.must("PUT", "/api/settings", st, nil)
	s := h.admin.connect() // an admin, not available
	c := dial(t, h.a)
	c.wait(60 * time.Second) // Asterisk hung up
	checkPrompt(t, h.a, c, "llamenos/unavailable")
	h.a.waitEmpty(10 * time.Second)
	for len(s.msgs) > 0 {
		if m := <-s.msgs; m.Type == "ring" {
			t.Error("an unavailable admin was rung")
		}
	}
	h.waitOutcomes(t, "unanswered")
	h.checkPrivacy(t)
}

// TestSpanishPromptReplaced: with Spanish the hotline's language and no
// voicemail, a caller nobody can take hears the shipped Spanish "nobody is available",
// as Asterisk finds it in sounds/es/llamenos/; after an admin replaces it
// (PUT /api/prompts/es/unavailable, as the browser sends it), the next
// caller hears the admin's recording, which Asterisk reads from where the
// daemon wrote it, with nothing reloaded.
func TestSpanishPromptReplaced(t *testing.T) {
	h := newHotline(t)
	var st map[string]any
	h.admin.must("GET", "/api/settings", nil, &st)
	st["languages"] = []string{"es"}
	// A hotline that takes no voicemail: else the caller nobody can take
	// is asked for a message.
	st["voicemail"] = map[string]any{"mode": "never", "maxSeconds": 120, "keepAudio": true}
	h.admin.must("PUT", "/api/settings", st, nil)
	s := h.admin.connect() // an admin, not available

	c := dial(t, h.a)
	c.wait(60 * time.Second)
	checkHeard(t, c, "es/llamenos/unavailable", h.a.promptDuration("es", "unavailable"))
	h.a.waitEmpty(10 * time.Second)

	// The admin's recording: 3 s of 1 kHz, as the browser converts it.
	pcm := make([]int16, 3*audio.SampleRate)
	audio.NewTone(audio.SampleRate, 0.3, 1000).Fill(pcm)
	h.admin.must("PUT", "/api/prompts/es/unavailable", prompts.EncodeWAV(pcm), nil)
	c = dial(t, h.a)
	c.wait(60 * time.Second)
	checkHeard(t, c, "the admin's recording", 3*time.Second)
	if level := audio.ToneLevel(c.heardSince(time.Time{}), audio.SampleRate, 1000); level < 0.5 {
		t.Errorf("the caller heard 1 kHz at %.2f of the energy; the admin's recording is a 1 kHz tone", level)
	}
	h.a.waitEmpty(10 * time.Second)
	for len(s.msgs) > 0 {
		if m := <-s.msgs; m.Type == "ring" {
			t.Error("an unavailable admin was rung")
		}
	}
	h.waitOutcomes(t, "unanswered", "unanswered")
	h.checkPrivacy(t)
}

// TestDaemonDown: with the daemon not running, Asterisk itself tells the
// caller the service is unavailable and hangs up: first before the daemon
// ever started, then after it stopped.
func TestDaemonDown(t *testing.T) {
	tl := needTools(t)
	a := newAsterisk(t, tl)
	a.checkStartLog()
	h := &hotline{tl: tl, a: a}

	c := dial(t, a)
	c.wait(60 * time.Second)
	checkPrompt(t, a, c, a.cfg.Trunk.FailureSound)
	a.waitEmpty(10 * time.Second)

	d := newDaemon(t, a)
	d.waitARI("connected", 30*time.Second)
	before := a.logSize()
	d.stop()
	// A daemon that stops says goodbye on its events socket: Asterisk
	// logs nothing about it.
	if errs, warnings := a.problemsSince(before); len(errs)+len(warnings) > 0 {
		t.Errorf("after the daemon stopped, Asterisk logged:\n%s", strings.Join(append(errs, warnings...), "\n"))
	}
	c = dial(t, a)
	c.wait(60 * time.Second)
	checkPrompt(t, a, c, a.cfg.Trunk.FailureSound)
	a.waitEmpty(10 * time.Second)
	h.d = d
	h.checkPrivacy(t)
}

// TestAsteriskRestartWhileIdle: Asterisk restarts while no call is up; the
// daemon reconnects by itself and the next call works.
func TestAsteriskRestartWhileIdle(t *testing.T) {
	h := newHotline(t)
	_, s := h.volunteer(t)
	h.a.stop()
	h.d.waitARI("disconnected", 30*time.Second)
	h.a.start()
	h.a.checkStartLog()
	t.Logf("the daemon reconnected %d ms after Asterisk answered ARI again", h.d.waitARI("connected", 30*time.Second).Milliseconds())

	c := dial(t, h.a)
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	talk(t, s, c, ring.CallID)
	c.hangUp()
	s.next(10*time.Second, "call:ended", is("call:ended", ring.CallID))
	c.wait(30 * time.Second)
	ringLatency(t, c, ring)
	h.a.waitEmpty(10 * time.Second)
	h.checkPrivacy(t)
}

// ringingCall waits until the admin's view shows a call ringing and
// returns its id.
func ringingCall(t *testing.T, admin *socket) string {
	t.Helper()
	m := admin.next(30*time.Second, "a ringing call", func(m message) bool {
		return m.Type == "calls:active" && len(m.Calls) == 1 && m.Calls[0].State == "ringing"
	})
	return m.Calls[0].CallID
}

// awaitLateRing waits for the ring of callID on a socket that connected
// while the call was already ringing. Without it the test fails but goes
// on: the daemon did ring the volunteer (to no socket), so they may still
// answer, and the rest of the call is checked.
func awaitLateRing(t *testing.T, s *socket, callID string) {
	t.Helper()
	connected := time.Now()
	// Longer than the engine's periodic re-read of who to ring (15 s).
	ring, err := s.try(20*time.Second, "ring for the call that was already ringing when the browser connected", rung(callID))
	if err != nil {
		t.Errorf("%v: a volunteer whose browser connects during a ring is not rung; answering it from the admin's view of the calls", err)
		return
	}
	t.Logf("rung %d ms after the browser connected", ring.at.Sub(connected).Milliseconds())
}

// TestLateBrowser: a volunteer who is available but whose browser connects
// only while a call is already ringing is rung on connecting, and can take
// the call.
func TestLateBrowser(t *testing.T) {
	h := newHotline(t)
	admin := h.admin.connect()
	v := invite(t, h.d, h.admin)
	v.setAvailable(true) // available, but no browser open yet

	c := dial(t, h.a)
	callID := ringingCall(t, admin)
	s := v.connect()
	awaitLateRing(t, s, callID)
	talk(t, s, c, callID)
	h.callerHangsUp(t, s, c, callID)
	h.checkPrivacy(t)
}

// TestDaemonKilledMidRing: the daemon is killed (SIGKILL) while a call
// rings, during the greeting; the caller stays on hold in Asterisk, and the
// restarted daemon stops the greeting the dead one started, re-queues the
// caller and rings the volunteer again, whose browser reconnects after
// that, and who takes the call. The greeting is made to last 18 s here, so
// that one left playing would hold up the caller hearing the volunteer.
func TestDaemonKilledMidRing(t *testing.T) {
	h := newHotline(t)
	h.a.lengthenSound("llamenos/greeting", 3)
	v, s := h.volunteer(t)
	c := dial(t, h.a)
	first := s.next(30*time.Second, "ring", is("ring", ""))

	h.d.kill()
	if n := h.a.channelCount(); n != 1 {
		t.Fatalf("Asterisk holds %d channels after the daemon died, want the caller's", n)
	}
	restarted := time.Now()
	h.d.start()
	// The admin's view shows the caller ringing again; the volunteer's
	// browser reconnects after that, as the app's does after a restart.
	callID := ringingCall(t, h.admin.connect())
	t.Logf("the caller was re-queued %d ms after the daemon was started again (call %s, was %s)",
		time.Since(restarted).Milliseconds(), callID, first.CallID)
	s = v.connect()
	awaitLateRing(t, s, callID)
	talk(t, s, c, callID)
	h.callerHangsUp(t, s, c, callID)
	h.checkPrivacy(t)
}

// TestDaemonKilledMidCall: the daemon is killed (SIGKILL) while a caller
// and a volunteer talk. The caller stays in Asterisk; the restarted daemon
// clears what the dead one left, puts the caller on hold music, marks the
// interrupted call as ended for the volunteer's page, and rings the
// volunteer again, who takes the call: both hear each other again.
func TestDaemonKilledMidCall(t *testing.T) {
	h := newHotline(t)
	v, s := h.volunteer(t)
	c := dial(t, h.a)
	first := s.next(30*time.Second, "ring", is("ring", ""))
	b := talk(t, s, c, first.CallID)

	h.d.kill()
	b.Close()
	restarted := time.Now()
	h.d.start()
	callID := ringingCall(t, h.admin.connect())
	t.Logf("the caller was re-queued %d ms after the daemon was started again", time.Since(restarted).Milliseconds())
	if n := h.a.channelCount(); n != 1 {
		t.Errorf("Asterisk holds %d channels after the re-queue, want only the caller's", n)
	}
	// While nobody has answered yet, the caller hears hold music.
	music := c.waitHeard(restarted, 2*time.Second, 20*time.Second)
	if level := dbfs(audiotest.RMS(music)); level < -40 {
		t.Errorf("while re-queued the caller hears %.1f dBFS, want hold music", level)
	}

	// The volunteer's page reconnects: the call it shows is over, and the
	// caller rings again.
	s = v.connect()
	hello := s.next(10*time.Second, "hello", is("hello", ""))
	if hello.Call != nil && hello.Call.CallID == first.CallID {
		t.Errorf("after the restart the volunteer's page is told the interrupted call %s is still on", first.CallID)
	}
	if rung(callID)(hello) {
		t.Log("rung in the hello of the reconnected page")
	} else {
		awaitLateRing(t, s, callID)
	}
	talk(t, s, c, callID)
	h.callerHangsUp(t, s, c, callID)
	h.waitOutcomes(t, "answered", "failed")
	h.checkPrivacy(t)
}

// TestAsteriskRestartMidCall: Asterisk stops while a caller and a volunteer
// talk. The volunteer's page is told the call was lost (not that the
// caller hung up), the record says so, and once Asterisk is back the daemon
// reconnects and the next call works.
func TestAsteriskRestartMidCall(t *testing.T) {
	h := newHotline(t)
	_, s := h.volunteer(t)
	c := dial(t, h.a)
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	b := talk(t, s, c, ring.CallID)

	h.a.stop()
	if m := s.next(30*time.Second, "call:ended", is("call:ended", ring.CallID)); m.Reason != "caller-lost" {
		t.Errorf("call:ended reason %q when Asterisk stopped, want caller-lost", m.Reason)
	}
	b.Close()
	h.d.waitARI("disconnected", 30*time.Second)
	select {
	case <-c.ended: // Asterisk said BYE on its way down
	default:
		c.hangUp() // SIPp's BYE gets no answer; it gives up by itself
	}
	h.a.start()
	h.a.checkStartLog()
	t.Logf("the daemon reconnected %d ms after Asterisk answered ARI again", h.d.waitARI("connected", 30*time.Second).Milliseconds())

	c2 := dial(t, h.a)
	ring = s.next(30*time.Second, "ring", is("ring", ""))
	talk(t, s, c2, ring.CallID)
	c2.hangUp()
	s.next(10*time.Second, "call:ended", is("call:ended", ring.CallID))
	c2.wait(30 * time.Second)
	ringLatency(t, c2, ring)
	h.a.waitEmpty(10 * time.Second)
	h.checkPrivacy(t)
}

// TestAnswerDuringHoldMusic: a call answered after the greeting, while the
// caller hears music on hold: the music stops and the two hear each other.
func TestAnswerDuringHoldMusic(t *testing.T) {
	h := newHotline(t)
	_, s := h.volunteer(t)
	c := dial(t, h.a)
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	// The greeting, then a second of music.
	greeting := h.a.soundDuration("llamenos/greeting")
	c.waitHeard(time.Time{}, greeting+time.Second, greeting+20*time.Second)
	talk(t, s, c, ring.CallID)
	h.callerHangsUp(t, s, c, ring.CallID)
	h.checkPrivacy(t)
}
