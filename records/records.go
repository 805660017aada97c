// Package records is the hotline's call history and the notes written on
// it, with who may see and write what, in one place: admins see every call
// and note; a volunteer sees only the calls they answered and their own
// notes; only the volunteer who answered a call writes its notes, and only
// a note's author edits it; every note is sealed to its author and every
// active admin; and no one writes more than their limits allow.
package records

import (
	"context"
	"errors"
	"time"

	"llamenos/auth"
	"llamenos/fault"
	"llamenos/store"
)

// Service reads and writes call records' notes for signed-in people.
type Service struct {
	Store  *store.Store
	Limits Limits           // zero fields: the defaults
	Now    func() time.Time // nil: time.Now
	// Transcribes says this box makes transcripts (a transcriber is
	// configured), so the admins' pages can say plainly when it does not.
	Transcribes bool

	usage usage
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// PageSize is how many calls one page of history holds.
const PageSize = 50

// Calls returns one page of the call history who may see: everything for
// an admin (optionally one volunteer's calls), only the calls they answered
// for a volunteer (f.Volunteer is ignored for them).
func (s *Service) Calls(ctx context.Context, who auth.Identity, f store.CallFilter, cursor string) ([]store.Call, string, error) {
	switch {
	case !who.IsAdmin():
		f.Volunteer = who.PubKey
	case f.Volunteer != "" && store.ValidPubKey(f.Volunteer) != nil:
		return nil, "", fault.Invalidf("volunteer must be a public key")
	}
	type page struct {
		calls []store.Call
		next  string
	}
	p, err := store.Read(ctx, s.Store, func(tx *store.Tx) (page, error) {
		c, next, err := tx.ListCalls(f, cursor, PageSize)
		return page{c, next}, err
	})
	if errors.Is(err, store.ErrInvalid) {
		return nil, "", fault.Invalidf("bad cursor or filter: %v", err)
	}
	return p.calls, p.next, err
}

// readable loads a record by id for who: admins see every one, anyone
// else only those owner names as theirs. Someone else's record is "no
// such <what>", exactly like one that does not exist, so ids cannot be
// probed.
func readable[T any](who auth.Identity, id, what string, get func(string) (T, error), owner func(T) string) (T, error) {
	var zero T
	if store.ValidID(id) != nil {
		return zero, fault.NotFound("no such " + what)
	}
	r, err := get(id)
	if errors.Is(err, store.ErrNotFound) {
		return zero, fault.NotFound("no such " + what)
	}
	if err != nil {
		return zero, err
	}
	if !who.IsAdmin() && owner(r) != who.PubKey {
		return zero, fault.NotFound("no such " + what)
	}
	return r, nil
}

// readableCall loads a call who may see: a volunteer sees the calls they
// answered.
func readableCall(tx *store.Tx, who auth.Identity, id string) (store.Call, error) {
	return readable(who, id, "call", tx.Call, func(c store.Call) string { return c.AnsweredBy })
}

// Call returns one call record who may see.
func (s *Service) Call(ctx context.Context, who auth.Identity, id string) (store.Call, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) (store.Call, error) { return readableCall(tx, who, id) })
}

// CallNotes returns the notes of a call who may see: all of them for an
// admin, their own for the volunteer who answered.
func (s *Service) CallNotes(ctx context.Context, who auth.Identity, callID string) ([]store.Note, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Note, error) {
		c, err := readableCall(tx, who, callID)
		if err != nil {
			return nil, err
		}
		var out []store.Note
		cursor := ""
		for {
			page, next, err := tx.NotesByCall(c.ID, cursor, store.MaxLimit)
			if err != nil {
				return nil, err
			}
			for _, n := range page {
				if who.IsAdmin() || n.Author == who.PubKey {
					out = append(out, n)
				}
			}
			if next == "" {
				return out, nil
			}
			cursor = next
		}
	})
}

// CreateNote stores a note on a call. Only the volunteer who answered the
// call writes its notes; the id is chosen by the browser because it is
// bound into the envelope.
func (s *Service) CreateNote(ctx context.Context, who auth.Identity, callID, noteID string, env []byte) (store.Note, error) {
	if store.ValidID(noteID) != nil {
		return store.Note{}, fault.Invalidf("id must be a lowercase UUID chosen by the browser (it is bound into the envelope)")
	}
	lim := s.Limits.withDefaults()
	if err := checkNoteSize(env, lim); err != nil {
		return store.Note{}, err
	}
	release, err := s.usage.reserve(who.PubKey, int64(len(env)), lim.BytesPerDay, s.now())
	if err != nil {
		return store.Note{}, err
	}
	n, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Note, error) {
		c, err := readableCall(tx, who, callID)
		if err != nil {
			return store.Note{}, err
		}
		if c.AnsweredBy != who.PubKey {
			return store.Note{}, fault.Forbidden("only the volunteer who answered this call can write its notes")
		}
		if err := tx.CheckSealed(env, who.PubKey); err != nil {
			return store.Note{}, err
		}
		if k, err := notesOnCall(tx, c.ID, who.PubKey, lim.NotesPerCall); err != nil {
			return store.Note{}, err
		} else if k >= lim.NotesPerCall {
			return store.Note{}, fault.Quota("you have written %d notes on this call, the most allowed; edit one of them instead", k)
		}
		n, err := tx.CreateNote(store.Note{ID: noteID, CallID: c.ID, Author: who.PubKey, Envelope: env})
		if errors.Is(err, store.ErrExists) {
			return n, fault.Conflict("a note with this id exists; edit it instead")
		}
		if err != nil {
			return n, err
		}
		return n, tx.Audit(who.PubKey, "note.created", "note:"+n.ID, "call:"+c.ID)
	})
	if err != nil {
		release()
	}
	return n, err
}

