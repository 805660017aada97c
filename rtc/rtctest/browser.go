// Package rtctest stands in for a volunteer's browser, for tests and
// benchmarks only; production code must not import it.
//
// A Browser is an in-process Pion PeerConnection set up the way the
// relay's tests need a browser: it offers PCMU only, gathers loopback
// candidates only, sends RTP from a local track and records (or hands to a
// callback) what it receives. The rtc tests, the rtc benchmark's load
// generator and the hotline tests all drive the real relay with it. WaitFor
// is the polling helper those tests share.
//
// Nothing here needs a *testing.T, because the benchmark's load generator
// runs outside any test; New and the methods return errors, and MustNew is
// the shorthand for tests.
package rtctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"llamenos/audio"
	"llamenos/audio/audiotest"
)

// PCMU is the only codec a Browser offers: G.711 µ-law, payload type 0.
var PCMU = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: audio.SampleRate, Channels: 1},
	PayloadType:        0,
}

// Options shape a Browser. The zero value is a plain browser: UDP over
// IPv4, no RTCP, first packet with sequence number and timestamp 0.
type Options struct {
	// Interceptors turns on Pion's default interceptors (RTCP reports,
	// NACK) and transport-wide sequence numbers, so the browser sends and
	// answers RTCP the way Chrome does.
	Interceptors bool
	// Networks are the network types candidates are gathered on (default
	// UDP over IPv4); {webrtc.NetworkTypeTCP4} makes a browser that can
	// only use ICE-TCP.
	Networks []webrtc.NetworkType
	// Seq and Timestamp are the RTP sequence number and timestamp of the
	// first packet sent.
	Seq       uint16
	Timestamp uint32
	// OnRTP, when set, is given every packet received, in the receiving
	// goroutine and valid only during the call, instead of the browser
	// recording it: a load generator's memory must not grow with time.
	OnRTP func(*rtp.Packet)
	// UDPConn, when set, is the browser's only socket: its one candidate
	// is this socket's address (through an ICE UDP mux), so a test sees
	// every datagram the browser receives, as the conn reads it. The
	// browser closes it.
	UDPConn net.PacketConn
}

// Packet is one RTP packet as a receiver saw it.
type Packet struct {
	At      time.Time      // arrival
	From    netip.AddrPort // sender, where the receiver knows it (a Browser does not: Pion hides it)
	Header  rtp.Header
	Payload []byte
}

// Payloads joins the packets' payloads: µ-law audio in arrival order.
func Payloads(ps []Packet) []byte {
	var out []byte
	for _, p := range ps {
		out = append(out, p.Payload...)
	}
	return out
}

// Browser is the stand-in browser. Its methods are safe for concurrent use.
type Browser struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	onRTP func(*rtp.Packet)
	mux   *ice.UDPMuxDefault // on Options.UDPConn, or nil

	mu        sync.Mutex
	rx        []Packet
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	closed    bool
	wg        sync.WaitGroup

	connected chan struct{}
	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error

	sendMu sync.Mutex
	seq    uint16
	ts     uint32
}

// New creates a Browser with a send-and-receive PCMU transceiver. Close
// it when done.
func New(o Options) (*Browser, error) {
	var mux *ice.UDPMuxDefault
	if o.UDPConn != nil {
		mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: o.UDPConn})
	}
	b, err := newBrowser(o, mux)
	if err != nil && mux != nil {
		mux.Close()
	}
	return b, err
}

func newBrowser(o Options, mux *ice.UDPMuxDefault) (*Browser, error) {
	api, err := newAPI(o, mux)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("rtctest: peer connection: %w", err)
	}
	b := &Browser{pc: pc, mux: mux, onRTP: o.OnRTP, connected: make(chan struct{}), stop: make(chan struct{}), seq: o.Seq, ts: o.Timestamp}
	b.track, err = webrtc.NewTrackLocalStaticRTP(PCMU.RTPCodecCapability, "mic", "volunteer")
	if err == nil {
		_, err = pc.AddTransceiverFromTrack(b.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("rtctest: track: %w", err)
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if !b.goroutine() {
			return
		}
		defer b.wg.Done()
		b.receive(tr)
	})
	return b, nil
}

