package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Outcome is how a call ended.
type Outcome string

const (
	// OutcomeInProgress marks a record written while the call is live (at
	// answer, so notes can refer to it); the hotline rewrites it at hangup.
	OutcomeInProgress  Outcome = "in_progress"
	OutcomeAnswered    Outcome = "answered"
	OutcomeAbandoned   Outcome = "abandoned" // caller hung up while waiting
	OutcomeUnanswered  Outcome = "unanswered"
	OutcomeVoicemail   Outcome = "voicemail"
	OutcomeBanned      Outcome = "banned"
	OutcomeRateLimited Outcome = "rate_limited"
	OutcomeFailed      Outcome = "failed"
)

func (o Outcome) valid() bool {
	switch o {
	case OutcomeInProgress, OutcomeAnswered, OutcomeAbandoned, OutcomeUnanswered,
		OutcomeVoicemail, OutcomeBanned, OutcomeRateLimited, OutcomeFailed:
		return true
	}
	return false
}

// Call is a call's metadata, which the server may know (times, queue wait,
// duration, who answered, outcome). QueuedAt is when the caller entered the
// queue (zero: never, as after a hang-up in the menu); RangAt is when the
// answerer's browser started ringing, so AnsweredAt-RangAt is their
// ring-to-answer time. The caller's number exists only as CallerHash
// (CallerKey; erased once the call is older than CallerHashWindow) and as
// CallerNumber, an envelope sealed to the admins.
type Call struct {
	ID           string        `json:"id"`
	StartedAt    time.Time     `json:"start"`
	AnsweredAt   time.Time     `json:"ans,omitzero"`
	EndedAt      time.Time     `json:"end,omitzero"`
	QueuedAt     time.Time     `json:"queued,omitzero"`
	RangAt       time.Time     `json:"rang,omitzero"`
	QueueWait    time.Duration `json:"wait,omitempty"`
	Duration     time.Duration `json:"dur,omitempty"`
	AnsweredBy   string        `json:"by,omitempty"`
	Outcome      Outcome       `json:"out"`
	Language     string        `json:"lang,omitempty"`
	CallerHash   Hash          `json:"ch"`
	CallerNumber []byte        `json:"cn,omitempty"`
	// Transcribed: the call was to be transcribed (the caller heard so);
	// its transcript, or the record that it failed, follows the call.
	Transcribed bool `json:"transcribed,omitempty"`
	// The flags are kept by the store: CreateNote, PutTranscript and
	// PutVoicemail set them in the same transaction.
	HasNote       bool `json:"note,omitempty"`
	HasTranscript bool `json:"tr,omitempty"`
	HasVoicemail  bool `json:"vm,omitempty"`
}

func (c *Call) validate() error {
	var errs []error
	if err := ValidID(c.ID); err != nil {
		errs = append(errs, err)
	}
	if c.StartedAt.IsZero() {
		errs = append(errs, errors.New("start time missing"))
	} else if _, err := timeKey(c.StartedAt); err != nil {
		errs = append(errs, fmt.Errorf("start time: %w", err))
	}
	if c.AnsweredBy != "" {
		if err := ValidPubKey(c.AnsweredBy); err != nil {
			errs = append(errs, fmt.Errorf("answered by: %w", err))
		}
	}
	if !c.Outcome.valid() {
		errs = append(errs, fmt.Errorf("outcome %q: unknown", c.Outcome))
	}
	if c.QueueWait < 0 || c.Duration < 0 {
		errs = append(errs, errors.New("negative duration"))
	}
	if len(c.Language) > 16 {
		errs = append(errs, errors.New("language code too long"))
	}
	if err := checkEnvelope("caller number", c.CallerNumber, false); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Call) indexEntries() []indexEntry {
	id, _ := idBytes(c.ID)
	ts, _ := timeKey(c.StartedAt)
	pos := cat(ts, id)
	out := []indexEntry{
		{bucketCallsTime, pos},
		{bucketCallsFrom, cat(c.CallerHash[:], pos)},
	}
	if c.AnsweredBy != "" {
		pk, _ := hex.DecodeString(c.AnsweredBy)
		out = append(out, indexEntry{bucketCallsVol, cat(pk, pos)})
	}
	if c.HasNote {
		out = append(out, indexEntry{bucketCallsNoted, pos})
	}
	return out
}

