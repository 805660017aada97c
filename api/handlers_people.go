package api

import (
	"net/http"
	"time"

	"llamenos/auth"
	"llamenos/people"
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

func volunteerView(p people.Person) volunteerJSON {
	return volunteerJSON{
		PubKey:     p.PubKey,
		Role:       p.Role,
		Active:     p.Active,
		Available:  p.Available,
		OnBreak:    p.OnBreak,
		OnShift:    p.OnShift,
		OnCall:     p.OnCall,
		CreatedAt:  p.CreatedAt.UTC(),
		LastSeenAt: optTime(p.LastSeenAt),
		Profile:    p.Profile,
		Passkeys:   p.Passkeys,
	}
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
	// AdminSet is the signed chain of admin changes; the browser seals
	// only to the admins it vouches for.
	AdminSet []store.AdminStatementJSON `json:"adminSet"`
	// MustEnrolPasskey: this session may only enrol a passkey (policy).
	MustEnrolPasskey bool `json:"mustEnrolPasskey,omitempty"`
}

func meView(m people.Me) meJSON {
	return meJSON{
		PubKey: m.PubKey, Role: m.Role, Available: m.Available, OnBreak: m.OnBreak,
		OnShift: m.OnShift, OnCall: m.OnCall, Passkeys: m.Passkeys, Profile: m.Profile,
		Admins: nonNil(m.Admins), AdminSet: adminSetView(m.AdminSet),
	}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	m, err := s.People.Me(r.Context(), who.PubKey)
	if err != nil {
		return err
	}
	v := meView(m)
	v.MustEnrolPasskey = who.MustEnrolPasskey
	writeJSON(w, http.StatusOK, v)
	return nil
}

// pushMe tells pubkey's open tabs that their own state changed.
func (s *Server) pushMe(r *http.Request, pubkey string) {
	m, err := s.People.Me(r.Context(), pubkey)
	if err != nil {
		s.Log.Warn("cannot refresh a volunteer's view", "err", err)
		return
	}
	s.Hub.sendTo(pubkey, struct {
		Type string `json:"type"`
		meJSON
	}{"me", meView(m)})
}

func (s *Server) putProfile(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Profile b64 `json:"profile"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	m, err := s.People.SetProfile(r.Context(), who.PubKey, req.Profile)
	if err != nil {
		return err
	}
	v := meView(m)
	v.MustEnrolPasskey = who.MustEnrolPasskey
	writeJSON(w, http.StatusOK, v)
	return nil
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
	m, err := s.People.SetAvailability(r.Context(), who.PubKey, *req.Available, *req.OnBreak)
	if err != nil {
		return err
	}
	s.pushPresence()
	writeJSON(w, http.StatusOK, meView(m))
	return nil
}

func (s *Server) listVolunteers(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	all, err := s.People.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]volunteerJSON, 0, len(all))
	for _, p := range all {
		out = append(out, volunteerView(p))
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
	p, deactivated, err := s.People.Apply(r.Context(), who.PubKey, pk, people.Change{Role: req.Role, Active: req.Active})
	if err != nil {
		return err
	}
	if deactivated {
		// Sessions are gone from the store; close the sockets now too.
		s.Hub.closeUser(pk, closeRevoked, "account deactivated")
		s.Calls.BrowserGone(pk)
	} else {
		s.Hub.setRole(pk, string(p.Role))
		s.pushMe(r, pk)
	}
	s.pushPresence()
	writeJSON(w, http.StatusOK, volunteerView(p))
	return nil
}

// deleteVolunteer deletes a deactivated account and its personal data
// (people.Service.Delete); their calls and notes stay.
func (s *Server) deleteVolunteer(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	pk := r.PathValue("pubkey")
	if err := s.People.Delete(r.Context(), who.PubKey, pk); err != nil {
		return err
	}
	s.Hub.closeUser(pk, closeRevoked, "account deleted")
	s.pushPresence()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
