package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"llamenos/e2ee"
)

// Role is what a volunteer may do.
type Role string

const (
	RoleAdmin     Role = "admin"
	RoleVolunteer Role = "volunteer"
)

func (r Role) valid() bool { return r == RoleAdmin || r == RoleVolunteer }

// Volunteer is a person who answers calls (or administers). The server knows
// their public key, role and presence; their name and phone number are in
// Profile, sealed in the browser to the admins and the volunteer.
type Volunteer struct {
	PubKey    string `json:"pk"`
	Role      Role   `json:"role"`
	Active    bool   `json:"active"`
	Available bool   `json:"avail,omitempty"`
	OnBreak   bool   `json:"break,omitempty"`
	// Profile is an envelope (name, phone) sealed to every admin and the
	// volunteer. Opaque here.
	Profile []byte `json:"profile,omitempty"`
	// PasskeyRequired forces a passkey for this person even when the
	// hotline-wide setting does not.
	PasskeyRequired bool `json:"pkreq,omitempty"`
	// UserHandle is the WebAuthn user handle: 32 random bytes set by
	// CreateVolunteer, so authenticators never store the public key.
	UserHandle []byte    `json:"uh"`
	CreatedAt  time.Time `json:"created"`
	UpdatedAt  time.Time `json:"updated"`
	LastSeenAt time.Time `json:"seen,omitzero"`
}

func (v *Volunteer) validate() error {
	var errs []error
	if err := ValidPubKey(v.PubKey); err != nil {
		errs = append(errs, err)
	}
	if !v.Role.valid() {
		errs = append(errs, fmt.Errorf("role %q: want admin or volunteer", v.Role))
	}
	if err := checkEnvelope("profile", v.Profile, false); err != nil {
		errs = append(errs, err)
	}
	if len(v.UserHandle) != userHandleLen {
		errs = append(errs, fmt.Errorf("user handle of %d bytes: want %d", len(v.UserHandle), userHandleLen))
	}
	return errors.Join(errs...)
}

const userHandleLen = 32

func (v *Volunteer) indexEntries() []indexEntry {
	pk, _ := hex.DecodeString(v.PubKey)
	return []indexEntry{{bucketVolHandles, cat(v.UserHandle, pk)}}
}

// CreateVolunteer adds a volunteer. The store sets UserHandle and, when
// zero, CreatedAt and UpdatedAt.
func (tx *Tx) CreateVolunteer(v Volunteer) (Volunteer, error) {
	pk, err := pubKeyBytes(v.PubKey)
	if err != nil {
		return Volunteer{}, fmt.Errorf("store: create volunteer: %w: %w", ErrInvalid, err)
	}
	b, err := tx.bucket(bucketVolunteers)
	if err != nil {
		return Volunteer{}, err
	}
	if b.Get(pk) != nil {
		return Volunteer{}, fmt.Errorf("store: create volunteer %s: %w", v.PubKey, ErrExists)
	}
	v.UserHandle = make([]byte, userHandleLen)
	if _, err := rand.Read(v.UserHandle); err != nil {
		return Volunteer{}, fmt.Errorf("store: user handle: %w", err)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = tx.now
	}
	v.UpdatedAt = v.CreatedAt
	v.Profile = clone(v.Profile)
	if err := v.validate(); err != nil {
		return Volunteer{}, fmt.Errorf("store: create volunteer: %w: %w", ErrInvalid, err)
	}
	if err := tx.putRecord(bucketVolunteers, pk, &v); err != nil {
		return Volunteer{}, err
	}
	return v, tx.reindex(nil, v.indexEntries())
}

// Volunteer returns the volunteer with public key pk.
func (tx *Tx) Volunteer(pk string) (Volunteer, error) {
	key, err := pubKeyBytes(pk)
	if err != nil {
		return Volunteer{}, fmt.Errorf("store: volunteer: %w: %w", ErrInvalid, err)
	}
	var v Volunteer
	if err := tx.getRecord(bucketVolunteers, key, &v); err != nil {
		return Volunteer{}, fmt.Errorf("store: volunteer %s: %w", pk, err)
	}
	return v, nil
}

