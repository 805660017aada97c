package e2eetest

import (
	"fmt"
	"slices"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/chacha20poly1305"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// Open decrypts env with sk under ctx, as the browser does. It fails with
// e2ee.ErrUnknownVersion or e2ee.ErrMalformed for bad layout,
// e2ee.ErrNotRecipient if sk's public key is not listed, and
// e2ee.ErrAuthFailed for any tampering or a wrong context. It never returns
// partial plaintext.
func Open(env []byte, ctx e2ee.Context, sk SecretKey) ([]byte, error) {
	aad, err := ctx.AAD()
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	if !sk.valid() {
		return nil, fmt.Errorf("e2ee: open: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	h, err := e2ee.ParseEnvelope(env)
	if err != nil {
		return nil, err
	}
	me := sk.Public()
	idx := slices.Index(h.Recipients, me)
	if idx < 0 {
		return nil, fmt.Errorf("e2ee: open: %w", e2ee.ErrNotRecipient)
	}
	// ParseEnvelope has checked every length and point; slice the entry.
	e := env[core.PrefixSize+idx*core.EntrySize : core.PrefixSize+(idx+1)*core.EntrySize]
	ephBytes := e[core.PublicKeySize : core.PublicKeySize+core.EphemeralSize]
	wrapNonce := e[core.PublicKeySize+core.EphemeralSize : core.PublicKeySize+core.EphemeralSize+core.NonceSize]
	wrapped := e[core.PublicKeySize+core.EphemeralSize+core.NonceSize:]
	eph, err := secp256k1.ParsePubKey(ephBytes)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w: ephemeral key is not a curve point", e2ee.ErrMalformed)
	}

	priv := sk.scalar()
	shared := secp256k1.GenerateSharedSecret(priv, eph)
	priv.Zero()
	wrapKey, err := core.WrapKey(shared, ephBytes, me[:], ctx.Purpose)
	clear(shared)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	aead, err := chacha20poly1305.NewX(wrapKey)
	clear(wrapKey)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	key, err := aead.Open(nil, wrapNonce, wrapped, aad)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: key wrap: %w", e2ee.ErrAuthFailed)
	}
	defer clear(key)
	caead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	headerSize := core.HeaderSize(len(h.Recipients))
	contentAAD := append(aad, env[:headerSize]...)
	nonce := env[headerSize : headerSize+core.NonceSize]
	pt, err := caead.Open(nil, nonce, env[headerSize+core.NonceSize:], contentAAD)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: content: %w", e2ee.ErrAuthFailed)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}
