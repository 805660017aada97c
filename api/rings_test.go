package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/ari/aritest"
	"llamenos/store"
)

// frame is one decoded WebSocket message, with its raw text.
type frame struct {
	m   map[string]any
	raw []byte
}

// readUntil reads c until a frame matches, failing t after d.
func readUntil(t *testing.T, c *websocket.Conn, d time.Duration, what string, match func(map[string]any) bool) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, raw, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("frame %s: %v", raw, err)
		}
		if match(m) {
			return frame{m: m, raw: raw}
		}
	}
}

func ofType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

func (e *env) available(u *user) {
	e.t.Helper()
	if r := e.do("PUT", "/api/me/availability", map[string]bool{"available": true, "onBreak": false}, u); r.status != 200 {
		e.t.Fatalf("availability: %d %s", r.status, r.body)
	}
}

func (e *env) socket(u *user) *websocket.Conn {
	e.t.Helper()
	c, err := dialWS(e.t, e, u)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

func (e *env) placeCall(number string) *aritest.Call {
	e.t.Helper()
	call, err := e.sim.PlaceCall(aritest.CallSpec{App: "llamenos", CallerNumber: number, DialedNumber: "+15550100000"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(call.Hangup)
	return call
}

// answerLiveCall places a call from number, has v answer the ring its
// socket c gets, and waits until the call is connected. It returns the
// caller and the call's id.
func (e *env) answerLiveCall(v *user, c *websocket.Conn, number string) (*aritest.Call, string) {
	e.t.Helper()
	call := e.placeCall(number)
	id, _ := readUntil(e.t, c, 10*time.Second, "ring", ofType("ring")).m["callId"].(string)
	if r := e.do("POST", "/api/calls/"+id+"/answer", nil, v); r.status != 200 {
		e.t.Fatalf("answer: %d %s", r.status, r.body)
	}
	readUntil(e.t, c, 5*time.Second, "call:connected", ofType("call:connected"))
	return call, id
}

// helloRings returns the rings of a hello frame, checking that each holds
// exactly what a ring message holds.
func helloRings(t *testing.T, f frame) []map[string]any {
	t.Helper()
	list, ok := f.m["rings"].([]any)
	if !ok {
		t.Fatalf("hello has no rings list: %s", f.raw)
	}
	var out []map[string]any
	for _, x := range list {
		r, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("hello ring %v is not an object", x)
		}
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"callId", "ringAt", "startedAt"}; !slices.Equal(keys, want) {
			t.Fatalf("hello ring has fields %v, want exactly %v: %s", keys, want, f.raw)
		}
		out = append(out, r)
	}
	return out
}

// TestLateBrowserIsToldTheRing: a browser that connects while a call rings
// its volunteer (another tab, a reload, a reconnect) is told the ring in its
// hello, with the times the first tab was told; a browser of someone else
// is not.
func TestLateBrowserIsToldTheRing(t *testing.T) {
	e := newEnv(t, nil, withRealEngine)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	o := e.join(admin, "volunteer")
	e.available(v)
	first := e.socket(v)
	readUntil(t, first, 5*time.Second, "hello", ofType("hello"))
	e.placeCall("+15557654321")
	ring := readUntil(t, first, 10*time.Second, "ring", ofType("ring"))

	late := e.socket(v)
	hello := readUntil(t, late, 5*time.Second, "hello", ofType("hello"))
	rings := helloRings(t, hello)
	if len(rings) != 1 {
		t.Fatalf("the late browser's hello tells %d rings, want 1: %s", len(rings), hello.raw)
	}
	for _, k := range []string{"callId", "startedAt", "ringAt"} {
		if rings[0][k] != ring.m[k] {
			t.Errorf("hello ring %s = %v, the ring said %v", k, rings[0][k], ring.m[k])
		}
	}
	if hello.m["call"] != nil {
		t.Errorf("hello names a call in progress before any answer: %s", hello.raw)
	}

	other := e.socket(o)
	if rs := helloRings(t, readUntil(t, other, 5*time.Second, "hello", ofType("hello"))); len(rs) != 0 {
		t.Errorf("a volunteer the call does not ring is told %v", rs)
	}
}

// TestRestartedDaemonRingsReconnectingPages: right after the daemon
// starts, the volunteers who were available count as reachable while their
// pages reconnect, so a caller is queued and rung, and each page is told
// the ring as it connects.
func TestRestartedDaemonRingsReconnectingPages(t *testing.T) {
	e := newEnv(t, nil, withRealEngine)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	e.available(v)
	call := e.placeCall("+15557654322")
	var callID string
	waitFor(t, 10*time.Second, "the call to ring the reconnecting volunteer", func() bool {
		rs := e.srv.Calls.Ringing(v.pk)
		if len(rs) == 1 {
			callID = rs[0].CallID
		}
		return callID != ""
	})
	c := e.socket(v)
	hello := readUntil(t, c, 5*time.Second, "hello", ofType("hello"))
	if rings := helloRings(t, hello); len(rings) != 1 || rings[0]["callId"] != callID {
		t.Fatalf("the reconnecting page's hello tells %v, want the ring of %s", rings, callID)
	}
	select {
	case <-call.Done():
		t.Fatalf("the caller was hung up (heard %v)", call.Played())
	default:
	}
}

// TestAvailableWithoutBrowserIsNotRung: "available" with no page open does
// not count: a caller hears at once that nobody is available, presence says
// nobody is, and the volunteer is rung as soon as a page connects. When the
// page goes for good, the grace runs out and the ring stops.
func TestAvailableWithoutBrowserIsNotRung(t *testing.T) {
	e := newEnv(t, nil, withRealEngine, withDeps(func(d *Deps) {
		// The daemon started long ago; a page that leaves is gone after 1 s.
		d.Hub.since = time.Now().Add(-time.Hour)
		d.Hub.grace = time.Second
	}))
	admin := e.setupAdmin()
	// A hotline that takes no voicemail: the caller hears the prompt.
	if err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.VoicemailMode = store.VoicemailNever
		return tx.PutSettings(s)
	}); err != nil {
		t.Fatal(err)
	}
	v := e.join(admin, "volunteer")
	e.available(v)
	watch := e.socket(admin)
	readUntil(t, watch, 5*time.Second, "presence", ofType("presence"))

	call := e.placeCall("+15557654323")
	select {
	case <-call.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("the caller is still waiting for a volunteer with no browser (heard %v)", call.Played())
	}
	if p := call.Played(); !slices.Equal(p, []string{"sound:llamenos/unavailable"}) {
		t.Errorf("the caller heard %v, want only that nobody is available", p)
	}
	if got := presenceAvailable(t, e, admin); got != 0.0 {
		t.Errorf("presence counts %v available with no browser connected", got)
	}

	c := e.socket(v)
	readUntil(t, c, 5*time.Second, "hello", ofType("hello"))
	readUntil(t, watch, 5*time.Second, "presence counting the volunteer", func(m map[string]any) bool {
		return m["type"] == "presence" && m["available"] == 1.0
	})
	e.placeCall("+15557654324")
	ring := readUntil(t, c, 10*time.Second, "ring", ofType("ring"))

	// The page goes and does not come back: after the grace the ring
	// stops and presence drops.
	c.Close(websocket.StatusNormalClosure, "")
	readUntil(t, watch, 10*time.Second, "presence without the volunteer", func(m map[string]any) bool {
		return m["type"] == "presence" && m["available"] == 0.0
	})
	waitFor(t, 10*time.Second, "the ring to stop", func() bool { return len(e.srv.Calls.Ringing(v.pk)) == 0 })
	if got := e.srv.Calls.Active(); len(got) != 1 || got[0].CallID != ring.m["callId"] {
		t.Errorf("active calls %+v, want the waiting call still queued", got)
	}
}

