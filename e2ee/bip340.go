package e2ee

import (
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"llamenos/e2ee/internal/core"
)

// SignatureSize is the length of a BIP-340 signature.
const SignatureSize = 64

// BIP-340 Schnorr signatures over messages of any length.
//
// 32-byte messages — everything this appliance signs, since the auth message
// is a SHA-256 digest — go through btcec/v2/schnorr. That package still
// follows the first revision of BIP-340, which required 32-byte messages; the
// BIP now allows any length (test vectors 15–18). For other lengths the
// algorithm is the BIP's, step for step, on the same curve arithmetic (dcrd
// secp256k1, which btcec wraps; see core.VerifySchnorrAnyLen). The tests hold
// both paths to the official vectors and to each other on random 32-byte
// messages. The daemon only verifies: signing is the browser's, and for tests
// e2ee/e2eetest's.

// VerifySchnorr reports whether sig is a valid BIP-340 signature of msg by pk.
// pk is taken as raw bytes so that a key which is not a curve point simply
// fails verification (as the BIP specifies) instead of needing a parse first.
func VerifySchnorr(pk [PublicKeySize]byte, msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	if len(msg) == 32 {
		pub, err := schnorr.ParsePubKey(pk[:])
		if err != nil {
			return false
		}
		s, err := schnorr.ParseSignature(sig)
		if err != nil {
			return false
		}
		return s.Verify(msg, pub)
	}
	return core.VerifySchnorrAnyLen(pk, msg, sig)
}
