package e2ee

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/chacha20poly1305"
)

// Envelope v1 layout (docs/crypto.md has the full description):
//
//	version u8 = 0x01 | n u8 (1..255)
//	n × { recipient x-only 32 | ephemeral compressed 33 | wrap nonce 24 | wrapped key 48 }
//	content nonce 24 | content ciphertext (len(pt) + 16)
//
// The header is every byte before the content nonce; it is part of the
// content AAD, so changing any recipient entry breaks decryption for all.
const (
	Version1 byte = 0x01

	MaxRecipients = 255
	// MaxPlaintextSize bounds one envelope's plaintext (16 MiB). Notes and
	// transcripts are text; the bound keeps a hostile envelope from making a
	// reader allocate without limit.
	MaxPlaintextSize = 16 << 20

	contentKeySize = 32
	nonceSize      = chacha20poly1305.NonceSizeX // 24
	tagSize        = chacha20poly1305.Overhead   // 16
	ephemeralSize  = 33
	wrappedSize    = contentKeySize + tagSize // 48
	entrySize      = PublicKeySize + ephemeralSize + nonceSize + wrappedSize
	prefixSize     = 2
	// MinEnvelopeSize is one recipient and an empty plaintext.
	MinEnvelopeSize = prefixSize + entrySize + nonceSize + tagSize

	wrapInfoPrefix = "llamenos/v1/wrap/"
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

type entry struct {
	recipient PublicKey
	ephemeral *secp256k1.PublicKey
	ephBytes  [ephemeralSize]byte
	wrapNonce []byte
	wrapped   []byte
}

// ParseEnvelope checks the layout strictly — version, count, exact lengths,
// every recipient and ephemeral key a curve point, no recipient twice — and
// returns the header. It does no decryption.
func ParseEnvelope(env []byte) (Header, error) {
	p, err := parseEnvelope(env)
	return p.Header, err
}

// parsed is a Header plus what Open needs; the entries alias env.
type parsed struct {
	Header
	entries    []entry
	headerSize int // bytes before the content nonce
}

func parseEnvelope(env []byte) (parsed, error) {
	if len(env) == 0 {
		return parsed{}, fmt.Errorf("e2ee: parse: %w: empty", ErrMalformed)
	}
	if env[0] != Version1 {
		return parsed{}, fmt.Errorf("e2ee: parse: %w 0x%02x", ErrUnknownVersion, env[0])
	}
	if len(env) < prefixSize {
		return parsed{}, fmt.Errorf("e2ee: parse: %w: truncated before recipient count", ErrMalformed)
	}
	n := int(env[1])
	if n == 0 {
		return parsed{}, fmt.Errorf("e2ee: parse: %w: zero recipients", ErrMalformed)
	}
	headerSize := prefixSize + n*entrySize
	if len(env) < headerSize+nonceSize+tagSize {
		return parsed{}, fmt.Errorf("e2ee: parse: %w: truncated (%d bytes, need at least %d for %d recipients)",
			ErrMalformed, len(env), headerSize+nonceSize+tagSize, n)
	}
	ptSize := len(env) - headerSize - nonceSize - tagSize
	if ptSize > MaxPlaintextSize {
		return parsed{}, fmt.Errorf("e2ee: parse: %w: plaintext of %d bytes exceeds %d", ErrTooLarge, ptSize, MaxPlaintextSize)
	}
	h := parsed{
		Header: Header{
			Version:       Version1,
			Recipients:    make([]PublicKey, n),
			PlaintextSize: ptSize,
			Size:          len(env),
		},
		entries:    make([]entry, n),
		headerSize: headerSize,
	}
	seen := make(map[PublicKey]struct{}, n)
	for i := range n {
		e := env[prefixSize+i*entrySize : prefixSize+(i+1)*entrySize]
		var en entry
		copy(en.recipient[:], e[:PublicKeySize])
		if _, err := en.recipient.point(); err != nil {
			return parsed{}, fmt.Errorf("e2ee: parse: %w: recipient %d is not a curve point", ErrMalformed, i)
		}
		if _, dup := seen[en.recipient]; dup {
			return parsed{}, fmt.Errorf("e2ee: parse: %w: %w at entry %d", ErrMalformed, ErrDuplicateRecipient, i)
		}
		seen[en.recipient] = struct{}{}
		eph := e[PublicKeySize : PublicKeySize+ephemeralSize]
		// ParsePubKey also accepts other encodings at other lengths; the
		// length is fixed here, so only 0x02/0x03 compressed points pass.
		p, err := secp256k1.ParsePubKey(eph)
		if err != nil {
			return parsed{}, fmt.Errorf("e2ee: parse: %w: ephemeral key %d is not a compressed curve point", ErrMalformed, i)
		}
		en.ephemeral = p
		copy(en.ephBytes[:], eph)
		en.wrapNonce = e[PublicKeySize+ephemeralSize : PublicKeySize+ephemeralSize+nonceSize]
		en.wrapped = e[PublicKeySize+ephemeralSize+nonceSize:]
		h.entries[i] = en
		h.Recipients[i] = en.recipient
	}
	return h, nil
}

// Seal encrypts pt for every recipient under ctx. rand is crypto/rand.Reader
// in production; tests pass a deterministic stream to reproduce vectors. The
// order in which random bytes are drawn is part of the reproducibility
// contract with the browser code: content key, content nonce, then for each
// recipient in order its ephemeral secret (redrawn while out of range) and
// its wrap nonce.
func Seal(rand io.Reader, pt []byte, ctx Context, recipients []PublicKey) ([]byte, error) {
	if err := ctx.validate(); err != nil {
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

	aad := ctx.aad()
	key := make([]byte, contentKeySize)
	defer clear(key)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("e2ee: seal: content key: %w", err)
	}
	contentNonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(rand, contentNonce); err != nil {
		return nil, fmt.Errorf("e2ee: seal: content nonce: %w", err)
	}

	headerSize := prefixSize + len(recipients)*entrySize
	out := make([]byte, headerSize, headerSize+nonceSize+len(pt)+tagSize)
	out[0] = Version1
	out[1] = byte(len(recipients))
	for i, r := range recipients {
		e := out[prefixSize+i*entrySize : prefixSize+(i+1)*entrySize]
		copy(e[:PublicKeySize], r[:])
		eph, err := GenerateKey(rand)
		if err != nil {
			return nil, fmt.Errorf("e2ee: seal: ephemeral key: %w", err)
		}
		priv := eph.scalar()
		clear(eph[:])
		ephPub := priv.PubKey().SerializeCompressed()
		copy(e[PublicKeySize:], ephPub)
		shared := secp256k1.GenerateSharedSecret(priv, points[i])
		priv.Zero()
		wrapKey, err := deriveWrapKey(shared, ephPub, r, ctx.Purpose)
		clear(shared)
		if err != nil {
			return nil, fmt.Errorf("e2ee: seal: %w", err)
		}
		wrapNonce := e[PublicKeySize+ephemeralSize : PublicKeySize+ephemeralSize+nonceSize]
		if _, err := io.ReadFull(rand, wrapNonce); err != nil {
			clear(wrapKey)
			return nil, fmt.Errorf("e2ee: seal: wrap nonce: %w", err)
		}
		aead, err := chacha20poly1305.NewX(wrapKey)
		clear(wrapKey)
		if err != nil {
			return nil, fmt.Errorf("e2ee: seal: %w", err)
		}
		copy(e[PublicKeySize+ephemeralSize+nonceSize:], aead.Seal(nil, wrapNonce, key, aad))
	}

	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal: %w", err)
	}
	contentAAD := append(aad, out[:headerSize]...)
	out = append(out, contentNonce...)
	return aead.Seal(out, contentNonce, pt, contentAAD), nil
}

