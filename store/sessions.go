package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Session is a login. The cookie carries a random token; only its SHA-256
// (TokenHash) is stored, so a copy of the database logs nobody in. Expiry
// slides: the auth package moves ExpiresAt forward as the session is used.
type Session struct {
	TokenHash  Hash      `json:"hash"`
	PubKey     string    `json:"pk"`
	CreatedAt  time.Time `json:"created"`
	LastUsedAt time.Time `json:"used"`
	ExpiresAt  time.Time `json:"expires"`
	// SecondFactor is true once a passkey assertion succeeded in this session.
	SecondFactor bool `json:"2fa,omitempty"`
}

func (s *Session) validate() error {
	var errs []error
	if s.TokenHash.IsZero() {
		errs = append(errs, errors.New("token hash missing"))
	}
	if err := ValidPubKey(s.PubKey); err != nil {
		errs = append(errs, err)
	}
	if !s.ExpiresAt.After(s.CreatedAt) {
		errs = append(errs, errors.New("expiry must be after creation"))
	}
	return errors.Join(errs...)
}

func (s *Session) indexEntries() []indexEntry {
	pk, _ := hex.DecodeString(s.PubKey)
	return []indexEntry{{bucketSessByPK, cat(pk, s.TokenHash[:])}}
}

// PutSession creates or replaces a session. CreatedAt and LastUsedAt default
// to the tx time. The owner cannot change.
func (tx *Tx) PutSession(s Session) (Session, error) {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = tx.now
	}
	if s.LastUsedAt.IsZero() {
		s.LastUsedAt = tx.now
	}
	if err := s.validate(); err != nil {
		return Session{}, fmt.Errorf("store: put session: %w: %w", ErrInvalid, err)
	}
	old, err := tx.Session(s.TokenHash)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Session{}, err
	case old.PubKey != s.PubKey:
		return Session{}, fmt.Errorf("store: put session: %w: a session cannot change owner", ErrInvalid)
	}
	if err := tx.putRecord(bucketSessions, s.TokenHash[:], &s); err != nil {
		return Session{}, err
	}
	return s, tx.reindex(nil, s.indexEntries())
}

// Session returns the session for a token hash, expired or not: the caller
// compares ExpiresAt with its clock.
func (tx *Tx) Session(tokenHash Hash) (Session, error) {
	var s Session
	if err := tx.getRecord(bucketSessions, tokenHash[:], &s); err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}

// DeleteSession ends one session (logout). Deleting a missing one is not an
// error.
func (tx *Tx) DeleteSession(tokenHash Hash) error {
	s, err := tx.Session(tokenHash)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return tx.deleteSession(s)
}

func (tx *Tx) deleteSession(s Session) error {
	b, err := tx.bucket(bucketSessions)
	if err != nil {
		return err
	}
	if err := b.Delete(s.TokenHash[:]); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return tx.reindex(s.indexEntries(), nil)
}

// SessionsFor lists a volunteer's sessions.
func (tx *Tx) SessionsFor(pk string) ([]Session, error) {
	key, err := pubKeyBytes(pk)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w: %w", ErrInvalid, err)
	}
	hashes, err := tx.indexSuffixes(bucketSessByPK, key, len(Hash{}))
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, hb := range hashes {
		s, err := tx.Session(Hash(hb))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// DeleteSessionsFor ends every session of pk at once (deactivation, "log out
// everywhere") and says how many there were.
func (tx *Tx) DeleteSessionsFor(pk string) (int, error) {
	sessions, err := tx.SessionsFor(pk)
	if err != nil {
		return 0, err
	}
	for _, s := range sessions {
		if err := tx.deleteSession(s); err != nil {
			return 0, err
		}
	}
	return len(sessions), nil
}

// DeleteExpiredSessions removes sessions whose ExpiresAt is not after now.
func (tx *Tx) DeleteExpiredSessions(now time.Time) (int, error) {
	b, err := tx.bucket(bucketSessions)
	if err != nil {
		return 0, err
	}
	var doomed []Session
	err = b.ForEach(func(k, raw []byte) error {
		var s Session
		if err := decodeRecord(raw, &s); err != nil {
			return fmt.Errorf("store: session %x: %w", k, err)
		}
		if !s.ExpiresAt.After(now) {
			doomed = append(doomed, s)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, s := range doomed {
		if err := tx.deleteSession(s); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
