package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"llamenos/auth"
	"llamenos/devicelink"
)

// Linking a new device (docs/api.md, "Device links"). The new device is not
// signed in: it proves it owns a link with the token Create gave it. The
// signed-in device is identified by its session. The server relays public
// keys and one ciphertext, and opens nothing.

func linkRefusal(err error) error {
	switch {
	case errors.Is(err, devicelink.ErrNotFound):
		return errNotFound("no such link code, or it expired, was used or was cancelled; start again on the new device")
	case errors.Is(err, devicelink.ErrNotYours):
		return errForbidden("another account answered this link")
	case errors.Is(err, devicelink.ErrStep):
		return errConflict(strings.TrimPrefix(err.Error(), "devicelink: "))
	case errors.Is(err, devicelink.ErrInvalid):
		return errBadRequest("%s", strings.TrimPrefix(err.Error(), "devicelink: "))
	case errors.Is(err, devicelink.ErrFull):
		return &apiError{Status: http.StatusTooManyRequests, Code: "too_many_requests", Message: "too many devices are being linked right now; try again in a few minutes"}
	}
	return err
}

// linkID reads the {id} path value in the form the registry uses.
func linkID(r *http.Request) (string, error) {
	id := devicelink.NormalizeID(r.PathValue("id"))
	if id == "" {
		return "", errNotFound("no such link code: it has 10 letters and digits")
	}
	return id, nil
}

type linkView struct {
	State     string    `json:"state"`
	ExpiresAt time.Time `json:"expiresAt"`
	OldKey    string    `json:"oldKey,omitempty"`
	NewKey    string    `json:"newKey,omitempty"`
	Sealed    b64       `json:"sealed,omitempty"`
	// Commitment is given to the signed-in device, which checks the new
	// device's key against it.
	Commitment b64 `json:"commitment,omitempty"`
}

func viewOf(v devicelink.View) linkView {
	return linkView{State: string(v.State), ExpiresAt: v.Expires.UTC(), OldKey: v.OldKey, NewKey: v.NewKey, Sealed: v.Sealed}
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		Commitment b64 `json:"commitment"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	id, token, exp, err := s.links.Create(req.Commitment)
	if err != nil {
		return linkRefusal(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "token": b64(token), "expiresAt": exp.UTC()})
	return nil
}

type linkTokenBody struct {
	Token b64 `json:"token"`
}

func (s *Server) linkStatus(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req linkTokenBody
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	v, err := s.links.Status(id, req.Token)
	if err != nil {
		return linkRefusal(err)
	}
	writeJSON(w, http.StatusOK, viewOf(v))
	return nil
}

func (s *Server) revealLink(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req struct {
		linkTokenBody
		PubKey string `json:"pubkey"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.links.Reveal(id, req.Token, req.PubKey); err != nil {
		return linkRefusal(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) cancelLinkByToken(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req linkTokenBody
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.links.CancelByToken(id, req.Token); err != nil {
		return linkRefusal(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) claimLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	commit, exp, err := s.links.Claim(id, who.PubKey)
	if err != nil {
		return linkRefusal(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": string(devicelink.Claimed), "commitment": b64(commit[:]), "expiresAt": exp.UTC()})
	return nil
}

func (s *Server) answerLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req struct {
		PubKey string `json:"pubkey"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.links.Answer(id, who.PubKey, req.PubKey); err != nil {
		return linkRefusal(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) peekLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	v, err := s.links.Peek(id, who.PubKey)
	if err != nil {
		return linkRefusal(err)
	}
	writeJSON(w, http.StatusOK, viewOf(v))
	return nil
}

func (s *Server) sealLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req struct {
		Sealed b64 `json:"sealed"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.links.Seal(id, who.PubKey, req.Sealed); err != nil {
		return linkRefusal(err)
	}
	s.Log.Info("device link: secret key sealed for a new device", "account", who.PubKey[:12])
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) cancelLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	if err := s.links.CancelByAccount(id, who.PubKey); err != nil {
		return linkRefusal(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
