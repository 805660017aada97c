package audio

// G.711 µ-law (ITU-T G.711, the North American companding law used by PCMU,
// RTP payload type 0).
//
// Decoding goes through a 256-entry table computed once; it is read-only after
// package initialisation. Encoding is a few integer operations and needs no
// table.

const (
	mulawBias = 0x84 // 132: added before the segment search, per G.711
	mulawClip = 32635
)

var mulawTable = func() (t [256]int16) {
	for i := range t {
		t[i] = mulawDecodeSlow(byte(i))
	}
	return t
}()

func mulawDecodeSlow(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exponent := (u >> 4) & 0x07
	mantissa := int32(u & 0x0f)
	sample := ((mantissa << 3) + mulawBias) << exponent
	sample -= mulawBias
	if sign != 0 {
		return int16(-sample)
	}
	return int16(sample)
}

// MulawEncode converts one linear 16-bit sample to µ-law.
func MulawEncode(s int16) byte {
	v := int32(s)
	var sign byte
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > mulawClip {
		v = mulawClip
	}
	v += mulawBias
	exponent := byte(7)
	for mask := int32(0x4000); v&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := byte(v>>(exponent+3)) & 0x0f
	return ^(sign | exponent<<4 | mantissa)
}

// DecodeMulaw appends the linear samples of the µ-law bytes src to dst and
// returns the extended slice.
func DecodeMulaw(dst []int16, src []byte) []int16 {
	for _, u := range src {
		dst = append(dst, mulawTable[u])
	}
	return dst
}

// EncodeMulaw appends the µ-law encoding of the linear samples src to dst and
// returns the extended slice.
func EncodeMulaw(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, MulawEncode(s))
	}
	return dst
}
