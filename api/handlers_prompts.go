package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"llamenos/auth"
	"llamenos/prompts"
)

// promptBodyLimit bounds an uploaded recording (prompts.MaxUpload).
const promptBodyLimit = prompts.MaxUpload

type promptsView struct {
	Languages []string         `json:"languages"`
	Prompts   []prompts.Prompt `json:"prompts"`
	// Editable: the daemon can write recordings (asterisk.sounds_dir set).
	Editable   bool    `json:"editable"`
	MinSeconds float64 `json:"minSeconds"`
	MaxSeconds float64 `json:"maxSeconds"`
	MaxBytes   int     `json:"maxBytes"`
}

// promptRefusal maps the prompts package's errors to answers.
func promptRefusal(err error) error {
	switch {
	case errors.Is(err, prompts.ErrBadRecording):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "bad_recording", Message: strings.TrimPrefix(err.Error(), "prompts: ")}
	case errors.Is(err, prompts.ErrUnknown):
		return errNotFound("no such prompt in the hotline's languages")
	case errors.Is(err, prompts.ErrDisabled):
		return errConflict("this hotline has no sounds directory (asterisk.sounds_dir), so its prompts cannot be replaced")
	}
	return err
}

func (s *Server) promptLangs(r *http.Request) ([]string, error) {
	if s.Prompts == nil {
		return nil, errNotFound("this hotline has no caller prompts to manage")
	}
	st, err := s.Settings.Get(r.Context())
	if err != nil {
		return nil, err
	}
	return st.Languages, nil
}

func (s *Server) listPrompts(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	langs, err := s.promptLangs(r)
	if err != nil {
		return err
	}
	list, err := s.Prompts.List(langs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, promptsView{
		Languages: langs, Prompts: list, Editable: s.Prompts.Dir != "",
		MinSeconds: prompts.MinLength.Seconds(), MaxSeconds: prompts.MaxLength.Seconds(), MaxBytes: prompts.MaxUpload,
	})
	return nil
}

func (s *Server) promptAudio(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	langs, err := s.promptLangs(r)
	if err != nil {
		return err
	}
	wav, err := s.Prompts.Audio(r.PathValue("lang"), r.PathValue("name"), langs)
	if err != nil {
		return promptRefusal(err)
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(wav)
	return nil
}

func (s *Server) putPrompt(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	langs, err := s.promptLangs(r)
	if err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "audio/wav" && mt != "audio/x-wav" && mt != "audio/wave") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the recording as audio/wav"}
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: fmt.Sprintf("the recording is larger than %d KB (60 seconds)", promptBodyLimit>>10)}
	}
	if err != nil {
		return errBadRequest("read the recording: %v", err)
	}
	p, err := s.Prompts.Replace(r.Context(), who.PubKey, r.PathValue("lang"), r.PathValue("name"), body, langs)
	if err != nil {
		return promptRefusal(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) revertPrompt(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	langs, err := s.promptLangs(r)
	if err != nil {
		return err
	}
	p, err := s.Prompts.Revert(r.Context(), who.PubKey, r.PathValue("lang"), r.PathValue("name"), langs)
	if err != nil {
		return promptRefusal(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
