package e2ee

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
)

// Caller numbers are looked up (ban list, rate limit) by a keyed hash, never
// stored in clear. The key is a per-install secret, so a seized database alone
// cannot be brute-forced over the small space of phone numbers; with the
// secret it can (docs/crypto.md says so).

// MinPhoneSecretSize is the least accepted HMAC key length.
const MinPhoneSecretSize = 32

const phoneLabel = "llamenos/v1/phone"

// NormalizeE164 removes spaces, dashes and parentheses and then requires
// strict E.164: '+', a non-zero digit, then 6 to 14 more digits. Anything
// else — letters, a leading 00, dots, extensions — is refused rather than
// guessed at, so one number always hashes one way.
func NormalizeE164(s string) (string, error) {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')':
			return -1
		}
		return r
	}, s)
	if len(n) < 8 || len(n) > 16 || n[0] != '+' || n[1] < '1' || n[1] > '9' {
		return "", fmt.Errorf("e2ee: phone: %w: want +<country><number>, 7 to 15 digits", ErrInvalidPhone)
	}
	for i := 2; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", fmt.Errorf("e2ee: phone: %w: non-digit after '+'", ErrInvalidPhone)
		}
	}
	return n, nil
}

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
