package hotline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/leakcheck"
	"llamenos/rtc"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// answerAndConnect rings pk, answers and brings the browser up with audio
// both ways, failing t (the subtest) if it cannot. pk's previous call may still be winding down (the engine tells
// the volunteer it ended before it writes the record and frees them), so
// it first waits for pk to be free: a call placed before would not ring
// them.
func (h *harness) answerAndConnect(t testing.TB, r *runningEngine, number, pk string) (string, *rtctest.Browser, func() []int16) {
	t.Helper()
	rtctest.WaitFor(t, 10*time.Second, "the volunteer to be off their last call", func() bool { return !r.eng.OnCall(pk) })
	call := h.place(number, audio.NewTone(audio.SampleRate, 0.3, 440))
	before := h.rings()
	var id string
	rtctest.WaitFor(t, 10*time.Second, "ring", func() bool {
		ids := h.rings()
		if len(ids) > len(before) {
			id = ids[len(ids)-1]
			return true
		}
		return false
	})
	if err := r.eng.Answer(context.Background(), id, pk); err != nil {
		t.Fatal(err)
	}
	br := h.connectBrowser(r.eng, id, pk)
	br.Play(audio.NewTone(audio.SampleRate, 0.3, 1000))
	hears(t, 15*time.Second, "the caller to hear the volunteer", 1000, call.Heard)
	hears(t, 15*time.Second, "the volunteer to hear the caller", 440, br.Heard)
	// The connected browser stopped the connect timeout (and the media
	// channel's): nothing is left to fire when the test moves the clock.
	h.clock.waitTimers(t, "the connect timeout to stop", func(ds []time.Duration) bool {
		return !slices.Contains(ds, r.eng.cfg.ConnectTimeout) && !slices.Contains(ds, mediaStartTimeout)
	})
	h.lastCall = call
	return id, br, call.Heard
}

func TestBrowserLost(t *testing.T) {
	const grace, connect = 12 * time.Second, 25 * time.Second
	h := newHarness(t, harnessOpts{
		cfg: Config{BrowserGrace: grace},
		rtcConfig: func(c *rtc.Config) {
			c.DisconnectedTimeout, c.FailedTimeout, c.KeepaliveInterval = time.Second, 3*time.Second, 200*time.Millisecond
		},
	})
	t.Cleanup(func() { dumpLogs(t, h) })
	a := h.onShift(1)[0]
	r := h.start()

	t.Run("socket closes during the grace", func(t *testing.T) {
		id, br, _ := h.answerAndConnect(t, r, "+15553330001", a)
		call := h.lastCall
		br.Close()
		h.clock.waitArmed(t, grace, "the browser grace, started by the relay")
		h.clock.Advance(grace / 2)
		r.eng.BrowserGone(a)
		if !h.live(r, id) {
			t.Fatal("the call ended halfway through the grace")
		}
		// The socket closing does not start the grace over.
		h.clock.Advance(grace/2 - time.Millisecond)
		if !h.live(r, id) {
			t.Fatalf("the call ended before the %v grace ran out", grace)
		}
		h.clock.Advance(time.Millisecond)
		waitDone(t, call, 10*time.Second, "the caller to be hung up after the grace")
		h.n.wait(t, time.Second, "ended", isNote("ended", id, a, EndBrowserLost))
		if p := call.Played(); len(p) == 0 || p[len(p)-1] != "sound:llamenos/error" {
			t.Errorf("caller heard %v, want the error prompt last", p)
		}
		h.waitEmpty(5 * time.Second)
	})

	t.Run("peer gone, the relay notices", func(t *testing.T) {
		id, br, _ := h.answerAndConnect(t, r, "+15553330002", a)
		call := h.lastCall
		br.Close() // no BrowserGone: only the relay's connection state tells
		h.clock.waitArmed(t, grace, "the browser grace, started by the relay")
		h.clock.Advance(grace)
		waitDone(t, call, 10*time.Second, "the caller to be hung up")
		h.n.wait(t, time.Second, "ended", isNote("ended", id, a, EndBrowserLost))
		h.waitEmpty(5 * time.Second)
	})

	t.Run("socket closed but audio flows", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330003", a)
		call := h.lastCall
		r.eng.BrowserGone(a)
		h.clock.waitArmed(t, grace, "the browser grace")
		h.clock.Advance(grace)
		// The hangup is handled after the grace timer: it finds the call
		// still up because the volunteer's audio kept arriving.
		if err := r.eng.Hangup(context.Background(), id, a); err != nil {
			t.Fatalf("hangup after the grace ran out: %v (the call ended although the volunteer's audio still flowed)", err)
		}
		waitDone(t, call, 5*time.Second, "hangup")
		h.n.wait(t, time.Second, "ended", isNote("ended", id, a, EndVolunteerHungUp))
		h.waitEmpty(5 * time.Second)
	})

	t.Run("never offers", func(t *testing.T) {
		h2 := newHarness(t, harnessOpts{cfg: Config{ConnectTimeout: connect}})
		b := h2.volunteer(store.RoleVolunteer, true).Public().String()
		h2.shift(b)
		r2 := h2.start()
		call := h2.place("+15553330004", nil)
		id := h2.n.wait(t, 10*time.Second, "ring", isRing("", b)).callID
		if err := r2.eng.Answer(context.Background(), id, b); err != nil {
			t.Fatal(err)
		}
		// Once the media channel is up only the connect timeout is left.
		h2.clock.waitTimers(t, "the connect timeout alone", func(ds []time.Duration) bool {
			return slices.Equal(ds, []time.Duration{connect})
		})
		h2.clock.Advance(connect - time.Millisecond)
		if !h2.live(r2, id) {
			t.Fatalf("the call ended before the %v connect timeout ran out", connect)
		}
		h2.clock.Advance(time.Millisecond)
		waitDone(t, call, 10*time.Second, "the caller to be hung up when no browser connects")
		h2.n.wait(t, time.Second, "ended", isNote("ended", id, b, EndBrowserLost))
		h2.waitEmpty(5 * time.Second)
	})
}

