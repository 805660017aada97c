package store

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"llamenos/e2ee"
)

// SealedItem is one envelope the store keeps for people, with what a
// browser needs to open and seal it again: its context and the people other
// than the admins who read it (the owners: a note's author, a volunteer,
// the volunteer who answered a transcribed call).
type SealedItem struct {
	Kind     string
	ID       string
	Context  e2ee.Context
	Owners   []string
	Envelope []byte
}

// sealedKind is one kind of record that bears envelopes. Every list of
// "all the envelopes" (re-sealing when the admins change) walks sealedKinds,
// so a new kind of envelope is one entry here.
type sealedKind struct {
	name string
	// each visits every envelope of the kind.
	each func(tx *Tx, visit func(SealedItem) error) error
	// get returns the envelope id names; replace stores env in its place.
	get     func(tx *Tx, id string) (SealedItem, error)
	replace func(tx *Tx, id string, env []byte) error
}

// Kinds of sealed envelope, as the API names them.
const (
	SealedNote         = "note"
	SealedNoteHistory  = "note-history"
	SealedProfile      = "profile"
	SealedCallerNumber = "caller-number"
	SealedBanNumber    = "ban-number"
	SealedBanReason    = "ban-reason"
	SealedTranscript   = "transcript"
	SealedVoicemail    = "voicemail"       // its transcript
	SealedVoicemailAud = "voicemail-audio" // its sealed audio, when kept
)

var sealedKinds = []sealedKind{
	{SealedNote, eachIn(bucketNotes, noteItems), getIn(bucketNotes, noteKey, noteItems), replaceIn(bucketNotes, noteKey, func(n *Note, _ string, env []byte) error { n.Envelope = env; return n.validate() })},
	{SealedNoteHistory, eachIn(bucketNoteHist, revisionItems), getIn(bucketNoteHist, revisionKey, revisionItems), replaceIn(bucketNoteHist, revisionKey, func(r *NoteRevision, _ string, env []byte) error {
		r.Envelope = env
		return checkEnvelope("note revision", r.Envelope, true)
	})},
	{SealedProfile, eachIn(bucketVolunteers, profileItems), getIn(bucketVolunteers, pubKeyBytes, profileItems), replaceIn(bucketVolunteers, pubKeyBytes, func(v *Volunteer, _ string, env []byte) error { v.Profile = env; return v.validate() })},
	{SealedCallerNumber, eachIn(bucketCalls, callerItems), getIn(bucketCalls, idBytes, callerItems), replaceIn(bucketCalls, idBytes, func(c *Call, _ string, env []byte) error { c.CallerNumber = env; return c.validate() })},
	{SealedBanNumber, eachIn(bucketBans, banNumberItems), getIn(bucketBans, hashKey, banNumberItems), replaceIn(bucketBans, hashKey, func(b *Ban, _ string, env []byte) error { b.Number = env; return b.validate() })},
	{SealedBanReason, eachIn(bucketBans, banReasonItems), getIn(bucketBans, hashKey, banReasonItems), replaceIn(bucketBans, hashKey, func(b *Ban, _ string, env []byte) error { b.Reason = env; return b.validate() })},
	{SealedTranscript, eachIn(bucketTranscr, transcriptItems), getIn(bucketTranscr, idBytes, transcriptItems), replaceIn(bucketTranscr, idBytes, func(t *Transcript, _ string, env []byte) error { t.Envelope = env; return t.validate() })},
	{SealedVoicemail, eachIn(bucketVoicemails, voicemailItems), getIn(bucketVoicemails, idBytes, voicemailItems), replaceIn(bucketVoicemails, idBytes, func(v *Voicemail, _ string, env []byte) error {
		v.Envelope = env
		return v.validate()
	})},
	{SealedVoicemailAud, eachIn(bucketVoicemails, voicemailAudioItems), getIn(bucketVoicemails, idBytes, voicemailAudioItems), replaceIn(bucketVoicemails, idBytes, func(v *Voicemail, _ string, env []byte) error {
		v.Audio = env
		return v.validate()
	})},
}

// SealedKinds names every kind of sealed envelope, in the order
// EachSealed visits them.
func SealedKinds() []string {
	out := make([]string, len(sealedKinds))
	for i, k := range sealedKinds {
		out[i] = k.name
	}
	return out
}

