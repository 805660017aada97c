package e2eetest

import (
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// SecretKeySize is the byte length of a secret key.
const SecretKeySize = 32

// SecretKey is a secp256k1 scalar d with 1 <= d < n, big-endian. It is the raw
// value inside an nsec; no parity normalisation is applied.
type SecretKey [SecretKeySize]byte

// GenerateKey draws a fresh secret key from rand, 32 bytes at a time,
// skipping out-of-range draws: the order Seal draws its ephemeral keys in and
// the browser's generateSecretKey draws in, so vectors made from a
// deterministic stream agree.
func GenerateKey(rand io.Reader) (SecretKey, error) {
	k, err := core.GenerateScalar(rand)
	if err != nil {
		return SecretKey{}, fmt.Errorf("e2ee: generate key: %w", err)
	}
	return SecretKey(k), nil
}

// ParseSecretKey checks that b is a 32-byte scalar in [1, n-1].
func ParseSecretKey(b []byte) (SecretKey, error) {
	var sk SecretKey
	if len(b) != SecretKeySize {
		return sk, fmt.Errorf("e2ee: secret key: %w: %d bytes, want %d", e2ee.ErrInvalidKey, len(b), SecretKeySize)
	}
	copy(sk[:], b)
	if !sk.valid() {
		return SecretKey{}, fmt.Errorf("e2ee: secret key: %w: out of range", e2ee.ErrInvalidKey)
	}
	return sk, nil
}

func (sk SecretKey) valid() bool { return core.ValidScalar((*[32]byte)(&sk)) }

// scalar returns sk as a private key for the curve library. Callers check
// validity first.
func (sk SecretKey) scalar() *secp256k1.PrivateKey {
	return secp256k1.PrivKeyFromBytes(sk[:])
}

// Public returns the x-only public key of sk. It returns the zero PublicKey
// (which no parser accepts) for an invalid secret key such as SecretKey{}.
func (sk SecretKey) Public() e2ee.PublicKey {
	var pk e2ee.PublicKey
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
