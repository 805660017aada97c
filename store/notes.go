package store

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Note is a volunteer's note on a call: an envelope sealed in the browser to
// the author and every admin, bound to the call and note ids. Edits keep the
// replaced envelopes (NoteHistory), append-only.
type Note struct {
	ID        string    `json:"id"`
	CallID    string    `json:"call"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created"`
	UpdatedAt time.Time `json:"updated"`
	Revision  uint32    `json:"rev"`
	Envelope  []byte    `json:"env"`
}

// NoteRevision is an envelope an edit replaced.
type NoteRevision struct {
	NoteID     string    `json:"note"`
	Revision   uint32    `json:"rev"`
	Envelope   []byte    `json:"env"`
	WrittenAt  time.Time `json:"written"`
	ReplacedAt time.Time `json:"replaced"`
}

func (n *Note) validate() error {
	var errs []error
	if err := ValidID(n.ID); err != nil {
		errs = append(errs, err)
	}
	if err := ValidID(n.CallID); err != nil {
		errs = append(errs, fmt.Errorf("call: %w", err))
	}
	if err := ValidPubKey(n.Author); err != nil {
		errs = append(errs, fmt.Errorf("author: %w", err))
	}
	if _, err := timeKey(n.CreatedAt); err != nil {
		errs = append(errs, fmt.Errorf("created: %w", err))
	}
	if err := checkEnvelope("note", n.Envelope, true); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (n *Note) indexEntries() []indexEntry {
	id, _ := idBytes(n.ID)
	call, _ := idBytes(n.CallID)
	author, _ := hex.DecodeString(n.Author)
	ts, _ := timeKey(n.CreatedAt)
	return []indexEntry{
		{bucketNotesCall, cat(call, ts, id)},
		{bucketNotesAuth, cat(author, ts, id)},
	}
}

// CreateNote stores a new note on an existing call and marks the call as
// having a note. CreatedAt defaults to the tx time.
func (tx *Tx) CreateNote(n Note) (Note, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = tx.now
	}
	n.CreatedAt = n.CreatedAt.UTC()
	n.UpdatedAt, n.Revision, n.Envelope = n.CreatedAt, 1, clone(n.Envelope)
	if err := n.validate(); err != nil {
		return Note{}, fmt.Errorf("store: create note: %w: %w", ErrInvalid, err)
	}
	key, _ := idBytes(n.ID)
	b, err := tx.bucket(bucketNotes)
	if err != nil {
		return Note{}, err
	}
	if b.Get(key) != nil {
		return Note{}, fmt.Errorf("store: create note %s: %w", n.ID, ErrExists)
	}
	if err := tx.setCallFlag(n.CallID, func(c *Call) bool {
		was := c.HasNote
		c.HasNote = true
		return !was
	}); err != nil {
		return Note{}, fmt.Errorf("store: create note: %w", err)
	}
	if err := tx.putRecord(bucketNotes, key, &n); err != nil {
		return Note{}, err
	}
	return n, tx.reindex(nil, n.indexEntries())
}

// Note returns one note.
func (tx *Tx) Note(id string) (Note, error) { return getByID[Note](tx, bucketNotes, "note", id) }

func historyKey(noteKey []byte, rev uint32) []byte {
	return binary.BigEndian.AppendUint32(clone(noteKey), rev)
}

// EditNote replaces a note's envelope, keeping the old one in its history.
func (tx *Tx) EditNote(id string, envelope []byte) (Note, error) {
	if err := checkEnvelope("note", envelope, true); err != nil {
		return Note{}, fmt.Errorf("store: edit note: %w: %w", ErrInvalid, err)
	}
	n, err := tx.Note(id)
	if err != nil {
		return Note{}, err
	}
	key, _ := idBytes(id)
	hist, err := tx.bucket(bucketNoteHist)
	if err != nil {
		return Note{}, err
	}
	hk := historyKey(key, n.Revision)
	if hist.Get(hk) != nil {
		return Note{}, fmt.Errorf("store: note %s revision %d already in history: %w", id, n.Revision, ErrCorrupt)
	}
	rev := NoteRevision{NoteID: n.ID, Revision: n.Revision, Envelope: n.Envelope, WrittenAt: n.UpdatedAt, ReplacedAt: tx.now}
	if err := tx.putRecord(bucketNoteHist, hk, &rev); err != nil {
		return Note{}, err
	}
	n.Envelope, n.UpdatedAt, n.Revision = clone(envelope), tx.now, n.Revision+1
	return n, tx.putRecord(bucketNotes, key, &n)
}

// NoteHistory returns the replaced envelopes of a note, oldest first.
func (tx *Tx) NoteHistory(id string) ([]NoteRevision, error) {
	key, err := idBytes(id)
	if err != nil {
		return nil, fmt.Errorf("store: note history: %w: %w", ErrInvalid, err)
	}
	b, err := tx.bucket(bucketNoteHist)
	if err != nil {
		return nil, err
	}
	var out []NoteRevision
	c := b.Cursor()
	for k, v := c.Seek(key); k != nil && len(k) == 20 && string(k[:16]) == string(key); k, v = c.Next() {
		var r NoteRevision
		if err := decodeRecord(v, &r); err != nil {
			return nil, fmt.Errorf("store: note history %x: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (tx *Tx) noteByKey(key []byte) (Note, error) {
	var n Note
	if err := tx.getRecord(bucketNotes, key, &n); err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: index refers to a missing note", ErrCorrupt)
		}
		return Note{}, fmt.Errorf("store: note %s: %w", idString(key), err)
	}
	return n, nil
}

// NotesByCall lists a call's notes, newest first, one page at a time.
func (tx *Tx) NotesByCall(callID, cursor string, limit int) ([]Note, string, error) {
	call, err := idBytes(callID)
	if err != nil {
		return nil, "", fmt.Errorf("store: notes by call: %w: %w", ErrInvalid, err)
	}
	return listPage(tx, bucketNotesCall, call, cursorNotes, cursor, limit, nil, nil, func(id []byte) (Note, bool, error) {
		n, err := tx.noteByKey(id)
		return n, err == nil, err
	})
}

// NotesByAuthor lists a volunteer's notes, newest first, one page at a time.
func (tx *Tx) NotesByAuthor(pk, cursor string, limit int) ([]Note, string, error) {
	author, err := pubKeyBytes(pk)
	if err != nil {
		return nil, "", fmt.Errorf("store: notes by author: %w: %w", ErrInvalid, err)
	}
	return listPage(tx, bucketNotesAuth, author, cursorNotes, cursor, limit, nil, nil, func(id []byte) (Note, bool, error) {
		n, err := tx.noteByKey(id)
		return n, err == nil, err
	})
}

// deleteNote removes a note, its history and its index keys.
func (tx *Tx) deleteNote(key []byte) error {
	n, err := tx.noteByKey(key)
	if err != nil {
		return err
	}
	hist, err := tx.bucket(bucketNoteHist)
	if err != nil {
		return err
	}
	for r := uint32(1); r < n.Revision; r++ {
		if err := hist.Delete(historyKey(key, r)); err != nil {
			return fmt.Errorf("store: delete note history: %w", err)
		}
	}
	b, err := tx.bucket(bucketNotes)
	if err != nil {
		return err
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete note: %w", err)
	}
	return tx.reindex(n.indexEntries(), nil)
}
