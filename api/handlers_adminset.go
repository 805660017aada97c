package api

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"llamenos/auth"
	"llamenos/e2ee"
	"llamenos/fault"
	"llamenos/store"
)

// The signed admin set and re-sealing (docs/crypto.md, "Admin set" and
// "Re-sealing"). The server stores statements and envelopes; it checks
// signatures and recipient lists, and never sees a content key.

func adminSetView(chain []e2ee.AdminStatement) []store.AdminStatementJSON {
	out := make([]store.AdminStatementJSON, 0, len(chain))
	for _, st := range chain {
		out = append(out, store.AdminStatementView(st))
	}
	return out
}

// postAdminSet appends a statement signed by the admin who sends it.
func (s *Server) postAdminSet(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Statement store.AdminStatementJSON `json:"statement"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	st, err := req.Statement.Parse()
	if err != nil {
		return errBadRequest("statement: %v", err)
	}
	if _, err := s.People.ChangeAdminSet(r.Context(), who.PubKey, st); err != nil {
		return err
	}
	subject := st.Key.String()
	if st.Op == e2ee.AdminRemove {
		s.Hub.setRole(subject, string(store.RoleVolunteer))
	}
	chain, err := store.Read(r.Context(), s.People.Store, func(tx *store.Tx) ([]e2ee.AdminStatement, error) { return tx.AdminChain() })
	if err != nil {
		return err
	}
	// Every open tab seals with the set it was last told: tell them all.
	s.pushMeAll(r)
	s.pushPresence()
	writeJSON(w, http.StatusOK, map[string]any{"adminSet": adminSetView(chain)})
	return nil
}

// pushMeAll refreshes the own view of everyone with an open socket.
func (s *Server) pushMeAll(r *http.Request) {
	seen := map[string]bool{}
	for _, c := range s.Hub.snapshot(func(*wsConn) bool { return true }) {
		if !seen[c.pubkey] {
			seen[c.pubkey] = true
			s.pushMe(r, c.pubkey)
		}
	}
}

type contextJSON struct {
	Purpose string `json:"purpose"`
	CallID  string `json:"callId"`
	ItemID  string `json:"itemId"`
}

type sealedJSON struct {
	Kind     string      `json:"kind"`
	ID       string      `json:"id"`
	Context  contextJSON `json:"context"`
	Owners   []string    `json:"owners"`
	Envelope b64         `json:"envelope"`
}

const (
	resealPage     = 25 // envelopes per page and per batch
	maxResealBatch = 50
	// resealBodyLimit fits a batch of notes, or one voicemail or
	// transcript at the store's largest envelope (the browser sends big
	// envelopes in batches of their own).
	resealBodyLimit = 3 * store.MaxEnvelope / 2
)

// resealCursor is "<kind>:<id>", the last item a page returned.
func parseResealCursor(s string) (kind, id string, err error) {
	if s == "" {
		return "", "", nil
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return "", "", errBadRequest("after: want <kind>:<id>")
	}
	for _, k := range store.SealedKinds() {
		if k == kind {
			return kind, id, nil
		}
	}
	return "", "", errBadRequest("after: unknown kind of envelope")
}

// listReseal returns the envelopes whose recipients differ from who should
// read them now (store.WantedRecipients), after the cursor (the last
// envelope the browser stepped past: one it cannot open), and how many
// there are in all, before the cursor too.
func (s *Server) listReseal(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	q := r.URL.Query()
	afterKind, afterID, err := parseResealCursor(q.Get("after"))
	if err != nil {
		return err
	}
	limit := resealPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxResealBatch {
			return errBadRequest("limit: want 1..%d", maxResealBatch)
		}
		limit = n
	}
	type page struct {
		Total int          `json:"total"`
		Items []sealedJSON `json:"items"`
		Next  string       `json:"next"`
	}
	out, err := store.Read(r.Context(), s.People.Store, func(tx *store.Tx) (page, error) {
		admins, err := tx.SealingAdmins()
		if err != nil {
			return page{}, err
		}
		p := page{Items: []sealedJSON{}}
		passed := afterKind == ""
		err = tx.EachSealed(func(it store.SealedItem) error {
			// The cursor is a place in the walk, whether or not that
			// envelope still needs re-sealing.
			before := !passed
			if before {
				passed = it.Kind == afterKind && it.ID == afterID
			}
			h, err := e2ee.ParseEnvelope(it.Envelope)
			if err != nil || store.SameRecipients(h, store.WantedRecipients(h, it.Owners, admins)) {
				return nil // a malformed envelope cannot be re-sealed by anyone
			}
			p.Total++
			if before {
				return nil
			}
			if len(p.Items) < limit {
				p.Items = append(p.Items, sealedJSON{
					Kind: it.Kind, ID: it.ID, Owners: nonNil(it.Owners), Envelope: it.Envelope,
					Context: contextJSON{it.Context.Purpose, it.Context.CallID, it.Context.ItemID},
				})
				p.Next = it.Kind + ":" + it.ID
			}
			return nil
		})
		if len(p.Items) < limit {
			p.Next = ""
		}
		return p, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// postReseal replaces envelopes with ones the admin's browser re-wrapped.
// All or nothing: each must name an envelope by kind and id and the SHA-256
// of its current bytes (so an edit made meanwhile is not overwritten), be
// sealed to exactly who should read it now, and change no more than it must
// (checkResealed). One audit entry counts them.
func (s *Server) postReseal(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Items []struct {
			Kind     string `json:"kind"`
			ID       string `json:"id"`
			Prev     b64    `json:"prev"`
			Envelope b64    `json:"envelope"`
		} `json:"items"`
	}
	if err := decodeJSON(w, r, resealBodyLimit, &req); err != nil {
		return err
	}
	if len(req.Items) == 0 || len(req.Items) > maxResealBatch {
		return errBadRequest("items: want 1..%d envelopes", maxResealBatch)
	}
	n, err := store.Write(r.Context(), s.People.Store, func(tx *store.Tx) (int, error) {
		admins, err := tx.SealingAdmins()
		if err != nil {
			return 0, err
		}
		seen := map[string]bool{}
		for i, in := range req.Items {
			key := in.Kind + ":" + in.ID
			if seen[key] {
				return 0, fault.Invalidf("item %d: %s appears twice", i, in.Kind)
			}
			seen[key] = true
			it, err := tx.Sealed(in.Kind, in.ID)
			if errors.Is(err, store.ErrNotFound) {
				return 0, fault.NotFound("item " + strconv.Itoa(i) + ": no such envelope")
			}
			if err != nil {
				return 0, err
			}
			if sum := sha256.Sum256(it.Envelope); len(in.Prev) != len(sum) || string(in.Prev) != string(sum[:]) {
				return 0, fault.Conflict("item " + strconv.Itoa(i) + ": the envelope changed since it was read; read it again")
			}
			old, err := e2ee.ParseEnvelope(it.Envelope)
			if err != nil {
				return 0, fault.Invalidf("item %d: the stored envelope is malformed", i)
			}
			h, err := e2ee.ParseEnvelope(in.Envelope)
			if err != nil {
				return 0, fault.Invalidf("item %d: envelope refused: %v", i, err)
			}
			wanted := store.WantedRecipients(old, it.Owners, admins)
			if !store.SameRecipients(h, wanted) {
				return 0, fault.Invalidf("item %d: the envelope must be sealed to exactly its owners and the admins of the signed admin set", i)
			}
			if err := checkResealed(old, h, it.Envelope, in.Envelope, wanted); err != nil {
				return 0, fault.Invalidf("item %d: %v", i, err)
			}
			if err := tx.ReplaceSealed(in.Kind, in.ID, in.Envelope); err != nil {
				return 0, err
			}
		}
		return len(req.Items), tx.Audit(who.PubKey, "envelopes.resealed", "envelopes:"+strconv.Itoa(len(req.Items)))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"resealed": n})
	return nil
}

// checkResealed holds a replacement to what a re-seal may change. A v2
// envelope keeps its content (nonce and ciphertext) byte for byte and the
// wraps of everyone who still should read it; only wraps are added and
// dropped. A v1 envelope, whose header is in its content AAD, may be
// converted to v2 by sealing its plaintext again; after that, re-seals
// are re-wraps.
func checkResealed(old, next e2ee.Header, oldEnv, nextEnv []byte, wanted []string) error {
	if next.Version != e2ee.Version2 {
		return errors.New("a re-sealed envelope must be v2")
	}
	if old.Version == e2ee.Version1 {
		return nil
	}
	err := e2ee.CheckRewrap(oldEnv, nextEnv, func(pk e2ee.PublicKey) bool { return slices.Contains(wanted, pk.String()) })
	if err != nil {
		return errors.New("a re-seal may only add and remove wraps: the content and the wraps of those who keep it must not change")
	}
	return nil
}