// Open decrypts env with sk under ctx. It fails with ErrUnknownVersion or
// ErrMalformed for bad layout, ErrNotRecipient if sk's public key is not
// listed, and ErrAuthFailed for any tampering or a wrong context. It never
// returns partial plaintext.
func Open(env []byte, ctx Context, sk SecretKey) ([]byte, error) {
	if err := ctx.validate(); err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	if !sk.valid() {
		return nil, fmt.Errorf("e2ee: open: %w: secret key out of range", ErrInvalidKey)
	}
	h, err := parseEnvelope(env)
	if err != nil {
		return nil, err
	}
	me := sk.Public()
	idx := -1
	for i, r := range h.Recipients {
		if r == me {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("e2ee: open: %w", ErrNotRecipient)
	}
	en := h.entries[idx]
	aad := ctx.aad()

	priv := sk.scalar()
	shared := secp256k1.GenerateSharedSecret(priv, en.ephemeral)
	priv.Zero()
	wrapKey, err := deriveWrapKey(shared, en.ephBytes[:], me, ctx.Purpose)
	clear(shared)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	aead, err := chacha20poly1305.NewX(wrapKey)
	clear(wrapKey)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	key, err := aead.Open(nil, en.wrapNonce, en.wrapped, aad)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: key wrap: %w", ErrAuthFailed)
	}
	defer clear(key)
	caead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: %w", err)
	}
	contentAAD := append(aad, env[:h.headerSize]...)
	nonce := env[h.headerSize : h.headerSize+nonceSize]
	pt, err := caead.Open(nil, nonce, env[h.headerSize+nonceSize:], contentAAD)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open: content: %w", ErrAuthFailed)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// deriveWrapKey = HKDF-SHA256(ikm = shared x, salt = E(33) ‖ recipient(32),
// info = "llamenos/v1/wrap/" + purpose, 32 bytes).
func deriveWrapKey(sharedX, ephCompressed []byte, recipient PublicKey, purpose string) ([]byte, error) {
	salt := make([]byte, 0, ephemeralSize+PublicKeySize)
	salt = append(salt, ephCompressed...)
	salt = append(salt, recipient[:]...)
	k, err := hkdf.Key(sha256.New, sharedX, salt, wrapInfoPrefix+purpose, contentKeySize)
	if err != nil {
		return nil, fmt.Errorf("wrap key: %w", err)
	}
	return k, nil
}