func TestARIReconnectMidCall(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	t.Cleanup(func() { dumpLogs(t, h) })
	a := h.onShift(1)[0]
	r := h.start()

	t.Run("socket back, call goes on", func(t *testing.T) {
		id, br, heard := h.answerAndConnect(t, r, "+15553330010", a)
		call := h.lastCall
		before := r.cl.Stats().Reconnects
		h.sim.DropEvents()
		rtctest.WaitFor(t, 10*time.Second, "the events socket to reconnect", func() bool { return r.cl.Stats().Reconnects > before && r.cl.Connected() })
		// Media never depended on the socket: both directions still flow.
		rx := len(br.Heard())
		rtctest.WaitFor(t, 10*time.Second, "more caller audio after the reconnect", func() bool { return len(br.Heard()) > rx+8000 })
		hears(t, 10*time.Second, "the caller still hears the volunteer", 1000, heard)
		call.Hangup()
		h.n.wait(t, 10*time.Second, "ended", isNote("ended", id, a, EndCallerHungUp))
		h.waitEmpty(10 * time.Second)
	})

	t.Run("caller hangs up while the socket is down", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330011", a)
		call := h.lastCall
		h.sim.DropEvents()
		missed := h.sim.MissedEvents()
		call.Hangup() // its events go nowhere while the app has no socket
		// A hangup the daemon did not hear is not known to be the caller's:
		// the resync finds the channel gone and says the line was lost.
		want := EndCallerLost
		if h.sim.MissedEvents() == missed {
			t.Log("the client reconnected before the hangup; the events arrived normally")
			want = EndCallerHungUp
		}
		h.n.wait(t, 10*time.Second, "ended after the resync", isNote("ended", id, a, want))
		h.waitEmpty(10 * time.Second)
		rtctest.WaitFor(t, 5*time.Second, "final record", func() bool { return h.record(id).Outcome == store.OutcomeAnswered })
	})
}

