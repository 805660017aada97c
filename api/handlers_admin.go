package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"llamenos/auth"
	"llamenos/callstats"
	"llamenos/store"
)

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Role     store.Role `json:"role"`
		TTLHours *int       `json:"ttlHours"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if req.Role != store.RoleAdmin && req.Role != store.RoleVolunteer {
		return errBadRequest("role must be admin or volunteer")
	}
	hours := 72
	if req.TTLHours != nil {
		hours = *req.TTLHours
	}
	if hours < 1 || hours > int(auth.InviteMaxTTL.Hours()) {
		return errBadRequest("ttlHours must be between 1 and %d", int(auth.InviteMaxTTL.Hours()))
	}
	code, inv, err := s.Auth.CreateInvite(r.Context(), who.PubKey, req.Role, time.Duration(hours)*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":        inv.CodeHash.String(),
		"code":      code,
		"url":       s.origin + "/#/invite/" + code,
		"role":      inv.Role,
		"expiresAt": inv.ExpiresAt.UTC(),
	})
	return nil
}

func (s *Server) listInvites(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	invs, err := s.Auth.Invites(r.Context())
	if err != nil {
		return err
	}
	type inviteJSON struct {
		ID        string     `json:"id"`
		Role      store.Role `json:"role"`
		CreatedAt time.Time  `json:"createdAt"`
		ExpiresAt time.Time  `json:"expiresAt"`
		UsedAt    *time.Time `json:"usedAt,omitempty"`
		RevokedAt *time.Time `json:"revokedAt,omitempty"`
		CreatedBy string     `json:"createdBy"`
	}
	out := make([]inviteJSON, 0, len(invs))
	for _, i := range invs {
		out = append(out, inviteJSON{i.CodeHash.String(), i.Role, i.CreatedAt.UTC(), i.ExpiresAt.UTC(), optTime(i.UsedAt), optTime(i.RevokedAt), i.CreatedBy})
	}
	writeJSON(w, http.StatusOK, map[string]any{"invites": out})
	return nil
}

func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	h, err := store.ParseHash(r.PathValue("id"))
	if err != nil {
		return errNotFound("no such invite")
	}
	if err := s.Auth.RevokeInvite(r.Context(), who.PubKey, h); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// settingsJSON is the admin-facing shape of store.Settings (docs/api.md).
type settingsJSON struct {
	HotlineName         string   `json:"hotlineName"`
	TimeZone            string   `json:"timeZone"`
	Languages           []string `json:"languages"`
	QueueTimeoutSeconds int      `json:"queueTimeoutSeconds"`
	// Voicemail: when an unanswered caller may leave one, how long, and
	// whether its sealed audio is kept once it has a transcript.
	Voicemail struct {
		Mode       string `json:"mode"` // auto | always | never
		MaxSeconds int    `json:"maxSeconds"`
		KeepAudio  bool   `json:"keepAudio"`
	} `json:"voicemail"`
	// CallTranscripts: answered calls are transcribed, the caller told so
	// before anyone rings (store.Settings.Recording). Without a transcriber
	// the setting is kept and does nothing.
	CallTranscripts bool `json:"callTranscripts"`
	RateLimit       struct {
		Enabled        bool `json:"enabled"`
		CallsPerMinute int  `json:"callsPerMinute"`
	} `json:"rateLimit"`
	Captcha struct {
		Enabled     bool `json:"enabled"`
		MaxAttempts int  `json:"maxAttempts"`
		Digits      int  `json:"digits"`
	} `json:"captcha"`
	PasskeyPolicy struct {
		Admins     bool `json:"admins"`
		Volunteers bool `json:"volunteers"`
	} `json:"passkeyPolicy"`
	// Retention, counted from each call's start: kept forever, or deleted
	// after that many days.
	Retention struct {
		CallRecords keepJSON `json:"callRecords"`
		Notes       keepJSON `json:"notes"`
		Transcripts keepJSON `json:"transcripts"` // transcripts and voicemails
	} `json:"retention"`
}

// keepJSON is one retention choice: forever, or days (shown as 365 while
// forever is chosen, so unticking it offers a year).
type keepJSON struct {
	Forever bool `json:"forever"`
	Days    int  `json:"days"`
}

const defaultKeepDays = 365

func keepView(days int) keepJSON {
	if days == 0 {
		return keepJSON{Forever: true, Days: defaultKeepDays}
	}
	return keepJSON{Days: days}
}

func (k keepJSON) days(name string) (int, error) {
	if k.Forever {
		return 0, nil
	}
	if k.Days < 1 || k.Days > store.MaxKeepDays {
		return 0, errBadRequest("retention.%s.days must be 1 to %d unless forever is chosen", name, store.MaxKeepDays)
	}
	return k.Days, nil
}

func settingsView(st store.Settings) settingsJSON {
	var v settingsJSON
	v.HotlineName, v.TimeZone, v.Languages = st.HotlineName, st.TimeZone, nonNil(st.Languages)
	v.QueueTimeoutSeconds = st.QueueTimeoutSeconds
	v.Voicemail.Mode, v.Voicemail.MaxSeconds, v.Voicemail.KeepAudio = string(st.VoicemailMode), st.VoicemailMaxSeconds, !st.VoicemailTranscriptOnly
	v.CallTranscripts = st.Recording
	v.RateLimit.Enabled, v.RateLimit.CallsPerMinute = st.RateLimitPerMinute > 0, st.RateLimitPerMinute
	if !v.RateLimit.Enabled {
		v.RateLimit.CallsPerMinute = store.DefaultSettings().RateLimitPerMinute
	}
	v.Captcha.Enabled, v.Captcha.MaxAttempts, v.Captcha.Digits = st.CaptchaEnabled, st.CaptchaAttempts, st.CaptchaDigits
	v.PasskeyPolicy.Admins, v.PasskeyPolicy.Volunteers = st.PasskeysForAdmins, st.PasskeysForVolunteers
	v.Retention.CallRecords, v.Retention.Notes, v.Retention.Transcripts = keepView(st.KeepCallsDays), keepView(st.KeepNotesDays), keepView(st.KeepTranscriptsDays)
	return v
}

// apply sets v over the stored settings st (fields the API does not show
// keep their values); settings.Service validates the result.
func (v settingsJSON) apply(st *store.Settings) error {
	st.HotlineName, st.TimeZone, st.Languages = v.HotlineName, v.TimeZone, v.Languages
	st.QueueTimeoutSeconds = v.QueueTimeoutSeconds
	st.VoicemailMode, st.VoicemailMaxSeconds, st.VoicemailTranscriptOnly = store.VoicemailMode(v.Voicemail.Mode), v.Voicemail.MaxSeconds, !v.Voicemail.KeepAudio
	st.Recording = v.CallTranscripts
	st.CaptchaEnabled, st.CaptchaAttempts, st.CaptchaDigits = v.Captcha.Enabled, v.Captcha.MaxAttempts, v.Captcha.Digits
	st.PasskeysForAdmins, st.PasskeysForVolunteers = v.PasskeyPolicy.Admins, v.PasskeyPolicy.Volunteers
	st.RateLimitPerMinute = 0
	if v.RateLimit.Enabled {
		if v.RateLimit.CallsPerMinute < 1 {
			return errBadRequest("rateLimit.callsPerMinute must be 1 to 60 when the rate limit is on")
		}
		st.RateLimitPerMinute = v.RateLimit.CallsPerMinute
	}
	var err error
	if st.KeepCallsDays, err = v.Retention.CallRecords.days("callRecords"); err != nil {
		return err
	}
	if st.KeepNotesDays, err = v.Retention.Notes.days("notes"); err != nil {
		return err
	}
	st.KeepTranscriptsDays, err = v.Retention.Transcripts.days("transcripts")
	return err
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	st, err := s.Settings.Get(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsView(st))
	return nil
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req settingsJSON
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	st, err := s.Settings.Update(r.Context(), who.PubKey, req.apply)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsView(st))
	return nil
}

// config is what the app needs before anyone signs in.
func (s *Server) config(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	st, err := s.Settings.Get(r.Context())
	if err != nil {
		return err
	}
	need, err := s.Auth.NeedsSetup(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"hotlineName":   st.HotlineName,
		"setupRequired": need,
		"languages":     []string{"en", "es"},
		"passkeyPolicy": map[string]bool{"admins": st.PasskeysForAdmins, "volunteers": st.PasskeysForVolunteers},
		"demo":          s.Demo != nil,
	})
	return nil
}

func (s *Server) listBans(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	bans, err := s.Bans.List(r.Context())
	if err != nil {
		return err
	}
	type banJSON struct {
		ID        string    `json:"id"`
		Number    b64       `json:"number"`
		CallID    string    `json:"callId,omitempty"`
		Reason    b64       `json:"reason,omitempty"`
		CreatedAt time.Time `json:"createdAt"`
		CreatedBy string    `json:"createdBy"`
	}
	out := make([]banJSON, 0, len(bans))
	for _, b := range bans {
		out = append(out, banJSON{b.Hash.String(), b.Number, b.CallID, b.Reason, b.CreatedAt.UTC(), b.CreatedBy})
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": out})
	return nil
}

// addBan bans a number an admin typed. The number crosses the wire once so
// the server can compute its keyed hash; only the hash and the admin-sealed
// envelope are stored.
func (s *Server) addBan(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Number string `json:"number"`
		Sealed b64    `json:"sealed"`
		Reason b64    `json:"reason"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.Bans.Add(r.Context(), who.PubKey, req.Number, req.Sealed, req.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteBan(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	h, err := store.ParseHash(r.PathValue("id"))
	if err != nil {
		return errNotFound("no such ban")
	}
	if err := s.Bans.Lift(r.Context(), who.PubKey, h); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return errBadRequest("limit must be 1 to 500")
		}
		limit = n
	}
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Kind: q.Get("kind")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return errBadRequest("%s must be an RFC 3339 time", p.name)
			}
			*p.dst = t
		}
	}
	entries, next, err := s.Audit.AuditSearch(r.Context(), f, q.Get("cursor"), limit)
	if errors.Is(err, store.ErrInvalid) {
		return errBadRequest("bad filter or cursor: %v", err)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(entries), "next": next})
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	head, err := s.Audit.VerifyAudit(r.Context())
	var ae *store.AuditError
	if errors.As(err, &ae) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "firstBad": ae.Seq, "problem": ae.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entries": head.Seq, "head": head.String()})
	return nil
}

