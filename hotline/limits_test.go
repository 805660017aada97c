package hotline

import (
	"context"
	"slices"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// TestMaxCallsTurnsAwayTheNextCaller: with MaxCalls calls live, the next
// caller hears that nobody is available and is hung up, the live calls
// carry on untouched, and once one of them ends a new caller is taken
// again.
func TestMaxCallsTurnsAwayTheNextCaller(t *testing.T) {
	const max = 2
	h := newHarness(t, harnessOpts{cfg: Config{MaxCalls: max}})
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()
	t.Cleanup(func() { dumpLogs(t, h) })
	ctx := context.Background()

	// Call 1 is answered by a, call 2 rings b.
	c1 := h.place("+15552230001", nil)
	id1 := h.n.wait(t, 10*time.Second, "call 1 rung", isRing("", a)).callID
	if err := r.eng.Answer(ctx, id1, a); err != nil {
		t.Fatal(err)
	}
	h.n.wait(t, 10*time.Second, "call 1 connected", isNote("connected", id1, a, ""))
	c2 := h.place("+15552230002", nil)
	id2 := h.n.wait(t, 10*time.Second, "call 2 rung", func(n note) bool { return n.kind == "ring" && n.callID != id1 }).callID

	// Call 3 is one too many.
	before := len(h.n.all())
	c3 := h.place("+15552230003", nil)
	waitDone(t, c3, 10*time.Second, "the caller past the limit to be hung up")
	if played := c3.Played(); !slices.Equal(played, []string{"sound:llamenos/unavailable"}) {
		t.Errorf("caller past the limit heard %v, want only the unavailable prompt", played)
	}
	if !c3.Answered() {
		t.Error("caller past the limit was never answered, so heard nothing")
	}
	if got := r.eng.CallsRefused(); got != 1 {
		t.Errorf("CallsRefused = %d, want 1", got)
	}
	if ids := h.rings(); !slices.Equal(ids, []string{id1, id2}) {
		t.Errorf("calls rung %v, want only the first two", ids)
	}
	var rec3 store.Call
	rtctest.WaitFor(t, 5*time.Second, "the refused call's final record", func() bool {
		for _, rec := range h.calls() {
			if rec.ID != id1 && rec.ID != id2 && rec.Outcome != store.OutcomeInProgress {
				rec3 = rec
				return true
			}
		}
		return false
	})
	if rec3.Outcome != store.OutcomeUnanswered || rec3.AnsweredBy != "" {
		t.Errorf("refused call's record: %s by %q, want unanswered", rec3.Outcome, rec3.AnsweredBy)
	}
	if slices.ContainsFunc(h.sim.Channels(), func(ch ari.Channel) bool { return ch.ID == c3.ChannelID() }) {
		t.Error("the refused caller's channel is still in Asterisk")
	}

	// The live calls are untouched: 1 still connected, 2 still ringing b.
	if !h.live(r, id1) || !h.live(r, id2) {
		t.Fatal("a live call ended when the next caller was turned away")
	}
	states := map[string]string{}
	for _, ac := range r.eng.Active() {
		states[ac.CallID] = ac.State
	}
	if len(states) != 2 || states[id1] != StateConnected || states[id2] != StateRinging {
		t.Fatalf("Active = %v, want call 1 connected and call 2 ringing", states)
	}
	for _, n := range h.n.all()[before:] {
		if n.kind != "changed" {
			t.Fatalf("turning a caller away told browsers %s %s: %s", n.kind, n.callID, h.n.dump())
		}
	}

	// Call 2's caller hangs up: there is room again.
	c2.Hangup()
	waitDone(t, c2, 10*time.Second, "caller 2 gone")
	rtctest.WaitFor(t, 10*time.Second, "call 2 to end", func() bool { return !h.live(r, id2) })
	c4 := h.place("+15552230004", nil)
	id4 := h.n.wait(t, 10*time.Second, "call 4 rung", func(n note) bool {
		return n.kind == "ring" && n.callID != id1 && n.callID != id2 && slices.Contains(n.pubkeys, b)
	}).callID
	if !h.live(r, id4) {
		t.Fatal("call 4 ended at once")
	}
	if got := r.eng.CallsRefused(); got != 1 {
		t.Errorf("CallsRefused = %d after room was made, want still 1", got)
	}

	c1.Hangup()
	c4.Hangup()
	waitDone(t, c1, 10*time.Second, "caller 1 gone")
	waitDone(t, c4, 10*time.Second, "caller 4 gone")
	h.waitEmpty(10 * time.Second)
}
