package e2eetest

import (
	"fmt"
	"io"
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
	key, err := contentKey(env, h, ctx, sk)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	pt, err := openContent(env, h, aad, key)
	if err != nil {
		return nil, err
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// Rewrap is what an admin's browser does when the admin set changes: it
// opens the content key of a v2 envelope from sk's own wrap (checking the
// content opens too), keeps the entries of those in to that have one, in
// their order, and appends a fresh wrap for each of the others, drawing
// from rand as Seal does per recipient. The content nonce and ciphertext
// are copied unchanged.
func Rewrap(rand io.Reader, env []byte, ctx e2ee.Context, sk SecretKey, to []e2ee.PublicKey) ([]byte, error) {
	h, err := e2ee.ParseEnvelope(env)
	if err != nil {
		return nil, err
	}
	if h.Version != e2ee.Version2 {
		return nil, fmt.Errorf("e2ee: rewrap: %w: v1 envelopes are sealed again, not re-wrapped", e2ee.ErrUnknownVersion)
	}
	if !sk.valid() {
		return nil, fmt.Errorf("e2ee: rewrap: %w: secret key out of range", e2ee.ErrInvalidKey)
	}
	if len(to) == 0 || len(to) > e2ee.MaxRecipients {
		return nil, fmt.Errorf("e2ee: rewrap: %w: %d recipients", e2ee.ErrInvalidKey, len(to))
	}
	aad, err := ctx.AAD()
	if err != nil {
		return nil, fmt.Errorf("e2ee: rewrap: %w", err)
	}
	key, err := contentKey(env, h, ctx, sk)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if _, err := openContent(env, h, aad, key); err != nil {
		return nil, err
	}
	headerSize := core.HeaderSize(len(to))
	body := env[core.HeaderSize(len(h.Recipients)):]
	out := make([]byte, headerSize, headerSize+len(body))
	out[0] = e2ee.Version2
	out[1] = byte(len(to))
	seen := make(map[e2ee.PublicKey]struct{}, len(to))
	for i, r := range to {
		if _, dup := seen[r]; dup {
			return nil, fmt.Errorf("e2ee: rewrap: %w: recipient %d", e2ee.ErrDuplicateRecipient, i)
		}
		seen[r] = struct{}{}
		e := out[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		if j := slices.Index(h.Recipients, r); j >= 0 {
			copy(e, env[core.PrefixSize+j*core.EntrySize:core.PrefixSize+(j+1)*core.EntrySize])
			continue
		}
		p, err := core.LiftX((*[32]byte)(&r))
		if err != nil {
			return nil, fmt.Errorf("e2ee: rewrap: recipient %d: %w", i, e2ee.ErrInvalidKey)
		}
		if err := core.WrapEntry(rand, e, key, r[:], p, aad, ctx.Purpose); err != nil {
			return nil, fmt.Errorf("e2ee: rewrap: %w", err)
		}
	}
	return append(out, body...), nil
}

// contentKey opens sk's wrap of env's content key.
func contentKey(env []byte, h e2ee.Header, ctx e2ee.Context, sk SecretKey) ([]byte, error) {
	aad, err := ctx.AAD()
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
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
	return key, nil
}

// openContent decrypts env's content with its content key.
func openContent(env []byte, h e2ee.Header, aad, key []byte) ([]byte, error) {
	caead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	headerSize := core.HeaderSize(len(h.Recipients))
	nonce := env[headerSize : headerSize+core.NonceSize]
	pt, err := caead.Open(nil, nonce, env[headerSize+core.NonceSize:], core.ContentAAD(aad, env[:headerSize]))
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: content: %w", e2ee.ErrAuthFailed)
	}
	return pt, nil
}
