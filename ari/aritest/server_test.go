package aritest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/audio"
)

type fixture struct {
	t   *testing.T
	s   *Server
	cl  *ari.Client
	ctx context.Context
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	base := runtime.NumGoroutine()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ari.New(ari.Config{URL: s.URL(), Username: s.Username(), Password: s.Password(), App: "app"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(ctx) }()
	t.Cleanup(func() {
		cl.Close()
		<-done
		cancel()
		s.Close()
		waitGoroutines(t, base)
	})
	if err := s.WaitApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, cl: cl, ctx: ctx}
}

func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newCall places a call and returns its handle and subscription.
func (f *fixture) newCall(spec CallSpec) (*Call, *ari.Subscription) {
	f.t.Helper()
	spec.App = "app"
	c, err := f.s.PlaceCall(spec)
	if err != nil {
		f.t.Fatal(err)
	}
	for {
		select {
		case n := <-f.cl.Notifications():
			if nc, ok := n.(*ari.NewChannel); ok {
				if nc.Event.Channel.ID != c.ChannelID() {
					f.t.Fatalf("NewChannel for %s, want %s", nc.Event.Channel.ID, c.ChannelID())
				}
				f.t.Cleanup(nc.Subscription.Close)
				return c, nc.Subscription
			}
		case <-time.After(5 * time.Second):
			f.t.Fatal("no NewChannel")
		}
	}
}

// events collects the types of sub's events until stop matches one.
func events(t *testing.T, sub *ari.Subscription, stop string) []ari.Event {
	t.Helper()
	var out []ari.Event
	for {
		select {
		case ev := <-sub.Events():
			out = append(out, ev)
			if ev.Base().Type == stop {
				return out
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s; got %s", stop, typeList(out))
		}
	}
}

func typeList(evs []ari.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Base().Type)
	}
	return strings.Join(s, ",")
}

