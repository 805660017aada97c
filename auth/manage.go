package auth

import (
	"context"
	"errors"

	"llamenos/e2ee"
	"llamenos/fault"
	"llamenos/store"
)

// Invites lists every invite, newest first.
func (s *Service) Invites(ctx context.Context) ([]store.Invite, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Invite, error) { return tx.Invites() })
}

// RevokeInvite makes an unused invite unusable, audited under actor.
func (s *Service) RevokeInvite(ctx context.Context, actor string, id store.Hash) error {
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.RevokeInvite(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fault.NotFound("no such invite")
		case errors.Is(err, store.ErrInviteUsed):
			return fault.Conflict("this invite was already used")
		case err != nil:
			return err
		}
		return tx.Audit(actor, "invite.revoked", "invite:"+id.String())
	})
}

// PasskeysOf lists the passkeys of one person.
func (s *Service) PasskeysOf(ctx context.Context, pubkey string) ([]store.Passkey, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Passkey, error) { return tx.PasskeysFor(pubkey) })
}

// DeletePasskey removes one of owner's own passkeys. Under a passkey policy
// that applies to them, the last one cannot go.
func (s *Service) DeletePasskey(ctx context.Context, owner string, id []byte) error {
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		pk, err := tx.Passkey(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && pk.PubKey != owner) {
			return fault.NotFound("no such passkey")
		}
		if err != nil {
			return err
		}
		keys, err := tx.PasskeysFor(owner)
		if err != nil {
			return err
		}
		v, err := tx.Volunteer(owner)
		if err != nil {
			return err
		}
		set, err := tx.Settings()
		if err != nil {
			return err
		}
		if len(keys) == 1 && PasskeyRequired(set, v) {
			return fault.Conflict("this hotline requires a passkey: add another one before removing your last")
		}
		if err := tx.DeletePasskey(id); err != nil {
			return err
		}
		return tx.Audit(owner, "passkey.removed", "volunteer:"+owner, "passkey:"+e2ee.EncodeBase64URL(id))
	})
}

// SessionAlive says whether the session with this hash still lets its owner
// act: a long-lived socket asks before each signaling message.
func (s *Service) SessionAlive(ctx context.Context, hash store.Hash) error {
	sess, err := store.Read(ctx, s.Store, func(tx *store.Tx) (store.Session, error) { return tx.Session(hash) })
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.Now().Before(sess.ExpiresAt)) {
		return ErrUnauthorized
	}
	return err
}
