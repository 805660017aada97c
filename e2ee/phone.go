package e2ee

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Caller numbers are looked up (ban list, rate limit) by a keyed hash, never
// stored in clear. CallerHash (format v2) is the one the daemon writes: an
// HMAC under a per-install key kept outside the database, then Argon2id, so
// a seized database without the key cannot be brute-forced over the small
// space of phone numbers, and with the key every guess costs a memory-hard
// hash. PhoneHash (format v1, HMAC only) is kept to check bans written before
// v2. docs/crypto.md gives the cost.

// MinPhoneSecretSize is the least accepted HMAC key length.
const MinPhoneSecretSize = 32

const (
	phoneLabel   = "llamenos/v1/phone"
	callerLabel  = "llamenos/v2/phone"
	callerSaltV2 = "llamenos/v2/phone/argon2id-salt"
)

// CallerHashCost is the Argon2id work of one CallerHash.
type CallerHashCost struct {
	Time      uint32 // passes over the memory
	MemoryKiB uint32
}

// DefaultCallerHashCost is what the daemon uses: 1 pass over 32 MiB, one
// lane. docs/crypto.md gives the measured time.
var DefaultCallerHashCost = CallerHashCost{Time: 1, MemoryKiB: 32 * 1024}

// CallerHash is the v2 caller-number hash:
//
//	pre  = HMAC-SHA256(key, "llamenos/v2/phone" ‖ 0x00 ‖ E.164)
//	hash = Argon2id(password = pre, salt = "llamenos/v2/phone/argon2id-salt",
//	                t = cost.Time, m = cost.MemoryKiB, p = 1, 32 bytes)
//
// The number is held in a buffer its owner wipes and no copy of it is made
// (the HMAC is PhoneHashBytes's hand-padded one); pre is wiped after use.
// The Argon2id copies only pre, which without the key names nobody.
func CallerHash(key, number []byte, cost CallerHashCost) ([32]byte, error) {
	var out [32]byte
	if cost.Time < 1 || cost.MemoryKiB < 8 {
		return out, errors.New("e2ee: caller hash: cost below Argon2id's minimum")
	}
	pre, err := phoneHMACBytes(key, number, callerLabel)
	if err != nil {
		return out, err
	}
	defer clear(pre[:])
	h := argon2.IDKey(pre[:], []byte(callerSaltV2), cost.Time, cost.MemoryKiB, 1, 32)
	copy(out[:], h)
	return out, nil
}

// NormalizeE164 removes spaces, dashes and parentheses and then requires
// strict E.164: '+', a non-zero digit, then 6 to 14 more digits. Anything
// else — letters, a leading 00, dots, extensions — is refused rather than
// guessed at, so one number always hashes one way.
func NormalizeE164(s string) (string, error) {
	n, err := appendE164(make([]byte, 0, len(s)), s)
	if err != nil {
		return "", err
	}
	return string(n), nil
}

// NormalizedE164 is NormalizeE164 for a number held in a buffer its owner
// wipes: the result is a new buffer of the caller's to wipe, and no other
// copy of the number is made (on error, none at all).
func NormalizedE164(number []byte) ([]byte, error) {
	n, err := appendE164(make([]byte, 0, len(number)), number)
	if err != nil {
		clear(n[:cap(n)])
		return nil, err
	}
	return n, nil
}

// appendE164 appends the normalised number to dst. It appends at most 16
// bytes, so a dst with that much room never reallocates (a reallocation
// would leave a partial copy behind).
func appendE164[S ~string | ~[]byte](dst []byte, s S) ([]byte, error) {
	errShape := fmt.Errorf("e2ee: phone: %w: want +<country><number>, 7 to 15 digits", ErrInvalidPhone)
	kept := 0
	for i := 0; i < len(s); i++ {
		if !isPhoneSeparator(s[i]) {
			kept++
		}
	}
	if kept < 8 || kept > 16 {
		return dst, errShape // checked before copying: at most 16 bytes are appended
	}
	start := len(dst)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isPhoneSeparator(c) {
			dst = append(dst, c)
		}
	}
	n := dst[start:]
	if n[0] != '+' || n[1] < '1' || n[1] > '9' {
		return dst, errShape
	}
	for i := 2; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return dst, fmt.Errorf("e2ee: phone: %w: non-digit after '+'", ErrInvalidPhone)
		}
	}
	return dst, nil
}

