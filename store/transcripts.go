package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Transcript is a call's transcript, sealed by the daemon to the answering
// volunteer and every admin before the audio is discarded; or, Failed and
// without an envelope, the record that the call was to be transcribed and
// the transcription failed (twice).
type Transcript struct {
	ID        string    `json:"id"`
	CallID    string    `json:"call"`
	CreatedAt time.Time `json:"created"`
	Envelope  []byte    `json:"env,omitempty"`
	Failed    bool      `json:"failed,omitempty"`
}

// Voicemail is the message a caller left when nobody answered, one per
// call. Everything a person said is sealed by the daemon to every admin:
// the audio (purpose voicemail-audio, item "audio"), unless the admins keep
// only transcripts, and the transcript (purpose voicemail-transcript, item
// "voicemail") once one is made. The rest is metadata for the list.
type Voicemail struct {
	CallID    string    `json:"call"`
	CreatedAt time.Time `json:"created"`
	// Envelope is the transcript: JSON segments, sealed; empty until the
	// transcription is done.
	Envelope []byte `json:"env,omitempty"`
	// Audio is 8 kHz µ-law, sealed; empty when the audio was not kept.
	Audio []byte `json:"audio,omitempty"`
	// Length is how long the message is.
	Length time.Duration `json:"len"`
	// Language is the language the caller chose (ISO 639-1).
	Language string `json:"lang,omitempty"`
	// Transcription is where the transcript stands (Transcription*).
	Transcription string `json:"tr,omitempty"`
	// HandledAt and HandledBy: an admin marked the voicemail handled.
	HandledAt time.Time `json:"handled_at,omitzero"`
	HandledBy string    `json:"handled_by,omitempty"`
}

// Where a voicemail's transcript stands.
const (
	TranscriptionNone    = "none"    // no transcriber on this box
	TranscriptionPending = "pending" // queued or running
	TranscriptionDone    = "done"    // Envelope holds it
	TranscriptionFailed  = "failed"  // failed twice; the audio (if kept) is all there is
)

// normalize fills in Transcription for a record that does not say (those
// written before voicemails were taken held a transcript or nothing).
func (v *Voicemail) normalize() {
	if v.Transcription == "" {
		v.Transcription = TranscriptionNone
		if len(v.Envelope) > 0 {
			v.Transcription = TranscriptionDone
		}
	}
}

func (v *Voicemail) validate() error {
	var errs []error
	if err := ValidID(v.CallID); err != nil {
		errs = append(errs, fmt.Errorf("call: %w", err))
	}
	if _, err := timeKey(v.CreatedAt); err != nil {
		errs = append(errs, fmt.Errorf("created: %w", err))
	}
	if err := checkEnvelope("voicemail transcript", v.Envelope, false); err != nil {
		errs = append(errs, err)
	}
	if err := checkEnvelope("voicemail audio", v.Audio, false); err != nil {
		errs = append(errs, err)
	}
	if len(v.Envelope) == 0 && len(v.Audio) == 0 && v.Transcription != TranscriptionPending {
		errs = append(errs, errors.New("a voicemail holds its audio, its transcript, or a transcript to come"))
	}
	switch v.Transcription {
	case TranscriptionNone, TranscriptionPending, TranscriptionDone, TranscriptionFailed:
	default:
		errs = append(errs, fmt.Errorf("transcription %q: want none, pending, done or failed", truncate(v.Transcription, 20)))
	}
	if (v.Transcription == TranscriptionDone) != (len(v.Envelope) > 0) {
		errs = append(errs, errors.New("a transcript is there exactly when the transcription is done"))
	}
	if v.Length < 0 {
		errs = append(errs, errors.New("negative length"))
	}
	if v.HandledBy != "" {
		if err := ValidPubKey(v.HandledBy); err != nil {
			errs = append(errs, fmt.Errorf("handled by: %w", err))
		}
	}
	if v.HandledAt.IsZero() != (v.HandledBy == "") {
		errs = append(errs, errors.New("handled: both the time and the admin, or neither"))
	}
	return errors.Join(errs...)
}

func (t *Transcript) validate() error {
	var errs []error
	if err := ValidID(t.ID); err != nil {
		errs = append(errs, err)
	}
	if err := ValidID(t.CallID); err != nil {
		errs = append(errs, fmt.Errorf("call: %w", err))
	}
	if _, err := timeKey(t.CreatedAt); err != nil {
		errs = append(errs, fmt.Errorf("created: %w", err))
	}
	if err := checkEnvelope("transcript", t.Envelope, !t.Failed); err != nil {
		errs = append(errs, err)
	}
	if t.Failed && len(t.Envelope) > 0 {
		errs = append(errs, errors.New("a failed transcript has no envelope"))
	}
	return errors.Join(errs...)
}

func (t *Transcript) indexEntries() []indexEntry {
	id, _ := idBytes(t.ID)
	call, _ := idBytes(t.CallID)
	ts, _ := timeKey(t.CreatedAt)
	return []indexEntry{{bucketTranscrCl, cat(call, ts, id)}}
}

