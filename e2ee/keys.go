package e2ee

import (
	"encoding/hex"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"llamenos/e2ee/internal/core"
)

// PublicKeySize is the byte length of a public key.
const PublicKeySize = core.PublicKeySize

// PublicKey is a BIP-340 x-only public key: the x coordinate of d·G for a
// secret scalar d. Both points with that x share it, which is harmless
// because ECDH here only uses the x coordinate of the shared point and
// BIP-340 fixes the even-y lift. The daemon never holds a secret key; the
// secret side lives in the browser and, for tests, in e2ee/e2eetest.
type PublicKey [PublicKeySize]byte

// ParsePublicKey checks that b is 32 bytes and lift_x(b) exists (x < p and
// x³+7 is a square), i.e. that b names a point on the curve.
func ParsePublicKey(b []byte) (PublicKey, error) {
	var pk PublicKey
	if len(b) != PublicKeySize {
		return pk, fmt.Errorf("e2ee: public key: %w: %d bytes, want %d", ErrInvalidKey, len(b), PublicKeySize)
	}
	copy(pk[:], b)
	if _, err := pk.point(); err != nil {
		return PublicKey{}, err
	}
	return pk, nil
}

// ParsePublicKeyHex parses the 64-character lowercase hex form used in the
// API. Uppercase is refused so that each key has one text form (they are used
// as map keys and in audit records).
func ParsePublicKeyHex(s string) (PublicKey, error) {
	if len(s) != 2*PublicKeySize {
		return PublicKey{}, fmt.Errorf("e2ee: public key hex: %w: %d characters, want %d", ErrInvalidKey, len(s), 2*PublicKeySize)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return PublicKey{}, fmt.Errorf("e2ee: public key hex: %w: not lowercase hex", ErrInvalidKey)
		}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return PublicKey{}, fmt.Errorf("e2ee: public key hex: %w: %v", ErrInvalidKey, err)
	}
	return ParsePublicKey(b)
}

// String is the lowercase hex form.
func (pk PublicKey) String() string { return hex.EncodeToString(pk[:]) }

// point lifts pk to the curve point with even y (BIP-340 lift_x).
func (pk PublicKey) point() (*secp256k1.PublicKey, error) {
	p, err := core.LiftX((*[32]byte)(&pk))
	if err != nil {
		return nil, fmt.Errorf("e2ee: public key: %w: not a curve point", ErrInvalidKey)
	}
	return p, nil
}
