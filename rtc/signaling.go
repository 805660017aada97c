package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// State is the browser connection's state as the call engine needs it.
type State int

const (
	StateConnecting State = iota + 1
	StateConnected
	// StateDisconnected: ICE lost the browser; it may come back on its
	// own, or with a new offer. Start the grace period.
	StateDisconnected
	// StateFailed: ICE gave up. Only a new offer can recover.
	StateFailed
	// StateClosed: the browser closed its PeerConnection.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	default:
		return "unknown"
	}
}

func stateOf(s webrtc.PeerConnectionState) State {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		return StateConnected
	case webrtc.PeerConnectionStateDisconnected:
		return StateDisconnected
	case webrtc.PeerConnectionStateFailed:
		return StateFailed
	case webrtc.PeerConnectionStateClosed:
		return StateClosed
	default:
		return StateConnecting
	}
}

// Signaling errors. Each leaves the relay as it was.
var (
	ErrBadOffer       = errors.New("rtc: malformed offer")
	ErrNoPCMU         = errors.New("rtc: offer has no audio section accepting PCMU/8000")
	ErrBadCandidate   = errors.New("rtc: malformed ICE candidate")
	ErrNoSession      = errors.New("rtc: no offer handled yet")
	ErrStaleCandidate = errors.New("rtc: ICE candidate belongs to an earlier offer")
)

// Bounds on signaling input from the browser.
const (
	maxSDP           = 64 << 10
	maxCandidateJSON = 4 << 10
)

// session is one browser PeerConnection. A reconnect replaces it; the
// relay's socket, streams and taps carry on.
type session struct {
	r           *Relay
	gen         uint64
	pc          *webrtc.PeerConnection
	remoteUfrag string

	// Local candidates wait until HandleOffer has returned the answer.
	cmu     sync.Mutex
	ready   bool
	pending [][]byte
}

// OnLocalCandidate sets the trickle ICE callback. Each call carries one
// candidate as RTCIceCandidateInit JSON for the browser's addIceCandidate;
// nil means gathering is complete. Candidates of an offer are delivered
// only after HandleOffer returned its answer, in order, one at a time.
// The callback must not block for long. Without a callback HandleOffer
// waits for gathering and puts every candidate in the answer instead.
func (r *Relay) OnLocalCandidate(f func(candidate []byte)) {
	if f == nil {
		r.onCandidate.Store(nil)
		return
	}
	r.onCandidate.Store(&f)
}

// OnState sets the callback for the browser connection's state. Only the
// current PeerConnection reports; changes are delivered one at a time,
// deduplicated, the last one always being the current state. The callback
// must not block for long.
func (r *Relay) OnState(f func(State)) {
	if f == nil {
		r.onState.Store(nil)
		return
	}
	r.onState.Store(&f)
}

// HandleOffer answers the browser's offer (SDP text) and returns the
// answer SDP. A second offer (the browser reconnecting with a new
// RTCPeerConnection) replaces the first PeerConnection; the externalMedia
// socket and both output streams continue. An offer without an audio
// section accepting PCMU/8000 is refused with ErrNoPCMU and changes nothing.
func (r *Relay) HandleOffer(ctx context.Context, offer string) (string, error) {
	ufrag, err := checkOffer(offer)
	if err != nil {
		return "", fmt.Errorf("rtc: relay %s: %w", r.id, err)
	}

	r.sigMu.Lock()
	defer r.sigMu.Unlock()
	if r.isClosed.Load() {
		return "", ErrRelayClosed
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("rtc: relay %s: offer: %w", r.id, err)
	}

	pc, err := r.e.api.NewPeerConnection(r.e.peerConfig())
	if err != nil {
		return "", fmt.Errorf("rtc: relay %s: new peer connection: %w", r.id, err)
	}
	s := &session{r: r, gen: r.gen + 1, pc: pc, remoteUfrag: ufrag}
	fail := func(step string, err error) (string, error) {
		_ = pc.Close()
		return "", fmt.Errorf("rtc: relay %s: %s: %w", r.id, step, err)
	}
	trickle := r.onCandidate.Load() != nil
	if trickle {
		pc.OnICECandidate(s.onCandidate)
	}
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { r.stateChanged(s) })
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { r.onTrack(s, t) })

	sender, err := pc.AddTrack(r.track)
	if err != nil {
		return fail("add track", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail("apply offer", fmt.Errorf("%w: %w", ErrBadOffer, err))
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail("create answer", err)
	}
	var gathered <-chan struct{}
	if !trickle {
		gathered = webrtc.GatheringCompletePromise(pc)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail("apply answer", err)
	}
	if !trickle {
		select {
		case <-gathered:
		case <-ctx.Done():
			return fail("gather candidates", ctx.Err())
		}
		answer = *pc.LocalDescription()
	}
	// Reading RTCP is what drives the interceptors (receiver reports in,
	// NACK responder); the payload itself is not needed.
	if !r.spawn(func() { drainRTCP(sender) }) {
		_ = pc.Close()
		return "", ErrRelayClosed
	}

	old := r.sess
	r.sess = s
	r.gen = s.gen
	r.curGen.Store(s.gen)
	r.upConnected.Store(false)
	if old != nil {
		// Closing a PeerConnection can take a moment (DTLS close_notify);
		// the new one need not wait for it.
		if !r.spawn(func() { _ = old.pc.Close() }) {
			_ = old.pc.Close()
		}
	}
	// The new connection may already have moved while it was not current.
	r.spawn(func() { r.stateChanged(s) })
	s.release()
	return answer.SDP, nil
}

