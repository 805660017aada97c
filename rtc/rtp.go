package rtc

import (
	"encoding/binary"
	"errors"
	"time"
)

// PCMU facts the relay depends on: static payload type 0, 8000 samples per
// second, one byte per sample, so a payload's length is its duration in
// samples.
const (
	payloadTypePCMU = 0
	clockRate       = 8000
	rtpHeaderLen    = 12

	// maxPayload bounds one packet's µ-law payload to 60 ms. Asterisk sends
	// 20 ms and browsers default to 20 ms; anything longer is not audio we
	// asked for.
	maxPayload = 480

	// maxDatagram is the largest datagram the relay reads. Anything that
	// fills the buffer completely is treated as truncated and dropped.
	maxDatagram = 1500
)

// Reasons an RTP datagram is refused. They are counted, never fatal.
var (
	errRTPShort       = errors.New("rtp: shorter than a header")
	errRTPVersion     = errors.New("rtp: version is not 2")
	errRTPTruncated   = errors.New("rtp: header fields run past the datagram")
	errRTPPadding     = errors.New("rtp: bad padding length")
	errRTPPayloadSize = errors.New("rtp: payload empty or longer than 60 ms")
	errRTPPayloadType = errors.New("rtp: unexpected payload type")
)

// rtpHeader holds the fields of one RTP packet the relay uses. The payload
// is b[payloadStart:payloadEnd] of the datagram it was parsed from.
type rtpHeader struct {
	marker       bool
	payloadType  uint8
	seq          uint16
	timestamp    uint32
	ssrc         uint32
	payloadStart int
	payloadEnd   int
}

// parseRTP validates one datagram as an RTP packet of payload type pt
// without allocating.
// CSRCs, header extensions and padding are skipped: the relay forwards only
// the audio, with headers it writes itself.
func parseRTP(b []byte, pt uint8) (rtpHeader, error) {
	var h rtpHeader
	if len(b) < rtpHeaderLen {
		return h, errRTPShort
	}
	if b[0]>>6 != 2 {
		return h, errRTPVersion
	}
	padding := b[0]&0x20 != 0
	extension := b[0]&0x10 != 0
	csrcs := int(b[0] & 0x0f)

	h.marker = b[1]&0x80 != 0
	h.payloadType = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:4])
	h.timestamp = binary.BigEndian.Uint32(b[4:8])
	h.ssrc = binary.BigEndian.Uint32(b[8:12])

	off := rtpHeaderLen + 4*csrcs
	if off > len(b) {
		return h, errRTPTruncated
	}
	if extension {
		if off+4 > len(b) {
			return h, errRTPTruncated
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
		if off > len(b) {
			return h, errRTPTruncated
		}
	}
	end := len(b)
	if padding {
		pad := int(b[len(b)-1])
		if pad == 0 || end-pad < off {
			return h, errRTPPadding
		}
		end -= pad
	}
	if n := end - off; n <= 0 || n > maxPayload {
		return h, errRTPPayloadSize
	}
	if h.payloadType != pt {
		return h, errRTPPayloadType
	}
	h.payloadStart, h.payloadEnd = off, end
	return h, nil
}

// putRTPHeader writes a 12-byte RTP header (no CSRC, no extension) for PCMU.
func putRTPHeader(b []byte, marker bool, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = payloadTypePCMU
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], seq)
	binary.BigEndian.PutUint32(b[4:8], ts)
	binary.BigEndian.PutUint32(b[8:12], ssrc)
}

// payloadDuration is how long a µ-law payload of n bytes plays.
func payloadDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / clockRate
}

// rebaser rewrites sequence numbers and timestamps so that the receiver of
// one direction sees a single continuous stream, whatever happens upstream:
// Asterisk may hand over a new UnicastRTP channel (new SSRC, new random
// seq/ts), the volunteer's browser may reconnect with a new PeerConnection.
// Within one upstream source the offsets stay fixed, so gaps from loss and
// Asterisk's wall-clock timestamp jumps pass through unchanged.
type rebaser struct {
	started bool
	source  uint64 // generation<<32 | ssrc of the current upstream source

	seqOffset uint16
	tsOffset  uint32

	lastInSeq  uint16
	lastOutSeq uint16
	lastOutTS  uint32
	lastDur    uint32 // samples in the last packet forwarded
	lastAt     time.Time
}

// rewrite maps one packet of the given upstream source to the output
// stream. marker is true on the first packet after a change of source, the
// RTP way to say "timestamps jumped, resynchronise".
func (r *rebaser) rewrite(source uint64, seq uint16, ts uint32, samples uint32, now time.Time) (outSeq uint16, outTS uint32, marker bool) {
	switch {
	case !r.started:
		r.started = true
		r.source = source
		r.lastInSeq = seq - 1
	case source != r.source:
		// Continue where the previous source stopped: next sequence number,
		// and a timestamp advanced by the real time that passed (at least
		// one packet), so a jitter buffer downstream neither sees a
		// duplicate nor a rewind.
		elapsed := uint32(now.Sub(r.lastAt) * clockRate / time.Second)
		step := max(elapsed, r.lastDur, 1)
		r.seqOffset = r.lastOutSeq + 1 - seq
		r.tsOffset = r.lastOutTS + step - ts
		r.source = source
		r.lastInSeq = seq - 1
		marker = true
	}
	outSeq = seq + r.seqOffset
	outTS = ts + r.tsOffset
	// Only a newer packet moves the reference point; a late one keeps its
	// rewritten numbers but must not pull the stream backwards.
	if int16(seq-r.lastInSeq) > 0 || marker {
		r.lastInSeq = seq
		r.lastOutSeq = outSeq
		r.lastOutTS = outTS
		r.lastDur = samples
		r.lastAt = now
	}
	return outSeq, outTS, marker
}
