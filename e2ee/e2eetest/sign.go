package e2eetest

import (
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// SignSchnorr is BIP-340 Sign of msg with sk. aux is fresh randomness (BIP-340
// "auxiliary random data"); it hardens signing against side channels and
// fault attacks but the signature stays valid whatever its value. 32-byte
// messages go through btcec/v2/schnorr, others through the BIP's algorithm
// step for step, as e2ee.VerifySchnorr does.
func SignSchnorr(sk SecretKey, msg []byte, aux [32]byte) ([e2ee.SignatureSize]byte, error) {
	var out [e2ee.SignatureSize]byte
	if !sk.valid() {
		return out, fmt.Errorf("e2ee: schnorr sign: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	if len(msg) == 32 {
		priv, _ := btcec.PrivKeyFromBytes(sk[:])
		defer priv.Zero()
		sig, err := schnorr.Sign(priv, msg, schnorr.CustomNonce(aux))
		if err != nil {
			return out, fmt.Errorf("e2ee: schnorr sign: %w", err)
		}
		copy(out[:], sig.Serialize())
		return out, nil
	}
	return signSchnorrAnyLen(sk, msg, aux)
}

// signSchnorrAnyLen is BIP-340 Sign with the BIP's nonce derivation.
func signSchnorrAnyLen(sk SecretKey, msg []byte, aux [32]byte) ([e2ee.SignatureSize]byte, error) {
	var out [e2ee.SignatureSize]byte
	var d secp256k1.ModNScalar
	if overflow := d.SetBytes((*[32]byte)(&sk)); overflow != 0 || d.IsZero() {
		return out, fmt.Errorf("e2ee: schnorr sign: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	defer d.Zero()
	var P secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&d, &P)
	P.ToAffine()
	if P.Y.IsOdd() {
		d.Negate()
	}
	px := P.X.Bytes()

	db := d.Bytes()
	defer clear(db[:])
	t := core.TaggedHash("BIP0340/aux", aux[:])
	for i := range t {
		t[i] ^= db[i]
	}
	rand := core.TaggedHash("BIP0340/nonce", t[:], px[:], msg)
	clear(t[:])
	var k secp256k1.ModNScalar
	k.SetBytes(&rand)
	clear(rand[:])
	defer k.Zero()
	if k.IsZero() {
		return out, fmt.Errorf("e2ee: schnorr sign: derived nonce is zero")
	}
	var R secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&k, &R)
	R.ToAffine()
	if R.Y.IsOdd() {
		k.Negate()
	}
	rx := R.X.Bytes()
	eh := core.TaggedHash("BIP0340/challenge", rx[:], px[:], msg)
	var e secp256k1.ModNScalar
	e.SetBytes(&eh)
	s := new(secp256k1.ModNScalar).Mul2(&e, &d).Add(&k)
	copy(out[:32], rx[:])
	sb := s.Bytes()
	copy(out[32:], sb[:])
	s.Zero()
	if !core.VerifySchnorrAnyLen(*px, msg, out[:]) {
		return [e2ee.SignatureSize]byte{}, fmt.Errorf("e2ee: schnorr sign: produced signature does not verify")
	}
	return out, nil
}

// SignAuth is what the browser does at login, so API tests can act as a
// browser. rand supplies the BIP-340 auxiliary randomness.
func SignAuth(rand io.Reader, sk SecretKey, purpose, origin string, challenge []byte) ([]byte, error) {
	if !sk.valid() {
		return nil, fmt.Errorf("e2ee: sign auth: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	msg, err := e2ee.AuthMessage(purpose, origin, challenge, sk.Public())
	if err != nil {
		return nil, err
	}
	var aux [32]byte
	if _, err := io.ReadFull(rand, aux[:]); err != nil {
		return nil, fmt.Errorf("e2ee: sign auth: %w", err)
	}
	sig, err := SignSchnorr(sk, msg[:], aux)
	if err != nil {
		return nil, err
	}
	return sig[:], nil
}

// SignAdminStatement fills in st.By and st.Sig as an admin's browser does,
// so tests can build admin-set chains. rand supplies the auxiliary
// randomness.
func SignAdminStatement(rand io.Reader, sk SecretKey, st e2ee.AdminStatement) (e2ee.AdminStatement, error) {
	if !sk.valid() {
		return st, fmt.Errorf("e2ee: sign admin statement: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	st.By = sk.Public()
	var aux [32]byte
	if _, err := io.ReadFull(rand, aux[:]); err != nil {
		return st, fmt.Errorf("e2ee: sign admin statement: %w", err)
	}
	d := st.Digest()
	sig, err := SignSchnorr(sk, d[:], aux)
	if err != nil {
		return st, err
	}
	st.Sig = sig
	return st, nil
}
