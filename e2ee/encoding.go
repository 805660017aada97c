package e2ee

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// appendLP appends the canonical length-prefixed encoding of b: a 4-byte
// big-endian length then the bytes. Every multi-field input to a hash, KDF or
// AAD goes through it so that no two field lists encode to the same bytes.
func appendLP(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func appendLPString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// EncodeBase64URL encodes b as unpadded base64url (RFC 4648 §5), the form
// every binary value takes in JSON.
func EncodeBase64URL(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeBase64URL decodes unpadded base64url strictly: no padding, no other
// alphabet, no non-zero trailing bits and no line breaks, so each byte string
// has exactly one accepted text form (the same rules as the browser side).
func DecodeBase64URL(s string) ([]byte, error) {
	// encoding/base64 skips CR and LF even in strict mode.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("e2ee: base64url: %w: line break in input", ErrMalformed)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("e2ee: base64url: %w: %v", ErrMalformed, err)
	}
	return b, nil
}
