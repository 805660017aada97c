package api

import (
	"net/http"
	"time"

	"llamenos/auth"
	"llamenos/store"
)

// voicemailJSON is a voicemail as the admins' browsers get it
// (docs/api.md). Audio and Transcript are envelopes (voicemail-audio, item
// "audio"; voicemail-transcript, item "voicemail"; call id the voicemail's)
// and only in the answer for one voicemail.
type voicemailJSON struct {
	CallID        string     `json:"callId"`
	CreatedAt     time.Time  `json:"createdAt"`
	LengthMs      int64      `json:"lengthMs"`
	Language      string     `json:"language"`
	Transcription string     `json:"transcription"` // none | pending | done | failed
	HasAudio      bool       `json:"hasAudio"`
	HandledAt     *time.Time `json:"handledAt,omitempty"`
	HandledBy     string     `json:"handledBy,omitempty"`
	Audio         b64        `json:"audio,omitempty"`
	Transcript    b64        `json:"transcript,omitempty"`
}

func voicemailView(v store.Voicemail) voicemailJSON {
	return voicemailJSON{
		CallID: v.CallID, CreatedAt: v.CreatedAt.UTC(), LengthMs: v.Length.Milliseconds(), Language: v.Language,
		Transcription: v.Transcription, HasAudio: v.Audio != nil, HandledAt: optTime(v.HandledAt), HandledBy: v.HandledBy,
		Audio: v.Audio, Transcript: v.Envelope,
	}
}

func (s *Server) listVoicemails(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	all, err := s.Records.Voicemails(r.Context(), who)
	if err != nil {
		return err
	}
	out := make([]voicemailJSON, 0, len(all))
	for _, v := range all {
		j := voicemailView(v)
		j.Audio = nil
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"voicemails": out, "transcription": s.Records.Transcribes})
	return nil
}

func (s *Server) getVoicemail(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	v, err := s.Records.Voicemail(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, voicemailView(v))
	return nil
}

func (s *Server) putVoicemailHandled(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		Handled *bool `json:"handled"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if req.Handled == nil {
		return errBadRequest("handled (true or false) is required")
	}
	v, err := s.Records.SetVoicemailHandled(r.Context(), who, r.PathValue("id"), *req.Handled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, voicemailView(v))
	return nil
}

// transcriptJSON is a call transcript: an envelope (purpose transcript,
// item "transcript", the call's id) sealed to the answering volunteer and
// the admins, or failed and empty.
type transcriptJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Failed    bool      `json:"failed"`
	Envelope  b64       `json:"envelope,omitempty"`
}

func (s *Server) callTranscripts(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	trs, err := s.Records.CallTranscripts(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]transcriptJSON, 0, len(trs))
	for _, t := range trs {
		out = append(out, transcriptJSON{ID: t.ID, CreatedAt: t.CreatedAt.UTC(), Failed: t.Failed, Envelope: t.Envelope})
	}
	writeJSON(w, http.StatusOK, map[string]any{"transcripts": out})
	return nil
}
