package ari_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/ari"
	"llamenos/ari/aritest"
)

// startCall places a call, answers it, bridges it with an externalMedia
// channel and returns the pieces.
func startCall(t *testing.T, e *env, n string) (*aritest.Call, *ari.Subscription, string) {
	t.Helper()
	call, err := e.sim.PlaceCall(aritest.CallSpec{App: testApp, CallerNumber: "+1555000" + n, DialedNumber: "+15559870000"})
	mustOK(t, err)
	nc := note[*ari.NewChannel](e)
	sub := nc.Subscription
	mustOK(t, e.cl.Answer(e.ctx, call.ChannelID()))
	next[*ari.ChannelStateChange](t, sub)
	bridgeID := "bridge-" + n
	sub.Expect(ari.BridgeKey(bridgeID))
	_, err = e.cl.CreateBridge(e.ctx, bridgeID, ari.BridgeOptions{})
	mustOK(t, err)
	mustOK(t, e.cl.AddChannel(e.ctx, bridgeID, []string{call.ChannelID()}, nil))
	next[*ari.ChannelEnteredBridge](t, sub)
	return call, sub, bridgeID
}

func TestReconnectResync(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() { checkGoroutines(t, base) })
	e := newEnv(t, aritest.Options{}, nil)
	note[*ari.Resync](e)
	call, sub, bridgeID := startCall(t, e, "1")
	defer sub.Close()

	dropped := time.Now()
	if n := e.sim.DropEvents(); n != 1 {
		t.Fatalf("dropped %d sockets, want 1", n)
	}
	if cs := note[*ari.ConnectionState](e); cs.Connected || cs.Err == nil {
		t.Fatalf("first state after drop: %+v", cs)
	}
	// While the socket is down Asterisk drops the app's events.
	mustOK(t, call.SendDTMF("5", 0))
	if cs := note[*ari.ConnectionState](e); !cs.Connected {
		t.Fatalf("second state after drop: %+v", cs)
	}
	back := time.Since(dropped)
	if back > 2*time.Second {
		t.Fatalf("reconnected after %v, want within 2s", back)
	}
	t.Logf("reconnected %v after the drop", back.Round(time.Millisecond))

	rs := note[*ari.Resync](e)
	if !rs.Reconnect || rs.Err != nil {
		t.Fatalf("resync: reconnect %v err %v", rs.Reconnect, rs.Err)
	}
	own := rs.AppChannels()
	if len(own) != 1 || own[0].ID != call.ChannelID() || own[0].State != ari.StateUp {
		t.Fatalf("resync app channels %+v", own)
	}
	if len(rs.Bridges) != 1 || rs.Bridges[0].ID != bridgeID || !slices.Contains(rs.Bridges[0].Channels, call.ChannelID()) ||
		!slices.Contains(rs.Application.BridgeIDs, bridgeID) {
		t.Fatalf("resync bridges %+v, app bridge ids %v", rs.Bridges, rs.Application.BridgeIDs)
	}
	if e.sim.MissedEvents() == 0 {
		t.Error("the DTMF sent while disconnected was not counted as missed")
	}
	if st := e.cl.Stats(); st.Reconnects != 1 {
		t.Errorf("stats: %+v", st)
	}

	// Routes survive the reconnect: the call's next events still arrive.
	// (Asterisk activates the app just after the handshake; events in
	// between are lost, so wait for it as a real caller would not.)
	mustOK(t, e.sim.WaitApp(e.ctx, testApp))
	mustOK(t, call.SendDTMF("7", 0))
	d, _ := next[*ari.ChannelDtmfReceived](t, sub)
	if d.Digit != "7" {
		t.Fatalf("digit %q after reconnect, want 7 (5 was sent while down)", d.Digit)
	}
	call.Hangup()
	next[*ari.ChannelDestroyed](t, sub)
	mustOK(t, e.cl.DestroyBridge(e.ctx, bridgeID))
}