// VolunteerByUserHandle finds the owner of a WebAuthn user handle
// (discoverable-credential login).
func (tx *Tx) VolunteerByUserHandle(handle []byte) (Volunteer, error) {
	if len(handle) != userHandleLen {
		return Volunteer{}, fmt.Errorf("store: volunteer by handle: %w", ErrNotFound)
	}
	b, err := tx.bucket(bucketVolHandles)
	if err != nil {
		return Volunteer{}, err
	}
	k, _ := b.Cursor().Seek(handle)
	if len(k) != userHandleLen+32 || string(k[:userHandleLen]) != string(handle) {
		return Volunteer{}, fmt.Errorf("store: volunteer by handle: %w", ErrNotFound)
	}
	return tx.Volunteer(hex.EncodeToString(k[userHandleLen:]))
}

// Volunteers returns everyone, active or not, ordered by public key.
func (tx *Tx) Volunteers() ([]Volunteer, error) { return listAll[Volunteer](tx, bucketVolunteers) }

// IsActiveAdmin is the one rule for who administers the hotline now: an
// admin whose account is active. Active admins are the only ones admin
// routes admit; those of them the admin set vouches for are the
// recipients, with the owner, of every envelope (SealingAdmins).
func (v Volunteer) IsActiveAdmin() bool { return v.Active && v.Role == RoleAdmin }

// ActiveAdmins returns the public keys of every active admin, ordered by key.
func (tx *Tx) ActiveAdmins() ([]string, error) {
	vols, err := tx.Volunteers()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range vols {
		if v.IsActiveAdmin() {
			out = append(out, v.PubKey)
		}
	}
	return out, nil
}

// UpdateVolunteer applies fn to the stored volunteer and saves the result.
// PubKey, UserHandle and CreatedAt cannot change; UpdatedAt is set.
func (tx *Tx) UpdateVolunteer(pk string, fn func(*Volunteer) error) (Volunteer, error) {
	old, err := tx.Volunteer(pk)
	if err != nil {
		return Volunteer{}, err
	}
	v := old
	v.Profile = clone(old.Profile)
	v.UserHandle = clone(old.UserHandle)
	if err := fn(&v); err != nil {
		return Volunteer{}, err
	}
	if v.PubKey != old.PubKey || string(v.UserHandle) != string(old.UserHandle) || !v.CreatedAt.Equal(old.CreatedAt) {
		return Volunteer{}, fmt.Errorf("store: update volunteer %s: %w: public key, user handle and creation time are fixed", pk, ErrInvalid)
	}
	v.UpdatedAt = tx.now
	if err := v.validate(); err != nil {
		return Volunteer{}, fmt.Errorf("store: update volunteer %s: %w: %w", pk, ErrInvalid, err)
	}
	key, _ := pubKeyBytes(pk)
	return v, tx.putRecord(bucketVolunteers, key, &v)
}

// DeactivateVolunteer marks pk inactive and unavailable and deletes every
// session it has, in this one transaction: access ends at commit.
func (tx *Tx) DeactivateVolunteer(pk string) (sessions int, err error) {
	if _, err := tx.UpdateVolunteer(pk, func(v *Volunteer) error {
		v.Active, v.Available, v.OnBreak = false, false, false
		return nil
	}); err != nil {
		return 0, err
	}
	return tx.DeleteSessionsFor(pk)
}

// CheckSealed is the one rule for the envelopes kept for people (notes,
// profiles, sealed numbers, ban reasons): the envelope must be well formed
// and addressed to every one of owners and to every admin envelopes are
// sealed to (SealingAdmins: vouched for by the admin set, and active). The
// server cannot open it; it reads the header's recipient list. A refusal
// wraps ErrInvalid.
func (tx *Tx) CheckSealed(env []byte, owners ...string) error {
	if len(env) == 0 {
		return fmt.Errorf("%w: an envelope is required", ErrInvalid)
	}
	h, err := e2ee.ParseEnvelope(env)
	if err != nil {
		return fmt.Errorf("%w: envelope refused: %w", ErrInvalid, err)
	}
	admins, err := tx.SealingAdmins()
	if err != nil {
		return err
	}
	for _, want := range append(slices.Clone(owners), admins...) {
		pk, err := e2ee.ParsePublicKeyHex(want)
		if err != nil {
			return fmt.Errorf("%w: recipient %q: %w", ErrInvalid, truncate(want, 12), err)
		}
		if !h.Includes(pk) {
			return fmt.Errorf("%w: the envelope must be sealed to its owner and every admin; %s… is missing", ErrInvalid, want[:12])
		}
	}
	return nil
}
