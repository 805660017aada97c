package ari_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/ari/internal/swagger"
)

func loadSchema(t *testing.T) *swagger.Schema {
	t.Helper()
	dir, ok := swagger.ReferenceDir()
	if !ok {
		t.Skip("ARI schema (shared/reference/ari-api-docs) not found beside the repo and LLAMENOS_REFERENCE_DIR unset; conformance not checked")
	}
	s, err := swagger.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance drives every REST call the client can make (with every
// optional parameter it can send) and a range of error answers through the
// simulator, then validates against the Asterisk 22 schema: each request's
// path, method, parameter names, types, enums and allowMultiple; each
// response body and status; every event frame the simulator sent. Decoded
// events must also re-encode to the same JSON, so the client's models lose
// no field.
func TestConformance(t *testing.T) {
	schema := loadSchema(t)
	e := newEnv(t, aritest.Options{Record: true, SoundDurations: map[string]time.Duration{"hello-world": 30 * time.Millisecond}}, nil)
	ctx := e.ctx
	cl := e.cl
	note[*ari.Resync](e)

	expectStatus := func(err error, status int) {
		t.Helper()
		var ae *ari.Error
		if !errors.As(err, &ae) || ae.Status != status || ae.Message == "" || ae.Method == "" || !strings.HasPrefix(ae.Path, "/") {
			t.Fatalf("err = %#v, want *ari.Error with status %d", err, status)
		}
	}

	_, err := cl.Ping(ctx)
	mustOK(t, err)
	_, err = cl.Info(ctx)
	mustOK(t, err)

	call, err := e.sim.PlaceCall(aritest.CallSpec{App: testApp, CallerNumber: "+15550001111", CallerName: "Caller", DialedNumber: "+15559990000", Args: []string{"inbound", "x"}})
	mustOK(t, err)
	nc := note[*ari.NewChannel](e)
	sub := nc.Subscription
	defer sub.Close()
	id := call.ChannelID()

	_, err = cl.ListChannels(ctx)
	mustOK(t, err)
	_, err = cl.GetChannel(ctx, id)
	mustOK(t, err)
	_, err = cl.GetChannel(ctx, "no-such-channel")
	expectStatus(err, 404)
	mustOK(t, cl.Ring(ctx, id))
	mustOK(t, cl.RingStop(ctx, id))
	mustOK(t, cl.Answer(ctx, id))
	mustOK(t, cl.SetChannelVar(ctx, id, "JITTERBUFFER(adaptive)", "default"))
	v, err := cl.GetChannelVar(ctx, id, "CALLERID(num)")
	if err != nil || v != "+15550001111" {
		t.Fatalf("CALLERID(num) = %q, %v", v, err)
	}
	_, err = cl.GetChannelVar(ctx, id, "NOT_SET")
	expectStatus(err, 404)
	// ChannelVarset only comes with report_events, which the client does not
	// send; ask for one directly so its shape is checked too.
	rawPost(t, e, "/channels/"+id+"/variable?variable=NOTE&value=1&report_events=true")

	mustOK(t, cl.StartChannelMOH(ctx, id, "default"))
	mustOK(t, cl.StopChannelMOH(ctx, id))
	sub.Expect(ari.PlaybackKey("pb-1"))
	pb, err := cl.PlayChannel(ctx, id, "pb-1", []string{"sound:hello-world", "digits:12"}, &ari.PlayOptions{Lang: "en", OffsetMS: 10, SkipMS: 2000})
	mustOK(t, err)
	if pb.ID != "pb-1" || pb.State != ari.PlaybackStateQueued || pb.TargetURI != "channel:"+id {
		t.Fatalf("playback %+v", pb)
	}
	_, err = cl.GetPlayback(ctx, "pb-1")
	mustOK(t, err)
	if fin, _ := next[*ari.PlaybackFinished](t, sub); fin.Playback.State != ari.PlaybackStateDone {
		t.Fatalf("finished %+v", fin.Playback)
	}
	_, err = cl.GetPlayback(ctx, "pb-1")
	expectStatus(err, 404)
	pb2, err := cl.PlayChannel(ctx, id, "", []string{"tone:ring"}, nil)
	mustOK(t, err)
	mustOK(t, cl.StopPlayback(ctx, pb2.ID))
	expectStatus(cl.StopPlayback(ctx, pb2.ID), 404)

	_, err = cl.CreateBridge(ctx, "", ari.BridgeOptions{})
	mustOK(t, err)
	br, err := cl.CreateBridge(ctx, "br-1", ari.BridgeOptions{Types: []string{ari.BridgeMixing, ari.BridgeDTMFEvents}, Name: "one"})
	mustOK(t, err)
	_, err = cl.CreateBridge(ctx, "br-1", ari.BridgeOptions{})
	expectStatus(err, 409)
	_, err = cl.ListBridges(ctx)
	mustOK(t, err)
	_, err = cl.GetBridge(ctx, br.ID)
	mustOK(t, err)
	_, err = cl.GetBridge(ctx, "no-such-bridge")
	expectStatus(err, 404)
	expectStatus(cl.AddChannel(ctx, "no-such-bridge", []string{id}, nil), 404)
	expectStatus(cl.AddChannel(ctx, br.ID, []string{"no-such-channel"}, nil), 400)
	mustOK(t, cl.AddChannel(ctx, br.ID, []string{id}, &ari.AddChannelOptions{Role: "caller", AbsorbDTMF: true, Mute: true, InhibitConnectedLineUpdates: true}))
	mustOK(t, cl.StartBridgeMOH(ctx, br.ID, "default"))
	mustOK(t, cl.StopBridgeMOH(ctx, br.ID))
	expectStatus(cl.StopBridgeMOH(ctx, br.ID), 409)
	_, err = cl.PlayBridge(ctx, br.ID, "pb-b", []string{"sound:hello-world"}, &ari.PlayOptions{Lang: "en", AnnouncerFormat: "ulaw", SkipMS: 1000, OffsetMS: 5})
	mustOK(t, err)
	_, err = cl.PlayBridge(ctx, br.ID, "", []string{"sound:hello-world"}, nil)
	mustOK(t, err)

	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	mustOK(t, err)
	defer udp.Close()
	sub.Expect(ari.ChannelKey("em-1"))
	em, err := cl.ExternalMedia(ctx, ari.ExternalMediaParams{
		ChannelID: "em-1", ExternalHost: udp.LocalAddr().String(), Format: "ulaw",
		Encapsulation: "rtp", Transport: "udp", ConnectionType: "client", Direction: "both",
		Data: "media", Variables: map[string]string{"CALL_ROLE": "media"},
	})
	mustOK(t, err)
	if _, err := em.UnicastRTPAddr(); err != nil {
		t.Fatal(err)
	}
	_, err = cl.ExternalMedia(ctx, ari.ExternalMediaParams{ChannelID: "em-1", ExternalHost: udp.LocalAddr().String()})
	expectStatus(err, 409)
	next[*ari.StasisStart](t, sub)
	mustOK(t, cl.AddChannel(ctx, br.ID, []string{"em-1"}, nil))
	expectStatus(cl.RemoveChannel(ctx, "br-1", "no-such-channel"), 400)
	mustOK(t, cl.RemoveChannel(ctx, br.ID, "em-1"))
	expectStatus(cl.RemoveChannel(ctx, br.ID, "em-1"), 422)

	_, err = cl.GetApplication(ctx, "")
	mustOK(t, err)
	_, err = cl.GetApplication(ctx, "no-such-app")
	expectStatus(err, 404)
	_, err = cl.SubscribeApplication(ctx, ari.ChannelKey("em-1"), ari.BridgeKey(br.ID))
	mustOK(t, err)
	_, err = cl.UnsubscribeApplication(ctx, ari.ChannelKey("em-1"))
	mustOK(t, err)
	_, err = cl.SubscribeApplication(ctx, ari.ChannelKey("no-such-channel"))
	expectStatus(err, 422)

	mustOK(t, cl.HangupWithCode(ctx, "em-1", 16))
	expectStatus(cl.Hangup(ctx, "em-1", ""), 404)
	mustOK(t, call.SendDTMF("1#", 0))
	mustOK(t, cl.DestroyBridge(ctx, br.ID))
	expectStatus(cl.DestroyBridge(ctx, br.ID), 404)

	// A second call leaves through /continue; a third is hung up by the app.
	call2, err := e.sim.PlaceCall(aritest.CallSpec{App: testApp, CallerNumber: "+15550002222", DialedNumber: "+15559990000"})
	mustOK(t, err)
	note[*ari.NewChannel](e).Subscription.Close()
	mustOK(t, cl.ContinueInDialplan(ctx, call2.ChannelID(), ari.ContinueOptions{Context: "fallback", Extension: "s", Priority: 1, Label: "start"}))
	call3, err := e.sim.PlaceCall(aritest.CallSpec{App: testApp, CallerNumber: "+15550003333", DialedNumber: "+15559990000"})
	mustOK(t, err)
	note[*ari.NewChannel](e).Subscription.Close()
	mustOK(t, cl.Hangup(ctx, call3.ChannelID(), ari.ReasonBusy))
	call.Hangup()

	// A second socket for the app: the client's gets ApplicationReplaced.
	e.allowReplaced = true
	// The caller's last events reach the client's socket first.
	for d, _ := next[*ari.ChannelDestroyed](t, sub); d.Channel.ID != id; d, _ = next[*ari.ChannelDestroyed](t, sub) {
	}
	auth := base64.StdEncoding.EncodeToString([]byte(e.sim.Username() + ":" + e.sim.Password()))
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.sim.URL(), "http")+"/events?app="+testApp,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic " + auth}}})
	mustOK(t, err)
	defer ws.CloseNow()
	for note[*ari.ConnectionState](e).Connected { // until the client's socket is dropped
	}

	// ---- validation ----
	covered := map[string]bool{}
	for _, x := range e.sim.Exchanges() {
		op, err := schema.ValidateRequest(x.Method, x.Path, x.Query, x.RequestBody)
		if err != nil {
			t.Errorf("request %s %s?%s: %v", x.Method, x.Path, x.Query.Encode(), err)
			continue
		}
		covered[op.Method+" "+op.Path] = true
		if x.Status == http.StatusSwitchingProtocols {
			continue
		}
		if err := schema.ValidateResponse(op, x.Status, x.ResponseBody); err != nil {
			t.Errorf("response to %s %s: %v", x.Method, x.Path, err)
		}
	}
	clientOps := []string{
		"GET /asterisk/ping", "GET /asterisk/info", "GET /events",
		"GET /channels", "GET /channels/{channelId}", "DELETE /channels/{channelId}",
		"POST /channels/{channelId}/answer", "POST /channels/{channelId}/ring", "DELETE /channels/{channelId}/ring",
		"POST /channels/{channelId}/continue", "GET /channels/{channelId}/variable", "POST /channels/{channelId}/variable",
		"POST /channels/{channelId}/moh", "DELETE /channels/{channelId}/moh",
		"POST /channels/{channelId}/play", "POST /channels/{channelId}/play/{playbackId}",
		"POST /channels/externalMedia",
		"GET /bridges", "POST /bridges", "POST /bridges/{bridgeId}", "GET /bridges/{bridgeId}", "DELETE /bridges/{bridgeId}",
		"POST /bridges/{bridgeId}/addChannel", "POST /bridges/{bridgeId}/removeChannel",
		"POST /bridges/{bridgeId}/moh", "DELETE /bridges/{bridgeId}/moh",
		"POST /bridges/{bridgeId}/play", "POST /bridges/{bridgeId}/play/{playbackId}",
		"GET /playbacks/{playbackId}", "DELETE /playbacks/{playbackId}",
		"GET /applications/{applicationName}", "POST /applications/{applicationName}/subscription",
		"DELETE /applications/{applicationName}/subscription",
	}
	for _, op := range clientOps {
		if !covered[op] {
			t.Errorf("operation %s was not exercised", op)
		}
	}

	eventTypes := map[string]int{}
	for _, frame := range e.sim.SentEvents() {
		if err := schema.ValidateEvent(frame); err != nil {
			t.Errorf("event %s: %v", frame, err)
			continue
		}
		ev, err := ari.DecodeEvent(frame)
		if err != nil {
			t.Errorf("decode %s: %v", frame, err)
			continue
		}
		if _, unknown := ev.(*ari.UnknownEvent); unknown {
			t.Errorf("client does not model %s", ev.Base().Type)
			continue
		}
		eventTypes[ev.Base().Type]++
		again, _ := json.Marshal(ev)
		var a, b any
		_ = json.Unmarshal(frame, &a)
		_ = json.Unmarshal(again, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s does not survive decode+encode:\n sent %s\n  got %s", ev.Base().Type, frame, again)
		}
	}
	for _, typ := range []string{"StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived",
		"ChannelHangupRequest", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed",
		"PlaybackStarted", "PlaybackContinuing", "PlaybackFinished", "ChannelVarset", "ApplicationReplaced"} {
		if eventTypes[typ] == 0 {
			t.Errorf("no %s event was produced", typ)
		}
	}
	names := make([]string, 0, len(eventTypes))
	for k, n := range eventTypes {
		names = append(names, k+"×"+strconv.Itoa(n))
	}
	sort.Strings(names)
	t.Logf("validated %d exchanges covering %d operations; events: %s", len(e.sim.Exchanges()), len(covered), strings.Join(names, " "))
}

// TestExternalMediaBeforeStasisStart: adding the externalMedia channel to a
// bridge before its StasisStart gives 422, as in Asterisk.
func TestExternalMediaBeforeStasisStart(t *testing.T) {
	e := newEnv(t, aritest.Options{StasisStartDelay: 300 * time.Millisecond}, nil)
	ctx := e.ctx
	_, err := e.cl.CreateBridge(ctx, "b", ari.BridgeOptions{})
	mustOK(t, err)
	sub := e.cl.Subscribe(ari.ChannelKey("m"))
	defer sub.Close()
	_, err = e.cl.ExternalMedia(ctx, ari.ExternalMediaParams{ChannelID: "m", ExternalHost: "127.0.0.1:9"})
	mustOK(t, err)
	if err := e.cl.AddChannel(ctx, "b", []string{"m"}, nil); ari.StatusOf(err) != 422 {
		t.Fatalf("add before StasisStart: %v, want 422", err)
	}
	next[*ari.StasisStart](t, sub)
	mustOK(t, e.cl.AddChannel(ctx, "b", []string{"m"}, nil))
	mustOK(t, e.cl.Hangup(ctx, "m", ""))
	mustOK(t, e.cl.DestroyBridge(ctx, "b"))
}

func rawPost(t *testing.T, e *env, pathAndQuery string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.sim.URL()+pathAndQuery, nil)
	req.SetBasicAuth(e.sim.Username(), e.sim.Password())
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", pathAndQuery, resp.Status)
	}
}
