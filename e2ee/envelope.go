package e2ee

import (
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/chacha20poly1305"

	"llamenos/e2ee/internal/core"
)

// Envelope layout (docs/crypto.md has the full description):
//
//	version u8 = 0x01 or 0x02 | n u8 (1..255)
//	n × { recipient x-only 32 | ephemeral compressed 33 | wrap nonce 24 | wrapped key 48 }
//	content nonce 24 | content ciphertext (len(pt) + 16)
//
// The header is every byte before the content nonce. In v1 it is part of
// the content AAD, so changing any recipient entry breaks decryption for
// all. In v2 the content AAD is the context and the version byte only, so
// wraps can be added and removed without touching the content: that is
// how re-sealing gives a new admin an envelope. Each wrap is bound to its
// recipient and the context in both. Seal writes v2; both versions parse
// and open. The byte sizes are in e2ee/internal/core, shared with the
// opening side.
const (
	Version1 byte = core.Version1
	Version2 byte = core.Version2

	MaxRecipients = 255
	// MaxPlaintextSize bounds one envelope's plaintext (16 MiB). Notes and
	// transcripts are text; the bound keeps a hostile envelope from making a
	// reader allocate without limit.
	MaxPlaintextSize = 16 << 20

	// MinEnvelopeSize is one recipient and an empty plaintext.
	MinEnvelopeSize = core.PrefixSize + core.EntrySize + core.NonceSize + core.TagSize
)

// Header is the public part of a parsed envelope: who can open it and how big
// the plaintext is. The server uses it to check an upload is addressed to the
// author and to every admin without being able to read it.
type Header struct {
	Version       byte
	Recipients    []PublicKey
	PlaintextSize int
	Size          int // the whole envelope in bytes
}

// Includes reports whether pk is one of the recipients.
func (h Header) Includes(pk PublicKey) bool {
	for _, r := range h.Recipients {
		if r == pk {
			return true
		}
	}
	return false
}

