package hotline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/rtc"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// TestCallEndToEnd is issue 6's end-to-end scenario in Go: a caller with a
// 440 Hz tone, two volunteers rung, A answers, B's ring stops, audio both
// ways through externalMedia ⇄ relay ⇄ Pion, the caller hangs up and
// nothing is left behind.
func TestCallEndToEnd(t *testing.T) {
	relayed := make(chan rtc.Stats, 2)
	h := newHarness(t, harnessOpts{relayed: func(st rtc.Stats) { relayed <- st }})
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()

	const number = "+15557654321"
	call := h.place(number, audio.NewTone(audio.SampleRate, 0.3, 440))

	ringA := h.n.wait(t, 10*time.Second, "A rung", isRing("", a))
	callID := ringA.callID
	h.n.wait(t, 10*time.Second, "B rung", isRing(callID, b))
	if err := store.ValidID(callID); err != nil {
		t.Fatalf("call id %q: %v", callID, err)
	}
	// The ring carries the call id and times only; none of it may carry a
	// run of the caller's digits.
	for _, n := range h.n.all() {
		if n.kind != "ring" {
			continue
		}
		payload, _ := json.Marshal(map[string]any{"callId": n.callID, "startedAt": n.startedAt, "ringAt": n.ringAt})
		if run := digitRun(string(payload), number, 5); run != "" {
			t.Fatalf("ring payload %s contains %q from the caller's number", payload, run)
		}
	}
	if active := r.eng.Active(); len(active) != 1 || active[0].State != StateRinging || active[0].CallID != callID {
		t.Fatalf("Active while ringing = %+v", active)
	}

	const wait, talk = 7 * time.Second, 3 * time.Minute
	h.clock.Advance(wait)
	ctx := context.Background()
	if err := r.eng.Answer(ctx, callID, a); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	answered := time.Now()
	stop := h.n.wait(t, 5*time.Second, "B's ring to stop", isStop(callID, b, RingStopAnsweredElsewhere))
	if lag := stop.at.Sub(answered); lag > 500*time.Millisecond {
		t.Errorf("B's ring stopped %v after the answer, want < 500 ms", lag)
	}
	t.Logf("B's ring stopped %v after A's answer returned", stop.at.Sub(answered))
	if _, rang := h.n.find(isStop(callID, a, RingStopAnsweredElsewhere)); rang {
		t.Error("the winner got answered-elsewhere")
	}

	br := h.connectBrowser(r.eng, callID, a)
	br.Play(audio.NewTone(audio.SampleRate, 0.3, 1000))
	hears(t, 15*time.Second, "A's browser to hear the caller's 440 Hz", 440, br.Heard)
	hears(t, 15*time.Second, "the caller to hear A's 1 kHz", 1000, call.Heard)
	if !r.eng.OnCall(a) || r.eng.OnCall(b) {
		t.Errorf("OnCall(a)=%v OnCall(b)=%v, want true false", r.eng.OnCall(a), r.eng.OnCall(b))
	}
	if active := r.eng.Active(); len(active) != 1 || active[0].State != StateConnected || active[0].AnsweredBy != a {
		t.Fatalf("Active while connected = %+v", active)
	}
	rec := h.record(callID)
	if rec.Outcome != store.OutcomeInProgress || rec.AnsweredBy != a {
		t.Errorf("live record = %s by %s, want in_progress by A (notes need it)", rec.Outcome, rec.AnsweredBy)
	}
	if rec.CallerHash.IsZero() {
		t.Error("the record written at the answer, inside the rate-limit window, has no caller hash")
	}

	// Once connected no call timer is left to fire while the clock moves.
	h.clock.waitTimers(t, "no call timer", func(ds []time.Duration) bool { return len(ds) == 0 })
	h.clock.Advance(talk)
	call.Hangup()
	h.n.wait(t, 10*time.Second, "A's call to end", isNote("ended", callID, a, EndCallerHungUp))
	h.waitEmpty(10 * time.Second)
	rtctest.WaitFor(t, 5*time.Second, "the final record", func() bool { return h.record(callID).Outcome == store.OutcomeAnswered })
	rec = h.record(callID)
	if rec.QueueWait != wait || rec.Duration != talk || rec.AnsweredBy != a || rec.EndedAt.IsZero() {
		t.Errorf("record: wait %v, duration %v, by %s, ended %v", rec.QueueWait, rec.Duration, rec.AnsweredBy, rec.EndedAt)
	}
	t.Logf("record: queue wait %v, duration %v", rec.QueueWait, rec.Duration)
	if !rec.CallerHash.IsZero() {
		t.Error("the final record of a call longer than the rate-limit window brought the caller hash back")
	}
	pt, err := e2eetest.Open(rec.CallerNumber, e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: callID, ItemID: "caller"}, h.admin)
	if err != nil || string(pt) != number {
		t.Errorf("admin opens the caller number: %q, %v", pt, err)
	}
	rtctest.WaitFor(t, 5*time.Second, "A to be off the call", func() bool { return !r.eng.OnCall(a) && len(r.eng.Active()) == 0 })

	h.stop(r)
	logs := h.logs.String()
	for _, s := range []string{number, number[1:], number[2:], "7654321"} {
		if strings.Contains(logs, s) {
			t.Fatalf("the logs contain %q from the caller's number", s)
		}
	}
	if !strings.Contains(logs, callID) {
		t.Fatal("the log capture is not working: no line names the call")
	}
	// The call's last line says what its relay carried.
	var ended string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="call ended"`) && strings.Contains(l, callID) {
			ended = l
		}
	}
	var from, to, dropped int
	for _, f := range strings.Fields(ended) {
		fmt.Sscanf(f, "audio.from_browser=%d", &from)
		fmt.Sscanf(f, "audio.to_asterisk=%d", &to)
		fmt.Sscanf(f, "audio.pacer_dropped=%d", &dropped)
	}
	if from < 10 || to+dropped > from || to < from-5 {
		t.Errorf("call ended line %q: want the relay's counts: packets from the browser (the caller heard them), nearly all sent on to Asterisk", ended)
	}
	// The same counts went to the metrics, once.
	select {
	case st := <-relayed:
		if int(st.FromBrowser.Packets) != from || int(st.ToAsterisk.Packets) != to || len(relayed) != 0 {
			t.Errorf("Relayed got %d from the browser and %d to Asterisk (and %d more calls), the log %d and %d", st.FromBrowser.Packets, st.ToAsterisk.Packets, len(relayed), from, to)
		}
	default:
		t.Error("Relayed was not called for the answered call")
	}
}

// digitRun returns the first run of n consecutive digits of number found in
// s, or "".
func digitRun(s, number string, n int) string {
	digits := strings.TrimPrefix(number, "+")
	for i := 0; i+n <= len(digits); i++ {
		if strings.Contains(s, digits[i:i+n]) {
			return digits[i : i+n]
		}
	}
	return ""
}

// TestAnswerRace: 100 volunteers, all rung, answer at once; exactly one wins.
func TestAnswerRace(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	pks := h.volunteers(100)
	h.shift(pks...)
	r := h.start()
	call := h.place("+15551110000", nil)
	var rung map[string]bool
	var callID string
	rtctest.WaitFor(t, 10*time.Second, "all 100 rung", func() bool {
		rung = map[string]bool{}
		for _, n := range h.n.all() {
			if n.kind == "ring" {
				callID = n.callID
				for _, pk := range n.pubkeys {
					rung[pk] = true
				}
			}
		}
		return len(rung) == 100
	})

	errs := make([]error, len(pks))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, pk := range pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = r.eng.Answer(context.Background(), callID, pk)
		}()
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Fatalf("two winners: %s and %s", winner, pks[i])
			}
			winner = pks[i]
		case !errors.Is(err, ErrAlreadyAnswered):
			t.Errorf("answer %d: %v, want ErrAlreadyAnswered", i, err)
		}
	}
	if winner == "" {
		t.Fatal("nobody won")
	}
	stop := h.n.wait(t, 5*time.Second, "the losers' ring stop", func(n note) bool {
		return n.kind == "stop" && n.callID == callID && n.reason == RingStopAnsweredElsewhere
	})
	if len(stop.pubkeys) != 99 || slices.Contains(stop.pubkeys, winner) {
		t.Errorf("answered-elsewhere went to %d volunteers (winner included: %v)", len(stop.pubkeys), slices.Contains(stop.pubkeys, winner))
	}
	// A late answer and the winner's hangup.
	if err := r.eng.Answer(context.Background(), callID, pks[0]); !errors.Is(err, ErrAlreadyAnswered) && pks[0] != winner {
		t.Errorf("late answer: %v", err)
	}
	loser := pks[0]
	if loser == winner {
		loser = pks[1]
	}
	if err := r.eng.Hangup(context.Background(), callID, loser); !errors.Is(err, ErrNotRung) {
		t.Errorf("hangup by a loser: %v, want an ErrNotRung refusal", err)
	}
	if err := r.eng.Hangup(context.Background(), callID, winner); err != nil {
		t.Fatalf("hangup by the winner: %v", err)
	}
	h.n.wait(t, 5*time.Second, "Ended", isNote("ended", callID, winner, EndVolunteerHungUp))
	waitDone(t, call, 10*time.Second, "the caller to be hung up")
	h.waitEmpty(10 * time.Second)
	if err := r.eng.Answer(context.Background(), callID, winner); !errors.Is(err, ErrNoCall) {
		t.Errorf("answer after the end: %v, want ErrNoCall", err)
	}
}
