package ari

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unsafe"
)

// modelled lists every event type DecodeEvent models.
var modelled = []string{
	"StasisStart", "StasisEnd", "ChannelCreated", "ChannelStateChange", "ChannelDtmfReceived",
	"ChannelHangupRequest", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge", "ChannelVarset",
	"ChannelHold", "ChannelUnhold", "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelCallerId",
	"ChannelConnectedLine", "BridgeCreated", "BridgeDestroyed", "PlaybackStarted", "PlaybackContinuing",
	"PlaybackFinished", "RecordingStarted", "RecordingFinished", "RecordingFailed", "Dial",
	"ApplicationReplaced", "ApplicationMoveFailed",
}

// filled decodes an event of type typ and gives every Private it can hold
// (through *Channel fields too) a buffer holding a number; it returns the
// event and those buffers.
func filled(t *testing.T, typ string) (Event, [][]byte) {
	t.Helper()
	ev, err := DecodeEvent([]byte(`{"type":"` + typ + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, unknown := ev.(*UnknownEvent); unknown {
		t.Fatalf("%s is not modelled", typ)
	}
	var bufs [][]byte
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() && v.Type().Elem().Kind() == reflect.Struct && reachesPrivate(v.Type()) {
				v.Set(reflect.New(v.Type().Elem()))
			}
			if !v.IsNil() {
				fill(v.Elem())
			}
		case reflect.Struct:
			if v.Type() == privateType {
				p := NewPrivate("+15551234567")
				bufs = append(bufs, p.Bytes())
				v.Set(reflect.ValueOf(p))
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		}
	}
	fill(reflect.ValueOf(ev))
	return ev, bufs
}

// TestWipeEventReachesEveryCallerID: for every modelled event type, every
// caller id it can carry is zeroed, and a copy made for a second
// subscription has buffers of its own.
func TestWipeEventReachesEveryCallerID(t *testing.T) {
	withIDs := 0
	for _, typ := range modelled {
		ev, bufs := filled(t, typ)
		if len(bufs) > 0 {
			withIDs++
		}
		clone := cloneEvent(ev)
		if reflect.TypeOf(clone) != reflect.TypeOf(ev) || clone.Base().Type != ev.Base().Type {
			t.Fatalf("%s: clone is a %T", typ, clone)
		}
		WipeEvent(ev)
		for i, b := range bufs {
			if !isZero(b) {
				t.Errorf("%s: caller id %d not wiped: %q", typ, i, b)
			}
		}
		n := 0
		eachPrivate(reflect.ValueOf(clone), func(p *Private) {
			n++
			if string(p.Bytes()) != "+15551234567" {
				t.Errorf("%s: the clone shared a buffer with the original: %q", typ, p.Bytes())
			}
		})
		if n != len(bufs) {
			t.Errorf("%s: the clone has %d caller ids, the original %d", typ, n, len(bufs))
		}
	}
	// Channel, Dial (three channels), ChannelEnteredBridge (*Channel) ...
	if withIDs < 18 {
		t.Fatalf("only %d event types carry caller ids; the walk misses some", withIDs)
	}
	u := &UnknownEvent{Raw: []byte(`{"type":"X","number":"+15551234567"}`)}
	raw := u.Raw
	WipeEvent(u)
	if !isZero(raw) || u.Raw != nil {
		t.Fatalf("unknown event's frame not wiped: %q", raw)
	}
}

func newTestClient(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{URL: "http://127.0.0.1:9/ari", Username: "u", App: "a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func entered(number string) *ChannelEnteredBridge {
	return &ChannelEnteredBridge{
		EventBase: EventBase{Type: "ChannelEnteredBridge"},
		Bridge:    Bridge{ID: "b1"},
		Channel:   &Channel{ID: "c1", Caller: CallerID{Number: NewPrivate(number)}},
	}
}

func receive(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev := <-s.Events():
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return nil
}

// TestRouteGivesEachSubscriptionItsOwnCopy: one event for two
// subscriptions arrives as two events, so each owner can wipe its own.
func TestRouteGivesEachSubscriptionItsOwnCopy(t *testing.T) {
	c := newTestClient(t)
	a, b := c.Subscribe(ChannelKey("c1")), c.Subscribe(BridgeKey("b1"))
	defer a.Close()
	defer b.Close()
	c.router.route(entered("+15551234567"))
	ea, eb := receive(t, a).(*ChannelEnteredBridge), receive(t, b).(*ChannelEnteredBridge)
	if ea == eb || ea.Channel == eb.Channel {
		t.Fatal("both subscriptions got the same event")
	}
	WipeEvent(ea)
	if string(eb.Channel.Caller.Number.Bytes()) != "+15551234567" {
		t.Fatalf("wiping one copy wiped the other: %q", eb.Channel.Caller.Number.Bytes())
	}
}

// TestUndeliveredEventsAreWiped: events a closed subscription never
// delivered, and notifications nobody read before Close, are wiped.
func TestUndeliveredEventsAreWiped(t *testing.T) {
	c, err := New(Config{URL: "http://127.0.0.1:9/ari", Username: "u", App: "a"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Subscribe(ChannelKey("c1"))
	var bufs [][]byte
	for range 3 {
		ev := entered("+15551234567")
		bufs = append(bufs, ev.Channel.Caller.Number.Bytes())
		c.router.route(ev)
	}
	s.Close() // one event may sit in the pump, two in the queue
	start := &StasisStart{EventBase: EventBase{Type: "StasisStart"}, Channel: Channel{ID: "c9", Caller: CallerID{Number: NewPrivate("+15551234568")}}}
	bufs = append(bufs, start.Channel.Caller.Number.Bytes())
	c.router.route(start) // a NewChannel notification nobody reads
	c.Close()
	for i, b := range bufs {
		if !isZero(b) {
			t.Errorf("event %d not wiped: %q", i, b)
		}
	}
}

// TestDispatchZeroesTheFrame: a frame is zeroed once decoded, malformed or
// not, and an unmodelled event's copy of it is wiped.
func TestDispatchZeroesTheFrame(t *testing.T) {
	c := newTestClient(t)
	for _, frame := range []string{
		`{"type":"ChannelDestroyed","channel":{"id":"c5","caller":{"number":"+15551234567"}}}`,
		`{"type":"ChannelDestroyed","channel":{"id":"c5","caller":{"number":"+15551234567"}},"cause":"x"}`,
		`{"type":"ChannelUserevent","channel":{"caller":{"number":"+15551234567"}}}`,
	} {
		data := []byte(frame)
		c.dispatch(rawMessage{data: data})
		if !isZero(data) {
			t.Errorf("frame not zeroed: %q", data)
		}
	}
}

// TestReadAllLeavesOneCopy: readAll's result is the only copy; the buffers
// it outgrew are zeroed.
func TestReadAllLeavesOneCopy(t *testing.T) {
	want := strings.Repeat("+15551234567,", 1000)
	spy := &spyReader{r: iotest.HalfReader(strings.NewReader(want))}
	got, err := readAll(spy, -1, 1<<20)
	if err != nil || string(got) != want {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if len(spy.bufs) < 3 {
		t.Fatalf("the buffer grew only %d times", len(spy.bufs)-1)
	}
	for _, b := range spy.bufs[:len(spy.bufs)-1] {
		if !isZero(b) {
			t.Fatalf("an outgrown buffer of %d bytes still holds what was read", len(b))
		}
	}
	if last := spy.bufs[len(spy.bufs)-1]; unsafe.SliceData(last) != unsafe.SliceData(got) {
		t.Fatal("the result is not the last buffer")
	}
	if got, _ := readAll(strings.NewReader(want), int64(len(want)), 100); len(got) != 100 {
		t.Fatalf("limit: read %d", len(got))
	}
	if got, err := readAll(iotest.ErrReader(io.ErrUnexpectedEOF), 5, 100); got != nil || err == nil {
		t.Fatalf("error: %q, %v", got, err)
	}
}

// spyReader keeps every distinct buffer readAll reads into, whole: readAll
// fills each from the start, so a read's buffer begins as many bytes
// before it as were read so far.
type spyReader struct {
	r    io.Reader
	n    int
	bufs [][]byte
}

func (s *spyReader) Read(p []byte) (int, error) {
	whole := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(p)), -s.n)), s.n+cap(p))
	if k := len(s.bufs); k == 0 || unsafe.SliceData(s.bufs[k-1]) != unsafe.SliceData(whole) {
		s.bufs = append(s.bufs, whole)
	}
	n, err := s.r.Read(p)
	s.n += n
	return n, err
}

// TestWipeConnHead: on the events socket's connection, the HTTP response
// is read without reading past its header, so frames sent with it are left
// for the WebSocket reader; every read zeroes its buffer first.
func TestWipeConnHead(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	const resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	const frame = "\x81\x05+1555"
	go func() { _, _ = server.Write([]byte(resp + frame)) }()
	wc := &wipeConn{Conn: client, head: true}
	br := bufio.NewReader(wc)
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusSwitchingProtocols || br.Buffered() != 0 || wc.head {
		t.Fatalf("status %d, %d bytes buffered past the header, head %v", r.StatusCode, br.Buffered(), wc.head)
	}
	const stale = "stale data, longer than the frame"
	buf := []byte(stale)
	n, err := io.ReadFull(wc, buf[:len(frame)])
	if err != nil || string(buf[:n]) != frame {
		t.Fatalf("frame %q, %v", buf[:n], err)
	}
	if string(buf[len(frame):]) != stale[len(frame):] {
		t.Fatalf("read beyond its buffer: %q", buf)
	}
	p := []byte("stale")
	_ = client.SetReadDeadline(time.Now())
	if _, err := wc.Read(p); err == nil || !isZero(p) {
		t.Fatalf("a read did not zero its buffer first: %q, %v", p, err)
	}
}
