package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/google/uuid"
)

// ErrCorrupt marks bytes read from the database file that do not decode.
// bbolt checksums only its meta pages, so every record carries its own
// CRC-32C: a flipped bit in a value is reported instead of silently read.
var ErrCorrupt = errors.New("damaged data")

// recordV1 is the first byte of every encoded record: a per-record format
// version, so a later schema can change one record type at a time.
const recordV1 = 1

// MaxEnvelope bounds one sealed blob. A long call's transcript is tens of
// kilobytes; this leaves room for that and refuses absurd writes.
const MaxEnvelope = 8 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord lays a record out as version byte, JSON, CRC-32C (big endian)
// over the version byte and the JSON.
func encodeRecord(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	buf := make([]byte, 0, 1+len(js)+4)
	buf = append(buf, recordV1)
	buf = append(buf, js...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli)), nil
}

// decodeRecord is the inverse of encodeRecord. It copies everything it keeps
// (encoding/json allocates fresh strings and slices), so b may be memory
// owned by a bbolt transaction.
func decodeRecord(b []byte, v any) error {
	if len(b) < 1+2+4 {
		return fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if body[0] != recordV1 {
		return fmt.Errorf("%w: unknown record version %d", ErrCorrupt, body[0])
	}
	if err := json.Unmarshal(body[1:], v); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// Hash is a SHA-256 or HMAC-SHA256 value: a caller-number hash, an invite
// code hash, a session token hash. A plain [32]byte is assignable to it.
type Hash [32]byte

// ParseHash reads 64 lowercase hex characters.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if err := h.UnmarshalText([]byte(s)); err != nil {
		return Hash{}, err
	}
	return h, nil
}

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes (no hash set).
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, 64)
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText accepts exactly 64 lowercase hex characters.
func (h *Hash) UnmarshalText(b []byte) error {
	if !isLowerHex(b, 64) {
		return fmt.Errorf("hash must be 64 lowercase hex characters")
	}
	_, err := hex.Decode(h[:], b)
	return err
}

func isLowerHex(b []byte, n int) bool {
	if len(b) != n {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidPubKey checks the form the whole daemon uses for an identity key: the
// 32-byte x-only secp256k1 key as 64 lowercase hex characters. It does not
// check that the point is on the curve; e2ee does that where it matters.
func ValidPubKey(s string) error {
	if !isLowerHex([]byte(s), 64) {
		return fmt.Errorf("public key %q: must be 64 lowercase hex characters", truncate(s, 80))
	}
	return nil
}

// pubKeyBytes is the 32-byte key form used inside index keys.
func pubKeyBytes(s string) ([]byte, error) {
	if err := ValidPubKey(s); err != nil {
		return nil, err
	}
	return hex.DecodeString(s)
}

// NewID returns a new record id: a UUIDv7 in its canonical text form. Its
// time prefix keeps B-tree inserts near the end of the bucket.
func NewID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("store: new id: %w", err)
	}
	return u.String(), nil
}

// ValidID checks a record id: a UUID in canonical lowercase text form.
func ValidID(s string) error {
	_, err := idBytes(s)
	return err
}

func idBytes(s string) ([]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil || u.String() != s {
		return nil, fmt.Errorf("id %q: must be a lowercase UUID like 0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d", truncate(s, 80))
	}
	return u[:], nil
}

func idString(b []byte) string {
	var u uuid.UUID
	copy(u[:], b)
	return u.String()
}

// Index keys carry times as big-endian unsigned nanoseconds since 1970 so
// byte order is time order. Times outside 1970..2262 cannot be keys.
var (
	minKeyTime = time.Unix(0, 0)
	maxKeyTime = time.Unix(0, 1<<63-1)
)

func timeKey(t time.Time) ([]byte, error) {
	if t.Before(minKeyTime) || t.After(maxKeyTime) {
		return nil, fmt.Errorf("time %s is outside 1970..2262", t.UTC().Format(time.RFC3339))
	}
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// cat joins key parts into a fresh slice.
func cat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

func checkEnvelope(what string, b []byte, required bool) error {
	if required && len(b) == 0 {
		return fmt.Errorf("%s: sealed envelope required", what)
	}
	if len(b) > MaxEnvelope {
		return fmt.Errorf("%s: envelope of %d bytes exceeds %d", what, len(b), MaxEnvelope)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
