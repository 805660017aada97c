package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// PurgeCounts is what one Purge deleted.
type PurgeCounts struct {
	Calls, Notes, Transcripts, Voicemails int
}

// Total is the number of records deleted.
func (c PurgeCounts) Total() int { return c.Calls + c.Notes + c.Transcripts + c.Voicemails }

// Purge deletes what the retention settings no longer keep as of now,
// counted from each call's start: the notes (with their history) of calls
// older than KeepNotesDays, the transcripts and voicemail of calls older
// than KeepTranscriptsDays, and the records of calls older than
// KeepCallsDays that have nothing else kept. A zero setting keeps forever.
// It visits at most limit calls, oldest first, and reports whether more may
// be due (call it again in a new transaction).
func (tx *Tx) Purge(now time.Time, s Settings, limit int) (c PurgeCounts, more bool, err error) {
	cut := func(days int) time.Time {
		if days <= 0 {
			return time.Time{}
		}
		return now.AddDate(0, 0, -days)
	}
	callsCut, notesCut, trCut := cut(s.KeepCallsDays), cut(s.KeepNotesDays), cut(s.KeepTranscriptsDays)
	latest := callsCut
	for _, t := range []time.Time{notesCut, trCut} {
		if t.After(latest) {
			latest = t
		}
	}
	if latest.IsZero() {
		return c, false, nil
	}
	b, err := tx.bucket(bucketCallsTime)
	if err != nil {
		return c, false, err
	}
	type due struct {
		started time.Time
		id      []byte
	}
	var calls []due
	cur := b.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if len(k) != 8+16 {
			return c, false, fmt.Errorf("store: purge: %w: time index key of %d bytes", ErrCorrupt, len(k))
		}
		started := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
		if !started.Before(latest) {
			break
		}
		if len(calls) == limit {
			more = true
			break
		}
		calls = append(calls, due{started, clone(k[8:])})
	}
	for _, d := range calls {
		id := idString(d.id)
		if !notesCut.IsZero() && d.started.Before(notesCut) {
			keys, err := tx.allByPrefix(bucketNotesCall, d.id)
			if err != nil {
				return c, false, err
			}
			for _, nk := range keys {
				if err := tx.deleteNote(nk); err != nil {
					return c, false, err
				}
			}
			if len(keys) > 0 {
				c.Notes += len(keys)
				if err := tx.setCallFlag(id, func(call *Call) bool { was := call.HasNote; call.HasNote = false; return was }); err != nil {
					return c, false, err
				}
			}
		}
		if !trCut.IsZero() && d.started.Before(trCut) {
			keys, err := tx.allByPrefix(bucketTranscrCl, d.id)
			if err != nil {
				return c, false, err
			}
			for _, tk := range keys {
				if err := tx.deleteTranscript(tk); err != nil {
					return c, false, err
				}
			}
			vm, err := tx.bucket(bucketVoicemails)
			if err != nil {
				return c, false, err
			}
			hadVM := vm.Get(d.id) != nil
			if hadVM {
				if err := vm.Delete(d.id); err != nil {
					return c, false, fmt.Errorf("store: purge voicemail: %w", err)
				}
				c.Voicemails++
			}
			c.Transcripts += len(keys)
			if len(keys) > 0 || hadVM {
				if err := tx.setCallFlag(id, func(call *Call) bool {
					was := call.HasTranscript || call.HasVoicemail
					call.HasTranscript, call.HasVoicemail = false, false
					return was
				}); err != nil {
					return c, false, err
				}
			}
		}
		if !callsCut.IsZero() && d.started.Before(callsCut) {
			call, err := tx.callByKey(d.id)
			if err != nil {
				return c, false, err
			}
			if call.HasNote || call.HasTranscript || call.HasVoicemail {
				continue // kept for what is still kept of it
			}
			if err := tx.DeleteCall(id); err != nil {
				return c, false, err
			}
			c.Calls++
		}
	}
	return c, more, nil
}

// DeleteVolunteer deletes a volunteer's account and personal data: the
// record with its sealed profile, passkeys and sessions, and their place in
// shifts, overrides and the fallback group. Call records, notes and bans
// keep the public key as metadata (who answered, who wrote, who banned).
func (tx *Tx) DeleteVolunteer(pk string) error {
	v, err := tx.Volunteer(pk)
	if err != nil {
		return err
	}
	if _, err := tx.DeleteSessionsFor(pk); err != nil {
		return err
	}
	keys, err := tx.PasskeysFor(pk)
	if err != nil {
		return err
	}
	for _, p := range keys {
		if err := tx.DeletePasskey(p.ID); err != nil {
			return err
		}
	}
	rules, err := tx.ShiftRules()
	if err != nil {
		return err
	}
	for _, r := range rules {
		if i := slices.Index(r.Volunteers, pk); i >= 0 {
			r.Volunteers = slices.Delete(r.Volunteers, i, i+1)
			if _, err := tx.PutShiftRule(r); err != nil {
				return err
			}
		}
	}
	overrides, err := listAll[ShiftOverride](tx, bucketOverrides)
	if err != nil {
		return err
	}
	for _, o := range overrides {
		if i := slices.Index(o.Volunteers, pk); i >= 0 {
			o.Volunteers = slices.Delete(o.Volunteers, i, i+1)
			if len(o.Volunteers) == 0 {
				if err := tx.DeleteShiftOverride(o.ID); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.PutShiftOverride(o); err != nil {
				return err
			}
		}
	}
	group, err := tx.FallbackGroup()
	if err != nil {
		return err
	}
	if i := slices.Index(group, pk); i >= 0 {
		if err := tx.SetFallbackGroup(slices.Delete(group, i, i+1)); err != nil {
			return err
		}
	}
	b, err := tx.bucket(bucketVolunteers)
	if err != nil {
		return err
	}
	key, err := pubKeyBytes(v.PubKey)
	if err != nil {
		return fmt.Errorf("store: delete volunteer: %w", err)
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete volunteer: %w", err)
	}
	return tx.reindex(v.indexEntries(), nil)
}
