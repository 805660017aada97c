package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"llamenos/auth"
	"llamenos/hotline"
	"llamenos/rtc"
	"llamenos/store"
)

// CallEngine is what the API asks of the call engine (hotline.Engine).
type CallEngine interface {
	Answer(ctx context.Context, callID, pubkey string) error
	Decline(ctx context.Context, callID, pubkey string) error
	Hangup(ctx context.Context, callID, pubkey string) error
	Offer(ctx context.Context, callID, pubkey, sdp string) (string, error)
	Candidate(ctx context.Context, callID, pubkey string, c json.RawMessage) error
	BanCaller(ctx context.Context, callID, actor string, reason []byte) error
	Active() []hotline.ActiveCall
	OnCall(pubkey string) bool
	VolunteersChanged()
	BrowserGone(pubkey string)
}

func callError(err error) error {
	switch {
	case errors.Is(err, hotline.ErrNoCall):
		return errNotFound("this call has ended or does not exist")
	case errors.Is(err, hotline.ErrNotRung):
		return errForbidden("you were not rung for this call")
	case errors.Is(err, hotline.ErrAlreadyAnswered):
		return errConflict("another volunteer answered this call")
	case errors.Is(err, hotline.ErrNotBannable):
		return errConflict("the caller's number was withheld, so it cannot be banned")
	case errors.Is(err, rtc.ErrBadOffer), errors.Is(err, rtc.ErrNoPCMU), errors.Is(err, rtc.ErrBadCandidate), errors.Is(err, store.ErrInvalid):
		return errBadRequest("%v", err)
	}
	return err
}

