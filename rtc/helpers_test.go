package rtc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// --- audio: a minimal G.711 µ-law codec and a Goertzel tone detector, kept
// local so this package's tests do not depend on the audio package.

func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x = -x
		sign = 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f)<<3 + 0x84) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// toneFrame fills a 20 ms µ-law frame of a sine at freq, continuing the
// phase from sample index start.
func toneFrame(freq float64, start int) []byte {
	b := make([]byte, 160)
	for i := range b {
		v := 8000 * math.Sin(2*math.Pi*freq*float64(start+i)/clockRate)
		b[i] = ulawEncode(int16(v))
	}
	return b
}

// toneRatio is the share of the signal's energy at freq (Goertzel), in
// [0, 1]: near 1 for a pure tone at freq, near 0 for another tone.
func toneRatio(ulaw []byte, freq float64) float64 {
	if len(ulaw) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/clockRate)
	var s1, s2, energy float64
	for _, u := range ulaw {
		x := float64(ulawDecode(u))
		energy += x * x
		s := x + coeff*s1 - s2
		s2, s1 = s1, s
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	if energy == 0 {
		return 0
	}
	return 2 * power / (float64(len(ulaw)) * energy)
}

func TestToneHelpers(t *testing.T) {
	var sig []byte
	for i := 0; i < 25; i++ {
		sig = append(sig, toneFrame(440, i*160)...)
	}
	if r := toneRatio(sig, 440); r < 0.9 {
		t.Errorf("440 Hz tone scores %.2f at 440 Hz, want > 0.9", r)
	}
	if r := toneRatio(sig, 1000); r > 0.05 {
		t.Errorf("440 Hz tone scores %.2f at 1000 Hz, want < 0.05", r)
	}
	for _, s := range []int16{0, 1, -1, 100, -100, 8000, -8000, 32767, -32768} {
		if d := ulawDecode(ulawEncode(s)); math.Abs(float64(d)-float64(s)) > math.Abs(float64(s))/16+8 {
			t.Errorf("µ-law round trip %d -> %d", s, d)
		}
	}
}

// --- a fake Asterisk externalMedia endpoint.

type rxPacket struct {
	at      time.Time
	from    netip.AddrPort
	hdr     rtp.Header
	payload []byte
}

type fakeAsterisk struct {
	t    testing.TB
	conn *net.UDPConn
	to   netip.AddrPort

	mu  sync.Mutex
	rx  []rxPacket
	wg  sync.WaitGroup
	buf [2048]byte

	ssrc uint32
	seq  uint16
	ts   uint32

	// kernelTime: rxPacket.at is the kernel's arrival stamp.
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
		a.rx = append(a.rx, rxPacket{at: at, from: from, hdr: p.Header, payload: append([]byte(nil), p.Payload...)})
		a.mu.Unlock()
	}
}

func (a *fakeAsterisk) received() []rxPacket {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]rxPacket(nil), a.rx...)
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

// --- an in-process "browser": a Pion PeerConnection that offers, sends a
// PCMU track and records what it receives.

func newBrowserAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := browserAPI(false)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// browserAPI is the Pion configuration of the stand-in browser: PCMU,
// loopback IPv4 only. With interceptors it also sends and answers RTCP like
// a real browser would.
func browserAPI(interceptors bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(pcmuCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// An empty registry means none: NewAPI fills in the defaults only when
	// no registry is given.
	ir := &interceptor.Registry{}
	if interceptors {
		if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
			return nil, err
		}
		// Chrome stamps transport-wide sequence numbers on audio when the
		// answer accepts the extension, and expects feedback for them.
		if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

type browser struct {
	t     testing.TB
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu        sync.Mutex
	rx        []rxPacket
	closed    bool
	connected chan struct{}
	wg        sync.WaitGroup

	seq uint16
	ts  uint32
}

func newBrowser(t testing.TB, api *webrtc.API) *browser {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(pcmuCodec.RTPCodecCapability, "mic", "volunteer")
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, track: track, connected: make(chan struct{}), seq: 7, ts: 900}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return
		}
		b.wg.Add(1)
		b.mu.Unlock()
		defer b.wg.Done()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.rx = append(b.rx, rxPacket{at: time.Now(), hdr: p.Header, payload: p.Payload})
			b.mu.Unlock()
		}
	})
	t.Cleanup(b.close)
	return b
}

// offer returns an offer with every candidate in it (no trickle).
func (b *browser) offer() string {
	b.t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		b.t.Fatal(err)
	}
	<-done
	return b.pc.LocalDescription().SDP
}

func (b *browser) answer(sdp string) {
	b.t.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) waitConnected(d time.Duration) {
	b.t.Helper()
	select {
	case <-b.connected:
	case <-time.After(d):
		b.t.Fatalf("browser not connected after %v (state %s)", d, b.pc.ConnectionState())
	}
}

func (b *browser) send(payload []byte) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: b.seq, Timestamp: b.ts}, Payload: payload}
	if err := b.track.WriteRTP(&p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		b.t.Errorf("browser send: %v", err)
	}
	b.seq++
	b.ts += uint32(len(payload))
}

func (b *browser) received() []rxPacket {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]rxPacket(nil), b.rx...)
}

func (b *browser) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.pc.Close()
	b.wg.Wait()
}

// connect runs a non-trickle offer/answer between b and r.
func connect(t testing.TB, r *Relay, b *browser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, err := r.HandleOffer(ctx, b.offer())
	if err != nil {
		t.Fatal(err)
	}
	b.answer(ans)
	b.waitConnected(10 * time.Second)
}

var quietLog = slog.New(slog.DiscardHandler)

func testEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
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

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
