package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"

	"go.etcd.io/bbolt"

	"llamenos/e2ee"
)

// InstallSecret is the per-install HMAC key created at first open. Caller
// numbers are only ever compared as MAC(number), so the ban list and rate
// limit work without the number being kept. It must never be logged: every
// way of printing it prints a placeholder.
//
// It lives in the database (the daemon needs it unattended at call time),
// so whoever holds the file or a backup holds the key too, and phone numbers
// are few enough to enumerate: at rest the hashes slow an attacker who has
// the file only as much as enumerating about 10^10 numbers does.
type InstallSecret struct {
	key [32]byte
}

const redacted = "[install secret redacted]"

// MAC is HMAC-SHA256 of data under the install secret.
func (s InstallSecret) MAC(data []byte) Hash {
	m := hmac.New(sha256.New, s.key[:])
	m.Write(data)
	var h Hash
	copy(h[:], m.Sum(nil))
	return h
}

// PhoneHash is the keyed hash of a caller number (e2ee.PhoneHash: the
// number is normalised to E.164 first, so reformatting cannot dodge a ban).
func (s InstallSecret) PhoneHash(number string) (Hash, error) {
	h, err := e2ee.PhoneHash(s.key[:], number)
	return Hash(h), err
}

// PhoneHashBytes is PhoneHash for a number held in a buffer its owner
// wipes; it leaves no copy of the number behind (e2ee.PhoneHashBytes).
func (s InstallSecret) PhoneHashBytes(number []byte) (Hash, error) {
	h, err := e2ee.PhoneHashBytes(s.key[:], number)
	return Hash(h), err
}

func (InstallSecret) String() string               { return redacted }
func (InstallSecret) GoString() string             { return redacted }
func (InstallSecret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (InstallSecret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Format covers every fmt verb (%x included), so no format string leaks it.
func (InstallSecret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

func newInstallSecret() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("install secret: %w", err)
	}
	return b, nil
}

func (s *Store) loadSecret() error {
	return s.db.View(func(btx *bbolt.Tx) error {
		b := btx.Bucket(bucketMeta)
		if b == nil {
			return fmt.Errorf("store: meta bucket missing: %w", ErrCorrupt)
		}
		v := b.Get(keySecret)
		if len(v) != 32 {
			return fmt.Errorf("store: install secret is %d bytes, want 32: %w", len(v), ErrCorrupt)
		}
		copy(s.secret.key[:], v)
		return nil
	})
}