func isPhoneSeparator(c byte) bool { return c == ' ' || c == '-' || c == '(' || c == ')' }

// PhoneHash normalises number and returns HMAC-SHA256(secret,
// "llamenos/v1/phone" ‖ 0x00 ‖ E.164).
func PhoneHash(secret []byte, number string) ([32]byte, error) {
	var out [32]byte
	if len(secret) < MinPhoneSecretSize {
		return out, fmt.Errorf("e2ee: phone hash: secret of %d bytes, need at least %d", len(secret), MinPhoneSecretSize)
	}
	e164, err := NormalizeE164(number)
	if err != nil {
		return out, err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(phoneLabel))
	m.Write([]byte{0})
	m.Write([]byte(e164))
	m.Sum(out[:0])
	return out, nil
}

// PhoneHashBytes is PhoneHash for a number held in a buffer its owner
// wipes. It leaves no copy of the number behind: an HMAC object keeps the
// message's last partial block in its state, and summing copies that state,
// so the inner hash is computed here over one final block padded by hand,
// built in a buffer that is zeroed afterwards, which SHA-256 reads in place.
func PhoneHashBytes(secret, number []byte) ([32]byte, error) {
	return phoneHMACBytes(secret, number, phoneLabel)
}

// phoneHMACBytes is HMAC-SHA256(secret, label ‖ 0x00 ‖ E.164) computed
// without copying the number; label is at most 17 bytes.
func phoneHMACBytes(secret, number []byte, label string) ([32]byte, error) {
	var out [32]byte
	if len(secret) < MinPhoneSecretSize {
		return out, fmt.Errorf("e2ee: phone hash: secret of %d bytes, need at least %d", len(secret), MinPhoneSecretSize)
	}
	const block = sha256.BlockSize
	// key0 is the HMAC key padded to a block (or its hash, if longer).
	key0 := make([]byte, block)
	defer clear(key0)
	if len(secret) > block {
		k := sha256.Sum256(secret)
		copy(key0, k[:])
		clear(k[:])
	} else {
		copy(key0, secret)
	}
	// The message is label ‖ 0x00 ‖ E.164: at most 34 bytes, so with the
	// 0x80 marker and the 8-byte bit length it fits one block after ipad.
	if len(label) > 17 {
		return out, errors.New("e2ee: phone hash: label too long for one block")
	}
	final := make([]byte, 0, block)
	defer func() { clear(final[:block]) }()
	final = append(final, label...)
	final = append(final, 0)
	final, err := appendE164(final, number)
	if err != nil {
		return out, err
	}
	msgLen := len(final)
	final = append(final, 0x80)
	final = final[:block]
	clear(final[msgLen+1:])
	binary.BigEndian.PutUint64(final[block-8:], uint64(block+msgLen)*8)

	pad := make([]byte, block)
	defer clear(pad)
	for i, k := range key0 {
		pad[i] = k ^ 0x36
	}
	inner := sha256.New()
	inner.Write(pad)
	inner.Write(final) // whole blocks are hashed straight from final
	state, err := inner.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return out, fmt.Errorf("e2ee: phone hash: %w", err)
	}
	defer clear(state)
	// The state is a 4-byte magic, then the eight chaining words, big
	// endian: after the padded final block they are the inner digest.
	const magic = "sha\x03"
	if len(state) < len(magic)+sha256.Size || string(state[:len(magic)]) != magic {
		return out, errors.New("e2ee: phone hash: unexpected SHA-256 state layout")
	}
	for i, k := range key0 {
		pad[i] = k ^ 0x5c
	}
	outer := sha256.New()
	outer.Write(pad)
	outer.Write(state[len(magic) : len(magic)+sha256.Size])
	outer.Sum(out[:0])
	return out, nil
}