// TestCallerLineLost: when Asterisk, not the caller, ends the caller's
// line (it stops, or restarts and the channel is simply gone), the
// volunteer is told the line was lost, not that the caller hung up.
func TestCallerLineLost(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	t.Cleanup(func() { dumpLogs(t, h) })
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()

	t.Run("Asterisk stops", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330050", a)
		waiting := h.place("+15553330051", nil)
		waitingID := h.n.wait(t, 10*time.Second, "second call rings", func(n note) bool { return isRing("", b)(n) && n.callID != id }).callID
		h.sim.Shutdown()
		h.n.wait(t, 10*time.Second, "ended", isNote("ended", id, a, ""))
		if n, _ := h.n.find(isNote("ended", id, a, "")); n.reason != EndCallerLost {
			t.Errorf("the volunteer was told %q, want %q", n.reason, EndCallerLost)
		}
		waitDone(t, waiting, 10*time.Second, "the waiting caller's channel to go")
		h.n.wait(t, 10*time.Second, "ring stop", isStop(waitingID, b, ""))
		if n, _ := h.n.find(isStop(waitingID, b, "")); n.reason != RingStopEnded {
			t.Errorf("the ring stopped with %q, want %q", n.reason, RingStopEnded)
		}
		h.waitEmpty(10 * time.Second)
		rtctest.WaitFor(t, 5*time.Second, "final records", func() bool {
			return h.record(id).Outcome == store.OutcomeAnswered && h.record(waitingID).Outcome == store.OutcomeFailed
		})
	})

	// A stopping Asterisk may finish the media channel before it reaches
	// the caller's: the call waits for the caller's line instead of calling
	// it a media failure.
	t.Run("Asterisk stops, the media channel first", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330054", a)
		h.sim.Shutdown(mediaChannel(t, h))
		h.n.wait(t, 10*time.Second, "ended", isNote("ended", id, a, ""))
		if n, _ := h.n.find(isNote("ended", id, a, "")); n.reason != EndCallerLost {
			t.Errorf("the volunteer was told %q, want %q", n.reason, EndCallerLost)
		}
		h.waitEmpty(10 * time.Second)
		rtctest.WaitFor(t, 5*time.Second, "final record", func() bool { return h.record(id).Outcome == store.OutcomeAnswered })
	})

	// Asterisk hangs up the media channel alone (a CLI command, or the
	// channel failing): after mediaCutWait that is a media failure, and the
	// caller hears the error prompt.
	t.Run("Asterisk hangs up the media channel alone", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330055", a)
		call := h.lastCall
		if err := r.cl.Hangup(context.Background(), mediaChannel(t, h), ari.ReasonNormal); err != nil {
			t.Fatal(err)
		}
		h.clock.waitArmed(t, mediaCutWait, "the wait for the caller's line")
		if _, ok := h.n.find(isNote("ended", id, a, "")); ok {
			t.Fatal("the call ended before the wait for the caller's line was over")
		}
		h.clock.Advance(mediaCutWait)
		h.n.wait(t, 10*time.Second, "ended", isNote("ended", id, a, EndError))
		waitDone(t, call, 10*time.Second, "caller hung up after the prompt")
		if p := call.Played(); len(p) == 0 || p[len(p)-1] != "sound:llamenos/error" {
			t.Errorf("caller heard %v, want the error prompt last", p)
		}
		h.waitEmpty(10 * time.Second)
	})

	t.Run("Asterisk restarts", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330052", a)
		h.sim.Restart()
		h.n.wait(t, 10*time.Second, "ended after the resync", isNote("ended", id, a, ""))
		if n, _ := h.n.find(isNote("ended", id, a, "")); n.reason != EndCallerLost {
			t.Errorf("the volunteer was told %q, want %q", n.reason, EndCallerLost)
		}
		rtctest.WaitFor(t, 5*time.Second, "final record", func() bool { return h.record(id).Outcome == store.OutcomeAnswered })
	})

	t.Run("the caller hangs up", func(t *testing.T) {
		id, _, _ := h.answerAndConnect(t, r, "+15553330053", a)
		h.lastCall.Hangup()
		h.n.wait(t, 10*time.Second, "ended", isNote("ended", id, a, EndCallerHungUp))
	})
}