// TestStalledHandlerDoesNotDelayReader: one call's consumer stops dead on
// its first event and stays stopped until the other call's consumer has
// received every one of its events. If a stalled consumer held up the
// socket reader or the dispatch to other subscriptions, the live call
// would never get its events and the test would end at its deadline. The
// stalled call then gets all of its own events, in order.
func TestStalledHandlerDoesNotDelayReader(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() { checkGoroutines(t, base) })
	e := newEnv(t, aritest.Options{}, nil)
	note[*ari.Resync](e)
	callA, subA, _ := startCall(t, e, "1")
	callB, subB, _ := startCall(t, e, "2")
	defer subA.Close()
	defer subB.Close()

	const perCall = 60
	digits := "0123456789"
	release := make(chan struct{})
	deadline := time.After(20 * time.Second)
	consume := func(sub *ari.Subscription, onFirst, onLast func()) ([]string, error) {
		var got []string
		for len(got) < perCall {
			select {
			case ev := <-sub.Events():
				d, ok := ev.(*ari.ChannelDtmfReceived)
				if !ok {
					continue
				}
				got = append(got, d.Digit)
				if len(got) == 1 {
					onFirst()
				}
			case <-deadline:
				return got, fmt.Errorf("got %d of %d events", len(got), perCall)
			}
		}
		onLast()
		return got, nil
	}
	type result struct {
		digits []string
		err    error
	}
	resA, resB := make(chan result, 1), make(chan result, 1)
	go func() {
		d, err := consume(subA, func() {
			select { // the stalled handler
			case <-release:
			case <-deadline:
			}
		}, func() {})
		resA <- result{d, err}
	}()
	go func() {
		d, err := consume(subB, func() {}, func() { close(release) })
		resB <- result{d, err}
	}()
	for i := range perCall {
		d := string(digits[i%10])
		mustOK(t, callA.SendDTMF(d, 0))
		mustOK(t, callB.SendDTMF(d, 0))
	}
	want := make([]string, perCall)
	for i := range want {
		want[i] = string(digits[i%10])
	}
	b := <-resB
	if b.err != nil {
		t.Fatalf("the live call, while the other's handler was stalled: %v", b.err)
	}
	a := <-resA
	if a.err != nil {
		t.Fatalf("the stalled call, once released: %v", a.err)
	}
	for name, r := range map[string]result{"stalled": a, "live": b} {
		if !slices.Equal(r.digits, want) {
			t.Errorf("%s call got digits out of order: %s", name, strings.Join(r.digits, ""))
		}
	}
	callA.Hangup()
	callB.Hangup()
}

// TestApplicationReplaced: a second socket for the same app takes it over;
// the client stops instead of fighting back.
func TestApplicationReplaced(t *testing.T) {
	sim, err := aritest.New(aritest.Options{Logger: testLogger()})
	mustOK(t, err)
	defer sim.Close()
	cl, err := ari.New(ari.Config{URL: sim.URL(), Username: sim.Username(), Password: sim.Password(), App: testApp, Logger: testLogger()})
	mustOK(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- cl.Run(ctx) }()
	mustOK(t, cl.WaitConnected(ctx))
	mustOK(t, sim.WaitApp(ctx, testApp)) // the app is live on the client's socket

	auth := base64.StdEncoding.EncodeToString([]byte(sim.Username() + ":" + sim.Password()))
	wsURL := "ws" + strings.TrimPrefix(sim.URL(), "http") + "/events?app=" + testApp
	other, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic " + auth}}})
	mustOK(t, err)
	defer other.CloseNow()
	select {
	case err := <-runErr:
		if !errors.Is(err, ari.ErrApplicationReplaced) {
			t.Fatalf("Run returned %v, want ErrApplicationReplaced", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not stop after ApplicationReplaced")
	}
	if cl.Connected() {
		t.Error("still reports connected")
	}
	if !sim.AppConnected(testApp) {
		t.Error("the new socket does not hold the app")
	}
}

// TestAsteriskRestart: after Asterisk restarts, the client reconnects and
// its resync shows the old call and bridge are gone, so the engine can end
// them.
func TestAsteriskRestart(t *testing.T) {
	e := newEnv(t, aritest.Options{}, nil)
	note[*ari.Resync](e)
	call, sub, _ := startCall(t, e, "1")
	defer sub.Close()
	e.sim.Restart()
	select {
	case <-call.Done():
	case <-time.After(time.Second):
		t.Fatal("call handle still live after restart")
	}
	rs := note[*ari.Resync](e)
	if !rs.Reconnect || rs.Err != nil || len(rs.Channels) != 0 || len(rs.Bridges) != 0 || len(rs.Application.ChannelIDs) != 0 {
		t.Fatalf("resync after restart: %+v", rs)
	}
	// The restarted Asterisk takes new calls through the same client.
	mustOK(t, e.sim.WaitApp(e.ctx, testApp))
	call2, err := e.sim.PlaceCall(aritest.CallSpec{App: testApp, CallerNumber: "+15550009999"})
	mustOK(t, err)
	nc := note[*ari.NewChannel](e)
	defer nc.Subscription.Close()
	if nc.Event.Channel.ID != call2.ChannelID() {
		t.Fatalf("new call %s, want %s", nc.Event.Channel.ID, call2.ChannelID())
	}
	call2.Hangup()
}

// TestCloseSaysGoodbye: a client that stops closes its events socket with
// a WebSocket close, not by dropping the connection, which Asterisk logs
// as "Web socket closed abruptly" on every daemon stop.
func TestCloseSaysGoodbye(t *testing.T) {
	e := newEnv(t, aritest.Options{}, nil)
	note[*ari.Resync](e)
	mustOK(t, e.cl.Close())
	deadline := time.Now().Add(5 * time.Second)
	for e.sim.AppConnected(testApp) {
		if time.Now().After(deadline) {
			t.Fatal("the simulator still has the app's socket 5 s after Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.sim.AbruptCloses(); n != 0 {
		t.Errorf("the client dropped %d events sockets without a close", n)
	}
}
