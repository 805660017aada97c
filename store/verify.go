package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// VerifyReport describes a database that passed verification.
type VerifyReport struct {
	Schema    int            `json:"schema"`
	Size      int64          `json:"size"`
	Keys      map[string]int `json:"keys"` // keys per bucket
	AuditHead AuditHead      `json:"audit_head"`
	// RecordsChecked is false for a file at an older schema: its records are
	// checked after migration (Restore does that).
	RecordsChecked bool `json:"records_checked"`
}

// VerifyFile checks a database file without changing it: page structure
// with bounds-checked reads (so a damaged file cannot crash the process),
// then bbolt's consistency check (tx.Check), the schema version, every
// record and index, and the audit chain. It takes a shared lock, so it
// refuses a file a running daemon has open.
func VerifyFile(ctx context.Context, path string) (VerifyReport, error) {
	rep, err := verifyFile(ctx, path)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("store: verify %s: %w", path, err)
	}
	return rep, nil
}

func verifyFile(ctx context.Context, path string) (VerifyReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return VerifyReport{}, err
	}
	defer f.Close()
	if err := lockFile(ctx, f, false, 0); err != nil {
		if errors.Is(err, ErrLocked) {
			return VerifyReport{}, fmt.Errorf("%w (a running llamenos has it open; use the daemon's backup)", ErrLocked)
		}
		return VerifyReport{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		return VerifyReport{}, err
	}
	if !fi.Mode().IsRegular() {
		return VerifyReport{}, fmt.Errorf("%w: not a regular file", ErrNotADatabase)
	}
	if err := checkFileStructure(ctx, f, fi.Size()); err != nil {
		return VerifyReport{}, err
	}
	db, err := openBolt(ctx, path, true, time.Second, false)
	if err != nil {
		return VerifyReport{}, err
	}
	defer db.Close()
	var rep VerifyReport
	err = db.View(func(btx *bbolt.Tx) error {
		var err error
		rep, err = verifyTx(ctx, btx)
		return err
	})
	rep.Size = fi.Size()
	return rep, err
}

// Check runs the full verification on the open database (`llamenos check`).
// It holds the write lock while it runs (bbolt's check is only safe
// alongside writers from a writable transaction), so calls wait for it:
// seconds for a million calls.
func (s *Store) Check(ctx context.Context) (VerifyReport, error) {
	if s.readOnly {
		var rep VerifyReport
		err := s.db.View(func(btx *bbolt.Tx) error {
			var err error
			rep, err = s.checkTx(ctx, btx)
			return err
		})
		return rep, wrapCheck(s.path, err)
	}
	btx, err := s.db.Begin(true)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("store: check %s: %w", s.path, err)
	}
	defer func() { _ = btx.Rollback() }()
	rep, err := s.checkTx(ctx, btx)
	return rep, wrapCheck(s.path, err)
}

// checkTx walks the file's pages before bbolt's own check touches them, as
// VerifyFile does: a page damaged on disk since Open must be an error, not
// a crash. No writer can run meanwhile (the caller holds the write lock or
// the file is open read-only), so the file matches the transaction.
func (s *Store) checkTx(ctx context.Context, btx *bbolt.Tx) (VerifyReport, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return VerifyReport{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return VerifyReport{}, err
	}
	if err := checkFileStructure(ctx, f, fi.Size()); err != nil {
		return VerifyReport{}, err
	}
	rep, err := verifyTx(ctx, btx)
	rep.Size = fi.Size()
	return rep, err
}