// TestDaemonRestart: a daemon dies with calls in the app; the next one
// leaves nothing orphaned and re-queues the callers.
func TestDaemonRestart(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	t.Cleanup(func() { dumpLogs(t, h) })
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r1 := h.start()
	talking, _, _ := h.answerAndConnect(t, r1, "+15553330020", a)
	callA := h.lastCall
	waiting := h.place("+15553330021", nil)
	waitingID := h.n.wait(t, 10*time.Second, "second call rings", func(n note) bool { return n.kind == "ring" && n.callID != talking }).callID

	// A record a crashed run left in progress.
	staleID, _ := store.NewID()
	h.update(func(tx *store.Tx) error {
		_, err := tx.PutCall(store.Call{ID: staleID, StartedAt: time.Now().Add(-time.Hour), Outcome: store.OutcomeInProgress})
		return err
	})

	// Crash: Asterisk hears nothing more from the daemon.
	r1.transport.cut.Store(true)
	h.stop(r1)
	if ch, br := h.sim.Channels(), h.sim.Bridges(); len(ch) != 3 || len(br) != 1 {
		t.Fatalf("after the crash the simulator holds %d channels and %d bridges, want 3 and 1", len(ch), len(br))
	}

	r2 := h.start()
	rtctest.WaitFor(t, 10*time.Second, "orphans cleaned up", func() bool {
		chans := h.sim.Channels()
		if len(h.sim.Bridges()) != 0 || len(chans) != 2 {
			return false
		}
		for _, c := range chans {
			if c.Technology() != "PJSIP" {
				return false
			}
		}
		return true
	})
	// Both callers are back in the queue as new calls.
	var requeued []string
	rtctest.WaitFor(t, 10*time.Second, "both callers re-queued", func() bool {
		requeued = requeued[:0]
		for _, id := range h.rings() {
			if id != talking && id != waitingID {
				requeued = append(requeued, id)
			}
		}
		return len(requeued) == 2
	})
	// The interrupted call is over, with an end: a page that still shows it
	// learns it ended from the record.
	if rec := h.record(staleID); rec.Outcome != store.OutcomeFailed || rec.EndedAt.IsZero() {
		t.Errorf("interrupted record: outcome %s, ended at %v; want failed with an end time", rec.Outcome, rec.EndedAt)
	}
	if p := callA.Played(); len(p) == 0 || p[len(p)-1] != "moh:default" {
		t.Errorf("the re-queued caller hears %v, want hold music", p)
	}
	// One of them is answered by the new daemon; then everyone hangs up.
	if err := r2.eng.Answer(context.Background(), requeued[0], b); err != nil {
		t.Fatal(err)
	}
	callA.Hangup()
	waiting.Hangup()
	h.waitEmpty(10 * time.Second)
	rtctest.WaitFor(t, 5*time.Second, "no active calls", func() bool { return len(r2.eng.Active()) == 0 })
}

// TestRestartStopsTheDeadRunsPrompt: a daemon killed while its greeting
// plays leaves the playback running in Asterisk, where it would hold up
// everything else on the caller's channel; the run that adopts the caller
// stops it.
func TestRestartStopsTheDeadRunsPrompt(t *testing.T) {
	h := newHarness(t, harnessOpts{simOpts: aritest.Options{
		SoundDurations: map[string]time.Duration{"llamenos/greeting": time.Hour},
	}})
	t.Cleanup(func() { dumpLogs(t, h) })
	h.onShift(1)
	r1 := h.start()
	caller := h.place("+15553330040", nil)
	first := h.n.wait(t, 10*time.Second, "ring", func(n note) bool { return n.kind == "ring" }).callID
	// The ring and the greeting start together.
	rtctest.WaitFor(t, 10*time.Second, "the greeting playing", func() bool { return caller.Playing() == "sound:llamenos/greeting" })

	r1.transport.cut.Store(true)
	h.stop(r1)
	if p := caller.Playing(); p != "sound:llamenos/greeting" {
		t.Fatalf("after the crash the caller hears %q, want the greeting still", p)
	}

	h.start()
	rtctest.WaitFor(t, 10*time.Second, "the caller re-queued", func() bool {
		return slices.ContainsFunc(h.rings(), func(id string) bool { return id != first })
	})
	rtctest.WaitFor(t, 10*time.Second, "the dead run's greeting stopped", func() bool { return caller.Playing() == "" })
	if p := caller.Played(); p[len(p)-1] != "moh:default" {
		t.Errorf("the re-queued caller hears %v, want hold music", p)
	}
	caller.Hangup()
	h.waitEmpty(10 * time.Second)
}

// TestShutdownLeavesNothing: a clean stop hangs everything up.
func TestShutdownLeavesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()
	id, _, _ := h.answerAndConnect(t, r, "+15553330030", a)
	waiting := h.place("+15553330031", nil)
	waitingID := h.n.wait(t, 10*time.Second, "ring", func(n note) bool { return n.kind == "ring" && n.callID != id }).callID
	h.stop(r)
	h.waitEmpty(5 * time.Second)
	waitDone(t, waiting, time.Second, "waiting caller hung up")
	h.n.wait(t, time.Second, "ended", isNote("ended", id, a, EndError))
	h.n.wait(t, time.Second, "ring stop", isStop(waitingID, b, RingStopEnded))
	if rec := h.record(waitingID); rec.Outcome != store.OutcomeFailed || rec.EndedAt.IsZero() {
		t.Errorf("waiting call record: %s", rec.Outcome)
	}
	if err := r.eng.Answer(context.Background(), waitingID, b); err != ErrNoCall {
		t.Errorf("answer after shutdown: %v", err)
	}
}

