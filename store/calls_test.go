package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// allPages follows cursors to the end.
func allPages(t *testing.T, s *Store, f CallFilter, limit int) []Call {
	t.Helper()
	var out []Call
	cursor := ""
	for range 1000 {
		page, next, err := func() ([]Call, string, error) {
			var (
				p []Call
				n string
			)
			err := s.View(context.Background(), func(tx *Tx) error {
				var err error
				p, n, err = tx.ListCalls(f, cursor, limit)
				return err
			})
			return p, n, err
		}()
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(page) > clampLimit(limit) {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		if next != "" && len(page) != clampLimit(limit) {
			t.Fatalf("short page %d with a next cursor", len(page))
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("cursor loop did not end")
	return nil
}

func TestListCalls(t *testing.T) {
	s, _ := openTest(t)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []Call
	update(t, s, func(tx *Tx) error {
		for i := range 230 {
			by := ""
			if i%3 != 2 {
				by = pk(i % 3)
			}
			// Random start times, some equal, written out of order.
			c := testCall(t, base.Add(time.Duration(rng.IntN(100000))*time.Second), by, Hash{byte(i % 5)})
			if i%3 == 2 {
				c.Outcome, c.AnsweredAt = OutcomeUnanswered, time.Time{}
			}
			if i%50 == 0 {
				c.StartedAt = base.Add(5 * time.Hour)
			}
			stored, err := tx.PutCall(c)
			if err != nil {
				return err
			}
			all = append(all, stored)
		}
		return nil
	})
	// Notes on every 7th answered call.
	noted := map[string]bool{}
	update(t, s, func(tx *Tx) error {
		for i, c := range all {
			if i%7 == 0 && c.AnsweredBy != "" {
				if _, err := tx.CreateNote(Note{ID: newID(t), CallID: c.ID, Author: c.AnsweredBy, Envelope: []byte("sealed")}); err != nil {
					return err
				}
				noted[c.ID] = true
			}
		}
		return nil
	})
	newestFirst := func(cs []Call) []Call {
		out := slices.Clone(cs)
		slices.SortFunc(out, func(a, b Call) int {
			if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
				return c
			}
			ia, _ := idBytes(a.ID)
			ib, _ := idBytes(b.ID)
			return -slices.Compare(ia, ib)
		})
		return out
	}
	ids := func(cs []Call) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	filter := func(keep func(Call) bool) []Call {
		var out []Call
		for _, c := range newestFirst(all) {
			if keep(c) {
				out = append(out, c)
			}
		}
		return out
	}
	from, to := base.Add(20000*time.Second), base.Add(60000*time.Second)
	cases := []struct {
		name  string
		f     CallFilter
		limit int
		want  []Call
	}{
		{"all", CallFilter{}, 50, filter(func(Call) bool { return true })},
		{"all small pages", CallFilter{}, 7, filter(func(Call) bool { return true })},
		{"volunteer", CallFilter{Volunteer: pk(1)}, 10, filter(func(c Call) bool { return c.AnsweredBy == pk(1) })},
		{"has note", CallFilter{HasNote: true}, 5, filter(func(c Call) bool { return noted[c.ID] })},
		{"volunteer with note", CallFilter{Volunteer: pk(0), HasNote: true}, 3, filter(func(c Call) bool { return c.AnsweredBy == pk(0) && noted[c.ID] })},
		{"date range", CallFilter{From: from, To: to}, 20, filter(func(c Call) bool { return !c.StartedAt.Before(from) && c.StartedAt.Before(to) })},
		{"range and volunteer", CallFilter{From: from, To: to, Volunteer: pk(1)}, 4, filter(func(c Call) bool {
			return c.AnsweredBy == pk(1) && !c.StartedAt.Before(from) && c.StartedAt.Before(to)
		})},
		{"nobody", CallFilter{Volunteer: pk(77)}, 50, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := allPages(t, s, c.f, c.limit)
			if !slices.Equal(ids(got), ids(c.want)) {
				t.Fatalf("got %d calls, want %d (or order differs)", len(got), len(c.want))
			}
			for _, g := range got {
				if g.HasNote != noted[g.ID] {
					t.Fatalf("call %s HasNote=%v", g.ID, g.HasNote)
				}
			}
		})
	}
	view(t, s, func(tx *Tx) error {
		n, err := tx.CountCallsFrom(Hash{3}, time.Time{})
		if n != 46 {
			t.Errorf("calls from hash 3: %d, want 46", n)
		}
		return err
	})
	mustCheck(t, s)
}

func TestCallCursorCannotEscapeFilter(t *testing.T) {
	s, _ := openTest(t)
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		for i := range 6 {
			if _, err := tx.PutCall(testCall(t, base.Add(time.Duration(i)*time.Minute), pk(i%2), Hash{1})); err != nil {
				return err
			}
		}
		return nil
	})
	var cursor string
	view(t, s, func(tx *Tx) error {
		var err error
		_, cursor, err = tx.ListCalls(CallFilter{}, "", 2)
		return err
	})
	// Volunteer 1 takes the all-calls cursor into their own listing: the
	// position is honoured, the filter is theirs.
	view(t, s, func(tx *Tx) error {
		got, _, err := tx.ListCalls(CallFilter{Volunteer: pk(1)}, cursor, 50)
		for _, c := range got {
			if c.AnsweredBy != pk(1) {
				t.Errorf("cursor leaked call of %s", c.AnsweredBy)
			}
		}
		return err
	})
	for _, bad := range []string{"%%%", "AQ", cursor + "A", encodeCursor(cursorNotes, make([]byte, 24)), encodeCursor(cursorCalls, make([]byte, 23))} {
		err := s.View(context.Background(), func(tx *Tx) error { _, _, err := tx.ListCalls(CallFilter{}, bad, 10); return err })
		wantErr(t, err, ErrInvalid)
	}
}