// MustNew is New for tests: it fails t on error and closes the browser
// when the test ends.
func MustNew(t testing.TB, o Options) *Browser {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// newAPI is the Pion configuration of the browser: PCMU only, loopback
// candidates only, no mDNS; on mux's socket alone when mux is not nil.
func newAPI(o Options, mux *ice.UDPMuxDefault) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(PCMU, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtctest: codec: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := o.Networks
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(networks)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	if mux != nil {
		se.SetICEUDPMux(mux)
	}
	// A browser's RTCPeerConnection stays open when the far end hangs up;
	// only the page closes it. Pion would otherwise close it itself, from
	// its DTLS goroutine, when the other side's close_notify arrives:
	// concurrently with whatever the test reads from it (GetStats), and
	// behind the back of Close, which would then return while that close
	// is still running.
	se.DisableCloseByDTLS(true)
	// An empty registry means none: NewAPI fills in the defaults only when
	// no registry is given.
	ir := &interceptor.Registry{}
	if o.Interceptors {
		if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
			return nil, fmt.Errorf("rtctest: interceptors: %w", err)
		}
		// Chrome stamps transport-wide sequence numbers on audio when the
		// answer accepts the extension, and expects feedback for them.
		if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
			return nil, fmt.Errorf("rtctest: transport-cc: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

// goroutine registers a goroutine that Close must wait for; false once the
// browser is closed.
func (b *Browser) goroutine() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

func (b *Browser) receive(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		if b.onRTP != nil {
			b.onRTP(&p)
			continue
		}
		b.mu.Lock()
		b.rx = append(b.rx, Packet{At: at, Header: p.Header.Clone(), Payload: append([]byte(nil), p.Payload...)})
		b.mu.Unlock()
	}
}

// PC is the underlying PeerConnection, for tests that drive signalling or
// inspect the transport themselves.
func (b *Browser) PC() *webrtc.PeerConnection { return b.pc }

// Offer returns an offer carrying every local candidate (no trickle).
func (b *Browser) Offer(ctx context.Context) (string, error) {
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("rtctest: create offer: %w", err)
	}
	done := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		return "", fmt.Errorf("rtctest: set offer: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", fmt.Errorf("rtctest: gathering candidates: %w", ctx.Err())
	}
	return b.pc.LocalDescription().SDP, nil
}

// SetAnswer applies the answer, then the candidates that arrived before
// it.
func (b *Browser) SetAnswer(sdp string) error {
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("rtctest: set answer: %w", err)
	}
	b.mu.Lock()
	b.remoteSet = true
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	for _, c := range pending {
		b.applyCandidate(c)
	}
	return nil
}

// AddCandidate takes a trickled candidate as RTCIceCandidateInit JSON;
// malformed JSON is an error. Candidates that arrive before the answer
// wait for it.
func (b *Browser) AddCandidate(raw json.RawMessage) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("rtctest: malformed candidate %.80q: %w", raw, err)
	}
	b.mu.Lock()
	if !b.remoteSet {
		b.pending = append(b.pending, c)
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	b.applyCandidate(c)
	return nil
}

// applyCandidate hands a candidate to Pion, which refuses one only once
// the browser is closed, as happens when a test hangs up while the other
// side still trickles.
func (b *Browser) applyCandidate(c webrtc.ICECandidateInit) {
	_ = b.pc.AddICECandidate(c)
}

// WaitConnected waits until the PeerConnection is connected.
func (b *Browser) WaitConnected(ctx context.Context) error {
	select {
	case <-b.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rtctest: browser not connected (state %s): %w", b.pc.ConnectionState(), ctx.Err())
	}
}

// Connect runs a non-trickle offer/answer, answer being the other side
// (such as rtc.Relay.HandleOffer), and waits for the connection, all
// within ctx.
func (b *Browser) Connect(ctx context.Context, answer func(ctx context.Context, offer string) (string, error)) error {
	offer, err := b.Offer(ctx)
	if err != nil {
		return err
	}
	ans, err := answer(ctx, offer)
	if err != nil {
		return fmt.Errorf("rtctest: answer: %w", err)
	}
	if err := b.SetAnswer(ans); err != nil {
		return err
	}
	return b.WaitConnected(ctx)
}

// Send sends one PCMU packet: sequence number +1 and timestamp +len(payload)
// per packet. Before the connection is up, and after Close, the packet is
// dropped without error, as a browser's would be.
func (b *Browser) Send(payload []byte) error {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(PCMU.PayloadType), SequenceNumber: b.seq, Timestamp: b.ts}, Payload: payload}
	b.seq++
	b.ts += uint32(len(payload))
	if err := b.track.WriteRTP(&p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("rtctest: send: %w", err)
	}
	return nil
}

// Play sends src as 20 ms PCMU packets in real time until Close or a send
// error.
func (b *Browser) Play(src audio.Source) {
	if !b.goroutine() {
		return
	}
	go func() {
		defer b.wg.Done()
		payload := make([]byte, 0, audio.FrameSamples)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-tick.C:
			}
			payload = audiotest.AppendMulaw(payload[:0], src, audio.FrameSamples)
			if b.Send(payload) != nil {
				return
			}
		}
	}()
}

// Received returns the packets received so far (none with OnRTP).
func (b *Browser) Received() []Packet {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Packet(nil), b.rx...)
}

// Heard returns all audio received so far as linear PCM.
func (b *Browser) Heard() []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int16
	for _, p := range b.rx {
		out = audio.DecodeMulaw(out, p.Payload)
	}
	return out
}

// Stats is the PeerConnection's statistics report, or nil once Close has
// begun. Unlike PC().GetStats it may be called concurrently with Close.
func (b *Browser) Stats() webrtc.StatsReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	return b.pc.GetStats()
}

// Close hangs up and waits for the browser's goroutines. It may be called
// more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.closeErr = b.pc.Close()
		b.wg.Wait()
		if b.mux != nil {
			b.closeErr = errors.Join(b.closeErr, b.mux.Close())
		}
	})
	return b.closeErr
}
