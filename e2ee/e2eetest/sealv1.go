package e2eetest

import (
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// SealV1 writes a v1 envelope, whose content AAD covers the whole header,
// as the appliance sealed before v2. Nothing seals v1 any more; tests use
// it to check that v1 envelopes still open and are converted to v2 once
// when re-sealed. It draws randomness in Seal's order.
func SealV1(rand io.Reader, pt []byte, ctx e2ee.Context, recipients []e2ee.PublicKey) ([]byte, error) {
	aad, err := ctx.AAD()
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal v1: %w", err)
	}
	if len(recipients) == 0 || len(recipients) > e2ee.MaxRecipients {
		return nil, fmt.Errorf("e2ee: seal v1: %w: %d recipients", e2ee.ErrInvalidKey, len(recipients))
	}
	key := make([]byte, core.ContentKeySize)
	defer clear(key)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("e2ee: seal v1: %w", err)
	}
	nonce := make([]byte, core.NonceSize)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("e2ee: seal v1: %w", err)
	}
	headerSize := core.HeaderSize(len(recipients))
	out := make([]byte, headerSize, headerSize+core.NonceSize+len(pt)+core.TagSize)
	out[0] = e2ee.Version1
	out[1] = byte(len(recipients))
	for i, r := range recipients {
		p, err := core.LiftX((*[32]byte)(&r))
		if err != nil {
			return nil, fmt.Errorf("e2ee: seal v1: recipient %d: %w", i, e2ee.ErrInvalidKey)
		}
		e := out[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		if err := core.WrapEntry(rand, e, key, r[:], p, aad, ctx.Purpose); err != nil {
			return nil, fmt.Errorf("e2ee: seal v1: %w", err)
		}
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal v1: %w", err)
	}
	contentAAD := core.ContentAAD(aad, out[:headerSize])
	out = append(out, nonce...)
	return aead.Seal(out, nonce, pt, contentAAD), nil
}
