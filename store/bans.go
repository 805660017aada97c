package store

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Ban blocks a caller. It is keyed by the caller-number hash (CallerKey),
// so the check at call time is one key lookup; the number itself is kept
// only as an envelope sealed to the admins.
type Ban struct {
	Hash Hash `json:"hash"`
	// Legacy: Hash is the v1 hash (HMAC under a secret the database held
	// before schema v2; CallerKey.LegacyHashes). The call-time check tries
	// those too, and re-keys the ban (RekeyBan) when the caller calls again.
	Legacy bool   `json:"v1,omitempty"`
	Number []byte `json:"num,omitempty"`
	// CallID is set when Number is the caller-number envelope of that call
	// (a ban from a call): the envelope's context names the call.
	CallID    string    `json:"call,omitempty"`
	Reason    []byte    `json:"why,omitempty"`
	CreatedAt time.Time `json:"created"`
	CreatedBy string    `json:"by"`
}

func (b *Ban) validate() error {
	var errs []error
	if b.Hash.IsZero() {
		errs = append(errs, errors.New("caller hash missing"))
	}
	if err := checkEnvelope("number", b.Number, false); err != nil {
		errs = append(errs, err)
	}
	if err := checkEnvelope("reason", b.Reason, false); err != nil {
		errs = append(errs, err)
	}
	if b.CallID != "" {
		if err := ValidID(b.CallID); err != nil {
			errs = append(errs, fmt.Errorf("call: %w", err))
		}
	}
	if b.CreatedBy != ActorSystem {
		if err := ValidPubKey(b.CreatedBy); err != nil {
			errs = append(errs, fmt.Errorf("created by: %w", err))
		}
	}
	return errors.Join(errs...)
}

// PutBan adds or replaces a ban. CreatedAt defaults to the tx time.
func (tx *Tx) PutBan(b Ban) (Ban, error) {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = tx.now
	}
	b.Number, b.Reason = clone(b.Number), clone(b.Reason)
	if err := b.validate(); err != nil {
		return Ban{}, fmt.Errorf("store: put ban: %w: %w", ErrInvalid, err)
	}
	return b, tx.putRecord(bucketBans, b.Hash[:], &b)
}

// IsBanned is the call-time check.
func (tx *Tx) IsBanned(h Hash) (bool, error) {
	b, err := tx.bucket(bucketBans)
	if err != nil {
		return false, err
	}
	return b.Get(h[:]) != nil, nil
}

// Ban returns the ban for a caller hash.
func (tx *Tx) Ban(h Hash) (Ban, error) {
	var b Ban
	if err := tx.getRecord(bucketBans, h[:], &b); err != nil {
		return Ban{}, fmt.Errorf("store: ban: %w", err)
	}
	return b, nil
}

// Bans lists every ban, newest first.
func (tx *Tx) Bans() ([]Ban, error) {
	out, err := listAll[Ban](tx, bucketBans)
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, err
}

// DeleteBan lifts a ban; a missing one is ErrNotFound.
func (tx *Tx) DeleteBan(h Hash) error {
	b, err := tx.bucket(bucketBans)
	if err != nil {
		return err
	}
	if b.Get(h[:]) == nil {
		return fmt.Errorf("store: ban: %w", ErrNotFound)
	}
	if err := b.Delete(h[:]); err != nil {
		return fmt.Errorf("store: delete ban: %w", err)
	}
	return nil
}

// RekeyBan moves a legacy ban to the v2 hash of the same number, once a
// call has shown which number it is. It reports whether a legacy ban was
// at old.
func (tx *Tx) RekeyBan(old, current Hash) (bool, error) {
	var b Ban
	err := tx.getRecord(bucketBans, old[:], &b)
	if errors.Is(err, ErrNotFound) || (err == nil && !b.Legacy) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: rekey ban: %w", err)
	}
	if err := tx.DeleteBan(old); err != nil {
		return false, err
	}
	b.Hash, b.Legacy = current, false
	if _, err := tx.PutBan(b); err != nil {
		return false, err
	}
	return true, nil
}
