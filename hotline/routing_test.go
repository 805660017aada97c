package hotline

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// TestQueueTimeoutPlaysUnavailable: a hotline that takes no voicemail.
func TestQueueTimeoutPlaysUnavailable(t *testing.T) {
	const timeout = 45 * time.Second
	h := newHarness(t, harnessOpts{})
	h.settings(func(s *store.Settings) {
		s.QueueTimeoutSeconds = int(timeout / time.Second)
		s.VoicemailMode = store.VoicemailNever
	})
	a := h.onShift(1)[0]
	r := h.start()
	t.Cleanup(func() { dumpLogs(t, h) })
	call := h.place("+15552220001", nil)
	ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
	h.clock.waitArmed(t, timeout, "the queue timeout")
	rtctest.WaitFor(t, 10*time.Second, "hold music after the greeting", func() bool { return slices.Contains(call.Played(), "moh:default") })
	h.clock.Advance(timeout - time.Second)
	if !h.live(r, ring.callID) {
		t.Fatalf("the call ended %v into a %v queue timeout", timeout-time.Second, timeout)
	}
	h.clock.Advance(time.Second)
	waitDone(t, call, 10*time.Second, "the caller to be hung up after the queue timeout")
	h.n.wait(t, time.Second, "ring stop", isStop(ring.callID, a, RingStopTimeout))
	played := call.Played()
	want := []string{"sound:llamenos/greeting", "moh:default", "sound:llamenos/unavailable"}
	if !slices.Equal(played, want) {
		t.Errorf("caller heard %v, want %v", played, want)
	}
	h.waitEmpty(5 * time.Second)
	rtctest.WaitFor(t, 5*time.Second, "final record", func() bool { return !h.record(ring.callID).EndedAt.IsZero() })
	rec := h.record(ring.callID)
	if rec.Outcome != store.OutcomeUnanswered || rec.AnsweredBy != "" || rec.QueueWait != timeout {
		t.Errorf("record: %s by %q, wait %v, want unanswered after %v", rec.Outcome, rec.AnsweredBy, rec.QueueWait, timeout)
	}
}

func TestNobodyEligiblePlaysUnavailableAtOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.settings(func(s *store.Settings) { s.VoicemailMode = store.VoicemailNever })
	a := h.volunteer(store.RoleVolunteer, false).Public().String() // on shift, not available
	h.shift(a)
	h.start()
	call := h.place("+15552220002", nil)
	waitDone(t, call, 10*time.Second, "the caller to be hung up")
	rtctest.WaitFor(t, 5*time.Second, "the final record", func() bool {
		recs := h.calls()
		return len(recs) == 1 && recs[0].Outcome != store.OutcomeInProgress
	})
	if played := call.Played(); !slices.Equal(played, []string{"sound:llamenos/unavailable"}) {
		t.Errorf("caller heard %v, want only the unavailable prompt", played)
	}
	if ids := h.rings(); len(ids) != 0 {
		t.Errorf("rang %v", ids)
	}
	recs := h.calls()
	if len(recs) != 1 || recs[0].Outcome != store.OutcomeUnanswered {
		t.Fatalf("records %+v", recs)
	}
	h.waitEmpty(5 * time.Second)
}