func wrapCheck(path string, err error) error {
	if err != nil {
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	return nil
}

// verifyTx is everything past the page structure.
func verifyTx(ctx context.Context, btx *bbolt.Tx) (VerifyReport, error) {
	var problems []string
	for err := range btx.Check() {
		if len(problems) < 10 {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return VerifyReport{}, fmt.Errorf("%w: bbolt consistency check: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	v, err := schemaVersion(btx)
	if err != nil {
		return VerifyReport{}, err
	}
	if v == 0 {
		return VerifyReport{}, fmt.Errorf("%w: no schema version (an empty or foreign bbolt file)", ErrNotADatabase)
	}
	if v > SchemaVersion {
		return VerifyReport{}, tooNew(v, SchemaVersion)
	}
	rep := VerifyReport{Schema: v, Keys: map[string]int{}}
	if rep.AuditHead, err = verifyAuditTx(ctx, btx); err != nil {
		return VerifyReport{}, err
	}
	if err := btx.ForEach(func(name []byte, b *bbolt.Bucket) error {
		rep.Keys[string(name)] = b.Stats().KeyN
		return nil
	}); err != nil {
		return VerifyReport{}, err
	}
	if v < SchemaVersion {
		return rep, nil
	}
	if err := verifyRecords(ctx, &Tx{tx: btx}); err != nil {
		return VerifyReport{}, err
	}
	rep.RecordsChecked = true
	return rep, nil
}

// recordCheck decodes and validates every record of one bucket.
type recordCheck struct {
	bucket []byte
	each   func(k, v []byte) ([]indexEntry, error)
}

// verifyRecords checks that every record decodes, validates and sits under
// its own key, that every index key it implies exists, and that index
// buckets hold nothing else (their key counts equal the implied counts).
func verifyRecords(ctx context.Context, tx *Tx) error {
	known := map[string]bool{string(bucketAdminSet): true}
	for _, b := range allBuckets {
		known[string(b)] = true
		if tx.tx.Bucket(b) == nil {
			return fmt.Errorf("%w: bucket %s missing", ErrCorrupt, b)
		}
	}
	if err := tx.tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		if !known[string(name)] {
			return fmt.Errorf("%w: unexpected bucket %q", ErrCorrupt, name)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := verifyMeta(tx); err != nil {
		return err
	}
	historyWant := 0
	checks := []recordCheck{
		{bucketVolunteers, func(k, raw []byte) ([]indexEntry, error) {
			var r Volunteer
			return checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := pubKeyBytes(r.PubKey); return b }, r.indexEntries)
		}},
		{bucketInvites, func(k, raw []byte) ([]indexEntry, error) {
			var r Invite
			return checkRecord(k, raw, &r, r.validate, func() []byte { return r.CodeHash[:] }, nil)
		}},
		{bucketSessions, func(k, raw []byte) ([]indexEntry, error) {
			var r Session
			return checkRecord(k, raw, &r, r.validate, func() []byte { return r.TokenHash[:] }, r.indexEntries)
		}},
		{bucketPasskeys, func(k, raw []byte) ([]indexEntry, error) {
			var r Passkey
			return checkRecord(k, raw, &r, r.validate, func() []byte { return r.ID }, r.indexEntries)
		}},
		{bucketShiftRules, func(k, raw []byte) ([]indexEntry, error) {
			var r ShiftRule
			return checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := idBytes(r.ID); return b }, nil)
		}},
		{bucketOverrides, func(k, raw []byte) ([]indexEntry, error) {
			var r ShiftOverride
			return checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := idBytes(r.ID); return b }, nil)
		}},
		{bucketCalls, func(k, raw []byte) ([]indexEntry, error) {
			var r Call
			idx, err := checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := idBytes(r.ID); return b }, r.indexEntries)
			if err == nil && r.HasNote && !hasPrefix(tx, bucketNotesCall, k) {
				err = fmt.Errorf("call %s is flagged as having a note but has none", r.ID)
			}
			return idx, err
		}},
		{bucketNotes, func(k, raw []byte) ([]indexEntry, error) {
			var r Note
			idx, err := checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := idBytes(r.ID); return b }, r.indexEntries)
			if err == nil {
				err = checkFlagged(tx, r.CallID, "note", func(c *Call) bool { return c.HasNote })
			}
			if err == nil && r.Revision == 0 {
				err = fmt.Errorf("note %s has revision 0", r.ID)
			}
			for rev := uint32(1); err == nil && rev < r.Revision; rev++ {
				if tx.tx.Bucket(bucketNoteHist).Get(historyKey(k, rev)) == nil {
					err = fmt.Errorf("note %s: revision %d missing from its history", r.ID, rev)
				}
			}
			historyWant += int(r.Revision) - 1
			return idx, err
		}},
		{bucketNoteHist, func(k, raw []byte) ([]indexEntry, error) {
			var r NoteRevision
			if err := decodeRecord(raw, &r); err != nil {
				return nil, err
			}
			if id, err := idBytes(r.NoteID); err != nil || !bytes.Equal(historyKey(id, r.Revision), k) {
				return nil, fmt.Errorf("history entry %x does not match its key", k)
			}
			return nil, checkEnvelope("note revision", r.Envelope, true)
		}},
		{bucketTranscr, func(k, raw []byte) ([]indexEntry, error) {
			var r Transcript
			idx, err := checkRecord(k, raw, &r, r.validate, func() []byte { b, _ := idBytes(r.ID); return b }, r.indexEntries)
			if err == nil {
				err = checkFlagged(tx, r.CallID, "transcript", func(c *Call) bool { return c.HasTranscript })
			}
			return idx, err
		}},
		{bucketVoicemails, func(k, raw []byte) ([]indexEntry, error) {
			var r Voicemail
			if err := decodeRecord(raw, &r); err != nil {
				return nil, err
			}
			if id, err := idBytes(r.CallID); err != nil || !bytes.Equal(id, k) {
				return nil, fmt.Errorf("voicemail %x does not match its key", k)
			}
			r.normalize()
			if err := r.validate(); err != nil {
				return nil, err
			}
			return nil, checkFlagged(tx, r.CallID, "voicemail", func(c *Call) bool { return c.HasVoicemail })
		}},
		{bucketBans, func(k, raw []byte) ([]indexEntry, error) {
			var r Ban
			return checkRecord(k, raw, &r, r.validate, func() []byte { return r.Hash[:] }, nil)
		}},
		{bucketAdminSet, func(k, raw []byte) ([]indexEntry, error) {
			var r AdminStatementJSON
			valid := func() error { _, err := r.Parse(); return err }
			return checkRecord(k, raw, &r, valid, func() []byte { return k }, nil)
		}},
	}
	wantIndex := map[string]int{}
	n := 0
	for _, c := range checks {
		b := tx.tx.Bucket(c.bucket)
		if b == nil && string(c.bucket) == string(bucketAdminSet) {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if v == nil {
				return fmt.Errorf("nested bucket %x", k)
			}
			entries, err := c.each(k, v)
			if err != nil {
				return fmt.Errorf("key %x: %w", k, err)
			}
			for _, e := range entries {
				ib := tx.tx.Bucket(e.bucket)
				if v := ib.Get(e.key); v == nil {
					return fmt.Errorf("key %x: index %s lacks %x", k, e.bucket, e.key)
				}
				wantIndex[string(e.bucket)]++
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, c.bucket, err)
		}
	}
	if got := tx.tx.Bucket(bucketNoteHist).Stats().KeyN; got != historyWant {
		return fmt.Errorf("%w: %s holds %d revisions, notes account for %d", ErrCorrupt, bucketNoteHist, got, historyWant)
	}
	for _, name := range [][]byte{bucketVolHandles, bucketSessByPK, bucketPasskeyPK, bucketCallsTime,
		bucketCallsVol, bucketCallsFrom, bucketCallsNoted, bucketNotesCall, bucketNotesAuth, bucketTranscrCl} {
		got := 0
		err := tx.tx.Bucket(name).ForEach(func(k, v []byte) error {
			if len(v) != 0 {
				return fmt.Errorf("key %x has a value", k)
			}
			got++
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w: index %s: %v", ErrCorrupt, name, err)
		}
		if got != wantIndex[string(name)] {
			return fmt.Errorf("%w: index %s holds %d keys, records account for %d", ErrCorrupt, name, got, wantIndex[string(name)])
		}
	}
	return nil
}

