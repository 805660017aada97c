package store

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Invite lets one person join with a role. Only the SHA-256 of the code is
// stored (TokenHash); the link with the code is shown once to the admin.
type Invite struct {
	CodeHash  Hash      `json:"hash"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"by"`
	CreatedAt time.Time `json:"created"`
	ExpiresAt time.Time `json:"expires"`
	UsedAt    time.Time `json:"used,omitzero"`
	UsedBy    string    `json:"usedby,omitempty"`
	RevokedAt time.Time `json:"revoked,omitzero"`
}

func (i *Invite) validate() error {
	var errs []error
	if i.CodeHash.IsZero() {
		errs = append(errs, errors.New("code hash missing"))
	}
	if !i.Role.valid() {
		errs = append(errs, fmt.Errorf("role %q: want admin or volunteer", i.Role))
	}
	if i.CreatedBy != ActorSystem {
		if err := ValidPubKey(i.CreatedBy); err != nil {
			errs = append(errs, fmt.Errorf("created by: %w", err))
		}
	}
	if !i.ExpiresAt.After(i.CreatedAt) {
		errs = append(errs, errors.New("expiry must be after creation"))
	}
	if i.UsedBy != "" {
		if err := ValidPubKey(i.UsedBy); err != nil {
			errs = append(errs, fmt.Errorf("used by: %w", err))
		}
	}
	return errors.Join(errs...)
}

// CreateInvite stores a new invite; CreatedAt defaults to the tx time.
func (tx *Tx) CreateInvite(inv Invite) (Invite, error) {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = tx.now
	}
	inv.UsedAt, inv.UsedBy, inv.RevokedAt = time.Time{}, "", time.Time{}
	if err := inv.validate(); err != nil {
		return Invite{}, fmt.Errorf("store: create invite: %w: %w", ErrInvalid, err)
	}
	b, err := tx.bucket(bucketInvites)
	if err != nil {
		return Invite{}, err
	}
	if b.Get(inv.CodeHash[:]) != nil {
		return Invite{}, fmt.Errorf("store: create invite: %w", ErrExists)
	}
	return inv, tx.putRecord(bucketInvites, inv.CodeHash[:], &inv)
}

// Invite returns the invite with this code hash.
func (tx *Tx) Invite(codeHash Hash) (Invite, error) {
	var inv Invite
	if err := tx.getRecord(bucketInvites, codeHash[:], &inv); err != nil {
		return Invite{}, fmt.Errorf("store: invite: %w", err)
	}
	return inv, nil
}

// Invites lists every invite, newest first.
func (tx *Tx) Invites() ([]Invite, error) {
	out, err := listAll[Invite](tx, bucketInvites)
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, err
}

// RedeemInvite consumes the invite for pk at time now. It fails with
// ErrNotFound, ErrInviteUsed, ErrInviteRevoked or ErrInviteExpired; as it
// reads and marks in one write transaction, two redemptions of the same
// code cannot both succeed. The caller creates the volunteer in the same
// transaction.
func (tx *Tx) RedeemInvite(codeHash Hash, pk string, now time.Time) (Invite, error) {
	if err := ValidPubKey(pk); err != nil {
		return Invite{}, fmt.Errorf("store: redeem invite: %w: %w", ErrInvalid, err)
	}
	inv, err := tx.Invite(codeHash)
	if err != nil {
		return Invite{}, err
	}
	switch {
	case !inv.UsedAt.IsZero():
		return Invite{}, fmt.Errorf("store: redeem invite: %w", ErrInviteUsed)
	case !inv.RevokedAt.IsZero():
		return Invite{}, fmt.Errorf("store: redeem invite: %w", ErrInviteRevoked)
	case !now.Before(inv.ExpiresAt):
		return Invite{}, fmt.Errorf("store: redeem invite: %w", ErrInviteExpired)
	}
	inv.UsedAt, inv.UsedBy = now.UTC(), pk
	return inv, tx.putRecord(bucketInvites, codeHash[:], &inv)
}

// RevokeInvite stops an unused invite from being redeemed.
func (tx *Tx) RevokeInvite(codeHash Hash) (Invite, error) {
	inv, err := tx.Invite(codeHash)
	if err != nil {
		return Invite{}, err
	}
	if !inv.UsedAt.IsZero() {
		return Invite{}, fmt.Errorf("store: revoke invite: %w", ErrInviteUsed)
	}
	if inv.RevokedAt.IsZero() {
		inv.RevokedAt = tx.now
	}
	return inv, tx.putRecord(bucketInvites, codeHash[:], &inv)
}

// RevokeOpenInvitesBy revokes every invite pk created that is neither used
// nor revoked yet, and returns their code hashes.
func (tx *Tx) RevokeOpenInvitesBy(pk string) ([]Hash, error) {
	all, err := tx.Invites()
	if err != nil {
		return nil, err
	}
	var out []Hash
	for _, inv := range all {
		if inv.CreatedBy != pk || !inv.UsedAt.IsZero() || !inv.RevokedAt.IsZero() {
			continue
		}
		if _, err := tx.RevokeInvite(inv.CodeHash); err != nil {
			return nil, err
		}
		out = append(out, inv.CodeHash)
	}
	return out, nil
}

// DeleteInvitesBefore removes invites that expired before t (used or not),
// returning how many went.
func (tx *Tx) DeleteInvitesBefore(t time.Time) (int, error) {
	b, err := tx.bucket(bucketInvites)
	if err != nil {
		return 0, err
	}
	var doomed [][]byte
	err = b.ForEach(func(k, raw []byte) error {
		var inv Invite
		if err := decodeRecord(raw, &inv); err != nil {
			return fmt.Errorf("store: invite %x: %w", k, err)
		}
		if inv.ExpiresAt.Before(t) {
			doomed = append(doomed, clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("store: delete invite: %w", err)
		}
	}
	return len(doomed), nil
}
