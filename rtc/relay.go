package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrRelayClosed is returned by a relay's methods after Close.
var ErrRelayClosed = errors.New("rtc: relay closed")

// Relay bridges one call: Asterisk's externalMedia RTP on a UDP socket of
// its own, and the answering volunteer's browser over WebRTC. The browser
// side may be replaced (reconnect) without touching the socket, so the
// externalMedia channel stays as it is.
type Relay struct {
	e    *Engine
	id   string
	log  *slog.Logger
	conn *net.UDPConn
	addr netip.AddrPort
	// ssrc is ours towards Asterisk, stable for the call.
	ssrc  uint32
	track *webrtc.TrackLocalStaticRTP

	// remote is Asterisk's address; packets from anywhere else are dropped.
	remote atomic.Pointer[netip.AddrPort]
	// downGen changes when SetRemote moves to a new address, so the
	// downstream rewriter treats what follows as a new source even if the
	// SSRC happened to repeat.
	downGen atomic.Uint32

	// Asterisk → browser state, owned by the socket reader goroutine.
	down    rebaser
	downPkt rtp.Packet

	// Browser → Asterisk state, shared by the browser track readers and the
	// pacer timer.
	upMu        sync.Mutex
	up          rebaser
	pacer       pacer
	upBuf       [rtpHeaderLen + maxPayload]byte
	pacerTimer  *time.Timer
	pacerArmed  bool
	upConnected atomic.Bool // current PeerConnection is connected

	// Signaling: the current browser session, swapped by HandleOffer.
	sigMu  sync.Mutex
	sess   *session
	gen    uint64
	curGen atomic.Uint64 // gen of sess, for callbacks that must not take sigMu

	onCandidate atomic.Pointer[func([]byte)]
	onState     atomic.Pointer[func(State)]
	stateMu     sync.Mutex
	lastState   State

	taps  taps
	stats counters

	mu       sync.Mutex // guards closed and wg.Add
	closed   bool
	isClosed atomic.Bool
	wg       sync.WaitGroup
	closeMu  sync.Mutex
}

// NewRelay opens the externalMedia socket for one call on the engine's
// media host. id only labels log lines.
func (e *Engine) NewRelay(id string) (*Relay, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.mediaHost, 0)))
	if err != nil {
		return nil, fmt.Errorf("rtc: relay %s: listen on %s: %w", id, e.mediaHost, err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(pcmuCodec.RTPCodecCapability, "audio", "caller")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rtc: relay %s: track: %w", id, err)
	}
	r := &Relay{
		e:     e,
		id:    id,
		log:   e.log.With("call", id),
		conn:  conn,
		addr:  netip.AddrPortFrom(e.mediaHost, uint16(conn.LocalAddr().(*net.UDPAddr).Port)),
		ssrc:  rand.Uint32(),
		track: track,
	}
	r.downPkt.Version = 2
	r.pacerTimer = time.AfterFunc(time.Hour, r.drainPacer)
	r.pacerTimer.Stop()
	if err := e.track(r); err != nil {
		conn.Close()
		return nil, err
	}
	r.spawn(r.readAsterisk)
	return r, nil
}

// LocalAddr is the relay's socket address: pass it to Asterisk as the
// externalMedia external_host.
func (r *Relay) LocalAddr() netip.AddrPort { return r.addr }

// SetRemote locks the relay to Asterisk's side of the externalMedia leg
// (UNICASTRTP_LOCAL_ADDRESS and _PORT). Until it is called the first valid
// RTP packet's source is adopted. Calling it again with a new address
// (a replacement UnicastRTP channel) keeps both output streams continuous.
func (r *Relay) SetRemote(addr netip.AddrPort) error {
	if !addr.IsValid() || addr.Port() == 0 || addr.Addr().IsUnspecified() {
		return fmt.Errorf("rtc: relay %s: remote %s is not a usable address", r.id, addr)
	}
	if r.isClosed.Load() {
		return ErrRelayClosed
	}
	a := netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if old := r.remote.Swap(&a); old == nil || *old != a {
		r.downGen.Add(1)
	}
	return nil
}

// Remote is Asterisk's address, set or learned; invalid while unknown.
func (r *Relay) Remote() netip.AddrPort {
	if p := r.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// spawn runs f in a goroutine Close waits for; it refuses once closing.
func (r *Relay) spawn(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// readAsterisk relays the caller's audio: externalMedia socket → browser.
// It is the only goroutine touching r.down and r.downPkt.
func (r *Relay) readAsterisk() {
	// One byte more than the largest datagram accepted, so an oversized
	// datagram shows up as a full buffer instead of a silently cut one.
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if r.isClosed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			r.stats.readErrors.Add(1)
			continue
		}
		now := time.Now()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		remote := r.remote.Load()
		if remote != nil && *remote != from {
			if r.stats.wrongSource.Add(1) == 1 {
				// Once per call: if Asterisk really sends from elsewhere
				// than it announced, this is the only trace of why the
				// volunteer hears nothing.
				r.log.Warn("dropping RTP from an unexpected source", "from", from.String(), "asterisk", remote.String())
			}
			continue
		}
		if n > maxDatagram {
			r.stats.malformed.Add(1)
			continue
		}
		h, err := parseRTP(buf[:n], payloadTypePCMU)
		if err != nil {
			r.stats.countBad(err)
			continue
		}
		if remote == nil {
			// Nobody told us where Asterisk is yet: the first valid RTP
			// packet decides, and everything else is locked out from here.
			// (A copy, so that only this rare path puts an address on the
			// heap.)
			learned := from
			if !r.remote.CompareAndSwap(nil, &learned) {
				if cur := r.remote.Load(); cur == nil || *cur != from {
					r.stats.wrongSource.Add(1)
					continue
				}
			}
		}
		payload := buf[h.payloadStart:h.payloadEnd]
		r.stats.fromAsterisk.add(len(payload), now)

		source := uint64(r.downGen.Load())<<32 | uint64(h.ssrc)
		seq, ts, marker := r.down.rewrite(source, h.seq, h.timestamp, uint32(len(payload)), now)
		r.downPkt.Marker = h.marker || marker
		r.downPkt.PayloadType = payloadTypePCMU
		r.downPkt.SequenceNumber = seq
		r.downPkt.Timestamp = ts
		r.downPkt.Payload = payload
		// WriteRTP is synchronous and copies the header, so buf is free
		// again when it returns. Before the browser is connected it is a
		// no-op, which is what we want: old audio is not worth queueing.
		if err := r.track.WriteRTP(&r.downPkt); err != nil {
			r.stats.writeErrors.Add(1)
		} else if r.upConnected.Load() {
			r.stats.toBrowser.add(len(payload), now)
		}
		r.taps.publish(FromCaller, seq, ts, now, payload)
	}
}