func kindNamed(name string) (sealedKind, error) {
	for _, k := range sealedKinds {
		if k.name == name {
			return k, nil
		}
	}
	return sealedKind{}, fmt.Errorf("%w: unknown kind of envelope %q", ErrInvalid, truncate(name, 24))
}

// EachSealed visits every envelope the store keeps for people, kind by
// kind (SealedKinds) and in key order within a kind.
func (tx *Tx) EachSealed(visit func(SealedItem) error) error {
	for _, k := range sealedKinds {
		if err := k.each(tx, func(it SealedItem) error {
			it.Kind = k.name
			return visit(it)
		}); err != nil {
			return err
		}
	}
	return nil
}

// Sealed returns one envelope by kind and id; ErrNotFound if the record or
// its envelope is not there.
func (tx *Tx) Sealed(kind, id string) (SealedItem, error) {
	k, err := kindNamed(kind)
	if err != nil {
		return SealedItem{}, err
	}
	it, err := k.get(tx, id)
	if err != nil {
		return SealedItem{}, fmt.Errorf("store: %s %s: %w", kind, truncate(id, 80), err)
	}
	it.Kind = kind
	return it, nil
}

// ReplaceSealed stores env in place of the envelope kind/id names. It must
// be well formed; whom it is sealed to is the caller's rule.
func (tx *Tx) ReplaceSealed(kind, id string, env []byte) error {
	k, err := kindNamed(kind)
	if err != nil {
		return err
	}
	if _, err := e2ee.ParseEnvelope(env); err != nil {
		return fmt.Errorf("store: replace %s: %w: %w", kind, ErrInvalid, err)
	}
	if err := k.replace(tx, id, clone(env)); err != nil {
		return fmt.Errorf("store: replace %s %s: %w", kind, truncate(id, 80), err)
	}
	return nil
}

