package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"llamenos/auth"
	"llamenos/e2ee"
	"llamenos/hotline"
	"llamenos/store"
)

// volunteerJSON is a volunteer as the API shows it. Names and phones exist
// only inside Profile, sealed to the volunteer and the admins.
type volunteerJSON struct {
	PubKey     string     `json:"pubkey"`
	Role       store.Role `json:"role"`
	Active     bool       `json:"active"`
	Available  bool       `json:"available"`
	OnBreak    bool       `json:"onBreak"`
	OnShift    bool       `json:"onShift"`
	OnCall     bool       `json:"onCall"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastSeenAt *time.Time `json:"lastSeenAt,omitempty"`
	Profile    b64        `json:"profile"`
	Passkeys   int        `json:"passkeys"`
}

// roster is the state every view of people needs, read in one transaction.
type roster struct {
	vols      []store.Volunteer
	passkeys  map[string]int
	scheduled map[string]bool
	admins    []string
}

func (s *Server) readRoster(tx *store.Tx) (roster, error) {
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
		if v.Role == store.RoleAdmin && v.Active {
			r.admins = append(r.admins, v.PubKey)
		}
	}
	return r, nil
}

func (s *Server) volunteerView(r roster, v store.Volunteer) volunteerJSON {
	out := volunteerJSON{
		PubKey:    v.PubKey,
		Role:      v.Role,
		Active:    v.Active,
		Available: v.Available,
		OnBreak:   v.OnBreak,
		OnShift:   r.scheduled[v.PubKey],
		OnCall:    s.Calls.OnCall(v.PubKey),
		CreatedAt: v.CreatedAt.UTC(),
		Profile:   v.Profile,
		Passkeys:  r.passkeys[v.PubKey],
	}
	if !v.LastSeenAt.IsZero() {
		t := v.LastSeenAt.UTC()
		out.LastSeenAt = &t
	}
	return out
}

type meJSON struct {
	PubKey    string     `json:"pubkey"`
	Role      store.Role `json:"role"`
	Available bool       `json:"available"`
	OnBreak   bool       `json:"onBreak"`
	OnShift   bool       `json:"onShift"`
	OnCall    bool       `json:"onCall"`
	Passkeys  int        `json:"passkeys"`
	Profile   b64        `json:"profile"`
	Admins    []string   `json:"admins"`
}

func (s *Server) meView(tx *store.Tx, pubkey string) (meJSON, error) {
	r, err := s.readRoster(tx)
	if err != nil {
		return meJSON{}, err
	}
	v, err := tx.Volunteer(pubkey)
	if err != nil {
		return meJSON{}, err
	}
	vv := s.volunteerView(r, v)
	return meJSON{
		PubKey: vv.PubKey, Role: vv.Role, Available: vv.Available, OnBreak: vv.OnBreak,
		OnShift: vv.OnShift, OnCall: vv.OnCall, Passkeys: vv.Passkeys, Profile: vv.Profile,
		Admins: nonNil(r.admins),
	}, nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	me, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (meJSON, error) { return s.meView(tx, who.PubKey) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

// pushMe tells pubkey's open tabs that their own state changed.
func (s *Server) pushMe(r *http.Request, pubkey string) {
	me, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (meJSON, error) { return s.meView(tx, pubkey) })
	if err != nil {
		s.Log.Warn("cannot refresh a volunteer's view", "err", err)
		return
	}
	s.hub.sendTo(pubkey, struct {
		Type string `json:"type"`
		meJSON
	}{"me", me})
}

func (s *Server) putProfile(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Profile b64 `json:"profile"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	err := s.Store.Update(r.Context(), func(tx *store.Tx) error {
		admins, err := auth.ActiveAdmins(tx)
		if err != nil {
			return err
		}
		if err := requireRecipients(req.Profile, append([]string{who.PubKey}, admins...)); err != nil {
			return err
		}
		_, err = tx.UpdateVolunteer(who.PubKey, func(v *store.Volunteer) error {
			v.Profile = req.Profile
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	return s.me(w, r, who)
}

func (s *Server) putAvailability(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Available *bool `json:"available"`
		OnBreak   *bool `json:"onBreak"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if req.Available == nil || req.OnBreak == nil {
		return errBadRequest("available and onBreak are both required")
	}
	err := s.Store.Update(r.Context(), func(tx *store.Tx) error {
		_, err := tx.UpdateVolunteer(who.PubKey, func(v *store.Volunteer) error {
			v.Available, v.OnBreak = *req.Available, *req.OnBreak
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	s.Calls.VolunteersChanged()
	s.pushPresence()
	return s.me(w, r, who)
}

// requireRecipients refuses an envelope that is malformed or not addressed
// to every one of want (SPEC §3: the owner and every admin).
func requireRecipients(env []byte, want []string) error {
	h, err := e2ee.ParseEnvelope(env)
	if err != nil {
		return errBadRequest("envelope refused: %v", err)
	}
	for _, pkHex := range want {
		pk, err := e2ee.ParsePublicKeyHex(pkHex)
		if err != nil {
			return err
		}
		if !h.Includes(pk) {
			return errBadRequest("envelope must be sealed to its author and every admin; %s… is missing", pkHex[:12])
		}
	}
	return nil
}

func (s *Server) listVolunteers(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	out, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) ([]volunteerJSON, error) {
		ros, err := s.readRoster(tx)
		if err != nil {
			return nil, err
		}
		out := make([]volunteerJSON, 0, len(ros.vols))
		for _, v := range ros.vols {
			out = append(out, s.volunteerView(ros, v))
		}
		slices.SortFunc(out, func(a, b volunteerJSON) int { return a.CreatedAt.Compare(b.CreatedAt) })
		return out, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"volunteers": out})
	return nil
}

func (s *Server) patchVolunteer(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	pk := r.PathValue("pubkey")
	var req struct {
		Role   *store.Role `json:"role"`
		Active *bool       `json:"active"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if req.Role != nil && *req.Role != store.RoleAdmin && *req.Role != store.RoleVolunteer {
		return errBadRequest("role must be admin or volunteer")
	}
	deactivated := false
	v, err := store.Write(r.Context(), s.Store, func(tx *store.Tx) (volunteerJSON, error) {
		old, err := tx.Volunteer(pk)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return volunteerJSON{}, errNotFound("no such volunteer")
		}
		if err != nil {
			return volunteerJSON{}, err
		}
		v, err := tx.UpdateVolunteer(pk, func(v *store.Volunteer) error {
			if req.Role != nil {
				v.Role = *req.Role
			}
			if req.Active != nil {
				v.Active = *req.Active
			}
			return nil
		})
		if err != nil {
			return volunteerJSON{}, err
		}
		admins, err := auth.ActiveAdmins(tx)
		if err != nil {
			return volunteerJSON{}, err
		}
		if len(admins) == 0 {
			return volunteerJSON{}, errConflict("the hotline must keep at least one active admin")
		}
		if old.Role != v.Role {
			if err := tx.Audit(who.PubKey, "volunteer.role_changed", "volunteer:"+pk); err != nil {
				return volunteerJSON{}, err
			}
		}
		if old.Active != v.Active {
			action := "volunteer.reactivated"
			if !v.Active {
				action, deactivated = "volunteer.deactivated", true
				if _, err := tx.DeleteSessionsFor(pk); err != nil {
					return volunteerJSON{}, err
				}
			}
			if err := tx.Audit(who.PubKey, action, "volunteer:"+pk); err != nil {
				return volunteerJSON{}, err
			}
		}
		ros, err := s.readRoster(tx)
		if err != nil {
			return volunteerJSON{}, err
		}
		return s.volunteerView(ros, v), nil
	})
	if err != nil {
		return err
	}
	if deactivated {
		// Sessions are gone from the store; close the sockets now too.
		s.hub.closeUser(pk, closeRevoked, "account deactivated")
		s.Calls.BrowserGone(pk)
	} else {
		s.pushMe(r, pk)
	}
	s.Calls.VolunteersChanged()
	s.pushPresence()
	writeJSON(w, http.StatusOK, v)
	return nil
}