// TestRingEligibility: only volunteers on shift, available, not on break,
// active and not on a call are rung; the ring set follows changes.
func TestRingEligibility(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	vol := func(avail bool) string { return h.volunteer(store.RoleVolunteer, avail).Public().String() }
	onShift, offShift, onBreak, unavail, busy, inactive := vol(true), vol(true), vol(true), vol(false), vol(true), vol(true)
	h.setVolunteer(onBreak, func(v *store.Volunteer) { v.OnBreak = true })
	h.setVolunteer(inactive, func(v *store.Volunteer) { v.Active = false })
	h.shift(onShift, onBreak, unavail, busy, inactive)
	r := h.start()
	ctx := context.Background()

	// busy answers a first call.
	c1 := h.place("+15552220003", nil)
	first := h.n.wait(t, 10*time.Second, "first ring", isRing("", busy))
	if got := first.pubkeys; !slices.Equal(got, sorted(onShift, busy)) {
		t.Fatalf("first call rang %v, want on-shift and busy only", short(got))
	}
	if err := r.eng.Answer(ctx, first.callID, busy); err != nil {
		t.Fatal(err)
	}

	c2 := h.place("+15552220004", nil)
	second := h.n.wait(t, 10*time.Second, "second ring", func(n note) bool { return n.kind == "ring" && n.callID != first.callID })
	id2 := second.callID
	if !slices.Equal(second.pubkeys, []string{onShift}) {
		t.Fatalf("second call rang %v, want only the on-shift volunteer (busy is on a call)", short(second.pubkeys))
	}
	if err := r.eng.Answer(ctx, id2, busy); !errors.Is(err, ErrNotRung) {
		t.Errorf("busy answering a call that did not ring them: %v", err)
	}

	// Newly available during the wait: rung.
	h.setVolunteer(unavail, func(v *store.Volunteer) { v.Available = true })
	r.eng.VolunteersChanged()
	h.n.wait(t, 5*time.Second, "the newly available volunteer rung", isRing(id2, unavail))
	// Going on break stops the ring.
	h.setVolunteer(onShift, func(v *store.Volunteer) { v.OnBreak = true })
	r.eng.VolunteersChanged()
	h.n.wait(t, 5*time.Second, "ring stop for the volunteer on break", isStop(id2, onShift, RingStopUnavailable))
	if err := r.eng.Answer(ctx, id2, onShift); !errors.Is(err, ErrNotRung) {
		t.Errorf("answer after the ring stopped: %v", err)
	}
	// busy's call ends: they are free and rung for the waiting call.
	if err := r.eng.Hangup(ctx, first.callID, busy); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c1, 10*time.Second, "first caller hung up")
	h.n.wait(t, 5*time.Second, "busy rung once free", isRing(id2, busy))

	for _, n := range h.n.all() {
		if n.kind == "ring" && (slices.Contains(n.pubkeys, offShift) || slices.Contains(n.pubkeys, inactive) || (n.callID == id2 && slices.Contains(n.pubkeys, onBreak))) {
			t.Errorf("rang an ineligible volunteer: %v", short(n.pubkeys))
		}
	}
	c2.Hangup()
	h.n.wait(t, 5*time.Second, "ring stop on caller hangup", isStop(id2, busy, RingStopCallerHungUp))
	h.waitEmpty(10 * time.Second)
	rtctest.WaitFor(t, 5*time.Second, "abandoned record", func() bool { return h.record(id2).Outcome == store.OutcomeAbandoned })
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestFallbackGroup: the fallback group rings only while nobody scheduled
// is ready.
func TestFallbackGroup(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	sched := h.volunteer(store.RoleVolunteer, false).Public().String()
	fb := h.volunteer(store.RoleVolunteer, true).Public().String()
	h.shift(sched)
	h.update(func(tx *store.Tx) error { return tx.SetFallbackGroup([]string{fb}) })
	r := h.start()
	call := h.place("+15552220005", nil)
	ring := h.n.wait(t, 10*time.Second, "fallback rung", isRing("", fb))
	h.setVolunteer(sched, func(v *store.Volunteer) { v.Available = true })
	r.eng.VolunteersChanged()
	h.n.wait(t, 5*time.Second, "scheduled volunteer rung", isRing(ring.callID, sched))
	h.n.wait(t, 5*time.Second, "fallback ring stopped", isStop(ring.callID, fb, RingStopUnavailable))
	call.Hangup()
	h.waitEmpty(10 * time.Second)
}

func TestDecline(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a := h.volunteer(store.RoleVolunteer, true).Public().String()
	b := h.volunteer(store.RoleVolunteer, true).Public().String()
	stranger := h.volunteer(store.RoleVolunteer, true).Public().String()
	h.shift(a, b)
	r := h.start()
	ctx := context.Background()
	call := h.place("+15552220006", nil)
	ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
	id := ring.callID
	if err := r.eng.Decline(ctx, id, stranger); !errors.Is(err, ErrNotRung) {
		t.Errorf("decline by someone not rung: %v", err)
	}
	if err := r.eng.Decline(ctx, id, a); err != nil {
		t.Fatal(err)
	}
	h.n.wait(t, time.Second, "declined", isStop(id, a, RingStopDeclined))
	if err := r.eng.Decline(ctx, id, a); !errors.Is(err, ErrNotRung) {
		t.Errorf("second decline: %v", err)
	}
	if err := r.eng.Answer(ctx, id, a); !errors.Is(err, ErrNotRung) {
		t.Errorf("answer after decline: %v", err)
	}
	r.eng.VolunteersChanged()
	if err := r.eng.Answer(ctx, id, b); err != nil { // serialised behind the refresh
		t.Fatal(err)
	}
	for _, n := range h.n.all() {
		if n.kind == "ring" && n.callID == id && n.at.After(ring.at) && slices.Contains(n.pubkeys, a) {
			t.Error("a declined volunteer was rung again")
		}
	}
	if err := r.eng.Decline(ctx, id, a); !errors.Is(err, ErrAlreadyAnswered) && !errors.Is(err, ErrNotRung) {
		t.Errorf("decline after the answer: %v", err)
	}
	if err := r.eng.Decline(ctx, "no-such-call", a); !errors.Is(err, ErrNoCall) {
		t.Errorf("decline of an unknown call: %v", err)
	}
	call.Hangup()
	h.n.wait(t, 5*time.Second, "ended", isNote("ended", id, b, EndCallerHungUp))
	h.waitEmpty(10 * time.Second)
}

