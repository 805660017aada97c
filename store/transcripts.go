package store

import (
	"errors"
	"fmt"
	"time"
)

// Transcript is a call's transcript, sealed by the daemon to the answering
// volunteer and every admin before the audio is discarded.
type Transcript struct {
	ID        string    `json:"id"`
	CallID    string    `json:"call"`
	CreatedAt time.Time `json:"created"`
	Envelope  []byte    `json:"env"`
}

// Voicemail is a voicemail's transcript, sealed to the admins. One per call.
type Voicemail struct {
	CallID    string    `json:"call"`
	CreatedAt time.Time `json:"created"`
	Envelope  []byte    `json:"env"`
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
	if err := checkEnvelope("transcript", t.Envelope, true); err != nil {
		errs = append(errs, err)
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
func (tx *Tx) PutVoicemail(v Voicemail) (Voicemail, error) {
	key, err := idBytes(v.CallID)
	if err != nil {
		return Voicemail{}, fmt.Errorf("store: put voicemail: %w: %w", ErrInvalid, err)
	}
	if err := checkEnvelope("voicemail", v.Envelope, true); err != nil {
		return Voicemail{}, fmt.Errorf("store: put voicemail: %w: %w", ErrInvalid, err)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = tx.now
	}
	v.CreatedAt, v.Envelope = v.CreatedAt.UTC(), clone(v.Envelope)
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

// Voicemail returns a call's voicemail.
func (tx *Tx) Voicemail(callID string) (Voicemail, error) {
	return getByID[Voicemail](tx, bucketVoicemails, "voicemail for call", callID)
}
