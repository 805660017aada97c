// Package people is the hotline's roster: volunteers and admins as the app
// shows them (role, presence, shift, passkeys; names only inside sealed
// profiles), each person's own settings, and the admin's changes of role
// and access. Its rules live here once: a profile is sealed to its owner
// and every admin; the hotline keeps at least one active admin; a
// deactivated account loses every session in the same transaction.
package people

import (
	"context"
	"errors"
	"slices"
	"time"

	"llamenos/e2ee"
	"llamenos/fault"
	"llamenos/hotline"
	"llamenos/store"
)

// Engine is what the roster asks of the call engine.
type Engine interface {
	OnCall(pubkey string) bool
	// Ringable returns who a call arriving now would ring.
	Ringable(ctx context.Context) (map[string]bool, error)
	// VolunteersChanged re-reads who may ring after a change of presence,
	// role or access.
	VolunteersChanged()
}

// Service reads and changes the roster.
type Service struct {
	Store  *store.Store
	Engine Engine
	Now    func() time.Time
}

// Person is a volunteer or admin with what the roster derives for them.
type Person struct {
	store.Volunteer
	OnShift  bool
	OnCall   bool
	Passkeys int
}

// Me is a person's own view: themself, the active admins, and the signed
// admin set their browser verifies before sealing to any of them.
type Me struct {
	Person
	Admins   []string
	AdminSet []e2ee.AdminStatement
}

// roster is the state every view of people needs, read in one transaction.
type roster struct {
	vols      []store.Volunteer
	passkeys  map[string]int
	scheduled map[string]bool
}

func (s *Service) read(tx *store.Tx) (roster, error) {
	vols, err := tx.Volunteers()
	if err != nil {
		return roster{}, err
	}
	sched, err := hotline.ScheduledNow(tx, s.Now())
	if err != nil {
		return roster{}, err
	}
	r := roster{vols: vols, passkeys: map[string]int{}, scheduled: map[string]bool{}}
	for _, pk := range sched {
		r.scheduled[pk] = true
	}
	for _, v := range vols {
		keys, err := tx.PasskeysFor(v.PubKey)
		if err != nil {
			return roster{}, err
		}
		r.passkeys[v.PubKey] = len(keys)
	}
	return r, nil
}

func (s *Service) person(r roster, v store.Volunteer) Person {
	return Person{Volunteer: v, OnShift: r.scheduled[v.PubKey], OnCall: s.Engine.OnCall(v.PubKey), Passkeys: r.passkeys[v.PubKey]}
}

// List returns everyone, oldest account first.
func (s *Service) List(ctx context.Context) ([]Person, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]Person, error) {
		r, err := s.read(tx)
		if err != nil {
			return nil, err
		}
		out := make([]Person, 0, len(r.vols))
		for _, v := range r.vols {
			out = append(out, s.person(r, v))
		}
		slices.SortFunc(out, func(a, b Person) int { return a.CreatedAt.Compare(b.CreatedAt) })
		return out, nil
	})
}

func (s *Service) me(tx *store.Tx, pubkey string) (Me, error) {
	r, err := s.read(tx)
	if err != nil {
		return Me{}, err
	}
	v, err := tx.Volunteer(pubkey)
	if err != nil {
		return Me{}, err
	}
	admins, err := tx.ActiveAdmins()
	if err != nil {
		return Me{}, err
	}
	chain, err := tx.AdminChain()
	return Me{Person: s.person(r, v), Admins: admins, AdminSet: chain}, err
}

// Me returns pubkey's own view.
func (s *Service) Me(ctx context.Context, pubkey string) (Me, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) (Me, error) { return s.me(tx, pubkey) })
}

// Role returns pubkey's role from its one record. The socket sweep asks
// it of every connected account; Me would read everyone for each of them.
func (s *Service) Role(ctx context.Context, pubkey string) (store.Role, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) (store.Role, error) {
		v, err := tx.Volunteer(pubkey)
		return v.Role, err
	})
}

// SetProfile replaces pubkey's sealed profile; it must be sealed to them
// and every active admin.
func (s *Service) SetProfile(ctx context.Context, pubkey string, profile []byte) (Me, error) {
	return store.Write(ctx, s.Store, func(tx *store.Tx) (Me, error) {
		if err := tx.CheckSealed(profile, pubkey); err != nil {
			return Me{}, err
		}
		if _, err := tx.UpdateVolunteer(pubkey, func(v *store.Volunteer) error {
			v.Profile = profile
			return nil
		}); err != nil {
			return Me{}, err
		}
		return s.me(tx, pubkey)
	})
}

// SetAvailability records whether pubkey takes calls and is on a break;
// waiting calls ring them, or stop ringing them, at once.
func (s *Service) SetAvailability(ctx context.Context, pubkey string, available, onBreak bool) (Me, error) {
	me, err := store.Write(ctx, s.Store, func(tx *store.Tx) (Me, error) {
		if _, err := tx.UpdateVolunteer(pubkey, func(v *store.Volunteer) error {
			v.Available, v.OnBreak = available, onBreak
			return nil
		}); err != nil {
			return Me{}, err
		}
		return s.me(tx, pubkey)
	})
	if err == nil {
		s.Engine.VolunteersChanged()
	}
	return me, err
}

