package e2ee

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// SecretKeySize and PublicKeySize are the byte lengths of the two key forms.
const (
	SecretKeySize = 32
	PublicKeySize = 32
)

// SecretKey is a secp256k1 scalar d with 1 <= d < n, big-endian. It is the raw
// value inside an nsec; no parity normalisation is applied.
type SecretKey [SecretKeySize]byte

// PublicKey is a BIP-340 x-only public key: the x coordinate of d·G. Both
// points with that x share it, which is harmless because ECDH here only uses
// the x coordinate of the shared point and BIP-340 fixes the even-y lift.
type PublicKey [PublicKeySize]byte

// maxKeygenTries bounds the rejection loop in GenerateKey. A uniformly random
// 32-byte string is out of range with probability about 2^-128, so reaching
// the bound means the random source is broken, not unlucky.
const maxKeygenTries = 16

// GenerateKey draws a fresh secret key from rand (crypto/rand.Reader in
// production).
func GenerateKey(rand io.Reader) (SecretKey, error) {
	var sk SecretKey
	for range maxKeygenTries {
		if _, err := io.ReadFull(rand, sk[:]); err != nil {
			return SecretKey{}, fmt.Errorf("e2ee: generate key: %w", err)
		}
		if sk.valid() {
			return sk, nil
		}
	}
	return SecretKey{}, fmt.Errorf("e2ee: generate key: random source returned %d out-of-range scalars", maxKeygenTries)
}

// ParseSecretKey checks that b is a 32-byte scalar in [1, n-1].
func ParseSecretKey(b []byte) (SecretKey, error) {
	var sk SecretKey
	if len(b) != SecretKeySize {
		return sk, fmt.Errorf("e2ee: secret key: %w: %d bytes, want %d", ErrInvalidKey, len(b), SecretKeySize)
	}
	copy(sk[:], b)
	if !sk.valid() {
		return SecretKey{}, fmt.Errorf("e2ee: secret key: %w: out of range", ErrInvalidKey)
	}
	return sk, nil
}

func (sk SecretKey) valid() bool {
	var s secp256k1.ModNScalar
	overflow := s.SetBytes((*[32]byte)(&sk))
	valid := overflow == 0 && !s.IsZero()
	s.Zero()
	return valid
}

// scalar returns sk as a private key for the curve library. Callers check
// validity first.
func (sk SecretKey) scalar() *secp256k1.PrivateKey {
	return secp256k1.PrivKeyFromBytes(sk[:])
}

// Public returns the x-only public key of sk. It returns the zero PublicKey
// (which no parser accepts) for an invalid secret key such as SecretKey{}.
func (sk SecretKey) Public() PublicKey {
	var pk PublicKey
	if !sk.valid() {
		return pk
	}
	priv := sk.scalar()
	defer priv.Zero()
	copy(pk[:], priv.PubKey().SerializeCompressed()[1:])
	return pk
}

// Equal compares in constant time.
func (sk SecretKey) Equal(other SecretKey) bool {
	return subtle.ConstantTimeCompare(sk[:], other[:]) == 1
}

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
	var c [33]byte
	c[0] = secp256k1.PubKeyFormatCompressedEven
	copy(c[1:], pk[:])
	p, err := secp256k1.ParsePubKey(c[:])
	if err != nil {
		return nil, fmt.Errorf("e2ee: public key: %w: not a curve point", ErrInvalidKey)
	}
	return p, nil
}
