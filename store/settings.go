package store

import (
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// VoicemailMode says when an unanswered caller may leave a voicemail.
type VoicemailMode string

const (
	VoicemailAuto   VoicemailMode = "auto"   // after the queue timeout
	VoicemailAlways VoicemailMode = "always" // straight to voicemail
	VoicemailNever  VoicemailMode = "never"  // no voicemail: the call ends
)

// Settings are the hotline knobs admins change from the browser. Server
// plumbing (listen address, Asterisk) is in the config file instead.
type Settings struct {
	HotlineName string `json:"name"`
	// TimeZone is the IANA zone shifts are written in.
	TimeZone string `json:"tz"`
	// Languages offered in the caller's menu, in menu order (digit 1 = first).
	Languages []string `json:"langs"`
	// QueueTimeoutSeconds is how long a caller rings before voicemail (30–300).
	QueueTimeoutSeconds int           `json:"queue_timeout"`
	VoicemailMode       VoicemailMode `json:"voicemail"`
	// VoicemailMaxSeconds bounds one voicemail recording (10–600).
	VoicemailMaxSeconds int `json:"voicemail_max"`
	// VoicemailTranscriptOnly: a voicemail's sealed audio is dropped once
	// its transcript is stored (kept when transcription fails or this box
	// has none). Off by default: the audio is kept.
	VoicemailTranscriptOnly bool `json:"voicemail_transcript_only,omitempty"`
	// Recording turns on recording and transcription of answered calls
	// (announced to the caller).
	Recording bool `json:"recording"`
	// RateLimitPerMinute is calls allowed from one number per minute; 0 off.
	RateLimitPerMinute int  `json:"rate_limit"`
	CaptchaEnabled     bool `json:"captcha"`
	CaptchaAttempts    int  `json:"captcha_attempts"`
	CaptchaDigits      int  `json:"captcha_digits"`
	// Passkeys required as a second factor at login.
	PasskeysForAdmins     bool `json:"passkeys_admins"`
	PasskeysForVolunteers bool `json:"passkeys_volunteers"`
	// Retention, in days from a call's start, of its record, its notes,
	// and its transcripts and voicemail (Tx.Purge); 0 keeps them forever.
	// A call record stays while something of it is kept.
	KeepCallsDays       int `json:"keep_calls,omitempty"`
	KeepNotesDays       int `json:"keep_notes,omitempty"`
	KeepTranscriptsDays int `json:"keep_transcripts,omitempty"`
}

// MaxKeepDays bounds a retention setting (about 100 years).
const MaxKeepDays = 36500

// DefaultSettings is what a new hotline starts with.
func DefaultSettings() Settings {
	return Settings{
		HotlineName:         "Hotline",
		TimeZone:            "UTC",
		Languages:           []string{"en"},
		QueueTimeoutSeconds: 90,
		VoicemailMode:       VoicemailAuto,
		VoicemailMaxSeconds: 120,
		RateLimitPerMinute:  3,
		CaptchaAttempts:     3,
		CaptchaDigits:       4,
	}
}

var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

// Validate reports every problem at once, in words an admin can act on.
func (s Settings) Validate() error {
	var errs []error
	if n := utf8.RuneCountInString(s.HotlineName); !utf8.ValidString(s.HotlineName) || n < 1 || n > 80 {
		errs = append(errs, errors.New("hotline name: 1 to 80 characters"))
	}
	if s.TimeZone == "" {
		errs = append(errs, errors.New("time zone: required, e.g. America/Mexico_City"))
	} else if _, err := time.LoadLocation(s.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("time zone %q: not a known IANA zone (e.g. Europe/Madrid)", truncate(s.TimeZone, 60)))
	}
	if len(s.Languages) == 0 || len(s.Languages) > 9 {
		errs = append(errs, errors.New("languages: 1 to 9 (one menu digit each)"))
	}
	seen := map[string]bool{}
	for _, l := range s.Languages {
		if !langRE.MatchString(l) || seen[l] {
			errs = append(errs, fmt.Errorf("language %q: want a code like en, es or pt-BR, once", truncate(l, 20)))
		}
		seen[l] = true
	}
	if s.QueueTimeoutSeconds < 30 || s.QueueTimeoutSeconds > 300 {
		errs = append(errs, fmt.Errorf("queue timeout %d s: must be 30 to 300", s.QueueTimeoutSeconds))
	}
	switch s.VoicemailMode {
	case VoicemailAuto, VoicemailAlways, VoicemailNever:
	default:
		errs = append(errs, fmt.Errorf("voicemail mode %q: want auto, always or never", truncate(string(s.VoicemailMode), 20)))
	}
	if s.VoicemailMaxSeconds < 10 || s.VoicemailMaxSeconds > 600 {
		errs = append(errs, fmt.Errorf("voicemail length %d s: must be 10 to 600", s.VoicemailMaxSeconds))
	}
	if s.RateLimitPerMinute < 0 || s.RateLimitPerMinute > 60 {
		errs = append(errs, fmt.Errorf("rate limit %d per minute: must be 0 (off) to 60", s.RateLimitPerMinute))
	}
	if s.CaptchaAttempts < 1 || s.CaptchaAttempts > 5 {
		errs = append(errs, fmt.Errorf("CAPTCHA attempts %d: must be 1 to 5", s.CaptchaAttempts))
	}
	if s.CaptchaDigits < 3 || s.CaptchaDigits > 8 {
		errs = append(errs, fmt.Errorf("CAPTCHA digits %d: must be 3 to 8", s.CaptchaDigits))
	}
	for _, k := range []struct {
		what string
		days int
	}{{"call records", s.KeepCallsDays}, {"notes", s.KeepNotesDays}, {"transcripts and voicemails", s.KeepTranscriptsDays}} {
		if k.days < 0 || k.days > MaxKeepDays {
			errs = append(errs, fmt.Errorf("keep %s %d days: must be 0 (forever) to %d", k.what, k.days, MaxKeepDays))
		}
	}
	return errors.Join(errs...)
}

// Settings returns the stored settings, or the defaults if none were saved.
func (tx *Tx) Settings() (Settings, error) {
	s := DefaultSettings()
	err := tx.getRecord(bucketMeta, keySettings, &s)
	if errors.Is(err, ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("store: settings: %w", err)
	}
	return s, nil
}

// PutSettings validates and saves the settings.
func (tx *Tx) PutSettings(s Settings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("store: settings: %w: %w", ErrInvalid, err)
	}
	return tx.putRecord(bucketMeta, keySettings, &s)
}
