package e2ee

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Login challenge–response. The server issues a random challenge;
// the browser BIP-340-signs AuthMessage over it. The message is domain
// separated so a signature made for one purpose, origin, challenge or key is
// useless for any other — in particular it is not a valid Nostr event
// signature, and a phishing origin gets a signature the real server rejects.
const (
	AuthLogin  = "login"  // an existing volunteer or admin logs in
	AuthSetup  = "setup"  // the first admin proves possession with the setup token
	AuthInvite = "invite" // a volunteer accepts an invite with a new key

	// MinChallengeSize is the least challenge length accepted (128 bits).
	MinChallengeSize = 16
	// MaxChallengeSize and MaxOriginSize bound the inputs of the hash.
	MaxChallengeSize = 256
	MaxOriginSize    = 512

	authLabel = "llamenos/v1/auth"
)

var authPurposes = []string{AuthLogin, AuthSetup, AuthInvite}

// AuthMessage = SHA-256(LP("llamenos/v1/auth") ‖ LP(purpose) ‖ LP(origin) ‖
// LP(challenge) ‖ LP(pubkey x-only 32)). origin is the web origin exactly as
// the browser reports it (location.origin, e.g. "https://hotline.example.org").
func AuthMessage(purpose, origin string, challenge []byte, pub PublicKey) ([32]byte, error) {
	if !slices.Contains(authPurposes, purpose) {
		return [32]byte{}, fmt.Errorf("e2ee: auth message: %w %q", ErrUnknownPurpose, purpose)
	}
	if origin == "" || len(origin) > MaxOriginSize || !utf8.ValidString(origin) {
		return [32]byte{}, fmt.Errorf("e2ee: auth message: %w: origin empty, too long or not UTF-8", ErrInvalidContext)
	}
	if len(challenge) < MinChallengeSize || len(challenge) > MaxChallengeSize {
		return [32]byte{}, fmt.Errorf("e2ee: auth message: %w: challenge of %d bytes, want %d..%d",
			ErrInvalidContext, len(challenge), MinChallengeSize, MaxChallengeSize)
	}
	b := make([]byte, 0, 20+len(authLabel)+len(purpose)+len(origin)+len(challenge)+PublicKeySize)
	b = appendLPString(b, authLabel)
	b = appendLPString(b, purpose)
	b = appendLPString(b, origin)
	b = appendLP(b, challenge)
	b = appendLP(b, pub[:])
	return sha256.Sum256(b), nil
}

// VerifyAuth checks sig over AuthMessage(purpose, origin, challenge, pub). The
// caller still owns single use and expiry of the challenge.
func VerifyAuth(pub PublicKey, purpose, origin string, challenge, sig []byte) error {
	msg, err := AuthMessage(purpose, origin, challenge, pub)
	if err != nil {
		return err
	}
	if !VerifySchnorr(pub, msg[:], sig) {
		return fmt.Errorf("e2ee: verify auth: %w", ErrBadSignature)
	}
	return nil
}