func TestPutCallKeepsFlagsAndReindexes(t *testing.T) {
	s, _ := openTest(t)
	start := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	c := testCall(t, start, "", Hash{9})
	c.Outcome, c.AnsweredAt = OutcomeInProgress, time.Time{}
	update(t, s, func(tx *Tx) error {
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		c.AnsweredBy, c.Outcome = pk(1), OutcomeAnswered
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		if _, err := tx.CreateNote(Note{ID: newID(t), CallID: c.ID, Author: pk(1), Envelope: []byte("n")}); err != nil {
			return err
		}
		if _, err := tx.PutTranscript(Transcript{ID: newID(t), CallID: c.ID, Envelope: []byte("t")}); err != nil {
			return err
		}
		// The hotline rewrites the record at hangup without the flags.
		c.EndedAt, c.AnsweredBy = start.Add(time.Hour), pk(2)
		got, err := tx.PutCall(c)
		if err != nil {
			return err
		}
		if !got.HasNote || !got.HasTranscript {
			t.Errorf("flags lost: %+v", got)
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		old, _, _ := tx.ListCalls(CallFilter{Volunteer: pk(1)}, "", 10)
		now, _, _ := tx.ListCalls(CallFilter{Volunteer: pk(2)}, "", 10)
		if len(old) != 0 || len(now) != 1 {
			t.Errorf("reindex: old volunteer %d, new %d", len(old), len(now))
		}
		return nil
	})
	mustCheck(t, s)
	for _, bad := range []Call{
		{ID: "x", StartedAt: start, Outcome: OutcomeAnswered},
		{ID: newID(t), Outcome: OutcomeAnswered},
		{ID: newID(t), StartedAt: start, Outcome: "lost"},
		{ID: newID(t), StartedAt: start, Outcome: OutcomeAnswered, AnsweredBy: "me"},
		{ID: newID(t), StartedAt: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), Outcome: OutcomeAnswered},
		{ID: newID(t), StartedAt: start, Outcome: OutcomeAnswered, Duration: -1},
	} {
		wantErr(t, s.Update(context.Background(), func(tx *Tx) error { _, err := tx.PutCall(bad); return err }), ErrInvalid)
	}
}

