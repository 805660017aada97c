package rtc

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"llamenos/audio"
	"llamenos/audio/audiotest"
	"llamenos/leakcheck"
	"llamenos/rtc/rtctest"
)

// --- audio: tones as the tests' two voices.

// sine is a test voice: a sine at freq, its phase running on across frames.
func sine(freq float64) *audio.Tone { return audio.NewTone(audio.SampleRate, 0.25, freq) }

// frame is the next 20 ms of src as a PCMU payload.
func frame(src audio.Source) []byte { return audiotest.AppendMulaw(nil, src, audio.FrameSamples) }

// toneLevel is the share of µ-law audio's energy at freq, in [0, 1].
func toneLevel(ulaw []byte, freq float64) float64 {
	return audio.ToneLevel(audio.DecodeMulaw(nil, ulaw), audio.SampleRate, freq)
}

// --- a fake Asterisk externalMedia endpoint.

type fakeAsterisk struct {
	t    testing.TB
	conn *net.UDPConn
	to   netip.AddrPort

	mu  sync.Mutex
	rx  []rtctest.Packet
	wg  sync.WaitGroup
	buf [2048]byte

	ssrc uint32
	seq  uint16
	ts   uint32

	// kernelTime: a received Packet's At is the kernel's arrival stamp.
	kernelTime bool
}

func newFakeAsterisk(t testing.TB, to netip.AddrPort) *fakeAsterisk {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAsterisk{t: t, conn: conn, to: to, ssrc: 0x11223344, seq: 1000, ts: 50000}
	a.kernelTime = enableRxTimestamps(conn)
	a.wg.Add(1)
	go a.read()
	t.Cleanup(a.close)
	return a
}

func (a *fakeAsterisk) addr() netip.AddrPort {
	return a.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (a *fakeAsterisk) read() {
	defer a.wg.Done()
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := a.conn.ReadMsgUDPAddrPort(a.buf[:], oob)
		if err != nil {
			return
		}
		at, ok := rxTimestamp(oob[:oobn])
		if !ok {
			at = time.Now()
		}
		var p rtp.Packet
		if err := p.Unmarshal(a.buf[:n]); err != nil {
			continue
		}
		a.mu.Lock()
		a.rx = append(a.rx, rtctest.Packet{At: at, From: from, Header: p.Header, Payload: append([]byte(nil), p.Payload...)})
		a.mu.Unlock()
	}
}

func (a *fakeAsterisk) received() []rtctest.Packet {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]rtctest.Packet(nil), a.rx...)
}

// send sends one 20 ms packet as Asterisk would: seq +1, ts +160.
func (a *fakeAsterisk) send(payload []byte) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: a.seq, Timestamp: a.ts, SSRC: a.ssrc}, Payload: payload}
	b, _ := p.Marshal()
	if _, err := a.conn.WriteToUDPAddrPort(b, a.to); err != nil {
		a.t.Errorf("fake asterisk send: %v", err)
	}
	a.seq++
	a.ts += uint32(len(payload))
}

// newChannel simulates a replacement UnicastRTP channel: new SSRC and
// fresh random-looking seq/ts.
func (a *fakeAsterisk) newChannel() {
	a.ssrc ^= 0x5a5a5a5a
	a.seq += 30000
	a.ts += 123456789
}

func (a *fakeAsterisk) close() {
	a.conn.Close()
	a.wg.Wait()
}

// connect runs a non-trickle offer/answer between b and r and waits for
// the connection.
func connect(t testing.TB, r *Relay, b *rtctest.Browser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Connect(ctx, r.HandleOffer); err != nil {
		t.Fatal(err)
	}
}

// answer applies the relay's answer to b and waits for the connection.
func answer(t testing.TB, b *rtctest.Browser, ans string, d time.Duration) {
	t.Helper()
	if err := b.SetAnswer(ans); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

// offer is b's offer with every candidate in it (no trickle).
func offer(t testing.TB, b *rtctest.Browser) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := b.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var quietLog = slog.New(slog.DiscardHandler)

// testEngine is an engine on loopback, closed when the test ends. It
// checks the test for leaked goroutines, so call it before anything else
// that is closed at the end.
func testEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	leakcheck.Check(t)
	cfg := Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: quietLog}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// testRelay is a relay on a fresh test engine, closed when the test ends.
func testRelay(t testing.TB, id string) *Relay {
	t.Helper()
	r, err := testEngine(t, nil).NewRelay(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// withAsterisk gives r a fake Asterisk as its externalMedia peer.
func withAsterisk(t testing.TB, r *Relay) *fakeAsterisk {
	t.Helper()
	ast := newFakeAsterisk(t, r.LocalAddr())
	if err := r.SetRemote(ast.addr()); err != nil {
		t.Fatal(err)
	}
	return ast
}

// rtpBytes builds a raw RTP datagram for bad-input tests.
func rtpBytes(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, 12+len(payload))
	b[0] = 0x80
	b[1] = pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	copy(b[12:], payload)
	return b
}