type durationsJSON struct {
	Count    int   `json:"count"`
	MedianMs int64 `json:"medianMs"`
	P90Ms    int64 `json:"p90Ms"`
}

type volunteerCountJSON struct {
	PubKey   string `json:"pubkey"`
	Answered int    `json:"answered"`
}

// summaryJSON is callstats.Summary as docs/api.md shows it.
type summaryJSON struct {
	From         time.Time            `json:"from"`
	To           time.Time            `json:"to"`
	Offered      int                  `json:"offered"`
	Answered     int                  `json:"answered"`
	Missed       int                  `json:"missed"`
	Abandoned    int                  `json:"abandoned"`
	Voicemail    int                  `json:"voicemail"`
	Refused      int                  `json:"refused"`
	Failed       int                  `json:"failed"`
	LeftEarly    int                  `json:"leftEarly"`
	Live         int                  `json:"live"`
	QueueWait    durationsJSON        `json:"queueWait"`
	RingToAnswer durationsJSON        `json:"ringToAnswer"`
	ByVolunteer  []volunteerCountJSON `json:"byVolunteer"`
}

func durationsView(d callstats.Durations) durationsJSON {
	return durationsJSON{d.Count, d.Median.Milliseconds(), d.P90.Milliseconds()}
}

func summaryView(s callstats.Summary) summaryJSON {
	v := summaryJSON{
		From: s.From.UTC(), To: s.To.UTC(), Offered: s.Offered,
		Answered: s.Count(callstats.Answered), Missed: s.Count(callstats.Missed), Abandoned: s.Count(callstats.Abandoned),
		Voicemail: s.Count(callstats.Voicemail), Refused: s.Count(callstats.Refused), Failed: s.Count(callstats.Failed),
		LeftEarly: s.Count(callstats.LeftEarly), Live: s.Count(callstats.Live),
		QueueWait: durationsView(s.QueueWait), RingToAnswer: durationsView(s.RingToAnswer),
		ByVolunteer: make([]volunteerCountJSON, 0, len(s.ByVolunteer)),
	}
	for _, c := range s.ByVolunteer {
		v.ByVolunteer = append(v.ByVolunteer, volunteerCountJSON(c))
	}
	return v
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	d, err := s.Stats.Dashboard(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"at":             d.At.UTC(),
		"voicemailTaken": d.VoicemailTaken,
		"day":            summaryView(d.Day),
		"week":           summaryView(d.Week),
		"transcription":  s.Transcription,
	})
	return nil
}
