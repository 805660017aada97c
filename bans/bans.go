// Package bans is the admins' ban list: callers refused before anything
// plays, known only by the keyed hash of their number, with the number
// itself and the reason sealed to the admins. (A volunteer's "report and
// ban" during a call goes through the call engine, which holds the call's
// hash.)
package bans

import (
	"context"
	"errors"

	"llamenos/fault"
	"llamenos/store"
)

// Service reads and changes the ban list.
type Service struct {
	Store *store.Store
}

// List returns every ban, newest first.
func (s *Service) List(ctx context.Context) ([]store.Ban, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Ban, error) { return tx.Bans() })
}

// Add bans a number an admin typed. The number is used once, to compute its
// keyed hash; only the hash and the admin-sealed envelopes are stored. The
// sealed number is required, the reason optional; both must be sealed to
// every active admin.
func (s *Service) Add(ctx context.Context, actor, number string, sealed, reason []byte) error {
	hash, err := s.Store.CallerKey().PhoneHash(number)
	if err != nil {
		return fault.Invalidf("number must be in international format, e.g. +34 600 000 000")
	}
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CheckSealed(sealed); err != nil {
			return err
		}
		if len(reason) > 0 {
			if err := tx.CheckSealed(reason); err != nil {
				return err
			}
		}
		if _, err := tx.PutBan(store.Ban{Hash: hash, Number: sealed, Reason: reason, CreatedBy: actor}); err != nil {
			return err
		}
		return tx.Audit(actor, "ban.added", "ban:"+hash.String())
	})
}

// Lift removes a ban.
func (s *Service) Lift(ctx context.Context, actor string, id store.Hash) error {
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteBan(id); errors.Is(err, store.ErrNotFound) {
			return fault.NotFound("no such ban")
		} else if err != nil {
			return err
		}
		return tx.Audit(actor, "ban.lifted", "ban:"+id.String())
	})
}
