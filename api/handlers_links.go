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

// noBody is the request body of a step that takes none.
type noBody struct{}

// linkStep runs one step of the link its {id} names: it decodes the JSON
// body into a T (none for noBody), runs step, and answers the view step
// returns, or 204 when it returns none.
func linkStep[T any](w http.ResponseWriter, r *http.Request, step func(id string, req T) (*devicelink.View, error)) error {
	id, err := linkID(r)
	if err != nil {
		return err
	}
	var req T
	if _, none := any(req).(noBody); !none {
		if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
			return err
		}
	}
	v, err := step(id, req)
	if err != nil {
		return linkRefusal(err)
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, viewOf(*v))
	return nil
}

// viewed adapts a step that returns a view to linkStep.
func viewed(v devicelink.View, err error) (*devicelink.View, error) { return &v, err }

func (s *Server) linkStatus(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	return linkStep(w, r, func(id string, req linkTokenBody) (*devicelink.View, error) {
		return viewed(s.links.Status(id, req.Token))
	})
}

func (s *Server) revealLink(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	type body struct {
		linkTokenBody
		PubKey string `json:"pubkey"`
	}
	return linkStep(w, r, func(id string, req body) (*devicelink.View, error) {
		return nil, s.links.Reveal(id, req.Token, req.PubKey)
	})
}

func (s *Server) cancelLinkByToken(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	return linkStep(w, r, func(id string, req linkTokenBody) (*devicelink.View, error) {
		return nil, s.links.CancelByToken(id, req.Token)
	})
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
	type body struct {
		PubKey string `json:"pubkey"`
	}
	return linkStep(w, r, func(id string, req body) (*devicelink.View, error) {
		return nil, s.links.Answer(id, who.PubKey, req.PubKey)
	})
}

func (s *Server) peekLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	return linkStep(w, r, func(id string, _ noBody) (*devicelink.View, error) {
		return viewed(s.links.Peek(id, who.PubKey))
	})
}

func (s *Server) sealLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	type body struct {
		Sealed b64 `json:"sealed"`
	}
	return linkStep(w, r, func(id string, req body) (*devicelink.View, error) {
		if err := s.links.Seal(id, who.PubKey, req.Sealed); err != nil {
			return nil, err
		}
		s.Log.Info("device link: secret key sealed for a new device", "account", who.PubKey[:12])
		return nil, nil
	})
}

func (s *Server) cancelLink(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	return linkStep(w, r, func(id string, _ noBody) (*devicelink.View, error) {
		return nil, s.links.CancelByAccount(id, who.PubKey)
	})
}