func TestNotesHistoryAndListing(t *testing.T) {
	s, _ := openTest(t)
	clock := newClock()
	s.now = clock.Now
	seal := newSealer(t)
	start := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	c1, c2 := testCall(t, start, pk(1), Hash{1}), testCall(t, start.Add(time.Hour), pk(2), Hash{2})
	update(t, s, func(tx *Tx) error {
		for _, c := range []Call{c1, c2} {
			if _, err := tx.PutCall(c); err != nil {
				return err
			}
		}
		return nil
	})
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.CreateNote(Note{ID: newID(t), CallID: newID(t), Author: pk(1), Envelope: []byte("x")})
		return err
	}), ErrNotFound)
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.CreateNote(Note{ID: newID(t), CallID: c1.ID, Author: pk(1)})
		return err
	}), ErrInvalid)

	var noteIDs []string
	for i := range 12 {
		clock.Advance(time.Minute)
		call, author := c1, pk(1)
		if i%3 == 0 {
			call, author = c2, pk(2)
		}
		id := newID(t)
		noteIDs = append(noteIDs, id)
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateNote(Note{ID: id, CallID: call.ID, Author: author, Envelope: seal.seal("note " + id)})
			return err
		})
	}
	for rev := 2; rev <= 4; rev++ {
		clock.Advance(time.Minute)
		update(t, s, func(tx *Tx) error {
			n, err := tx.EditNote(noteIDs[1], seal.seal("edit"))
			if err == nil && n.Revision != uint32(rev) {
				t.Errorf("revision %d, want %d", n.Revision, rev)
			}
			return err
		})
	}
	view(t, s, func(tx *Tx) error {
		hist, err := tx.NoteHistory(noteIDs[1])
		if err != nil || len(hist) != 3 || hist[0].Revision != 1 || seal.open(t, hist[0].Envelope) != "note "+noteIDs[1] {
			t.Errorf("history: %d entries, %v", len(hist), err)
		}
		var got []Note
		cursor := ""
		for {
			page, next, err := tx.NotesByAuthor(pk(1), cursor, 3)
			if err != nil {
				return err
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != 8 {
			t.Errorf("author 1 has %d notes, want 8", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].CreatedAt.After(got[i-1].CreatedAt) {
				t.Error("notes not newest first")
			}
		}
		byCall, _, err := tx.NotesByCall(c2.ID, "", 50)
		if len(byCall) != 4 || byCall[0].ID != noteIDs[9] {
			t.Errorf("notes by call: %d", len(byCall))
		}
		return err
	})
	mustCheck(t, s)
	update(t, s, func(tx *Tx) error { return tx.DeleteCall(c1.ID) })
	view(t, s, func(tx *Tx) error {
		if _, err := tx.Note(noteIDs[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("note of a deleted call: %v", err)
		}
		if h, _ := tx.NoteHistory(noteIDs[1]); len(h) != 0 {
			t.Error("history of a deleted note remains")
		}
		return nil
	})
	mustCheck(t, s)
}

func TestTranscriptsAndVoicemail(t *testing.T) {
	s, _ := openTest(t)
	c := testCall(t, time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), "", Hash{1})
	c.Outcome = OutcomeVoicemail
	update(t, s, func(tx *Tx) error {
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		if _, err := tx.PutVoicemail(Voicemail{CallID: c.ID, Envelope: []byte("vm")}); err != nil {
			return err
		}
		for range 2 {
			if _, err := tx.PutTranscript(Transcript{ID: newID(t), CallID: c.ID, Envelope: []byte("tr")}); err != nil {
				return err
			}
		}
		return nil
	})
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.PutVoicemail(Voicemail{CallID: c.ID, Envelope: []byte("again")})
		return err
	}), ErrExists)
	view(t, s, func(tx *Tx) error {
		got, _ := tx.Call(c.ID)
		if !got.HasVoicemail || !got.HasTranscript || got.HasNote {
			t.Errorf("flags %+v", got)
		}
		trs, err := tx.TranscriptsByCall(c.ID)
		if len(trs) != 2 {
			t.Errorf("%d transcripts", len(trs))
		}
		vm, err2 := tx.Voicemail(c.ID)
		if string(vm.Envelope) != "vm" {
			t.Error("voicemail round trip")
		}
		return errors.Join(err, err2)
	})
	mustCheck(t, s)
	update(t, s, func(tx *Tx) error { return tx.DeleteCall(c.ID) })
	rep := mustCheck(t, s)
	if rep.Keys["transcripts"] != 0 || rep.Keys["voicemails"] != 0 {
		t.Errorf("DeleteCall left %v", rep.Keys)
	}
}

func TestVoicemailListAndHandled(t *testing.T) {
	s, _ := openTest(t)
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	a := testCall(t, t0, "", Hash{1})
	b := testCall(t, t0.Add(time.Hour), "", Hash{2})
	update(t, s, func(tx *Tx) error {
		for _, c := range []Call{a, b} {
			if _, err := tx.PutCall(c); err != nil {
				return err
			}
		}
		if _, err := tx.PutVoicemail(Voicemail{CallID: a.ID, CreatedAt: t0, Audio: []byte("a"), Length: 3 * time.Second, Language: "es"}); err != nil {
			return err
		}
		_, err := tx.PutVoicemail(Voicemail{CallID: b.ID, CreatedAt: t0.Add(time.Hour), Transcription: TranscriptionPending})
		return err
	})
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error {
		// Neither audio nor a transcript, nor one to come: nothing to keep.
		c := testCall(t, t0, "", Hash{3})
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		_, err := tx.PutVoicemail(Voicemail{CallID: c.ID})
		return err
	}), ErrInvalid)
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.UpdateVoicemail(b.ID, func(v *Voicemail) error { v.Transcription = TranscriptionDone; return nil })
		return err
	}), ErrInvalid)
	admin := pk(9)
	update(t, s, func(tx *Tx) error {
		_, err := tx.UpdateVoicemail(a.ID, func(v *Voicemail) error {
			v.HandledAt, v.HandledBy, v.CallID = t0.Add(2*time.Hour), admin, b.ID
			return nil
		})
		return err
	})
	view(t, s, func(tx *Tx) error {
		all, err := tx.Voicemails()
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].CallID != b.ID || all[1].CallID != a.ID {
			t.Fatalf("list %+v", all)
		}
		if all[1].HandledBy != admin || !all[1].HandledAt.Equal(t0.Add(2*time.Hour)) || all[1].Length != 3*time.Second || all[1].Language != "es" || all[1].Transcription != TranscriptionNone {
			t.Errorf("handled voicemail %+v", all[1])
		}
		if all[0].Transcription != TranscriptionPending || !all[0].HandledAt.IsZero() {
			t.Errorf("pending voicemail %+v", all[0])
		}
		return nil
	})
	mustCheck(t, s)
}
