package e2ee

import "errors"

// Sentinel errors. Callers match them with errors.Is; the wrapping message adds
// where the failure happened. None of them carries secret material.
var (
	// ErrUnknownVersion: the envelope's first byte is not a version this code
	// understands.
	ErrUnknownVersion = errors.New("unknown envelope version")
	// ErrMalformed: the bytes do not follow the layout (wrong length, bad
	// count, invalid point, duplicate recipient, bad encoding).
	ErrMalformed = errors.New("malformed envelope")
	// ErrNotRecipient: the envelope is well-formed but not addressed to the
	// given key.
	ErrNotRecipient = errors.New("not a recipient of this envelope")
	// ErrAuthFailed: an AEAD tag did not verify. The envelope was tampered
	// with, opened under the wrong context, or wrapped for another key.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrUnknownPurpose: the context names a purpose outside the fixed list.
	ErrUnknownPurpose = errors.New("unknown purpose")
	// ErrInvalidContext: a context field is too long or not valid UTF-8.
	ErrInvalidContext = errors.New("invalid context")
	// ErrInvalidKey: a secret or public key is out of range or not a curve
	// point, or a key string fails its encoding checks.
	ErrInvalidKey = errors.New("invalid key")
	// ErrDuplicateRecipient: the same public key appears twice in a
	// recipient list.
	ErrDuplicateRecipient = errors.New("duplicate recipient")
	// ErrTooLarge: plaintext or recipient count beyond the format's limits.
	ErrTooLarge = errors.New("too large")
	// ErrRewrap: an envelope offered as a re-wrap of another changes more
	// than its wraps (the content, or the wrap of someone who keeps it).
	// Only the server checks this, so it has no browser twin.
	ErrRewrap = errors.New("not a re-wrap")
	// ErrBadSignature: a BIP-340 signature did not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrInvalidPhone: a phone number is not a valid E.164 number.
	ErrInvalidPhone = errors.New("invalid phone number")
)
