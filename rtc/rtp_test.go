package rtc

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestParseRTP(t *testing.T) {
	payload := make([]byte, 160)
	marshal := func(h rtp.Header, payload []byte) []byte {
		b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withExt := rtp.Header{Version: 2, SequenceNumber: 5, Timestamp: 6, SSRC: 7, CSRC: []uint32{1, 2}}
	if err := withExt.SetExtension(1, []byte{0xaa, 0xbb}); err != nil {
		t.Fatal(err)
	}
	padded := marshal(rtp.Header{Version: 2, Padding: true, PaddingSize: 4}, payload)

	cases := []struct {
		name       string
		b          []byte
		pt         uint8
		want       error
		start, end int
	}{
		{"plain", marshal(rtp.Header{Version: 2, Marker: true, SequenceNumber: 1, Timestamp: 2, SSRC: 3}, payload), 0, nil, 12, 172},
		{"csrc and extension skipped", marshal(withExt, payload), 0, nil, 12 + 8 + 8, 12 + 8 + 8 + 160},
		{"padding removed", padded, 0, nil, 12, 172},
		{"60 ms", marshal(rtp.Header{Version: 2}, make([]byte, 480)), 0, nil, 12, 492},
		{"dynamic pt as negotiated", marshal(rtp.Header{Version: 2, PayloadType: 101}, payload), 101, nil, 12, 172},
		{"empty", nil, 0, errRTPShort, 0, 0},
		{"11 bytes", make([]byte, 11), 0, errRTPShort, 0, 0},
		{"version 0", make([]byte, 20), 0, errRTPVersion, 0, 0},
		{"wrong pt", marshal(rtp.Header{Version: 2, PayloadType: 8}, payload), 0, errRTPPayloadType, 0, 0},
		{"no payload", marshal(rtp.Header{Version: 2}, nil), 0, errRTPPayloadSize, 0, 0},
		{"too long", marshal(rtp.Header{Version: 2}, make([]byte, 481)), 0, errRTPPayloadSize, 0, 0},
		{"csrcs past end", []byte{0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, 0, errRTPTruncated, 0, 0},
		{"extension header past end", []byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe}, 0, errRTPTruncated, 0, 0},
		{"extension body past end", []byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9, 1}, 0, errRTPTruncated, 0, 0},
		{"padding zero", append([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, 0), 0, errRTPPadding, 0, 0},
		{"padding past header", append([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, 9), 0, errRTPPadding, 0, 0},
		{"padding is everything", append([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, 3), 0, errRTPPayloadSize, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := parseRTP(c.b, c.pt)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err == nil && (h.payloadStart != c.start || h.payloadEnd != c.end) {
				t.Errorf("payload [%d:%d], want [%d:%d]", h.payloadStart, h.payloadEnd, c.start, c.end)
			}
		})
	}
	h, _ := parseRTP(marshal(rtp.Header{Version: 2, Marker: true, SequenceNumber: 0xfffe, Timestamp: 0xdeadbeef, SSRC: 0xcafe}, payload), 0)
	if !h.marker || h.seq != 0xfffe || h.timestamp != 0xdeadbeef || h.ssrc != 0xcafe {
		t.Errorf("header fields %+v", h)
	}
}

func TestPutRTPHeader(t *testing.T) {
	b := make([]byte, 12+160)
	putRTPHeader(b, true, 65535, 4000000000, 0x01020304)
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || !p.Marker || p.PayloadType != 0 || p.SequenceNumber != 65535 || p.Timestamp != 4000000000 || p.SSRC != 0x01020304 || len(p.Payload) != 160 {
		t.Errorf("round trip %+v", p.Header)
	}
}

// TestRebaser walks one output stream through the upstream events a call
// can see.
func TestRebaser(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type step struct {
		source     uint64
		seq        uint16
		ts         uint32
		at         time.Time
		wantSeq    uint16
		wantTS     uint32
		wantMarker bool
	}
	steps := []step{
		{1, 100, 1000, ms(0), 100, 1000, false}, // first source passes through
		{1, 101, 1160, ms(20), 101, 1160, false},
		{1, 103, 1480, ms(60), 103, 1480, false}, // a loss stays visible
		{1, 102, 1320, ms(61), 102, 1320, false}, // a late packet keeps its numbers
		{1, 104, 9999, ms(80), 104, 9999, false}, // Asterisk's wall-clock jump passes
		{2, 50000, 7, ms(100), 105, 10159, true}, // new source: +1 seq, ts + 20 ms
		{2, 50001, 167, ms(120), 106, 10319, false},
		{3, 1, 1, ms(2120), 107, 10319 + 16000, true},          // 2 s later: ts advances 2 s
		{3, 65535, 0, ms(2140), 105, 10319 + 16000 - 1, false}, // older packet of source 3
	}
	var r rebaser
	for i, s := range steps {
		seq, ts, m := r.rewrite(s.source, s.seq, s.ts, 160, s.at)
		if seq != s.wantSeq || ts != s.wantTS || m != s.wantMarker {
			t.Errorf("step %d: got seq %d ts %d marker %v, want %d %d %v", i, seq, ts, m, s.wantSeq, s.wantTS, s.wantMarker)
		}
	}
}

func TestRebaserWraps(t *testing.T) {
	var r rebaser
	now := time.Unix(0, 0)
	r.rewrite(1, 65535, 0xffffff00, 160, now)
	seq, ts, _ := r.rewrite(1, 0, 0x60, 160, now.Add(20*time.Millisecond))
	if seq != 0 || ts != 0x60 {
		t.Errorf("wrap: seq %d ts %#x", seq, ts)
	}
	seq, ts, m := r.rewrite(2, 500, 500, 160, now.Add(40*time.Millisecond))
	if seq != 1 || ts != 0x60+160 || !m {
		t.Errorf("switch after wrap: seq %d ts %#x marker %v", seq, ts, m)
	}
}

// FuzzParseRTP: any datagram either parses into bounds inside it that
// respect the payload limits, or is refused; nothing panics.
func FuzzParseRTP(f *testing.F) {
	f.Add(rtpBytes(0, 1, 2, 3, make([]byte, 160)), uint8(0))
	f.Add([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 1}, uint8(0))
	f.Add([]byte{0xaf, 0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, pt uint8) {
		h, err := parseRTP(b, pt&0x7f)
		if err != nil {
			return
		}
		if h.payloadStart < rtpHeaderLen || h.payloadEnd > len(b) || h.payloadEnd-h.payloadStart < 1 || h.payloadEnd-h.payloadStart > maxPayload {
			t.Fatalf("bounds [%d:%d] of %d bytes", h.payloadStart, h.payloadEnd, len(b))
		}
		if h.payloadType != pt&0x7f {
			t.Fatalf("accepted payload type %d, want %d", h.payloadType, pt&0x7f)
		}
	})
}