// presenceAvailable reads the admin's presence count from a fresh socket.
func presenceAvailable(t *testing.T, e *env, admin *user) any {
	t.Helper()
	c := e.socket(admin)
	defer c.CloseNow()
	return readUntil(t, c, 5*time.Second, "presence", ofType("presence")).m["available"]
}

// TestHelloTellsTheCallInProgress: a page that (re)connects is told the
// call its volunteer answered, and after it ended that there is none; a
// refused offer names the call, so the page can tell it is gone.
func TestHelloTellsTheCallInProgress(t *testing.T) {
	e := newEnv(t, nil, withRealEngine)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	e.available(v)
	c := e.socket(v)
	readUntil(t, c, 5*time.Second, "hello", ofType("hello"))
	call, id := e.answerLiveCall(v, c, "+15557654325")

	again := e.socket(v)
	hello := readUntil(t, again, 5*time.Second, "hello", ofType("hello"))
	if cur, _ := hello.m["call"].(map[string]any); cur == nil || cur["callId"] != id || len(cur) != 1 {
		t.Fatalf("hello during the call tells call %v, want {callId: %s}: %s", hello.m["call"], id, hello.raw)
	}

	call.Hangup()
	readUntil(t, again, 10*time.Second, "call:ended", ofType("call:ended"))
	after := e.socket(v)
	hello = readUntil(t, after, 5*time.Second, "hello", ofType("hello"))
	if hello.m["call"] != nil {
		t.Fatalf("hello after the call ended still tells %v", hello.m["call"])
	}
	// The page's re-offer for the call that is over: refused, naming it.
	if err := after.Write(context.Background(), websocket.MessageText, []byte(`{"type":"rtc:offer","callId":"`+id+`","sdp":"v=0"}`)); err != nil {
		t.Fatal(err)
	}
	refusal := readUntil(t, after, 5*time.Second, "the refusal", ofType("error"))
	if refusal.m["code"] != "not_found" || refusal.m["callId"] != id {
		t.Fatalf("refused offer: %s, want not_found naming %s", refusal.raw, id)
	}
}

