package records

import (
	"cmp"
	"fmt"
	"sync"
	"time"

	"llamenos/fault"
	"llamenos/store"
)

// Limits bound what one volunteer can write, so a single account cannot
// fill the disk. Zero fields take the defaults below.
type Limits struct {
	NoteBytes        int   // one note's envelope
	NotesPerCall     int   // notes one author writes on one call
	RevisionsPerNote int   // saves of one note, the first included
	BytesPerDay      int64 // envelope bytes one author saves in 24 hours
}

// Default limits: a note of tens of thousands of words, twenty notes on a
// call, a hundred saves of one note, and 4 MiB of notes a day (thousands
// of ordinary notes).
const (
	DefaultNoteBytes        = 256 << 10
	DefaultNotesPerCall     = 20
	DefaultRevisionsPerNote = 100
	DefaultBytesPerDay      = 4 << 20
)

func (l Limits) withDefaults() Limits {
	return Limits{
		NoteBytes:        cmp.Or(l.NoteBytes, DefaultNoteBytes),
		NotesPerCall:     cmp.Or(l.NotesPerCall, DefaultNotesPerCall),
		RevisionsPerNote: cmp.Or(l.RevisionsPerNote, DefaultRevisionsPerNote),
		BytesPerDay:      cmp.Or(l.BytesPerDay, DefaultBytesPerDay),
	}
}

// usage counts each author's saved bytes over a 24-hour window that opens
// with their first save. It lives in memory: a restart of the daemon
// starts every window afresh.
type usage struct {
	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time
	bytes int64
}

const day = 24 * time.Hour

// reserve books n bytes for author, or refuses when that would pass the
// daily limit. release gives them back when the write did not happen.
func (u *usage) reserve(author string, n, limit int64, now time.Time) (release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.windows == nil {
		u.windows = map[string]*window{}
	}
	for k, w := range u.windows {
		if now.Sub(w.start) >= day {
			delete(u.windows, k)
		}
	}
	w := u.windows[author]
	if w == nil {
		w = &window{start: now}
		u.windows[author] = w
	}
	if w.bytes+n > limit {
		wait := w.start.Add(day).Sub(now).Round(time.Minute)
		return nil, fault.Quota("you have saved %d KiB of notes today; the limit is %d KiB a day. You can save again in %s, or ask an admin", w.bytes>>10, limit>>10, wait)
	}
	w.bytes += n
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.windows[author] == w {
			w.bytes -= n
		}
	}, nil
}

func checkNoteSize(env []byte, l Limits) error {
	if len(env) > l.NoteBytes {
		return fault.TooLarge("this note is %d KiB; a note may be at most %d KiB", len(env)>>10, l.NoteBytes>>10)
	}
	return nil
}

// notesOnCall counts author's notes on a call, stopping at limit.
func notesOnCall(tx *store.Tx, callID, author string, limit int) (int, error) {
	n, cursor := 0, ""
	for {
		page, next, err := tx.NotesByCall(callID, cursor, store.MaxLimit)
		if err != nil {
			return 0, fmt.Errorf("records: count notes: %w", err)
		}
		for _, note := range page {
			if note.Author == author {
				n++
			}
		}
		if next == "" || n >= limit {
			return n, nil
		}
		cursor = next
	}
}
