package hotline

import (
	"context"
	"errors"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/rtc"
	"llamenos/rtc/rtctest"
)

// TestVolunteerRejoins: a volunteer whose browser goes away mid-call (a
// reload, a crash, a network change) comes back within the grace with a new
// PeerConnection on the same relay. Meanwhile the caller hears music on
// hold, not silence; nobody else can take the call's media; and a volunteer
// who does not come back ends the call as before.
func TestVolunteerRejoins(t *testing.T) {
	const grace, connect = 40 * time.Second, 10 * time.Second
	h := newHarness(t, harnessOpts{
		cfg: Config{BrowserGrace: grace, ConnectTimeout: connect},
		rtcConfig: func(c *rtc.Config) {
			c.DisconnectedTimeout, c.FailedTimeout, c.KeepaliveInterval = time.Second, 3*time.Second, 200*time.Millisecond
		},
	})
	t.Cleanup(func() { dumpLogs(t, h) })
	pks := h.onShift(2)
	a, other := pks[0], pks[1]
	r := h.start()

	onHold := func(t *testing.T, what string, want bool) {
		t.Helper()
		call := h.lastCall
		rtctest.WaitFor(t, 10*time.Second, what, func() bool { return call.OnHold() == want })
	}
	// offer makes a new browser for pk and sends its offer; the answer is
	// not applied, so it never connects.
	offer := func(t *testing.T, id, pk string) (*rtctest.Browser, string, error) {
		t.Helper()
		b := rtctest.MustNew(t, rtctest.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sdp, err := b.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := r.eng.Offer(ctx, id, pk, sdp)
		return b, ans, err
	}

	t.Run("media drops, the caller is on hold, a re-offer bridges again", func(t *testing.T) {
		id, br, heard := h.answerAndConnect(t, r, "+15553330101", a)
		call := h.lastCall
		if call.OnHold() {
			t.Fatal("the caller is on hold while talking to the volunteer")
		}
		// The page reloads: its PeerConnection and its socket close.
		br.Close()
		r.eng.BrowserGone(a)
		onHold(t, "the caller to hear music on hold once the volunteer's media dropped", true)
		h.clock.waitArmed(t, grace, "the browser grace")

		// Someone else's browser cannot take the call's media, on hold or not.
		if _, _, err := offer(t, id, other); !errors.Is(err, ErrNotAnswerer) {
			t.Fatalf("another volunteer's offer: %v, want ErrNotAnswerer", err)
		}
		if err := r.eng.Candidate(context.Background(), id, other, []byte(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}`)); !errors.Is(err, ErrNotAnswerer) {
			t.Fatalf("another volunteer's candidate: %v, want ErrNotAnswerer", err)
		}
		if !call.OnHold() || !h.live(r, id) {
			t.Fatal("another volunteer's offer changed the call")
		}

		// A first try from the new page does not get through (the answer
		// never reaches it). Its connect timeout does not cut the grace
		// short: the volunteer still has the rest of it.
		h.clock.Advance(5 * time.Second)
		stuck, _, err := offer(t, id, a)
		if err != nil {
			t.Fatalf("the answering volunteer's re-offer: %v", err)
		}
		h.clock.Advance(connect + time.Second)
		if !h.live(r, id) {
			t.Fatalf("the call ended at the re-offer's %v connect timeout, %v before the grace ran out", connect, grace-connect-6*time.Second)
		}
		onHold(t, "the caller still on hold while the volunteer is away", true)
		_ = stuck.Close()

		// The second try connects: bridged again, the music stops, and both
		// hear each other.
		nb := rtctest.MustNew(t, rtctest.Options{})
		h.n.route(a, nb)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := nb.Connect(ctx, func(ctx context.Context, sdp string) (string, error) { return r.eng.Offer(ctx, id, a, sdp) }); err != nil {
			t.Fatal(err)
		}
		nb.Play(audio.NewTone(audio.SampleRate, 0.3, 1000))
		onHold(t, "the music on hold to stop once the volunteer's media is back", false)
		hears(t, 15*time.Second, "the caller to hear the volunteer again", 1000, heard)
		hears(t, 15*time.Second, "the volunteer to hear the caller again", 440, nb.Heard)
		h.clock.waitTimers(t, "the grace to stop", func(ds []time.Duration) bool {
			for _, d := range ds {
				if d == grace || d == connect {
					return false
				}
			}
			return true
		})
		h.clock.Advance(grace)
		if !h.live(r, id) {
			t.Fatal("the call ended after the volunteer came back")
		}
		if err := r.eng.Hangup(context.Background(), id, a); err != nil {
			t.Fatal(err)
		}
		waitDone(t, call, 10*time.Second, "the volunteer's hangup")
		h.n.wait(t, time.Second, "ended", isNote("ended", id, a, EndVolunteerHungUp))
		h.waitEmpty(5 * time.Second)
	})

	t.Run("the volunteer does not come back", func(t *testing.T) {
		id, br, _ := h.answerAndConnect(t, r, "+15553330102", a)
		call := h.lastCall
		br.Close()
		onHold(t, "music on hold once the volunteer's media dropped", true)
		h.clock.waitArmed(t, grace, "the browser grace")
		h.clock.Advance(grace - time.Millisecond)
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
}