// ParseEnvelope checks the layout strictly — version, count, exact lengths,
// every recipient and ephemeral key a curve point, no recipient twice — and
// returns the header. It does no decryption: the daemon holds no secret key.
func ParseEnvelope(env []byte) (Header, error) {
	if len(env) == 0 {
		return Header{}, fmt.Errorf("e2ee: parse: %w: empty", ErrMalformed)
	}
	if env[0] != Version1 && env[0] != Version2 {
		return Header{}, fmt.Errorf("e2ee: parse: %w 0x%02x", ErrUnknownVersion, env[0])
	}
	if len(env) < core.PrefixSize {
		return Header{}, fmt.Errorf("e2ee: parse: %w: truncated before recipient count", ErrMalformed)
	}
	n := int(env[1])
	if n == 0 {
		return Header{}, fmt.Errorf("e2ee: parse: %w: zero recipients", ErrMalformed)
	}
	headerSize := core.HeaderSize(n)
	if len(env) < headerSize+core.NonceSize+core.TagSize {
		return Header{}, fmt.Errorf("e2ee: parse: %w: truncated (%d bytes, need at least %d for %d recipients)",
			ErrMalformed, len(env), headerSize+core.NonceSize+core.TagSize, n)
	}
	ptSize := len(env) - headerSize - core.NonceSize - core.TagSize
	if ptSize > MaxPlaintextSize {
		return Header{}, fmt.Errorf("e2ee: parse: %w: plaintext of %d bytes exceeds %d", ErrTooLarge, ptSize, MaxPlaintextSize)
	}
	h := Header{
		Version:       env[0],
		Recipients:    make([]PublicKey, n),
		PlaintextSize: ptSize,
		Size:          len(env),
	}
	seen := make(map[PublicKey]struct{}, n)
	for i := range n {
		e := env[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		var r PublicKey
		copy(r[:], e[:PublicKeySize])
		if _, err := r.point(); err != nil {
			return Header{}, fmt.Errorf("e2ee: parse: %w: recipient %d is not a curve point", ErrMalformed, i)
		}
		if _, dup := seen[r]; dup {
			return Header{}, fmt.Errorf("e2ee: parse: %w: %w at entry %d", ErrMalformed, ErrDuplicateRecipient, i)
		}
		seen[r] = struct{}{}
		// ParsePubKey also accepts other encodings at other lengths; the
		// length is fixed here, so only 0x02/0x03 compressed points pass.
		if _, err := secp256k1.ParsePubKey(e[PublicKeySize : PublicKeySize+core.EphemeralSize]); err != nil {
			return Header{}, fmt.Errorf("e2ee: parse: %w: ephemeral key %d is not a compressed curve point", ErrMalformed, i)
		}
		h.Recipients[i] = r
	}
	return h, nil
}

// Seal encrypts pt for every recipient under ctx, as a v2 envelope. rand is crypto/rand.Reader
// in production; tests pass a deterministic stream to reproduce vectors. The
// order in which random bytes are drawn is part of the reproducibility
// contract with the browser code: content key, content nonce, then for each
// recipient in order its ephemeral secret (redrawn while out of range) and
// its wrap nonce.
func Seal(rand io.Reader, pt []byte, ctx Context, recipients []PublicKey) ([]byte, error) {
	aad, err := ctx.AAD()
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal: %w", err)
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("e2ee: seal: %w: no recipients", ErrInvalidKey)
	}
	if len(recipients) > MaxRecipients {
		return nil, fmt.Errorf("e2ee: seal: %w: %d recipients, at most %d", ErrTooLarge, len(recipients), MaxRecipients)
	}
	if len(pt) > MaxPlaintextSize {
		return nil, fmt.Errorf("e2ee: seal: %w: plaintext of %d bytes exceeds %d", ErrTooLarge, len(pt), MaxPlaintextSize)
	}
	points := make([]*secp256k1.PublicKey, len(recipients))
	seen := make(map[PublicKey]struct{}, len(recipients))
	for i, r := range recipients {
		p, err := r.point()
		if err != nil {
			return nil, fmt.Errorf("e2ee: seal: recipient %d: %w", i, err)
		}
		if _, dup := seen[r]; dup {
			return nil, fmt.Errorf("e2ee: seal: %w: recipient %d (%s)", ErrDuplicateRecipient, i, r)
		}
		seen[r] = struct{}{}
		points[i] = p
	}

	key := make([]byte, core.ContentKeySize)
	defer clear(key)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("e2ee: seal: content key: %w", err)
	}
	contentNonce := make([]byte, core.NonceSize)
	if _, err := io.ReadFull(rand, contentNonce); err != nil {
		return nil, fmt.Errorf("e2ee: seal: content nonce: %w", err)
	}

	headerSize := core.HeaderSize(len(recipients))
	out := make([]byte, headerSize, headerSize+core.NonceSize+len(pt)+core.TagSize)
	out[0] = Version2
	out[1] = byte(len(recipients))
	for i, r := range recipients {
		e := out[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		if err := core.WrapEntry(rand, e, key, r[:], points[i], aad, ctx.Purpose); err != nil {
			return nil, fmt.Errorf("e2ee: seal: %w", err)
		}
	}

	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal: %w", err)
	}
	contentAAD := core.ContentAAD(aad, out[:headerSize])
	out = append(out, contentNonce...)
	return aead.Seal(out, contentNonce, pt, contentAAD), nil
}

// CheckRewrap checks that next only adds or removes wraps of prev, a v2
// envelope: the same version, the content nonce and ciphertext byte for
// byte, and every entry of prev whose recipient keep names unchanged. It
// says nothing about who the recipients are (the caller checks that) and
// cannot tell whether an added wrap holds the right content key; only its
// recipient can. Both must have been parsed by ParseEnvelope.
func CheckRewrap(prev, next []byte, keep func(PublicKey) bool) error {
	if len(prev) == 0 || len(next) == 0 || prev[0] != Version2 || next[0] != Version2 {
		return fmt.Errorf("e2ee: rewrap: %w: both envelopes must be v2", ErrMalformed)
	}
	pn, nn := int(prev[1]), int(next[1])
	if len(prev) < core.HeaderSize(pn) || len(next) < core.HeaderSize(nn) {
		return fmt.Errorf("e2ee: rewrap: %w: truncated", ErrMalformed)
	}
	if string(prev[core.HeaderSize(pn):]) != string(next[core.HeaderSize(nn):]) {
		return fmt.Errorf("e2ee: rewrap: %w: the content differs", ErrRewrap)
	}
	entries := make(map[string]string, nn)
	for i := range nn {
		e := next[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		entries[string(e[:PublicKeySize])] = string(e)
	}
	for i := range pn {
		e := prev[core.PrefixSize+i*core.EntrySize : core.PrefixSize+(i+1)*core.EntrySize]
		var r PublicKey
		copy(r[:], e[:PublicKeySize])
		if !keep(r) {
			continue
		}
		if entries[string(r[:])] != string(e) {
			return fmt.Errorf("e2ee: rewrap: %w: the wrap of %s changed or is gone", ErrRewrap, r)
		}
	}
	return nil
}