func TestAuthAndRouting(t *testing.T) {
	s, err := New(Options{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(method, path string, user, pass string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, s.URL()+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	tests := []struct {
		method, path, user, pass string
		status                   int
		body                     string
	}{
		{"GET", "/asterisk/ping", "u", "p", 200, `"ping":"pong"`},
		{"GET", "/asterisk/ping?api_key=u:p", "", "", 200, `"ping":"pong"`},
		{"GET", "/asterisk/ping", "u", "wrong", 401, `{"message":"Authentication required"}`},
		{"GET", "/asterisk/ping?api_key=u:wrong", "", "", 401, "Authentication required"},
		{"GET", "/asterisk/ping", "", "", 401, "Authentication required"},
		{"GET", "/nothing/here", "u", "p", 404, `{"message":"Resource not found"}`},
		{"PUT", "/channels", "u", "p", 405, `{"message":"Invalid method"}`},
		{"GET", "/channels/nope", "u", "p", 404, `{"message":"Channel not found"}`},
		{"POST", "/channels/nope/answer", "u", "p", 404, "Channel not found"},
		{"GET", "/asterisk/ping?bogus=1", "u", "p", 400, "Unknown parameter bogus"},
		{"POST", "/bridges?type=mixing,holding", "u", "p", 500, "Unable to create bridge"},
		{"GET", "/events", "u", "p", 400, "Missing parameter app"},
	}
	for _, tc := range tests {
		status, body, hdr := get(tc.method, tc.path, tc.user, tc.pass)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, status, body, tc.status, tc.body)
		}
		if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	if _, err := s.PlaceCall(CallSpec{App: "app"}); !errors.Is(err, ErrAppInactive) {
		t.Errorf("PlaceCall with no app socket: %v", err)
	}
}

func TestPlaybackQueueAndMOH(t *testing.T) {
	f := newFixture(t, Options{SoundDurations: map[string]time.Duration{"short": 50 * time.Millisecond}})
	call, sub := f.newCall(CallSpec{CallerNumber: "+1"})
	id := call.ChannelID()
	if err := f.cl.Answer(f.ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.cl.StartChannelMOH(f.ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	sub.Expect(ari.PlaybackKey("a"), ari.PlaybackKey("b"), ari.PlaybackKey("c"))
	started := time.Now()
	for _, p := range []struct{ id, media string }{{"a", "sound:short"}, {"b", "sound:short,sound:short"}, {"c", "tone:ring"}} {
		if _, err := f.cl.PlayChannel(f.ctx, id, p.id, strings.Split(p.media, ","), nil); err != nil {
			t.Fatal(err)
		}
	}
	evs := events(t, sub, "PlaybackStarted") // a
	evs = append(evs, events(t, sub, "PlaybackFinished")...)
	evs = append(evs, events(t, sub, "PlaybackFinished")...) // b, after its continuing
	evs = append(evs, events(t, sub, "PlaybackStarted")...)  // c
	var seq []string
	for _, e := range evs {
		switch p := e.(type) {
		case *ari.PlaybackStarted:
			seq = append(seq, "start:"+p.Playback.ID)
		case *ari.PlaybackContinuing:
			seq = append(seq, "cont:"+p.Playback.ID)
		case *ari.PlaybackFinished:
			seq = append(seq, "fin:"+p.Playback.ID+":"+p.Playback.State)
		}
	}
	want := []string{"start:a", "fin:a:done", "start:b", "cont:b", "fin:b:done", "start:c"}
	if !slices.Equal(seq, want) {
		t.Fatalf("sequence %v, want %v", seq, want)
	}
	if el := time.Since(started); el < 150*time.Millisecond {
		t.Errorf("three 50 ms sounds took only %v", el)
	}
	// The tone plays until stopped.
	if pb, err := f.cl.GetPlayback(f.ctx, "c"); err != nil || pb.State != ari.PlaybackStatePlaying {
		t.Fatalf("tone playback: %+v, %v", pb, err)
	}
	if err := f.cl.StopPlayback(f.ctx, "c"); err != nil {
		t.Fatal(err)
	}
	fin := events(t, sub, "PlaybackFinished")
	if p := fin[len(fin)-1].(*ari.PlaybackFinished); p.Playback.ID != "c" || p.Playback.State != ari.PlaybackStateDone {
		t.Fatalf("stopped playback %+v", p.Playback)
	}
	if got := call.Played(); !slices.Equal(got, []string{"moh:default", "sound:short", "sound:short", "sound:short", "tone:ring"}) {
		t.Fatalf("caller heard %v", got)
	}
	// Playing on a bad URI fails like Asterisk: started, then failed.
	sub.Expect(ari.PlaybackKey("bad"))
	if _, err := f.cl.PlayChannel(f.ctx, id, "bad", []string{"nonsense:x"}, nil); err != nil {
		t.Fatal(err)
	}
	fin = events(t, sub, "PlaybackFinished")
	if p := fin[len(fin)-1].(*ari.PlaybackFinished); p.Playback.State != ari.PlaybackStateFailed {
		t.Fatalf("bad URI playback ended %s", p.Playback.State)
	}
	call.Hangup()
	events(t, sub, "ChannelDestroyed")
}

// TestOnHold: the caller hears music on hold from their channel, and from
// their bridge once bridged (a bridged channel hears the bridge only).
func TestOnHold(t *testing.T) {
	f := newFixture(t, Options{})
	call, sub := f.newCall(CallSpec{CallerNumber: "+1"})
	id := call.ChannelID()
	if err := f.cl.Answer(f.ctx, id); err != nil {
		t.Fatal(err)
	}
	if call.OnHold() {
		t.Fatal("on hold before any music")
	}
	if err := f.cl.StartChannelMOH(f.ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if !call.OnHold() {
		t.Fatal("channel music on hold: not on hold")
	}
	if _, err := f.cl.CreateBridge(f.ctx, "b1", ari.BridgeOptions{Types: []string{ari.BridgeMixing}}); err != nil {
		t.Fatal(err)
	}
	if err := f.cl.AddChannel(f.ctx, "b1", []string{id}, nil); err != nil {
		t.Fatal(err)
	}
	if call.OnHold() {
		t.Fatal("still on hold after entering a silent bridge")
	}
	if err := f.cl.StartBridgeMOH(f.ctx, "b1", ""); err != nil {
		t.Fatal(err)
	}
	if !call.OnHold() {
		t.Fatal("bridge music on hold: not on hold")
	}
	if err := f.cl.StopBridgeMOH(f.ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if call.OnHold() {
		t.Fatal("on hold after the bridge's music stopped")
	}
	if got := call.Played(); !slices.Equal(got, []string{"moh:default", "moh:default"}) {
		t.Fatalf("caller heard %v", got)
	}
	call.Hangup()
	events(t, sub, "ChannelDestroyed")
	if call.OnHold() {
		t.Fatal("a hung-up caller on hold")
	}
}

func TestScriptedCaller(t *testing.T) {
	f := newFixture(t, Options{})
	// Two presses 1 ms apart: each must still come after the one before.
	call, sub := f.newCall(CallSpec{
		CallerNumber: "+1", DialedNumber: "+2",
		DTMF: []DTMF{{Digit: "1", At: 30 * time.Millisecond}, {Digit: "#", At: 31 * time.Millisecond, Duration: 250 * time.Millisecond}},
	})
	// Digits wait for the answer: nothing of the script is pending before.
	f.s.mu.Lock()
	pending := len(f.s.timers)
	f.s.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d timers pending before the answer", pending)
	}
	if err := f.cl.Ring(f.ctx, call.ChannelID()); err != nil {
		t.Fatal(err)
	}
	if err := f.cl.Answer(f.ctx, call.ChannelID()); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitAnswered(f.ctx); err != nil {
		t.Fatal(err)
	}
	// The far end hangs up once both digits are through.
	evs := events(t, sub, "ChannelDtmfReceived")
	evs = append(evs, events(t, sub, "ChannelDtmfReceived")...)
	call.Hangup()
	evs = append(evs, events(t, sub, "ChannelDestroyed")...)
	var digits []string
	var durations []int
	for _, e := range evs {
		switch d := e.(type) {
		case *ari.ChannelDtmfReceived:
			digits = append(digits, d.Digit)
			durations = append(durations, d.DurationMS)
		case *ari.ChannelHangupRequest:
			if d.Cause == nil || *d.Cause != 16 || d.Soft != nil {
				t.Errorf("far-end hangup request %+v", d)
			}
		case *ari.ChannelDestroyed:
			if d.Cause != 16 || d.CauseTxt != "Normal Clearing" {
				t.Errorf("destroyed %+v", d)
			}
		}
	}
	if !slices.Equal(digits, []string{"1", "#"}) || !slices.Equal(durations, []int{100, 250}) {
		t.Fatalf("digits %v durations %v (events %s)", digits, durations, typeList(evs))
	}
	if want := "ChannelStateChange,ChannelDtmfReceived,ChannelDtmfReceived,ChannelHangupRequest,StasisEnd,ChannelDestroyed"; typeList(evs) != want {
		t.Fatalf("events %s, want %s", typeList(evs), want)
	}
	if !call.Rang() || !call.Answered() || call.Cause() != 16 {
		t.Fatalf("rang %v answered %v cause %d", call.Rang(), call.Answered(), call.Cause())
	}
}

// TestHangupAfter: the scripted far-end hangup comes HangupAfter the call
// entered the app, answered or not; an unanswered caller presses nothing.
func TestHangupAfter(t *testing.T) {
	f := newFixture(t, Options{})
	call, sub := f.newCall(CallSpec{
		CallerNumber: "+1", DialedNumber: "+2",
		DTMF:        []DTMF{{Digit: "1", At: time.Millisecond}},
		HangupAfter: 50 * time.Millisecond,
	})
	evs := events(t, sub, "ChannelDestroyed")
	if want := "ChannelHangupRequest,StasisEnd,ChannelDestroyed"; typeList(evs) != want {
		t.Fatalf("events %s, want %s", typeList(evs), want)
	}
	if hr := evs[0].(*ari.ChannelHangupRequest); hr.Cause == nil || *hr.Cause != 16 || hr.Soft != nil {
		t.Errorf("far-end hangup request %+v", hr)
	}
	if d := evs[2].(*ari.ChannelDestroyed); d.Cause != 16 || d.CauseTxt != "Normal Clearing" {
		t.Errorf("destroyed %+v", d)
	}
	if call.Answered() || call.Cause() != 16 {
		t.Fatalf("answered %v cause %d", call.Answered(), call.Cause())
	}
}

func TestARIHangupAndContinue(t *testing.T) {
	f := newFixture(t, Options{})
	call, sub := f.newCall(CallSpec{CallerNumber: "+1"})
	if err := f.cl.Hangup(f.ctx, call.ChannelID(), ari.ReasonRejected); err != nil {
		t.Fatal(err)
	}
	evs := events(t, sub, "ChannelDestroyed")
	hr := evs[0].(*ari.ChannelHangupRequest)
	if hr.Soft == nil || !*hr.Soft || hr.Cause == nil || *hr.Cause != softHangupExplicit {
		t.Fatalf("ARI hangup request %+v", hr)
	}
	if d := evs[len(evs)-1].(*ari.ChannelDestroyed); d.Cause != 21 || d.CauseTxt != "Call Rejected" {
		t.Fatalf("destroyed %+v", d)
	}

	call2, sub2 := f.newCall(CallSpec{CallerNumber: "+1"})
	if err := f.cl.ContinueInDialplan(f.ctx, call2.ChannelID(), ari.ContinueOptions{Context: "unavailable"}); err != nil {
		t.Fatal(err)
	}
	events(t, sub2, "StasisEnd")
	<-call2.Done()
	if cep, ok := call2.ContinuedTo(); !ok || cep.Context != "unavailable" || cep.Exten != "s" || cep.Priority != 3 {
		t.Fatalf("continued to %+v %v", cep, ok)
	}
	if len(f.s.Channels()) != 0 {
		t.Fatalf("channels left: %v", f.s.Channels())
	}
}

// TestShutdown: a stopping Asterisk soft-hangs every channel up with the
// shutdown flag, and the app hears it on the socket it still holds.
func TestShutdown(t *testing.T) {
	f := newFixture(t, Options{})
	call, sub := f.newCall(CallSpec{CallerNumber: "+1"})
	if err := f.cl.Answer(f.ctx, call.ChannelID()); err != nil {
		t.Fatal(err)
	}
	f.s.Shutdown()
	evs := events(t, sub, "ChannelDestroyed")
	var hr *ari.ChannelHangupRequest
	for _, ev := range evs {
		if r, ok := ev.(*ari.ChannelHangupRequest); ok {
			hr = r
		}
	}
	if hr == nil || hr.Soft == nil || !*hr.Soft || hr.Cause == nil || *hr.Cause != softHangupShutdown {
		t.Fatalf("shutdown hangup request %+v in %s", hr, typeList(evs))
	}
	<-call.Done()
	if call.Cause() != 0 || len(f.s.Channels()) != 0 {
		t.Fatalf("after shutdown: cause %d, channels %v", call.Cause(), f.s.Channels())
	}
}

// TestShutdownOrder: the channels named first leave first, the rest by id.
func TestShutdownOrder(t *testing.T) {
	f := newFixture(t, Options{Record: true})
	destroyed := func(skip int) []string {
		var ids []string
		for _, raw := range f.s.SentEvents()[skip:] {
			var ev struct {
				Type    string `json:"type"`
				Channel struct {
					ID string `json:"id"`
				} `json:"channel"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type == "ChannelDestroyed" {
				ids = append(ids, ev.Channel.ID)
			}
		}
		return ids
	}
	for _, reverse := range []bool{false, true} {
		a, _ := f.newCall(CallSpec{CallerNumber: "+1"})
		b, _ := f.newCall(CallSpec{CallerNumber: "+2"})
		if a.ChannelID() >= b.ChannelID() {
			t.Fatalf("channel ids %s, %s: want the first placed to sort first", a.ChannelID(), b.ChannelID())
		}
		skip := len(f.s.SentEvents())
		want := []string{a.ChannelID(), b.ChannelID()}
		if reverse {
			f.s.Shutdown(b.ChannelID())
			want = []string{b.ChannelID(), a.ChannelID()}
		} else {
			f.s.Shutdown()
		}
		<-a.Done()
		<-b.Done()
		// Events are recorded as the socket's writer sends them.
		got := destroyed(skip)
		for end := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(end); got = destroyed(skip) {
			time.Sleep(time.Millisecond)
		}
		if !slices.Equal(got, want) {
			t.Errorf("b first %v: channels destroyed in the order %v, want %v", reverse, got, want)
		}
	}
}

// TestCloseMidCall closes the simulator with calls, bridges, RTP and timers
// all live: everything must stop.
func TestCloseMidCall(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ari.New(ari.Config{URL: s.URL(), Username: s.Username(), Password: s.Password(), App: "app"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = cl.Run(ctx) }()
	if err := s.WaitApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	sink, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer sink.Close()
	for i := range 5 {
		c, err := s.PlaceCall(CallSpec{App: "app", Audio: audio.NewTone(8000, 0.2, 440), HangupAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		id := c.ChannelID()
		bid := fmt.Sprintf("b%d", i)
		mid := fmt.Sprintf("m%d", i)
		_ = cl.Answer(ctx, id)
		_, _ = cl.CreateBridge(ctx, bid, ari.BridgeOptions{})
		_ = cl.AddChannel(ctx, bid, []string{id}, nil)
		_, _ = cl.ExternalMedia(ctx, ari.ExternalMediaParams{ChannelID: mid, ExternalHost: sink.LocalAddr().String()})
		_, _ = cl.PlayChannel(ctx, id, "", []string{"sound:long"}, nil)
	}
	time.Sleep(50 * time.Millisecond)
	s.Close()
	cl.Close()
	sink.Close()
	waitGoroutines(t, base)
}

func BenchmarkMediaTick(b *testing.B) {
	for _, calls := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			s, err := New(Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			sink, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			defer sink.Close()
			req := func(method, path string) {
				r := &request{method: method, segs: strings.Split(strings.Trim(path, "/"), "/"), params: map[string][]string{}}
				if i := strings.IndexByte(path, '?'); i >= 0 {
					r.segs = strings.Split(strings.Trim(path[:i], "/"), "/")
					for _, kv := range strings.Split(path[i+1:], "&") {
						k, v, _ := strings.Cut(kv, "=")
						r.params.Set(k, v)
					}
				}
				if resp := s.handle(r); resp.status >= 300 {
					b.Fatalf("%s %s: %d %v", method, path, resp.status, resp.body)
				}
			}
			s.mu.Lock()
			s.appLocked("app").conn = nil
			s.mu.Unlock()
			for i := range calls {
				s.mu.Lock()
				id := fmt.Sprintf("c%d", i)
				s.channels[id] = &channel{id: id, kind: kindCaller, state: ari.StateUp, app: "app", inStasis: true, vars: map[string]string{},
					call: &Call{s: s, id: id, spec: CallSpec{Audio: audio.NewTone(8000, 0.2, 440)}, done: make(chan struct{}), answeredC: make(chan struct{}), heard: make([]int16, 8000)}}
				s.mu.Unlock()
				req("POST", fmt.Sprintf("/bridges/b%d", i))
				req("POST", fmt.Sprintf("/bridges/b%d/addChannel?channel=%s", i, id))
				req("POST", fmt.Sprintf("/channels/externalMedia?app=app&format=ulaw&external_host=%s&channelId=m%d", sink.LocalAddr(), i))
				s.mu.Lock()
				ch := s.channels[fmt.Sprintf("m%d", i)]
				ch.inStasis, ch.app = true, "app"
				s.mu.Unlock()
				req("POST", fmt.Sprintf("/bridges/b%d/addChannel?channel=m%d", i, i))
			}
			var out []outPacket
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out = s.mediaTick(int64(1_000_000+i), out[:0])
			}
			b.StopTimer()
			if len(out) != calls {
				b.Fatalf("%d packets per tick, want %d", len(out), calls)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(calls), "ns/call-frame")
		})
	}
}