// AddICECandidate applies one trickled candidate from the browser
// (RTCIceCandidateInit JSON). An empty candidate string means the browser
// finished gathering. A candidate for an earlier offer's ufrag is refused
// with ErrStaleCandidate, which the caller may ignore.
func (r *Relay) AddICECandidate(raw []byte) error {
	if len(raw) > maxCandidateJSON {
		return fmt.Errorf("rtc: relay %s: %w: %d bytes", r.id, ErrBadCandidate, len(raw))
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("rtc: relay %s: %w: %w", r.id, ErrBadCandidate, err)
	}
	r.sigMu.Lock()
	defer r.sigMu.Unlock()
	if r.isClosed.Load() {
		return ErrRelayClosed
	}
	s := r.sess
	if s == nil {
		return fmt.Errorf("rtc: relay %s: %w", r.id, ErrNoSession)
	}
	if c.UsernameFragment != nil && *c.UsernameFragment != "" && *c.UsernameFragment != s.remoteUfrag {
		return fmt.Errorf("rtc: relay %s: %w", r.id, ErrStaleCandidate)
	}
	if err := s.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("rtc: relay %s: %w: %w", r.id, ErrBadCandidate, err)
	}
	return nil
}

func (s *session) onCandidate(c *webrtc.ICECandidate) {
	var msg []byte
	if c != nil {
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			s.r.log.Warn("encode local ICE candidate", "err", err)
			return
		}
		msg = b
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if !s.ready {
		s.pending = append(s.pending, msg)
		return
	}
	s.deliver(msg)
}

// release starts candidate delivery once the answer exists.
func (s *session) release() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.ready = true
	for _, msg := range s.pending {
		s.deliver(msg)
	}
	s.pending = nil
}

func (s *session) deliver(msg []byte) {
	if s.r.isClosed.Load() || s.r.curGen.Load() != s.gen {
		return
	}
	if f := s.r.onCandidate.Load(); f != nil {
		(*f)(msg)
	}
}

// stateChanged reports the current session's state if it changed. Pion
// runs each state handler in its own goroutine, so the order of calls is
// not the order of changes; reading the state afresh under one lock makes
// the last report always the true current state.
func (r *Relay) stateChanged(s *session) {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if r.isClosed.Load() || r.curGen.Load() != s.gen {
		return
	}
	st := stateOf(s.pc.ConnectionState())
	r.upConnected.Store(st == StateConnected)
	if st == r.lastState {
		return
	}
	r.lastState = st
	r.log.Info("browser connection", "state", st.String())
	if f := r.onState.Load(); f != nil {
		(*f)(st)
	}
}

// onTrack runs in a goroutine Pion starts for each remote track.
func (r *Relay) onTrack(s *session, t *webrtc.TrackRemote) {
	if t.Kind() != webrtc.RTPCodecTypeAudio || !strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypePCMU) {
		r.log.Warn("ignoring browser track", "kind", t.Kind().String(), "codec", t.Codec().MimeType)
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	r.readBrowser(s, t)
}

func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, maxDatagram)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// checkOffer refuses an offer the relay cannot use before Pion sees it,
// and returns the ICE ufrag of the audio section for candidate checks.
func checkOffer(offer string) (ufrag string, err error) {
	if len(offer) > maxSDP {
		return "", fmt.Errorf("%w: %d bytes is too long", ErrBadOffer, len(offer))
	}
	if strings.TrimSpace(offer) == "" {
		return "", fmt.Errorf("%w: empty", ErrBadOffer)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	sessionUfrag, _ := d.Attribute("ice-ufrag")
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 || !acceptsPCMU(m) {
			continue
		}
		ufrag, ok := m.Attribute("ice-ufrag")
		if !ok {
			ufrag = sessionUfrag
		}
		if ufrag == "" {
			return "", fmt.Errorf("%w: audio section has no ice-ufrag", ErrBadOffer)
		}
		return ufrag, nil
	}
	return "", ErrNoPCMU
}

// acceptsPCMU reports whether an m-line lists PCMU/8000, either as the
// static payload type 0 or through an rtpmap.
func acceptsPCMU(m *sdp.MediaDescription) bool {
	rtpmaps := map[string]string{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if ok {
			rtpmaps[pt] = enc
		}
	}
	for _, f := range m.MediaName.Formats {
		enc, mapped := rtpmaps[f]
		if !mapped {
			if f == strconv.Itoa(payloadTypePCMU) {
				return true
			}
			continue
		}
		name, rate, _ := strings.Cut(enc, "/")
		rate, _, _ = strings.Cut(rate, "/")
		if strings.EqualFold(name, "PCMU") && rate == "8000" {
			return true
		}
	}
	return false
}