// readBrowser drains one remote track for as long as its PeerConnection
// lives: browser → pacer → Asterisk. Pion's buffers fill if nobody reads,
// so it reads even while Asterisk's address is unknown.
func (r *Relay) readBrowser(s *session, t *webrtc.TrackRemote) {
	pt := uint8(t.PayloadType())
	buf := make([]byte, maxDatagram+1)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if n > maxDatagram {
			r.stats.malformed.Add(1)
			continue
		}
		// The browser may have picked a dynamic number for PCMU; what was
		// negotiated is what counts.
		h, err := parseRTP(buf[:n], pt)
		if err != nil {
			r.stats.countBad(err)
			continue
		}
		payload := buf[h.payloadStart:h.payloadEnd]
		r.stats.fromBrowser.add(len(payload), now)
		r.admitUp(queuedMeta{
			source:  s.gen<<32 | uint64(h.ssrc),
			seq:     h.seq,
			ts:      h.timestamp,
			marker:  h.marker,
			arrival: now,
		}, payload, now)
	}
}

// admitUp hands one browser packet to the pacer and sends whatever is due.
func (r *Relay) admitUp(meta queuedMeta, payload []byte, now time.Time) {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	if r.isClosed.Load() {
		return
	}
	sendNow, d := r.pacer.admit(meta, payload, now)
	r.countDiscards(d)
	if sendNow {
		r.sendUpLocked(meta, payload, now)
		return
	}
	r.armPacerLocked(now)
}

// drainPacer runs on the pacer timer: forward what is due and re-arm for
// the next.
func (r *Relay) drainPacer() {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	r.pacerArmed = false
	if r.isClosed.Load() {
		return
	}
	now := time.Now()
	for {
		q, d := r.pacer.due(now)
		r.countDiscards(d)
		if q == nil {
			break
		}
		r.sendUpLocked(q.queuedMeta, q.payload[:q.n], now)
		r.pacer.pop()
	}
	r.armPacerLocked(now)
}

func (r *Relay) countDiscards(d discards) {
	if d.lost > 0 {
		r.stats.pacerDropped.Add(uint64(d.lost))
	}
	if d.quiet > 0 {
		r.stats.pacerSkipped.Add(uint64(d.quiet))
	}
}

func (r *Relay) armPacerLocked(now time.Time) {
	waiting, at := r.pacer.pending()
	if !waiting || r.pacerArmed {
		return
	}
	r.pacerArmed = true
	r.pacerTimer.Reset(max(at.Sub(now), 0))
}

// sendUpLocked rewrites one browser packet into the relay's own stream and
// sends it to Asterisk from the externalMedia socket (strict RTP wants
// replies from the address it sends to).
func (r *Relay) sendUpLocked(meta queuedMeta, payload []byte, now time.Time) {
	seq, ts, marker := r.up.rewrite(meta.source, meta.seq, meta.ts, uint32(len(payload)), now)
	r.pacer.sent(len(payload))
	remote := r.remote.Load()
	if remote == nil {
		r.stats.noRemote.Add(1)
	} else {
		putRTPHeader(r.upBuf[:], marker || meta.marker, seq, ts, r.ssrc)
		n := rtpHeaderLen + copy(r.upBuf[rtpHeaderLen:], payload)
		if _, err := r.conn.WriteToUDPAddrPort(r.upBuf[:n], *remote); err != nil {
			r.stats.writeErrors.Add(1)
		} else {
			r.stats.toAsterisk.add(len(payload), now)
		}
	}
	r.taps.publish(FromVolunteer, seq, ts, meta.arrival, payload)
}

// Tap subscribes to both directions of the call's audio with room for
// buffer frames (50 per second per direction). On a closed relay the
// returned tap's channel is already closed.
func (r *Relay) Tap(buffer int) *Tap {
	t := &Tap{c: make(chan Frame, max(buffer, 1)), relay: r}
	r.taps.add(t)
	return t
}

func (r *Relay) removeTap(t *Tap) { r.taps.remove(t) }

// Close tears the call's media down: the socket, the PeerConnection, the
// taps. It waits for the relay's goroutines and is safe to call twice.
func (r *Relay) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.isClosed.Store(true)
	r.mu.Unlock()

	err := r.conn.Close()

	r.sigMu.Lock()
	s := r.sess
	r.sess = nil
	r.sigMu.Unlock()
	if s != nil {
		if cerr := s.pc.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}

	r.upMu.Lock()
	r.pacerTimer.Stop()
	r.pacer.reset()
	r.upMu.Unlock()

	r.wg.Wait()
	r.taps.closeAll()
	r.e.forget(r)
	if err != nil {
		return fmt.Errorf("rtc: relay %s: close: %w", r.id, err)
	}
	return nil
}
