package e2eetest

import (
	"errors"
	"fmt"
	"strings"

	"llamenos/e2ee"
)

// Bech32 (BIP-173, the original constant 1 — NIP-19 keys are not bech32m).
// Small enough to own rather than import, and the checks matter: a pasted key
// with one wrong character must be refused, never turned into another key.

const (
	bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	bech32MaxLen  = 90
	bech32CsumLen = 6

	hrpPublic = "npub"
	hrpSecret = "nsec"
)

var bech32Gen = [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}

func bech32Polymod(values []byte) uint32 {
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= bech32Gen[i]
			}
		}
	}
	return chk
}

func bech32HRPExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// bech32Encode encodes 5-bit words under a lowercase hrp.
func bech32Encode(hrp string, words []byte) string {
	values := append(bech32HRPExpand(hrp), words...)
	values = append(values, make([]byte, bech32CsumLen)...)
	mod := bech32Polymod(values) ^ 1
	var sb strings.Builder
	sb.Grow(len(hrp) + 1 + len(words) + bech32CsumLen)
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, w := range words {
		sb.WriteByte(bech32Charset[w])
	}
	for i := range bech32CsumLen {
		sb.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

var errBech32 = errors.New("bech32")

// bech32Decode returns the lowercase hrp and the 5-bit data words (checksum
// removed) of s, applying every BIP-173 validity rule.
func bech32Decode(s string) (string, []byte, error) {
	if len(s) > bech32MaxLen {
		return "", nil, fmt.Errorf("%w: longer than %d characters", errBech32, bech32MaxLen)
	}
	hasLower, hasUpper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return "", nil, fmt.Errorf("%w: invalid character at %d", errBech32, i)
		}
		hasLower = hasLower || (c >= 'a' && c <= 'z')
		hasUpper = hasUpper || (c >= 'A' && c <= 'Z')
	}
	if hasLower && hasUpper {
		return "", nil, fmt.Errorf("%w: mixed case", errBech32)
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 {
		return "", nil, fmt.Errorf("%w: missing or empty human-readable part", errBech32)
	}
	if len(s)-sep-1 < bech32CsumLen {
		return "", nil, fmt.Errorf("%w: data part too short", errBech32)
	}
	hrp := s[:sep]
	data := make([]byte, 0, len(s)-sep-1)
	for i := sep + 1; i < len(s); i++ {
		v := strings.IndexByte(bech32Charset, s[i])
		if v < 0 {
			return "", nil, fmt.Errorf("%w: invalid data character at %d", errBech32, i)
		}
		data = append(data, byte(v))
	}
	if bech32Polymod(append(bech32HRPExpand(hrp), data...)) != 1 {
		return "", nil, fmt.Errorf("%w: checksum mismatch", errBech32)
	}
	return hrp, data[:len(data)-bech32CsumLen], nil
}

// bytesToWords regroups 8-bit bytes into 5-bit words, zero-padding the end.
func bytesToWords(b []byte) []byte {
	out := make([]byte, 0, (len(b)*8+4)/5)
	acc, bits := uint32(0), uint(0)
	for _, v := range b {
		acc = acc<<8 | uint32(v)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits))&31)
	}
	return out
}

// wordsToBytes is the strict inverse of bytesToWords: fewer than 5 padding
// bits, all zero, or it fails.
func wordsToBytes(words []byte) ([]byte, error) {
	out := make([]byte, 0, len(words)*5/8)
	acc, bits := uint32(0), uint(0)
	for _, w := range words {
		acc = acc<<5 | uint32(w)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 {
		return nil, fmt.Errorf("%w: excess padding", errBech32)
	}
	if acc&(1<<bits-1) != 0 {
		return nil, fmt.Errorf("%w: non-zero padding", errBech32)
	}
	return out, nil
}

func decode32(s, wantHRP string) ([32]byte, error) {
	var out [32]byte
	hrp, words, err := bech32Decode(s)
	if err != nil {
		return out, err
	}
	if hrp != wantHRP {
		return out, fmt.Errorf("%w: prefix %q, want %q", errBech32, hrp, wantHRP)
	}
	b, err := wordsToBytes(words)
	if err != nil {
		return out, err
	}
	if len(b) != 32 {
		return out, fmt.Errorf("%w: payload is %d bytes, want 32", errBech32, len(b))
	}
	copy(out[:], b)
	return out, nil
}

// EncodeNpub returns the NIP-19 npub1… form of pk.
func EncodeNpub(pk e2ee.PublicKey) string { return bech32Encode(hrpPublic, bytesToWords(pk[:])) }

// EncodeNsec returns the NIP-19 nsec1… form of sk. The result is a secret:
// never log it.
func EncodeNsec(sk SecretKey) string { return bech32Encode(hrpSecret, bytesToWords(sk[:])) }

// DecodeNpub parses an npub1… string: checksum, prefix, length and that the
// key is a curve point.
func DecodeNpub(s string) (e2ee.PublicKey, error) {
	b, err := decode32(s, hrpPublic)
	if err != nil {
		return e2ee.PublicKey{}, fmt.Errorf("e2ee: npub: %w: %w", e2ee.ErrInvalidKey, err)
	}
	pk, err := e2ee.ParsePublicKey(b[:])
	if err != nil {
		return e2ee.PublicKey{}, fmt.Errorf("e2ee: npub: %w", err)
	}
	return pk, nil
}

// DecodeNsec parses an nsec1… string: checksum, prefix, length and range. The
// error never echoes the input.
func DecodeNsec(s string) (SecretKey, error) {
	b, err := decode32(s, hrpSecret)
	if err != nil {
		return SecretKey{}, fmt.Errorf("e2ee: nsec: %w: %w", e2ee.ErrInvalidKey, err)
	}
	sk, err := ParseSecretKey(b[:])
	if err != nil {
		return SecretKey{}, fmt.Errorf("e2ee: nsec: %w", err)
	}
	return sk, nil
}
