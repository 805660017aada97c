package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"llamenos/auth"
	"llamenos/hotline"
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
	// Ringable, Ringing and CurrentCall: who a call arriving now would
	// ring, the calls ringing a volunteer, the call they answered.
	Ringable(ctx context.Context) (map[string]bool, error)
	Ringing(pubkey string) []hotline.Ring
	CurrentCall(pubkey string) string
	VolunteersChanged()
	BrowserGone(pubkey string)
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
	// Transcribed: the call is (or was to be) transcribed.
	Transcribed bool `json:"transcribed"`
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
		HasNote: c.HasNote, HasTranscript: c.HasTranscript, HasVoicemail: c.HasVoicemail, Transcribed: c.Transcribed,
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
	f.Volunteer = q.Get("volunteer")
	calls, next, err := s.Records.Calls(r.Context(), who, f, q.Get("cursor"))
	if err != nil {
		return err
	}
	out := make([]callJSON, 0, len(calls))
	for _, c := range calls {
		out = append(out, callView(c, who.IsAdmin()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out, "next": next})
	return nil
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	c, err := s.Records.Call(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callView(c, who.IsAdmin()))
	return nil
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	id := r.PathValue("id")
	if err := s.Calls.Answer(r.Context(), id, who.PubKey); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"callId": id})
	return nil
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	if err := s.Calls.Decline(r.Context(), r.PathValue("id"), who.PubKey); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hangup(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	if err := s.Calls.Hangup(r.Context(), r.PathValue("id"), who.PubKey); err != nil {
		return err
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
	if err := s.Calls.BanCaller(r.Context(), r.PathValue("id"), who.PubKey, req.Reason); err != nil {
		return err
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

func (s *Server) callNotes(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	notes, err := s.Records.CallNotes(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(notes))
	for _, n := range notes {
		out = append(out, noteView(n))
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
	n, err := s.Records.CreateNote(r.Context(), who, r.PathValue("id"), req.ID, req.Envelope)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteView(n))
	return nil
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	n, hist, err := s.Records.Note(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := noteView(n)
	for _, h := range hist {
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
	n, err := s.Records.EditNote(r.Context(), who, r.PathValue("id"), req.Envelope)
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
	notes, next, err := s.Records.NotesBy(r.Context(), who, q.Get("author"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(notes))
	for _, n := range notes {
		out = append(out, noteView(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notes": out, "next": next})
	return nil
}

func (s *Server) listFields(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	fields, err := s.Settings.Fields(r.Context())
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
	if err := s.Settings.SetFields(r.Context(), who.PubKey, req.Fields); err != nil {
		return err
	}
	s.Hub.broadcast(func(string, string) any { return map[string]string{"type": "fields:changed"} })
	writeJSON(w, http.StatusOK, map[string]any{"fields": nonNil(req.Fields)})
	return nil
}