func checkRecord(k, raw []byte, into any, validate func() error, key func() []byte, index func() []indexEntry) ([]indexEntry, error) {
	if err := decodeRecord(raw, into); err != nil {
		return nil, err
	}
	if err := validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !bytes.Equal(key(), k) {
		return nil, errors.New("record does not match its key")
	}
	if index == nil {
		return nil, nil
	}
	return index(), nil
}

func hasPrefix(tx *Tx, bucket, prefix []byte) bool {
	k, _ := tx.tx.Bucket(bucket).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

func checkFlagged(tx *Tx, callID, what string, flag func(*Call) bool) error {
	c, err := tx.Call(callID)
	if err != nil {
		return fmt.Errorf("%s of call %s: %w", what, callID, err)
	}
	if !flag(&c) {
		return fmt.Errorf("call %s has a %s but is not flagged", callID, what)
	}
	return nil
}

func verifyMeta(tx *Tx) error {
	meta := tx.tx.Bucket(bucketMeta)
	if meta.Get(keySecret) != nil {
		return fmt.Errorf("%w: the caller-number secret is in the database (it belongs in the key file)", ErrCorrupt)
	}
	if meta.Get(keySettings) != nil {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%w: stored settings: %w", ErrCorrupt, err)
		}
	}
	fields, err := tx.CustomFields()
	if err != nil {
		return err
	}
	if err := ValidateCustomFields(fields); err != nil {
		return fmt.Errorf("%w: stored custom fields: %w", ErrCorrupt, err)
	}
	group, err := tx.FallbackGroup()
	if err != nil {
		return err
	}
	if err := validPubKeySet("fallback group", group, maxShiftVolunteers); err != nil {
		return fmt.Errorf("%w: stored %w", ErrCorrupt, err)
	}
	known := map[string]bool{}
	for _, k := range [][]byte{keySchema, keyAudit, keySettings, keyFields, keyFallback} {
		known[string(k)] = true
	}
	return meta.ForEach(func(k, _ []byte) error {
		if !known[string(k)] {
			return fmt.Errorf("%w: unexpected meta key %q", ErrCorrupt, k)
		}
		return nil
	})
}