// readableNote loads a note its author or an admin may read.
func readableNote(tx *store.Tx, who auth.Identity, id string) (store.Note, error) {
	return readable(who, id, "note", tx.Note, func(n store.Note) string { return n.Author })
}

// Note returns a note and its earlier revisions.
func (s *Service) Note(ctx context.Context, who auth.Identity, id string) (store.Note, []store.NoteRevision, error) {
	type full struct {
		n    store.Note
		hist []store.NoteRevision
	}
	f, err := store.Read(ctx, s.Store, func(tx *store.Tx) (full, error) {
		n, err := readableNote(tx, who, id)
		if err != nil {
			return full{}, err
		}
		h, err := tx.NoteHistory(n.ID)
		return full{n, h}, err
	})
	return f.n, f.hist, err
}

// EditNote replaces a note's envelope; only its author may, and the new
// envelope is sealed like the first.
func (s *Service) EditNote(ctx context.Context, who auth.Identity, id string, env []byte) (store.Note, error) {
	lim := s.Limits.withDefaults()
	if err := checkNoteSize(env, lim); err != nil {
		return store.Note{}, err
	}
	release, err := s.usage.reserve(who.PubKey, int64(len(env)), lim.BytesPerDay, s.now())
	if err != nil {
		return store.Note{}, err
	}
	n, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Note, error) {
		n, err := readableNote(tx, who, id)
		if err != nil {
			return n, err
		}
		if n.Author != who.PubKey {
			return n, fault.Forbidden("only its author can edit a note")
		}
		if int(n.Revision) >= lim.RevisionsPerNote {
			return n, fault.Quota("this note has been saved %d times, the most allowed; write a new note for anything more", n.Revision)
		}
		if err := tx.CheckSealed(env, who.PubKey); err != nil {
			return n, err
		}
		n, err = tx.EditNote(n.ID, env)
		if err != nil {
			return n, err
		}
		return n, tx.Audit(who.PubKey, "note.edited", "note:"+n.ID, "call:"+n.CallID)
	})
	if err != nil {
		release()
	}
	return n, err
}

// NotesBy pages through one author's notes, newest first: a volunteer's
// own (author is ignored for them), or any author's for an admin.
func (s *Service) NotesBy(ctx context.Context, who auth.Identity, author, cursor string, limit int) ([]store.Note, string, error) {
	if !who.IsAdmin() || author == "" {
		author = who.PubKey
	} else if store.ValidPubKey(author) != nil {
		return nil, "", fault.Invalidf("author must be a public key")
	}
	type page struct {
		notes []store.Note
		next  string
	}
	p, err := store.Read(ctx, s.Store, func(tx *store.Tx) (page, error) {
		n, next, err := tx.NotesByAuthor(author, cursor, limit)
		return page{n, next}, err
	})
	if errors.Is(err, store.ErrInvalid) {
		return nil, "", fault.Invalidf("bad cursor")
	}
	return p.notes, p.next, err
}

// ForgeCopy plays a compromised server, for the demo's integrity check: it
// copies a note's envelope into a new note on another call, bypassing every
// rule above. The envelope is bound to its original call and note, so every
// browser must refuse to open the copy. Only the demo's tamper route calls
// it.
func (s *Service) ForgeCopy(ctx context.Context, actor, noteID, callID string) (store.Note, error) {
	if store.ValidID(noteID) != nil || store.ValidID(callID) != nil {
		return store.Note{}, fault.Invalidf("noteId and callId must be ids")
	}
	return store.Write(ctx, s.Store, func(tx *store.Tx) (store.Note, error) {
		src, err := tx.Note(noteID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Note{}, fault.NotFound("no such note")
		}
		if err != nil {
			return store.Note{}, err
		}
		if _, err := tx.Call(callID); errors.Is(err, store.ErrNotFound) {
			return store.Note{}, fault.NotFound("no such call")
		} else if err != nil {
			return store.Note{}, err
		}
		id, err := store.NewID()
		if err != nil {
			return store.Note{}, err
		}
		n, err := tx.CreateNote(store.Note{ID: id, CallID: callID, Author: src.Author, Envelope: src.Envelope})
		if err != nil {
			return n, err
		}
		return n, tx.Audit(actor, "demo.note_tampered", "note:"+n.ID, "call:"+callID)
	})
}
