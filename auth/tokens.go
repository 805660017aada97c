package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// TokenSize is the entropy of session tokens, invite codes, setup tokens
// and passkey tickets.
const TokenSize = 32

// NewToken returns a random URL-safe token and the SHA-256 the server keeps.
func NewToken() (token string, hash [32]byte, err error) {
	var b [TokenSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", hash, err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is how a token is stored and looked up: only its hash ever
// reaches the database, so a stolen database holds no usable session.
func HashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// ErrBadToken is returned for a token that is not of our format.
var ErrBadToken = errors.New("auth: malformed token")

// CheckTokenFormat refuses anything that cannot be one of our tokens before
// it is hashed or looked up.
func CheckTokenFormat(token string) error {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != TokenSize {
		return ErrBadToken
	}
	return nil
}