// waitFor polls cond until it holds, failing t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

// TestHubReachable: who counts as reachable, on the hub's own clock.
func TestHubReachable(t *testing.T) {
	h := NewHub(slog.New(slog.DiscardHandler))
	now := time.Unix(1_000_000, 0)
	h.now = func() time.Time { return now }
	h.since, h.grace = now, 25*time.Second
	const pk, other = "a", "b"
	if !h.Reachable(pk) {
		t.Error("right after the start, a volunteer whose page is reconnecting is not reachable")
	}
	if d, ok := h.nextReachChange(); !ok || d != 25*time.Second {
		t.Errorf("next change %v %v, want the end of the start grace", d, ok)
	}
	now = now.Add(25 * time.Second)
	if h.Reachable(pk) || h.Reachable(other) {
		t.Error("reachable after the start grace with no socket")
	}
	if _, ok := h.nextReachChange(); ok {
		t.Error("a change is due with nobody in a grace")
	}
	c := &wsConn{pubkey: pk, done: make(chan struct{})}
	if !h.add(c) {
		t.Fatal("add refused")
	}
	if !h.Reachable(pk) || h.Reachable(other) {
		t.Error("with a socket open: want only its volunteer reachable")
	}
	now = now.Add(time.Hour)
	h.remove(c)
	h.wg.Done()
	if !h.Reachable(pk) {
		t.Error("not reachable right after the last socket closed")
	}
	if d, ok := h.nextReachChange(); !ok || d != 25*time.Second {
		t.Errorf("next change %v %v, want the end of the page's grace", d, ok)
	}
	now = now.Add(25*time.Second - time.Millisecond)
	if !h.Reachable(pk) {
		t.Error("not reachable within the grace")
	}
	now = now.Add(time.Millisecond)
	if h.Reachable(pk) {
		t.Error("reachable after the grace")
	}
}
