package aritest

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"llamenos/audio"
)

// rtpLeg is the RTP side of an externalMedia (UnicastRTP) channel: a UDP
// socket on 127.0.0.1 standing in for Asterisk's, and the requested
// external_host it talks to.
type rtpLeg struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	remote netip.AddrPort // external_host: the only accepted source (strict RTP)

	ssrc      uint32
	seq       uint16
	ts        uint32
	lastFrame int64 // media clock frame of the last packet sent; -1 before the first
	mix       []int16
	payload   []byte
	wire      []byte // the marshalled packet; reused, as the media loop writes it before the next tick

	stats RTPStats
}

// RTPStats describe one externalMedia channel's RTP.
type RTPStats struct {
	Local, Remote netip.AddrPort
	SSRC          uint32
	Sent          uint64 // packets sent to external_host
	Received      uint64 // packets accepted from external_host
	StrictDrops   uint64 // packets from any other address (strict RTP)
	Malformed     uint64 // unparsable packets or payload type other than 0
}

// ExternalMediaStats returns the RTP counters of a live externalMedia
// channel.
func (s *Server) ExternalMediaStats(channelID string) (RTPStats, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channelID]
	if ch == nil || ch.rtp == nil {
		return RTPStats{}, false
	}
	return ch.rtp.stats, true
}

const frameDur = 20 * time.Millisecond

type outPacket struct {
	conn *net.UDPConn
	to   netip.AddrPort
	data []byte
}

// mediaLoop is the simulator's single media clock: every 20 ms it produces
// one frame for each externalMedia channel that shares a bridge with
// someone, so per-call cost is a few microseconds, not a goroutine with its
// own ticker.
func (s *Server) mediaLoop() {
	t := time.NewTicker(frameDur)
	defer t.Stop()
	start := time.Now()
	var frame int64
	var out []outPacket
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		due := int64(time.Since(start) / frameDur)
		if due-frame > 3 {
			// Fell behind (a stalled machine): skip rather than burst, the
			// way Asterisk's timestamps jump after a gap. The callers went
			// on talking meanwhile: what they said in the gap is lost, as
			// packets lost on a real line are, and what follows is what
			// they say after it.
			s.skipCallerAudio(due - 3 - frame)
			frame = due - 3
		}
		for frame < due {
			frame++
			out = s.mediaTick(frame, out[:0])
			for _, p := range out {
				_, _ = p.conn.WriteToUDPAddrPort(p.data, p.to)
			}
		}
	}
}

func (s *Server) mediaTick(frame int64, out []outPacket) []outPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bridges {
		var bmedia []int16
		for _, leg := range b.members {
			if leg.rtp == nil || len(b.members) < 2 && !b.moh && b.playing == nil {
				continue
			}
			if bmedia == nil {
				bmedia = s.bridgeMediaFrame(b, frame)
			}
			l := leg.rtp
			copy(l.mix, bmedia)
			for _, m := range b.members {
				if m != leg && m.kind == kindCaller {
					audio.Mix(l.mix, s.callerFrame(m, frame))
				}
			}
			marker := l.lastFrame != frame-1
			if l.lastFrame >= 0 {
				l.seq++
				l.ts += uint32(audio.FrameSamples * (frame - l.lastFrame))
			}
			l.lastFrame = frame
			l.payload = audio.EncodeMulaw(l.payload[:0], l.mix)
			pkt := rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: marker, PayloadType: 0, SequenceNumber: l.seq, Timestamp: l.ts, SSRC: l.ssrc},
				Payload: l.payload,
			}
			if cap(l.wire) < pkt.MarshalSize() {
				l.wire = make([]byte, pkt.MarshalSize())
			}
			n, err := pkt.MarshalTo(l.wire[:cap(l.wire)])
			if err != nil {
				continue
			}
			data := l.wire[:n]
			l.stats.Sent++
			out = append(out, outPacket{conn: l.conn, to: l.remote, data: data})
		}
	}
	return out
}

// maxSkipFrames bounds the audio skipCallerAudio drops: 5 s.
const maxSkipFrames = 250

// skipCallerAudio advances the audio of every caller heard by an
// externalMedia channel by n frames the media clock skipped.
func (s *Server) skipCallerAudio(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, maxSkipFrames)
	for _, b := range s.bridges {
		heard := false
		for _, leg := range b.members {
			heard = heard || (leg.rtp != nil && len(b.members) >= 2)
		}
		if !heard {
			continue
		}
		for _, m := range b.members {
			if m.kind != kindCaller || m.call == nil {
				continue
			}
			if m.frame == nil {
				m.frame = make([]int16, audio.FrameSamples)
			}
			for range n {
				m.call.spec.Audio.Fill(m.frame)
			}
		}
	}
}

// callerFrame advances a caller's audio once per media frame, however many
// externalMedia channels hear it.
func (s *Server) callerFrame(ch *channel, frame int64) []int16 {
	if ch.frame == nil {
		ch.frame = make([]int16, audio.FrameSamples)
	}
	if ch.frameAt != frame {
		ch.call.spec.Audio.Fill(ch.frame)
		ch.frameAt = frame
	}
	return ch.frame
}

// bridgeMediaFrame is what the bridge itself plays (music on hold, a
// playback): quiet tones, so a listener hears something is going on.
func (s *Server) bridgeMediaFrame(b *bridge, frame int64) []int16 {
	if b.frame == nil {
		b.frame = make([]int16, audio.FrameSamples)
	}
	if b.frameAt == frame {
		return b.frame
	}
	b.frameAt = frame
	clear(b.frame)
	if !b.moh && b.playing == nil {
		return b.frame
	}
	tmp := make([]int16, audio.FrameSamples)
	if b.moh {
		if b.mohSrc == nil {
			b.mohSrc = audio.NewTone(audio.SampleRate, 0.08, 392, 494)
		}
		b.mohSrc.Fill(tmp)
		audio.Mix(b.frame, tmp)
	}
	if b.playing != nil {
		if b.playSrc == nil {
			b.playSrc = audio.NewTone(audio.SampleRate, 0.15, 523)
		}
		b.playSrc.Fill(tmp)
		audio.Mix(b.frame, tmp)
	}
	return b.frame
}

// readRTP receives what the app sends to an externalMedia channel. Strict
// RTP: only packets from the requested external_host count; the caller(s)
// bridged with the channel hear them.
func (s *Server) readRTP(ch *channel, l *rtpLeg) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 0, audio.FrameSamples)
	var pkt rtp.Packet
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		ok := from == l.remote
		if ok {
			ok = pkt.Unmarshal(buf[:n]) == nil && pkt.PayloadType == 0
			if ok {
				pcm = audio.DecodeMulaw(pcm[:0], pkt.Payload)
			}
		}
		s.mu.Lock()
		switch {
		case from != l.remote:
			l.stats.StrictDrops++
			s.strictDrops++
		case !ok:
			l.stats.Malformed++
		default:
			l.stats.Received++
			if b := ch.bridge; b != nil {
				for _, m := range b.members {
					if m.call != nil {
						m.call.hearLocked(pcm)
					}
				}
			}
		}
		s.mu.Unlock()
	}
}

// StrictRTPDrops counts, over the server's life, RTP packets refused because
// they came from an address other than the channel's external_host.
func (s *Server) StrictRTPDrops() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.strictDrops
}