// Change is an admin's change of someone's role or access; nil fields stay.
type Change struct {
	Role   *store.Role
	Active *bool
}

// Apply makes an admin's change. Deactivating ends every session of the
// account in the same transaction (Deactivated tells the caller to close
// their sockets too). The hotline always keeps one active admin.
func (s *Service) Apply(ctx context.Context, actor, pubkey string, c Change) (p Person, deactivated bool, err error) {
	if c.Role != nil && *c.Role != store.RoleAdmin && *c.Role != store.RoleVolunteer {
		return Person{}, false, fault.Invalidf("role must be admin or volunteer")
	}
	p, err = store.Write(ctx, s.Store, func(tx *store.Tx) (Person, error) {
		deactivated = false
		old, err := tx.Volunteer(pubkey)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return Person{}, fault.NotFound("no such volunteer")
		}
		if err != nil {
			return Person{}, err
		}
		v, err := tx.UpdateVolunteer(pubkey, func(v *store.Volunteer) error {
			if c.Role != nil {
				v.Role = *c.Role
			}
			if c.Active != nil {
				v.Active = *c.Active
			}
			return nil
		})
		if err != nil {
			return Person{}, err
		}
		admins, err := tx.ActiveAdmins()
		if err != nil {
			return Person{}, err
		}
		if len(admins) == 0 {
			return Person{}, fault.Conflict("the hotline must keep at least one active admin")
		}
		if old.IsActiveAdmin() && !v.IsActiveAdmin() {
			// An admin the signed admin set vouches for leaves it by a
			// signed removal (ChangeAdminSet), not by a role flag: else the
			// set would still vouch for them, and a later edit of the flag
			// would make them a recipient again.
			set, err := tx.AdminSet()
			if err != nil && !errors.Is(err, e2ee.ErrAdminChain) {
				return Person{}, err
			}
			if pk, err := e2ee.ParsePublicKeyHex(pubkey); err == nil && set.Includes(pk) {
				return Person{}, fault.Conflict("remove them from the admin set first (a signed change)")
			}
		}
		if old.Role != v.Role {
			if err := tx.Audit(actor, "volunteer.role_changed", "volunteer:"+pubkey); err != nil {
				return Person{}, err
			}
		}
		if old.IsActiveAdmin() && !v.IsActiveAdmin() {
			// Their invites die with their admin rights.
			revoked, err := tx.RevokeOpenInvitesBy(pubkey)
			if err != nil {
				return Person{}, err
			}
			for _, h := range revoked {
				if err := tx.Audit(actor, "invite.revoked", "invite:"+h.String(), "volunteer:"+pubkey); err != nil {
					return Person{}, err
				}
			}
		}
		if old.Active != v.Active {
			action := "volunteer.reactivated"
			if !v.Active {
				action, deactivated = "volunteer.deactivated", true
				if _, err := tx.DeleteSessionsFor(pubkey); err != nil {
					return Person{}, err
				}
			}
			if err := tx.Audit(actor, action, "volunteer:"+pubkey); err != nil {
				return Person{}, err
			}
		}
		r, err := s.read(tx)
		if err != nil {
			return Person{}, err
		}
		return s.person(r, v), nil
	})
	if err != nil {
		return Person{}, false, err
	}
	s.Engine.VolunteersChanged()
	return p, deactivated, nil
}

// Presence counts the active accounts: those a call arriving now would
// ring (the engine's rule: available, not on a break, free, a browser
// connected, on shift or in the fallback group), those on a call, all.
type Presence struct{ Available, OnCall, Total int }

// CountPresence returns the hotline's presence now.
func (s *Service) CountPresence(ctx context.Context) (Presence, error) {
	ringable, err := s.Engine.Ringable(ctx)
	if err != nil {
		return Presence{}, err
	}
	return store.Read(ctx, s.Store, func(tx *store.Tx) (Presence, error) {
		vols, err := tx.Volunteers()
		p := Presence{Available: len(ringable)}
		for _, v := range vols {
			if !v.Active {
				continue
			}
			p.Total++
			if s.Engine.OnCall(v.PubKey) {
				p.OnCall++
			}
		}
		return p, err
	})
}

// Delete deletes a deactivated account and its personal data: the
// volunteer record with its sealed profile, passkeys, sessions, and their
// place in shifts and the fallback group (store.Tx.DeleteVolunteer). Calls
// they answered, notes they wrote and bans they made keep their public key
// as metadata. An active account must be deactivated first, so the hotline
// keeps its active admins and a delete is never one click from a live one.
func (s *Service) Delete(ctx context.Context, actor, pubkey string) error {
	err := s.Store.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Volunteer(pubkey)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return fault.NotFound("no such volunteer")
		}
		if err != nil {
			return err
		}
		if v.Active {
			return fault.Conflict("deactivate the account before deleting it")
		}
		if err := tx.DeleteVolunteer(pubkey); err != nil {
			return err
		}
		return tx.Audit(actor, "volunteer.deleted", "volunteer:"+pubkey)
	})
	if err != nil {
		return err
	}
	s.Engine.VolunteersChanged()
	return nil
}
