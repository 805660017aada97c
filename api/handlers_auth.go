package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"llamenos/auth"
	"llamenos/e2ee"
	"llamenos/store"
)

// b64 is a base64url (no padding) field that decodes itself strictly.
type b64 []byte

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("must be a base64url string")
	}
	v, err := e2ee.DecodeBase64URL(s)
	if err != nil {
		return errors.New("must be base64url without padding")
	}
	*b = v
	return nil
}

func (b b64) MarshalJSON() ([]byte, error) {
	if b == nil {
		return []byte("null"), nil
	}
	return json.Marshal(e2ee.EncodeBase64URL(b))
}

// authRefusal maps auth's errors onto API errors.
func authRefusal(err error) (*apiError, bool) {
	switch {
	case errors.Is(err, auth.ErrBadSignature):
		return errUnauthorized("signature, key or challenge refused; request a new challenge and try again"), true
	case errors.Is(err, auth.ErrSetupDone):
		return errConflict("setup is already complete"), true
	case errors.Is(err, auth.ErrSetupToken):
		return errForbidden("setup token refused: use the link printed in the daemon's log"), true
	case errors.Is(err, auth.ErrInviteUnknown):
		return errNotFound("no such invite"), true
	case errors.Is(err, auth.ErrInviteGone):
		return errGone("this invite was already used, revoked or has expired"), true
	case errors.Is(err, auth.ErrKeyInUse):
		return errConflict("this key already has an account"), true
	case errors.Is(err, auth.ErrProfile):
		return errBadRequest("%v", err), true
	case errors.Is(err, auth.ErrCeremony):
		return errUnauthorized("passkey step expired or already used; sign in again"), true
	}
	return nil, false
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		Purpose string `json:"purpose"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	switch req.Purpose {
	case e2ee.AuthLogin, e2ee.AuthSetup, e2ee.AuthInvite:
	default:
		return errBadRequest("purpose must be login, setup or invite")
	}
	ch, exp, err := s.Auth.Challenges.Issue(req.Purpose)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": b64(ch), "expiresAt": exp.UTC()})
	return nil
}

type proofBody struct {
	PubKey    string `json:"pubkey"`
	Challenge b64    `json:"challenge"`
	Signature b64    `json:"signature"`
}

func (p proofBody) proof() (auth.Proof, error) {
	if _, err := e2ee.ParsePublicKeyHex(p.PubKey); err != nil {
		return auth.Proof{}, errBadRequest("pubkey must be 64 lowercase hex characters of a valid key")
	}
	if len(p.Challenge) == 0 || len(p.Signature) != e2ee.SignatureSize {
		return auth.Proof{}, errBadRequest("challenge and a 64-byte signature are required")
	}
	return auth.Proof{PubKey: p.PubKey, Challenge: p.Challenge, Signature: p.Signature}, nil
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		Token string `json:"token"`
		proofBody
		Profile b64 `json:"profile"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	p, err := req.proof()
	if err != nil {
		return err
	}
	tok, v, err := s.Auth.Setup(r.Context(), req.Token, p, req.Profile)
	if err != nil {
		return err
	}
	s.Log.Info("first admin created", "admin", v.PubKey[:12])
	s.setSession(w, tok)
	writeJSON(w, http.StatusOK, map[string]any{"pubkey": v.PubKey, "role": v.Role})
	return nil
}

func (s *Server) inviteInfo(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	info, err := s.Auth.LookupInvite(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"role": info.Role, "expiresAt": info.ExpiresAt.UTC(), "admins": nonNil(info.Admins), "adminSet": adminSetView(info.AdminSet)})
	return nil
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		proofBody
		Profile b64 `json:"profile"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	p, err := req.proof()
	if err != nil {
		return err
	}
	tok, v, err := s.Auth.AcceptInvite(r.Context(), r.PathValue("code"), p, req.Profile)
	if err != nil {
		return err
	}
	s.setSession(w, tok)
	s.Calls.VolunteersChanged()
	writeJSON(w, http.StatusOK, map[string]any{"pubkey": v.PubKey, "role": v.Role})
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req proofBody
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	p, err := req.proof()
	if err != nil {
		return err
	}
	res, err := s.Auth.Login(r.Context(), p)
	if err != nil {
		return err
	}
	if res.Ticket != "" {
		writeJSON(w, http.StatusOK, map[string]any{"passkey": map[string]any{"ticket": res.Ticket, "options": json.RawMessage(res.Options)}})
		return nil
	}
	s.setSession(w, res.Token)
	writeJSON(w, http.StatusOK, map[string]any{"pubkey": res.Volunteer.PubKey, "role": res.Volunteer.Role})
	return nil
}

func (s *Server) loginPasskey(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		Ticket     string          `json:"ticket"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if req.Ticket == "" || len(req.Credential) == 0 {
		return errBadRequest("ticket and credential are required")
	}
	tok, v, err := s.Auth.LoginPasskey(r.Context(), req.Ticket, req.Credential)
	if err != nil {
		return err
	}
	s.setSession(w, tok)
	writeJSON(w, http.StatusOK, map[string]any{"pubkey": v.PubKey, "role": v.Role})
	return nil
}

// logout always answers 204: the panic wipe fires it without waiting, and
// telling a caller whether a token was valid helps nobody.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	if c, err := r.Cookie(cookieName); err == nil {
		hash, owner, err := s.Auth.Logout(r.Context(), c.Value)
		if err != nil {
			return err
		}
		if owner != "" {
			s.Hub.closeSession(hash, closeRevoked, "signed out")
			if !s.Hub.connected(owner) {
				s.Calls.BrowserGone(owner)
			}
		}
	}
	s.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	opts, err := s.Auth.BeginPasskeyRegistration(r.Context(), who.PubKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"options": json.RawMessage(opts)})
	return nil
}

func (s *Server) addPasskey(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if len(req.Credential) == 0 {
		return errBadRequest("credential is required")
	}
	pk, err := s.Auth.FinishPasskeyRegistration(r.Context(), who, req.Credential)
	if errors.Is(err, auth.ErrCeremony) {
		return errBadRequest("no passkey enrollment is in progress; start again")
	}
	if err != nil {
		if ae, ok := authRefusal(err); ok {
			return ae
		}
		return errBadRequest("passkey refused: %v", err)
	}
	writeJSON(w, http.StatusOK, passkeyView(pk))
	return nil
}

type passkeyJSON struct {
	ID         b64        `json:"id"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func passkeyView(p store.Passkey) passkeyJSON {
	v := passkeyJSON{ID: p.ID, CreatedAt: p.CreatedAt.UTC()}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	return v
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	keys, err := s.Auth.PasskeysOf(r.Context(), who.PubKey)
	if err != nil {
		return err
	}
	out := make([]passkeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, passkeyView(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"passkeys": out})
	return nil
}

func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id, err := e2ee.DecodeBase64URL(r.PathValue("id"))
	if err != nil || len(id) == 0 {
		return errNotFound("no such passkey")
	}
	if err := s.Auth.DeletePasskey(r.Context(), who.PubKey, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