type callJSON struct {
	ID            string     `json:"id"`
	StartedAt     time.Time  `json:"startedAt"`
	AnsweredAt    *time.Time `json:"answeredAt,omitempty"`
	EndedAt       *time.Time `json:"endedAt,omitempty"`
	QueueWaitMs   int64      `json:"queueWaitMs"`
	DurationMs    int64      `json:"durationMs"`
	AnsweredBy    string     `json:"answeredBy,omitempty"`
	Outcome       string     `json:"outcome"`
	HasNote       bool       `json:"hasNote"`
	HasTranscript bool       `json:"hasTranscript"`
	HasVoicemail  bool       `json:"hasVoicemail"`
	// Admins only: the caller's number sealed to them (context: caller-number, call id).
	CallerNumber b64 `json:"callerNumber,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func callView(c store.Call, admin bool) callJSON {
	v := callJSON{
		ID: c.ID, StartedAt: c.StartedAt.UTC(), AnsweredAt: optTime(c.AnsweredAt), EndedAt: optTime(c.EndedAt),
		QueueWaitMs: c.QueueWait.Milliseconds(), DurationMs: c.Duration.Milliseconds(),
		AnsweredBy: c.AnsweredBy, Outcome: string(c.Outcome),
		HasNote: c.HasNote, HasTranscript: c.HasTranscript, HasVoicemail: c.HasVoicemail,
	}
	if admin {
		v.CallerNumber = c.CallerNumber
	}
	return v
}

func parseDay(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, errBadRequest("dates must be YYYY-MM-DD or RFC 3339")
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	q := r.URL.Query()
	var f store.CallFilter
	var err error
	if f.From, err = parseDay(q.Get("from"), false); err != nil {
		return err
	}
	if f.To, err = parseDay(q.Get("to"), true); err != nil {
		return err
	}
	switch q.Get("hasNote") {
	case "", "false":
	case "true":
		f.HasNote = true
	default:
		return errBadRequest("hasNote must be true or false")
	}
	if who.IsAdmin() {
		if v := q.Get("volunteer"); v != "" {
			if store.ValidPubKey(v) != nil {
				return errBadRequest("volunteer must be a public key")
			}
			f.Volunteer = v
		}
	} else {
		f.Volunteer = who.PubKey // a volunteer sees only calls they answered
	}
	type page struct {
		calls []store.Call
		next  string
	}
	p, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (page, error) {
		c, next, err := tx.ListCalls(f, q.Get("cursor"), 50)
		return page{c, next}, err
	})
	if errors.Is(err, store.ErrInvalid) {
		return errBadRequest("bad cursor or filter: %v", err)
	}
	if err != nil {
		return err
	}
	out := make([]callJSON, 0, len(p.calls))
	for _, c := range p.calls {
		out = append(out, callView(c, who.IsAdmin()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out, "next": p.next})
	return nil
}

// readableCall loads a call the identity may see: admins see all, a
// volunteer only the calls they answered. Others get 404, not 403, so ids
// cannot be probed.
func readableCall(tx *store.Tx, who auth.Identity, id string) (store.Call, error) {
	if store.ValidID(id) != nil {
		return store.Call{}, errNotFound("no such call")
	}
	c, err := tx.Call(id)
	if errors.Is(err, store.ErrNotFound) {
		return c, errNotFound("no such call")
	}
	if err != nil {
		return c, err
	}
	if !who.IsAdmin() && c.AnsweredBy != who.PubKey {
		return c, errForbidden("only the volunteer who answered this call and admins can see it")
	}
	return c, nil
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	c, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (store.Call, error) { return readableCall(tx, who, r.PathValue("id")) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callView(c, who.IsAdmin()))
	return nil
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id := r.PathValue("id")
	if err := s.Calls.Answer(r.Context(), id, who.PubKey); err != nil {
		return callError(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"callId": id})
	return nil
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	if err := s.Calls.Decline(r.Context(), r.PathValue("id"), who.PubKey); err != nil {
		return callError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hangup(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	if err := s.Calls.Hangup(r.Context(), r.PathValue("id"), who.PubKey); err != nil {
		return callError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// banCaller is "report and ban": the volunteer never sees the number; the
// engine bans by the call's caller hash and keeps the admins' envelope.
func (s *Server) banCaller(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Reason b64 `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	if len(req.Reason) > 0 {
		admins, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) ([]string, error) { return auth.ActiveAdmins(tx) })
		if err != nil {
			return err
		}
		if err := requireRecipients(req.Reason, admins); err != nil {
			return err
		}
	}
	if err := s.Calls.BanCaller(r.Context(), id, who.PubKey, req.Reason); err != nil {
		return callError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Notes.

const noteBodyLimit = 1 << 20

type noteJSON struct {
	ID        string        `json:"id"`
	CallID    string        `json:"callId"`
	Author    string        `json:"author"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Revision  uint32        `json:"revision"`
	Envelope  b64           `json:"envelope"`
	History   []historyJSON `json:"history,omitempty"`
}

type historyJSON struct {
	Revision   uint32    `json:"revision"`
	Envelope   b64       `json:"envelope"`
	WrittenAt  time.Time `json:"writtenAt"`
	ReplacedAt time.Time `json:"replacedAt"`
}

func noteView(n store.Note) noteJSON {
	return noteJSON{ID: n.ID, CallID: n.CallID, Author: n.Author, CreatedAt: n.CreatedAt.UTC(),
		UpdatedAt: n.UpdatedAt.UTC(), Revision: n.Revision, Envelope: n.Envelope}
}

// checkNoteEnvelope refuses a note envelope that is malformed or not
// addressed to its author and every active admin. (The server cannot check
// the AAD context; the browser that opens it does.)
func checkNoteEnvelope(tx *store.Tx, env []byte, author string) error {
	if len(env) == 0 {
		return errBadRequest("envelope is required")
	}
	admins, err := auth.ActiveAdmins(tx)
	if err != nil {
		return err
	}
	return requireRecipients(env, append([]string{author}, admins...))
}

func (s *Server) callNotes(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	notes, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) ([]store.Note, error) {
		c, err := readableCall(tx, who, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		var all []store.Note
		cursor := ""
		for {
			page, next, err := tx.NotesByCall(c.ID, cursor, 100)
			if err != nil {
				return nil, err
			}
			all = append(all, page...)
			if next == "" {
				return all, nil
			}
			cursor = next
		}
	})
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(notes))
	for _, n := range notes {
		if who.IsAdmin() || n.Author == who.PubKey {
			out = append(out, noteView(n))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notes": out})
	return nil
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		ID       string `json:"id"`
		Envelope b64    `json:"envelope"`
	}
	if err := decodeJSON(w, r, noteBodyLimit, &req); err != nil {
		return err
	}
	if store.ValidID(req.ID) != nil {
		return errBadRequest("id must be a lowercase UUID chosen by the browser (it is bound into the envelope)")
	}
	n, err := store.Write(r.Context(), s.Store, func(tx *store.Tx) (store.Note, error) {
		c, err := readableCall(tx, who, r.PathValue("id"))
		if err != nil {
			return store.Note{}, err
		}
		if c.AnsweredBy != who.PubKey {
			return store.Note{}, errForbidden("only the volunteer who answered this call can write its notes")
		}
		if err := checkNoteEnvelope(tx, req.Envelope, who.PubKey); err != nil {
			return store.Note{}, err
		}
		n, err := tx.CreateNote(store.Note{ID: req.ID, CallID: c.ID, Author: who.PubKey, Envelope: req.Envelope})
		if errors.Is(err, store.ErrExists) {
			return n, errConflict("a note with this id exists; edit it instead")
		}
		if errors.Is(err, store.ErrInvalid) {
			return n, errBadRequest("%v", err)
		}
		if err != nil {
			return n, err
		}
		return n, tx.Audit(who.PubKey, "note.created", "note:"+n.ID, "call:"+c.ID)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteView(n))
	return nil
}

// readableNote loads a note its author or an admin may read.
func readableNote(tx *store.Tx, who auth.Identity, id string) (store.Note, error) {
	if store.ValidID(id) != nil {
		return store.Note{}, errNotFound("no such note")
	}
	n, err := tx.Note(id)
	if errors.Is(err, store.ErrNotFound) {
		return n, errNotFound("no such note")
	}
	if err != nil {
		return n, err
	}
	if !who.IsAdmin() && n.Author != who.PubKey {
		return n, errForbidden("only its author and admins can read this note")
	}
	return n, nil
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	type full struct {
		n    store.Note
		hist []store.NoteRevision
	}
	f, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (full, error) {
		n, err := readableNote(tx, who, r.PathValue("id"))
		if err != nil {
			return full{}, err
		}
		h, err := tx.NoteHistory(n.ID)
		return full{n, h}, err
	})
	if err != nil {
		return err
	}
	v := noteView(f.n)
	for _, h := range f.hist {
		v.History = append(v.History, historyJSON{h.Revision, h.Envelope, h.WrittenAt.UTC(), h.ReplacedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) editNote(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Envelope b64 `json:"envelope"`
	}
	if err := decodeJSON(w, r, noteBodyLimit, &req); err != nil {
		return err
	}
	n, err := store.Write(r.Context(), s.Store, func(tx *store.Tx) (store.Note, error) {
		n, err := readableNote(tx, who, r.PathValue("id"))
		if err != nil {
			return n, err
		}
		if n.Author != who.PubKey {
			return n, errForbidden("only its author can edit a note")
		}
		if err := checkNoteEnvelope(tx, req.Envelope, who.PubKey); err != nil {
			return n, err
		}
		n, err = tx.EditNote(n.ID, req.Envelope)
		if err != nil {
			return n, err
		}
		return n, tx.Audit(who.PubKey, "note.edited", "note:"+n.ID, "call:"+n.CallID)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteView(n))
	return nil
}

// listNotes pages through one author's notes newest first: a volunteer's
// own, or any author's for an admin. Export uses it.
func (s *Server) listNotes(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return errBadRequest("limit must be 1 to 500")
		}
		limit = n
	}
	// Notes are indexed by author: an admin exporting everything pages
	// through each volunteer in turn.
	author := who.PubKey
	if who.IsAdmin() && q.Get("author") != "" {
		author = q.Get("author")
		if store.ValidPubKey(author) != nil {
			return errBadRequest("author must be a public key")
		}
	}
	type page struct {
		notes []store.Note
		next  string
	}
	p, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) (page, error) {
		n, next, err := tx.NotesByAuthor(author, q.Get("cursor"), limit)
		return page{n, next}, err
	})
	if errors.Is(err, store.ErrInvalid) {
		return errBadRequest("bad cursor")
	}
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(p.notes))
	for _, n := range p.notes {
		out = append(out, noteView(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notes": out, "next": p.next})
	return nil
}

func (s *Server) listFields(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	fields, err := store.Read(r.Context(), s.Store, func(tx *store.Tx) ([]store.CustomField, error) { return tx.CustomFields() })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": nonNil(fields)})
	return nil
}

func (s *Server) putFields(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Fields []store.CustomField `json:"fields"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := store.ValidateCustomFields(req.Fields); err != nil {
		return errBadRequest("%v", err)
	}
	err := s.Store.Update(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetCustomFields(req.Fields); err != nil {
			return err
		}
		return tx.Audit(who.PubKey, "fields.changed", "fields:notes")
	})
	if err != nil {
		return err
	}
	s.hub.broadcast(func(string, string) any { return map[string]string{"type": "fields:changed"} })
	writeJSON(w, http.StatusOK, map[string]any{"fields": nonNil(req.Fields)})
	return nil
}