func dumpLogs(t *testing.T, h *harness) {
	t.Helper()
	if t.Failed() {
		t.Log(h.logs.String())
	}
}

// TestRingsOnlyReachableVolunteers: a volunteer with no browser connected
// is not rung, does not keep a call queued, and is rung once one connects.
func TestRingsOnlyReachableVolunteers(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.settings(func(s *store.Settings) { s.VoicemailMode = store.VoicemailNever })
	t.Cleanup(func() { dumpLogs(t, h) })
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	h.n.setOnline(a, false)
	h.n.setOnline(b, false)
	r := h.start()
	ctx := context.Background()

	// Available and on shift, but nobody can hear a ring: the caller is
	// told at once that nobody is available.
	call := h.place("+15552220020", nil)
	waitDone(t, call, 10*time.Second, "the caller to be hung up")
	if played := call.Played(); !slices.Equal(played, []string{"sound:llamenos/unavailable"}) {
		t.Errorf("caller heard %v, want only the unavailable prompt", played)
	}
	if ids := h.rings(); len(ids) != 0 {
		t.Errorf("rang %v with no browser connected", ids)
	}
	if got, err := r.eng.Ringable(ctx); err != nil || len(got) != 0 {
		t.Errorf("Ringable = %v, %v; want nobody", got, err)
	}

	// One browser connects: a call rings only its volunteer.
	h.n.setOnline(a, true)
	if got, err := r.eng.Ringable(ctx); err != nil || !got[a] || got[b] {
		t.Errorf("Ringable = %v, %v; want only a", got, err)
	}
	waiting := h.place("+15552220021", nil)
	ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
	if !slices.Equal(ring.pubkeys, []string{a}) {
		t.Errorf("rang %v, want only the volunteer with a browser", short(ring.pubkeys))
	}
	// The other connects during the wait: rung.
	h.n.setOnline(b, true)
	r.eng.VolunteersChanged()
	h.n.wait(t, 5*time.Second, "the volunteer who connected rung", isRing(ring.callID, b))
	// The first one's browser is gone for good: their ring stops.
	h.n.setOnline(a, false)
	r.eng.VolunteersChanged()
	h.n.wait(t, 5*time.Second, "ring stop for the volunteer who left", isStop(ring.callID, a, RingStopUnavailable))
	waiting.Hangup()
	h.waitEmpty(10 * time.Second)
}

// TestRingingAndCurrentCall: what a browser that connects is told matches
// what the notifications told the browsers already there: the calls ringing
// its volunteer, with the same times, and the call they answered until
// they are told it ended.
func TestRingingAndCurrentCall(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.settings(func(s *store.Settings) { s.VoicemailMode = store.VoicemailNever })
	t.Cleanup(func() { dumpLogs(t, h) })
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()
	ctx := context.Background()

	call := h.place("+15552220030", nil)
	ring := h.n.wait(t, 10*time.Second, "ring", isRing("", a))
	for _, pk := range []string{a, b} {
		got := r.eng.Ringing(pk)
		want := []Ring{{CallID: ring.callID, StartedAt: ring.startedAt, RingAt: ring.ringAt}}
		if !slices.Equal(got, want) {
			t.Fatalf("Ringing(%s) = %+v, want %+v", short([]string{pk}), got, want)
		}
		if id := r.eng.CurrentCall(pk); id != "" {
			t.Errorf("CurrentCall before an answer = %q", id)
		}
	}
	if err := r.eng.Decline(ctx, ring.callID, b); err != nil {
		t.Fatal(err)
	}
	if got := r.eng.Ringing(b); len(got) != 0 {
		t.Errorf("Ringing after a decline = %+v", got)
	}
	if err := r.eng.Answer(ctx, ring.callID, a); err != nil {
		t.Fatal(err)
	}
	if got := r.eng.Ringing(a); len(got) != 0 {
		t.Errorf("Ringing after the answer = %+v", got)
	}
	if id := r.eng.CurrentCall(a); id != ring.callID {
		t.Errorf("CurrentCall after the answer = %q, want %q", id, ring.callID)
	}
	call.Hangup()
	ended := h.n.wait(t, 10*time.Second, "ended", isNote("ended", ring.callID, a, ""))
	if ended.reason != EndCallerHungUp {
		t.Errorf("ended %q", ended.reason)
	}
	if id := r.eng.CurrentCall(a); id != "" {
		t.Errorf("CurrentCall after Ended = %q", id)
	}
	h.waitEmpty(10 * time.Second)
}
