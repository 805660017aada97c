package store

import (
	"fmt"
	"testing"
	"time"
)

// TestPurgeKeepsWhatIsYounger: each kind of content goes when its own
// setting says, counted from the call's start; nothing younger than a
// setting is touched, and a call record stays while any of it is kept.
func TestPurgeKeepsWhatIsYounger(t *testing.T) {
	s, _ := openTest(t)
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	set := Settings{KeepCallsDays: 30, KeepNotesDays: 90, KeepTranscriptsDays: 10}
	type fixture struct {
		age                  time.Duration
		note, transcr, vmail bool
		id                   string
	}
	fx := []*fixture{
		{age: 5 * day, note: true, transcr: true, vmail: true},
		{age: 10*day - time.Second, transcr: true, vmail: true}, // just inside the transcripts' 10 days
		{age: 10*day + time.Second, transcr: true, vmail: true}, // just past them
		{age: 30*day - time.Second},                             // a bare record just inside 30 days
		{age: 30*day + time.Second},                             // just past
		{age: 60 * day, note: true},                             // record kept for its note
		{age: 90*day + time.Second, note: true, transcr: true},  // everything past
		{age: 400 * day},
	}
	update(t, s, func(tx *Tx) error {
		for i, f := range fx {
			c := testCall(t, now.Add(-f.age), pk(1), Hash{})
			f.id = c.ID
			if _, err := tx.PutCall(c); err != nil {
				return err
			}
			if f.note {
				if _, err := tx.CreateNote(Note{ID: newID(t), CallID: c.ID, Author: pk(1), CreatedAt: c.StartedAt, Envelope: []byte(fmt.Sprint("note ", i))}); err != nil {
					return err
				}
			}
			if f.transcr {
				if _, err := tx.PutTranscript(Transcript{ID: newID(t), CallID: c.ID, CreatedAt: c.StartedAt, Envelope: []byte("t")}); err != nil {
					return err
				}
			}
			if f.vmail {
				if _, err := tx.PutVoicemail(Voicemail{CallID: c.ID, CreatedAt: c.StartedAt, Envelope: []byte("v")}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var got PurgeCounts
	for pass := 0; ; pass++ {
		var c PurgeCounts
		var more bool
		update(t, s, func(tx *Tx) (err error) {
			c, more, err = tx.Purge(now, set, 3)
			return err
		})
		got.Calls, got.Notes, got.Transcripts, got.Voicemails = got.Calls+c.Calls, got.Notes+c.Notes, got.Transcripts+c.Transcripts, got.Voicemails+c.Voicemails
		if !more {
			break
		}
		if pass > len(fx) {
			t.Fatal("Purge keeps asking for more")
		}
	}
	if want := (PurgeCounts{Calls: 3, Notes: 1, Transcripts: 2, Voicemails: 1}); got != want {
		t.Errorf("purged %+v, want %+v", got, want)
	}
	view(t, s, func(tx *Tx) error {
		for _, f := range fx {
			c, err := tx.Call(f.id)
			recordKept := err == nil
			wantRecord := f.age < 30*day || (f.note && f.age < 90*day) || (f.transcr && f.age < 10*day)
			if recordKept != wantRecord {
				t.Errorf("call aged %v: record kept %v, want %v (%v)", f.age, recordKept, wantRecord, err)
			}
			if !recordKept {
				continue
			}
			notes, _, _ := tx.NotesByCall(f.id, "", 10)
			trs, _ := tx.TranscriptsByCall(f.id)
			_, vmErr := tx.Voicemail(f.id)
			if wantNote := f.note && f.age < 90*day; (len(notes) > 0) != wantNote || c.HasNote != wantNote {
				t.Errorf("call aged %v: %d notes (flag %v), want kept %v", f.age, len(notes), c.HasNote, wantNote)
			}
			if wantTr := f.transcr && f.age < 10*day; (len(trs) > 0) != wantTr || c.HasTranscript != wantTr {
				t.Errorf("call aged %v: %d transcripts (flag %v), want kept %v", f.age, len(trs), c.HasTranscript, wantTr)
			}
			if wantVM := f.vmail && f.age < 10*day; (vmErr == nil) != wantVM || c.HasVoicemail != wantVM {
				t.Errorf("call aged %v: voicemail %v (flag %v), want kept %v", f.age, vmErr, c.HasVoicemail, wantVM)
			}
		}
		return nil
	})
	mustCheck(t, s)

	// Forever (the default) deletes nothing.
	update(t, s, func(tx *Tx) error {
		c, more, err := tx.Purge(now.Add(1000*day), DefaultSettings(), 100)
		if c.Total() != 0 || more {
			t.Errorf("the default settings purged %+v", c)
		}
		return err
	})
}

// TestDeleteVolunteer: the account and its sealed profile go; the calls
// they answered and the notes they wrote stay, naming their key.
func TestDeleteVolunteer(t *testing.T) {
	s, _ := openTest(t)
	seal := newSealer(t)
	const profile = "CANARYPROFILE Ana Lopez +34600999888"
	start := time.Now().Add(-time.Hour)
	var callID string
	update(t, s, func(tx *Tx) error {
		if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(1), Role: RoleVolunteer, Active: true, Profile: seal.seal(profile)}); err != nil {
			return err
		}
		if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(2), Role: RoleVolunteer, Active: true}); err != nil {
			return err
		}
		if _, err := tx.PutSession(Session{TokenHash: tokenHash("tok"), PubKey: pk(1), CreatedAt: start, ExpiresAt: start.Add(2 * time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.PutPasskey(Passkey{ID: []byte("cred"), PubKey: pk(1), PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26}}); err != nil {
			return err
		}
		if _, err := tx.PutShiftRule(ShiftRule{ID: newID(t), Name: "nights", Days: []time.Weekday{1}, Start: "20:00", End: "24:00", Volunteers: []string{pk(1), pk(2)}}); err != nil {
			return err
		}
		if err := tx.SetFallbackGroup([]string{pk(1)}); err != nil {
			return err
		}
		c := testCall(t, start, pk(1), Hash{})
		callID = c.ID
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		_, err := tx.CreateNote(Note{ID: newID(t), CallID: c.ID, Author: pk(1), Envelope: []byte("note")})
		return err
	})
	update(t, s, func(tx *Tx) error { return tx.DeleteVolunteer(pk(1)) })
	view(t, s, func(tx *Tx) error {
		if _, err := tx.Volunteer(pk(1)); err == nil {
			t.Error("the volunteer is still there")
		}
		if ss, _ := tx.SessionsFor(pk(1)); len(ss) != 0 {
			t.Error("their sessions survived")
		}
		if ps, _ := tx.PasskeysFor(pk(1)); len(ps) != 0 {
			t.Error("their passkeys survived")
		}
		rules, _ := tx.ShiftRules()
		if len(rules) != 1 || len(rules[0].Volunteers) != 1 || rules[0].Volunteers[0] != pk(2) {
			t.Errorf("shifts: %+v", rules)
		}
		if g, _ := tx.FallbackGroup(); len(g) != 0 {
			t.Errorf("fallback group: %v", g)
		}
		c, err := tx.Call(callID)
		if err != nil || c.AnsweredBy != pk(1) || !c.HasNote {
			t.Errorf("the call metadata did not survive: %+v %v", c, err)
		}
		return nil
	})
	mustCheck(t, s)
}