// PutTranscript stores a new transcript of an existing call and flags the
// call. CreatedAt defaults to the tx time.
func (tx *Tx) PutTranscript(t Transcript) (Transcript, error) {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = tx.now
	}
	t.CreatedAt, t.Envelope = t.CreatedAt.UTC(), clone(t.Envelope)
	if err := t.validate(); err != nil {
		return Transcript{}, fmt.Errorf("store: put transcript: %w: %w", ErrInvalid, err)
	}
	key, _ := idBytes(t.ID)
	b, err := tx.bucket(bucketTranscr)
	if err != nil {
		return Transcript{}, err
	}
	if b.Get(key) != nil {
		return Transcript{}, fmt.Errorf("store: put transcript %s: %w", t.ID, ErrExists)
	}
	if err := tx.setCallFlag(t.CallID, func(c *Call) bool {
		was := c.HasTranscript
		c.HasTranscript = true
		return !was
	}); err != nil {
		return Transcript{}, fmt.Errorf("store: put transcript: %w", err)
	}
	if err := tx.putRecord(bucketTranscr, key, &t); err != nil {
		return Transcript{}, err
	}
	return t, tx.reindex(nil, t.indexEntries())
}

// Transcript returns one transcript.
func (tx *Tx) Transcript(id string) (Transcript, error) {
	return getByID[Transcript](tx, bucketTranscr, "transcript", id)
}

// TranscriptsByCall returns a call's transcripts, newest first.
func (tx *Tx) TranscriptsByCall(callID string) ([]Transcript, error) {
	call, err := idBytes(callID)
	if err != nil {
		return nil, fmt.Errorf("store: transcripts: %w: %w", ErrInvalid, err)
	}
	var out []Transcript
	cursor := ""
	for {
		page, next, err := listPage(tx, bucketTranscrCl, call, cursorTranscripts, cursor, MaxLimit, nil, nil, func(id []byte) (Transcript, bool, error) {
			var t Transcript
			if err := tx.getRecord(bucketTranscr, id, &t); err != nil {
				return Transcript{}, false, fmt.Errorf("store: transcript %s: %w", idString(id), err)
			}
			return t, true, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func (tx *Tx) deleteTranscript(key []byte) error {
	var t Transcript
	if err := tx.getRecord(bucketTranscr, key, &t); err != nil {
		return fmt.Errorf("store: transcript %s: %w", idString(key), err)
	}
	b, err := tx.bucket(bucketTranscr)
	if err != nil {
		return err
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete transcript: %w", err)
	}
	return tx.reindex(t.indexEntries(), nil)
}

// PutVoicemail stores the voicemail of an existing call and flags the call.
// CreatedAt defaults to the tx time.
func (tx *Tx) PutVoicemail(v Voicemail) (Voicemail, error) {
	if v.CreatedAt.IsZero() {
		v.CreatedAt = tx.now
	}
	v.CreatedAt, v.Envelope, v.Audio = v.CreatedAt.UTC(), clone(v.Envelope), clone(v.Audio)
	v.normalize()
	if err := v.validate(); err != nil {
		return Voicemail{}, fmt.Errorf("store: put voicemail: %w: %w", ErrInvalid, err)
	}
	key, _ := idBytes(v.CallID)
	b, err := tx.bucket(bucketVoicemails)
	if err != nil {
		return Voicemail{}, err
	}
	if b.Get(key) != nil {
		return Voicemail{}, fmt.Errorf("store: put voicemail for call %s: %w", v.CallID, ErrExists)
	}
	if err := tx.setCallFlag(v.CallID, func(c *Call) bool {
		was := c.HasVoicemail
		c.HasVoicemail = true
		return !was
	}); err != nil {
		return Voicemail{}, fmt.Errorf("store: put voicemail: %w", err)
	}
	return v, tx.putRecord(bucketVoicemails, key, &v)
}

// UpdateVoicemail changes a stored voicemail: f gets it and edits it in
// place. The call id and creation time stay what they were.
func (tx *Tx) UpdateVoicemail(callID string, f func(v *Voicemail) error) (Voicemail, error) {
	v, err := tx.Voicemail(callID)
	if err != nil {
		return Voicemail{}, err
	}
	id, created := v.CallID, v.CreatedAt
	if err := f(&v); err != nil {
		return Voicemail{}, err
	}
	v.CallID, v.CreatedAt = id, created
	v.HandledAt = v.HandledAt.UTC()
	if err := v.validate(); err != nil {
		return Voicemail{}, fmt.Errorf("store: update voicemail: %w: %w", ErrInvalid, err)
	}
	key, _ := idBytes(v.CallID)
	return v, tx.putRecord(bucketVoicemails, key, &v)
}

// Voicemail returns a call's voicemail.
func (tx *Tx) Voicemail(callID string) (Voicemail, error) {
	v, err := getByID[Voicemail](tx, bucketVoicemails, "voicemail for call", callID)
	v.normalize()
	return v, err
}

// Voicemails returns every voicemail, newest first. There is at most one
// per call and retention removes them with their calls, so the list stays
// as short as the hotline's unanswered calls.
func (tx *Tx) Voicemails() ([]Voicemail, error) {
	all, err := listAll[Voicemail](tx, bucketVoicemails)
	if err != nil {
		return nil, err
	}
	for i := range all {
		all[i].normalize()
	}
	slices.SortFunc(all, func(a, b Voicemail) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.CallID, b.CallID)
	})
	return all, nil
}