// PutCall creates or replaces a call record. The Has* flags of a stored
// record are kept (only the store sets them).
func (tx *Tx) PutCall(c Call) (Call, error) {
	if err := c.validate(); err != nil {
		return Call{}, fmt.Errorf("store: put call: %w: %w", ErrInvalid, err)
	}
	c.StartedAt, c.AnsweredAt, c.EndedAt = c.StartedAt.UTC(), c.AnsweredAt.UTC(), c.EndedAt.UTC()
	c.QueuedAt, c.RangAt = c.QueuedAt.UTC(), c.RangAt.UTC()
	c.CallerNumber = clone(c.CallerNumber)
	var oldIdx []indexEntry
	old, err := tx.Call(c.ID)
	switch {
	case err == nil:
		c.HasNote, c.HasTranscript, c.HasVoicemail = old.HasNote, old.HasTranscript, old.HasVoicemail
		oldIdx = old.indexEntries()
	case errors.Is(err, ErrNotFound):
		c.HasNote, c.HasTranscript, c.HasVoicemail = false, false, false
	default:
		return Call{}, err
	}
	return c, tx.writeCall(&c, oldIdx)
}

func (tx *Tx) writeCall(c *Call, oldIdx []indexEntry) error {
	key, _ := idBytes(c.ID)
	b, err := tx.bucket(bucketCalls)
	if err != nil {
		return err
	}
	// UUIDv7 ids arrive in time order: fuller pages, smaller file.
	b.FillPercent = 0.9
	if err := tx.putRecord(bucketCalls, key, c); err != nil {
		return err
	}
	return tx.reindex(oldIdx, c.indexEntries())
}

// setCallFlag marks a call as having a note, transcript or voicemail.
func (tx *Tx) setCallFlag(callID string, set func(*Call) bool) error {
	c, err := tx.Call(callID)
	if err != nil {
		return err
	}
	oldIdx := c.indexEntries()
	if !set(&c) {
		return nil
	}
	return tx.writeCall(&c, oldIdx)
}

// Call returns one call record.
func (tx *Tx) Call(id string) (Call, error) { return getByID[Call](tx, bucketCalls, "call", id) }

func (tx *Tx) callByKey(key []byte) (Call, error) {
	var c Call
	if err := tx.getRecord(bucketCalls, key, &c); err != nil {
		if errors.Is(err, ErrNotFound) {
			// An index names a call that is not there.
			err = fmt.Errorf("%w: index refers to a missing call", ErrCorrupt)
		}
		return Call{}, fmt.Errorf("store: call %s: %w", idString(key), err)
	}
	return c, nil
}

// CallFilter narrows ListCalls. Zero fields do not filter.
type CallFilter struct {
	From      time.Time // started at or after
	To        time.Time // started before
	Volunteer string    // answered by this public key
	HasNote   bool      // only calls with a note
}

// ListCalls returns one page of calls, newest first by start time. cursor is
// "" for the first page, then the next value of the previous page; next is
// "" after the last page. limit defaults to 50 (at most 200).
func (tx *Tx) ListCalls(f CallFilter, cursor string, limit int) (calls []Call, next string, err error) {
	index, prefix := bucketCallsTime, []byte(nil)
	postNote := false
	switch {
	case f.Volunteer != "":
		pk, err := pubKeyBytes(f.Volunteer)
		if err != nil {
			return nil, "", fmt.Errorf("store: list calls: %w: %w", ErrInvalid, err)
		}
		index, prefix, postNote = bucketCallsVol, pk, f.HasNote
	case f.HasNote:
		index = bucketCallsNoted
	}
	var from, to []byte
	if !f.From.IsZero() {
		if from, err = timeKey(f.From); err != nil {
			return nil, "", fmt.Errorf("store: list calls: %w: from %w", ErrInvalid, err)
		}
	}
	if !f.To.IsZero() {
		if to, err = timeKey(f.To); err != nil {
			return nil, "", fmt.Errorf("store: list calls: %w: to %w", ErrInvalid, err)
		}
	}
	return listPage(tx, index, prefix, cursorCalls, cursor, limit, from, to, func(id []byte) (Call, bool, error) {
		c, err := tx.callByKey(id)
		if err != nil {
			return Call{}, false, err
		}
		return c, !postNote || c.HasNote, nil
	})
}