// TestARIErrorsTearDownCleanly: a REST failure while setting up media ends
// the call with the error prompt and leaves nothing behind.
func TestARIErrorsTearDownCleanly(t *testing.T) {
	h := newHarness(t, harnessOpts{hook: func(r *http.Request, resp *http.Response) *http.Response {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/channels/externalMedia") {
			resp.Body.Close()
			return ariError(r, http.StatusInternalServerError, "Failed to create RTP channel")
		}
		return resp
	}})
	t.Cleanup(func() { dumpLogs(t, h) })
	a := h.onShift(1)[0]
	r := h.start()
	call := h.place("+15553330040", nil)
	id := h.n.wait(t, 10*time.Second, "ring", isRing("", a)).callID
	if err := r.eng.Answer(context.Background(), id, a); err != nil {
		t.Fatal(err)
	}
	h.n.wait(t, 5*time.Second, "ended", isNote("ended", id, a, EndError))
	waitDone(t, call, 10*time.Second, "caller hung up")
	if p := call.Played(); len(p) == 0 || p[len(p)-1] != "sound:llamenos/error" {
		t.Errorf("caller heard %v, want the error prompt last", p)
	}
	h.waitEmpty(5 * time.Second)
	rtctest.WaitFor(t, 5*time.Second, "the volunteer to be off the call", func() bool { return !r.eng.OnCall(a) })
}

// TestMissingChannelVars: without UNICASTRTP_* in the externalMedia answer
// or as variables, the relay learns Asterisk's address from its packets.
func TestMissingChannelVars(t *testing.T) {
	h := newHarness(t, harnessOpts{hook: func(r *http.Request, resp *http.Response) *http.Response {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/channels/externalMedia"):
			var ch ari.Channel
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if json.Unmarshal(body, &ch) == nil {
				ch.ChannelVars = nil
				body, _ = json.Marshal(ch)
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/variable"):
			resp.Body.Close()
			return ariError(r, http.StatusNotFound, "Provided variable was not found")
		}
		return resp
	}})
	t.Cleanup(func() { dumpLogs(t, h) })
	a := h.onShift(1)[0]
	r := h.start()
	id, _, _ := h.answerAndConnect(t, r, "+15553330050", a) // asserts audio both ways
	if err := r.eng.Hangup(context.Background(), id, a); err != nil {
		t.Fatal(err)
	}
	h.waitEmpty(10 * time.Second)
}

// TestNoGoroutineLeak: once Run has returned and the daemon's parts are
// closed, nothing the calls started is left running.
func TestNoGoroutineLeak(t *testing.T) {
	leakcheck.Check(t)
	h := newHarness(t, harnessOpts{})
	a := h.onShift(2)[0] // and one more on shift, rung for the waiting call
	r := h.start()
	id, br, _ := h.answerAndConnect(t, r, "+15553330060", a)
	h.place("+15553330061", nil)
	h.n.wait(t, 10*time.Second, "ring", func(n note) bool { return n.kind == "ring" && n.callID != id })
	h.stop(r)
	br.Close()
}

// TestPanicInCallIsContained: a bug in one call tears that call down and
// leaves the daemon serving the next.
func TestPanicInCallIsContained(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a := h.onShift(1)[0]
	h.start()
	h.n.panicOnRing.Store(true)
	call := h.place("+15553330070", nil)
	waitDone(t, call, 10*time.Second, "the caller of the broken call hung up")
	h.waitEmpty(5 * time.Second)
	if !strings.Contains(h.logs.String(), "call goroutine panicked") {
		t.Error("the panic was not logged")
	}
	next := h.place("+15553330071", nil)
	h.n.wait(t, 10*time.Second, "the next call rings", isRing("", a))
	next.Hangup()
	h.waitEmpty(5 * time.Second)
}

// mediaChannel is the id of the one externalMedia channel in the
// simulator.
func mediaChannel(t *testing.T, h *harness) string {
	t.Helper()
	var ids []string
	for _, ch := range h.sim.Channels() {
		if strings.HasPrefix(ch.Name, "UnicastRTP/") {
			ids = append(ids, ch.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("externalMedia channels %v, want one", ids)
	}
	return ids[0]
}
