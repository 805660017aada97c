package people

import (
	"context"
	"errors"

	"llamenos/e2ee"
	"llamenos/fault"
	"llamenos/store"
)

// ChangeAdminSet appends an admin's signed statement to the admin set
// (e2ee.AdminStatement). actor must be the statement's signer. Adding
// vouches for someone who is already an active admin by role (an invite
// made them one); removing also makes them a volunteer, and their open
// invites die, in the same transaction. The chain's first statement is the
// signer adding themself, taken only while the chain is empty.
func (s *Service) ChangeAdminSet(ctx context.Context, actor string, st e2ee.AdminStatement) (e2ee.AdminSet, error) {
	if st.By.String() != actor {
		return e2ee.AdminSet{}, fault.Forbidden("a statement about the admin set must be signed by you")
	}
	set, err := store.Write(ctx, s.Store, func(tx *store.Tx) (e2ee.AdminSet, error) {
		set, err := tx.AppendAdminStatement(st)
		if errors.Is(err, store.ErrInvalid) {
			return set, fault.Invalidf("%v", err)
		}
		if err != nil {
			return set, err
		}
		subject := st.Key.String()
		action := "adminset.added"
		if st.Op == e2ee.AdminRemove {
			action = "adminset.removed"
			v, err := tx.Volunteer(subject)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return set, err
			}
			if err == nil && v.Role == store.RoleAdmin {
				if _, err := tx.UpdateVolunteer(subject, func(v *store.Volunteer) error {
					v.Role = store.RoleVolunteer
					return nil
				}); err != nil {
					return set, err
				}
				if err := tx.Audit(actor, "volunteer.role_changed", "volunteer:"+subject); err != nil {
					return set, err
				}
				revoked, err := tx.RevokeOpenInvitesBy(subject)
				if err != nil {
					return set, err
				}
				for _, h := range revoked {
					if err := tx.Audit(actor, "invite.revoked", "invite:"+h.String(), "volunteer:"+subject); err != nil {
						return set, err
					}
				}
			}
		}
		return set, tx.Audit(actor, action, "volunteer:"+subject)
	})
	if err != nil {
		return set, err
	}
	s.Engine.VolunteersChanged()
	return set, nil
}

// ForgeAdmin plays someone who edits the database (demo mode only, for the
// end-to-end tests): it writes an active admin account for pubkey straight
// into the store, with no signed statement, no invite and no audit entry.
// Browsers must refuse to seal to it, and the daemon must not seal to it.
func (s *Service) ForgeAdmin(ctx context.Context, pubkey string) error {
	err := s.Store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.CreateVolunteer(store.Volunteer{PubKey: pubkey, Role: store.RoleAdmin, Active: true})
		return err
	})
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrExists) {
		return fault.Invalidf("%v", err)
	}
	if err == nil {
		s.Engine.VolunteersChanged()
	}
	return err
}