// CallerHashWindow is how long a call record keeps its caller hash: the
// rate limit's window (calls per minute). EraseCallerHashes erases it after.
const CallerHashWindow = time.Minute

// EraseCallerHashes zeroes the caller hash of every call that started
// before t, and returns how many it erased. Only calls still holding a hash
// are visited: their index entries are the ones outside the zero prefix.
func (tx *Tx) EraseCallerHashes(t time.Time) (int, error) {
	b, err := tx.bucket(bucketCallsFrom)
	if err != nil {
		return 0, err
	}
	var ids [][]byte
	var zero Hash
	c := b.Cursor()
	for k, _ := c.Seek(prefixEnd(zero[:])); k != nil; k, _ = c.Next() {
		if len(k) != 32+8+16 {
			return 0, fmt.Errorf("store: erase caller hashes: %w: index key of %d bytes", ErrCorrupt, len(k))
		}
		started := time.Unix(0, int64(binary.BigEndian.Uint64(k[32:40])))
		if started.Before(t) {
			ids = append(ids, clone(k[40:]))
		}
	}
	for _, id := range ids {
		call, err := tx.callByKey(id)
		if err != nil {
			return 0, err
		}
		old := call.indexEntries()
		call.CallerHash = Hash{}
		if err := tx.writeCall(&call, old); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// HasCallerHashesBefore reports whether a call that started before t still
// holds its caller hash (EraseCallerHashes would change something).
func (tx *Tx) HasCallerHashesBefore(t time.Time) (bool, error) {
	b, err := tx.bucket(bucketCallsFrom)
	if err != nil {
		return false, err
	}
	var zero Hash
	c := b.Cursor()
	for k, _ := c.Seek(prefixEnd(zero[:])); k != nil; k, _ = c.Next() {
		if len(k) == 32+8+16 && time.Unix(0, int64(binary.BigEndian.Uint64(k[32:40]))).Before(t) {
			return true, nil
		}
	}
	return false, nil
}

// CountCallsFrom counts calls from a caller hash that started at or after
// since: the repeat-caller signal.
func (tx *Tx) CountCallsFrom(callerHash Hash, since time.Time) (int, error) {
	b, err := tx.bucket(bucketCallsFrom)
	if err != nil {
		return 0, err
	}
	floor := callerHash[:]
	if !since.IsZero() {
		ts, err := timeKey(since)
		if err != nil {
			return 0, fmt.Errorf("store: count calls: %w: %w", ErrInvalid, err)
		}
		floor = cat(callerHash[:], ts)
	}
	n := 0
	err = scanDesc(b, callerHash[:], nil, floor, func(k, _ []byte) (bool, error) {
		n++
		return false, nil
	})
	return n, err
}

// DeleteCall removes a call record, its notes (and their history),
// transcripts and voicemail: the retention path.
func (tx *Tx) DeleteCall(id string) error {
	c, err := tx.Call(id)
	if err != nil {
		return err
	}
	key, _ := idBytes(id)
	notes, err := tx.allByPrefix(bucketNotesCall, key)
	if err != nil {
		return err
	}
	for _, nk := range notes {
		if err := tx.deleteNote(nk); err != nil {
			return err
		}
	}
	trs, err := tx.allByPrefix(bucketTranscrCl, key)
	if err != nil {
		return err
	}
	for _, tk := range trs {
		if err := tx.deleteTranscript(tk); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketVoicemails, bucketCalls} {
		b, err := tx.bucket(name)
		if err != nil {
			return err
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("store: delete call: %w", err)
		}
	}
	return tx.reindex(c.indexEntries(), nil)
}

// allByPrefix returns the record ids (last 16 bytes) of index keys under prefix.
func (tx *Tx) allByPrefix(index, prefix []byte) ([][]byte, error) {
	b, err := tx.bucket(index)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, clone(k[len(k)-16:]))
	}
	return out, nil
}
