// Package core holds what the two halves of the envelope format share: the
// sealing half in e2ee, which the daemon runs, and the opening half in
// e2ee/e2eetest, which only tests run. It has the byte layout, the wrap-key
// derivation, secret-scalar checks and the BIP-340 helpers. Nothing in it
// decrypts or signs.
package core

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/chacha20poly1305"
)

// Envelope layout (docs/crypto.md has the full description):
//
//	version u8 = 0x01 or 0x02 | n u8 (1..255)
//	n × { recipient x-only 32 | ephemeral compressed 33 | wrap nonce 24 | wrapped key 48 }
//	content nonce 24 | content ciphertext (len(pt) + 16)
const (
	Version1       = 0x01
	Version2       = 0x02
	PublicKeySize  = 32
	ContentKeySize = 32
	NonceSize      = chacha20poly1305.NonceSizeX // 24
	TagSize        = chacha20poly1305.Overhead   // 16
	EphemeralSize  = 33
	WrappedSize    = ContentKeySize + TagSize // 48
	EntrySize      = PublicKeySize + EphemeralSize + NonceSize + WrappedSize
	PrefixSize     = 2

	wrapInfoPrefix = "llamenos/v1/wrap/"
)

// HeaderSize is the number of bytes before the content nonce of an envelope
// with n recipients.
func HeaderSize(n int) int { return PrefixSize + n*EntrySize }

// ContentAAD is the AAD of an envelope's content, given the context AAD and
// the envelope's header: v1 covers the whole header (version, count and
// every recipient entry), v2 only the version byte, so that wraps can be
// added and removed without a new content tag. It returns a new slice.
func ContentAAD(ctxAAD, header []byte) []byte {
	out := make([]byte, 0, len(ctxAAD)+len(header))
	out = append(out, ctxAAD...)
	if header[0] == Version1 {
		return append(out, header...)
	}
	return append(out, header[0])
}

// WrapKey = HKDF-SHA256(ikm = shared x, salt = E(33) ‖ recipient(32),
// info = "llamenos/v1/wrap/" + purpose, 32 bytes): the key that wraps the
// content key for one recipient.
func WrapKey(sharedX, ephCompressed, recipient []byte, purpose string) ([]byte, error) {
	salt := make([]byte, 0, EphemeralSize+PublicKeySize)
	salt = append(salt, ephCompressed...)
	salt = append(salt, recipient...)
	k, err := hkdf.Key(sha256.New, sharedX, salt, wrapInfoPrefix+purpose, ContentKeySize)
	if err != nil {
		return nil, fmt.Errorf("wrap key: %w", err)
	}
	return k, nil
}

// WrapEntry fills e (EntrySize bytes) with a wrap of the content key for
// recipient (x-only, with its lifted point): recipient ‖ E ‖ wrap nonce ‖
// XChaCha20-Poly1305(WrapKey, nonce, key, aad). It draws the ephemeral
// secret (redrawn while out of range) and then the wrap nonce from rand, in
// that order; the vectors depend on it.
func WrapEntry(rand io.Reader, e, key, recipient []byte, point *secp256k1.PublicKey, aad []byte, purpose string) error {
	copy(e[:PublicKeySize], recipient)
	eph, err := GenerateScalar(rand)
	if err != nil {
		return fmt.Errorf("ephemeral key: %w", err)
	}
	priv := secp256k1.PrivKeyFromBytes(eph[:])
	clear(eph[:])
	ephPub := priv.PubKey().SerializeCompressed()
	copy(e[PublicKeySize:], ephPub)
	shared := secp256k1.GenerateSharedSecret(priv, point)
	priv.Zero()
	wrapKey, err := WrapKey(shared, ephPub, recipient, purpose)
	clear(shared)
	if err != nil {
		return err
	}
	defer clear(wrapKey)
	wrapNonce := e[PublicKeySize+EphemeralSize : PublicKeySize+EphemeralSize+NonceSize]
	if _, err := io.ReadFull(rand, wrapNonce); err != nil {
		return fmt.Errorf("wrap nonce: %w", err)
	}
	aead, err := chacha20poly1305.NewX(wrapKey)
	if err != nil {
		return fmt.Errorf("wrap: %w", err)
	}
	copy(e[PublicKeySize+EphemeralSize+NonceSize:], aead.Seal(nil, wrapNonce, key, aad))
	return nil
}

// MaxScalarTries bounds the rejection loop in GenerateScalar. A uniformly
// random 32-byte string is out of range with probability about 2^-128, so
// reaching the bound means the random source is broken, not unlucky.
const MaxScalarTries = 16

// ValidScalar reports whether b, big-endian, is in [1, n-1].
func ValidScalar(b *[32]byte) bool {
	var s secp256k1.ModNScalar
	overflow := s.SetBytes(b)
	valid := overflow == 0 && !s.IsZero()
	s.Zero()
	return valid
}

// GenerateScalar draws 32 bytes at a time from rand until they form a valid
// secret scalar, skipping out-of-range draws rather than reducing them. The
// order of the draws is part of the vectors' reproducibility: the browser's
// generateSecretKey draws the same way.
func GenerateScalar(rand io.Reader) ([32]byte, error) {
	var k [32]byte
	for range MaxScalarTries {
		if _, err := io.ReadFull(rand, k[:]); err != nil {
			return [32]byte{}, err
		}
		if ValidScalar(&k) {
			return k, nil
		}
	}
	clear(k[:])
	return [32]byte{}, fmt.Errorf("random source returned %d out-of-range scalars", MaxScalarTries)
}

// LiftX is BIP-340 lift_x: the curve point with x coordinate x and even y. It
// fails if x >= p or x³+7 is not a square mod p.
func LiftX(x *[32]byte) (*secp256k1.PublicKey, error) {
	var c [33]byte
	c[0] = secp256k1.PubKeyFormatCompressedEven
	copy(c[1:], x[:])
	return secp256k1.ParsePubKey(c[:])
}

// TaggedHash is BIP-340's SHA-256(SHA-256(tag) ‖ SHA-256(tag) ‖ parts…).
func TaggedHash(tag string, parts ...[]byte) [32]byte {
	th := sha256.Sum256([]byte(tag))
	h := sha256.New()
	h.Write(th[:])
	h.Write(th[:])
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// VerifySchnorrAnyLen is BIP-340 Verify for a message of any length, step for
// step on the curve arithmetic of dcrd secp256k1.
func VerifySchnorrAnyLen(pk [PublicKeySize]byte, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	P, err := LiftX(&pk)
	if err != nil {
		return false
	}
	var r secp256k1.FieldVal
	if overflow := r.SetByteSlice(sig[:32]); overflow {
		return false
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(sig[32:]); overflow {
		return false
	}
	eh := TaggedHash("BIP0340/challenge", sig[:32], pk[:], msg)
	var e secp256k1.ModNScalar
	e.SetBytes(&eh)
	e.Negate()
	var jP, sG, eP, R secp256k1.JacobianPoint
	P.AsJacobian(&jP)
	secp256k1.ScalarBaseMultNonConst(&s, &sG)
	secp256k1.ScalarMultNonConst(&e, &jP, &eP)
	secp256k1.AddNonConst(&sG, &eP, &R)
	if (R.X.IsZero() && R.Y.IsZero()) || R.Z.IsZero() {
		return false
	}
	R.ToAffine()
	if R.Y.IsOdd() {
		return false
	}
	r.Normalize()
	return R.X.Equals(&r)
}