// WantedRecipients is who an envelope should be sealed to now: the admins
// the admin set vouches for (admins) and those of its owners it is already
// sealed to. It never adds an owner the envelope does not name, so a
// record's owner field cannot be edited into a way to read it.
func WantedRecipients(h e2ee.Header, owners, admins []string) []string {
	var out []string
	for _, o := range owners {
		pk, err := e2ee.ParsePublicKeyHex(o)
		if err == nil && h.Includes(pk) && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	for _, a := range admins {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// SameRecipients reports whether h is sealed to exactly want.
func SameRecipients(h e2ee.Header, want []string) bool {
	if len(h.Recipients) != len(want) {
		return false
	}
	for _, r := range h.Recipients {
		if !slices.Contains(want, r.String()) {
			return false
		}
	}
	return true
}

// The generic parts: a kind is a bucket of records of type T, a key from
// the item id, and the envelopes one record holds.

type itemsFunc[T any] func(tx *Tx, key []byte, r *T) ([]SealedItem, error)

func eachIn[T any](bucket []byte, items itemsFunc[T]) func(*Tx, func(SealedItem) error) error {
	return func(tx *Tx, visit func(SealedItem) error) error {
		b, err := tx.bucket(bucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, raw []byte) error {
			var r T
			if err := decodeRecord(raw, &r); err != nil {
				return fmt.Errorf("store: %s %x: %w", bucket, k, err)
			}
			its, err := items(tx, k, &r)
			if err != nil {
				return err
			}
			for _, it := range its {
				if err := visit(it); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func getIn[T any](bucket []byte, key func(string) ([]byte, error), items itemsFunc[T]) func(*Tx, string) (SealedItem, error) {
	return func(tx *Tx, id string) (SealedItem, error) {
		k, err := key(id)
		if err != nil {
			return SealedItem{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		var r T
		if err := tx.getRecord(bucket, k, &r); err != nil {
			return SealedItem{}, err
		}
		its, err := items(tx, k, &r)
		if err != nil {
			return SealedItem{}, err
		}
		if len(its) == 0 {
			return SealedItem{}, fmt.Errorf("no envelope: %w", ErrNotFound)
		}
		return its[0], nil
	}
}

func replaceIn[T any](bucket []byte, key func(string) ([]byte, error), set func(*T, string, []byte) error) func(*Tx, string, []byte) error {
	return func(tx *Tx, id string, env []byte) error {
		k, err := key(id)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		var r T
		if err := tx.getRecord(bucket, k, &r); err != nil {
			return err
		}
		if err := set(&r, id, env); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return tx.putRecord(bucket, k, &r)
	}
}

func one(id string, ctx e2ee.Context, env []byte, owners ...string) []SealedItem {
	if len(env) == 0 {
		return nil
	}
	return []SealedItem{{ID: id, Context: ctx, Owners: owners, Envelope: env}}
}

func noteKey(id string) ([]byte, error) { return idBytes(id) }

func noteItems(_ *Tx, _ []byte, n *Note) ([]SealedItem, error) {
	return one(n.ID, e2ee.Context{Purpose: e2ee.PurposeNote, CallID: n.CallID, ItemID: n.ID}, n.Envelope, n.Author), nil
}

// A replaced revision keeps the context of its note (it was the note).
// Its id is "<note id>.<revision>".
func revisionKey(id string) ([]byte, error) {
	note, rev, ok := strings.Cut(id, ".")
	n, err := strconv.ParseUint(rev, 10, 32)
	if !ok || err != nil || strconv.FormatUint(n, 10) != rev {
		return nil, errors.New("want <note id>.<revision>")
	}
	k, err := idBytes(note)
	if err != nil {
		return nil, err
	}
	return historyKey(k, uint32(n)), nil
}

func revisionItems(tx *Tx, _ []byte, r *NoteRevision) ([]SealedItem, error) {
	n, err := tx.Note(r.NoteID)
	if err != nil {
		return nil, err
	}
	id := r.NoteID + "." + strconv.FormatUint(uint64(r.Revision), 10)
	return one(id, e2ee.Context{Purpose: e2ee.PurposeNote, CallID: n.CallID, ItemID: n.ID}, r.Envelope, n.Author), nil
}

func profileItems(_ *Tx, _ []byte, v *Volunteer) ([]SealedItem, error) {
	return one(v.PubKey, e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: v.PubKey}, v.Profile, v.PubKey), nil
}

func callerItems(_ *Tx, _ []byte, c *Call) ([]SealedItem, error) {
	return one(c.ID, e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: c.ID, ItemID: "caller"}, c.CallerNumber), nil
}

func hashKey(id string) ([]byte, error) {
	h, err := ParseHash(id)
	return h[:], err
}

// A ban made from a call carries that call's caller-number envelope; one
// typed by an admin has its own (docs/crypto.md, ui/src/notes.js).
func banNumberItems(_ *Tx, _ []byte, b *Ban) ([]SealedItem, error) {
	ctx := e2ee.Context{Purpose: e2ee.PurposeBan, ItemID: "number"}
	if b.CallID != "" {
		ctx = e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: b.CallID, ItemID: "caller"}
	}
	return one(b.Hash.String(), ctx, b.Number), nil
}

func banReasonItems(_ *Tx, _ []byte, b *Ban) ([]SealedItem, error) {
	return one(b.Hash.String(), e2ee.Context{Purpose: e2ee.PurposeBan, CallID: b.CallID, ItemID: "reason"}, b.Reason), nil
}

// A transcript is read by the volunteer who answered its call and the
// admins.
func transcriptItems(tx *Tx, _ []byte, t *Transcript) ([]SealedItem, error) {
	c, err := tx.Call(t.CallID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var owners []string
	if c.AnsweredBy != "" {
		owners = append(owners, c.AnsweredBy)
	}
	return one(t.ID, e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: t.CallID, ItemID: "transcript"}, t.Envelope, owners...), nil
}

// A voicemail's transcript and its audio are read by the admins only.
func voicemailItems(_ *Tx, _ []byte, v *Voicemail) ([]SealedItem, error) {
	return one(v.CallID, e2ee.Context{Purpose: e2ee.PurposeVoicemailTranscript, CallID: v.CallID, ItemID: "voicemail"}, v.Envelope), nil
}

func voicemailAudioItems(_ *Tx, _ []byte, v *Voicemail) ([]SealedItem, error) {
	return one(v.CallID, e2ee.Context{Purpose: e2ee.PurposeVoicemailAudio, CallID: v.CallID, ItemID: "audio"}, v.Audio), nil
}
