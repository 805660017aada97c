package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// SchemaVersion is the newest schema this binary reads and writes.
const SchemaVersion = 2

// Top-level buckets. Records are keyed by their natural key in raw bytes
// (16-byte UUIDs, 32-byte public keys and hashes); index buckets hold
// composite keys with empty values, ordered so that a reverse cursor walk
// yields newest first.
var (
	bucketMeta = []byte("meta") // schema version, audit head, settings, fields, fallback group (v1: install secret)

	bucketVolunteers = []byte("volunteers")   // pubkey(32) → Volunteer
	bucketVolHandles = []byte("vol_handles")  // webauthn user handle → pubkey(32)
	bucketInvites    = []byte("invites")      // code hash(32) → Invite
	bucketSessions   = []byte("sessions")     // token hash(32) → Session
	bucketSessByPK   = []byte("sessions_pk")  // pubkey(32) | token hash(32)
	bucketPasskeys   = []byte("passkeys")     // credential id → Passkey
	bucketPasskeyPK  = []byte("passkeys_pk")  // pubkey(32) | credential id
	bucketShiftRules = []byte("shift_rules")  // id(16) → ShiftRule
	bucketOverrides  = []byte("shift_overr")  // id(16) → ShiftOverride
	bucketCalls      = []byte("calls")        // id(16) → Call
	bucketCallsTime  = []byte("calls_time")   // started(8) | id(16)
	bucketCallsVol   = []byte("calls_vol")    // answered_by(32) | started(8) | id(16)
	bucketCallsFrom  = []byte("calls_caller") // caller hash(32) | started(8) | id(16)
	bucketCallsNoted = []byte("calls_noted")  // started(8) | id(16), calls with a note
	bucketNotes      = []byte("notes")        // id(16) → Note
	bucketNotesCall  = []byte("notes_call")   // call id(16) | created(8) | id(16)
	bucketNotesAuth  = []byte("notes_author") // author(32) | created(8) | id(16)
	bucketNoteHist   = []byte("note_history") // note id(16) | revision(4) → NoteRevision
	bucketTranscr    = []byte("transcripts")  // id(16) → Transcript
	bucketTranscrCl  = []byte("transcr_call") // call id(16) | created(8) | id(16)
	bucketVoicemails = []byte("voicemails")   // call id(16) → Voicemail
	bucketBans       = []byte("bans")         // caller hash(32) → Ban
	bucketAudit      = []byte("audit")        // seq(8) → audit entry (canonical encoding)
	// Made by the first admin-set statement, so hotlines from before it
	// need no migration: a missing bucket is an empty chain.
	bucketAdminSet = []byte("admin_set") // seq(8) → AdminStatementJSON
)

// Keys in bucketMeta.
var (
	keySchema   = []byte("schema_version") // u64 big endian
	keySecret   = []byte("install_secret") // v1 only: 32 bytes, moved to the key file by v2
	keyAudit    = []byte("audit_head")     // seq(8) | hash(32)
	keySettings = []byte("settings")       // Settings record
	keyFields   = []byte("custom_fields")  // []CustomField record
	keyFallback = []byte("fallback_group") // fallback record
)

var allBuckets = [][]byte{
	bucketMeta, bucketVolunteers, bucketVolHandles, bucketInvites, bucketSessions, bucketSessByPK,
	bucketPasskeys, bucketPasskeyPK, bucketShiftRules, bucketOverrides, bucketCalls, bucketCallsTime,
	bucketCallsVol, bucketCallsFrom, bucketCallsNoted, bucketNotes, bucketNotesCall, bucketNotesAuth,
	bucketNoteHist, bucketTranscr, bucketTranscrCl, bucketVoicemails, bucketBans, bucketAudit,
}

// migration moves the schema from version-1 to version. Each runs in its own
// transaction together with the version bump and an audit entry, so a crash
// part way leaves the previous version intact and the next open retries.
type migration struct {
	version int
	name    string
	up      func(tx *Tx) error
}

func builtinMigrations() []migration {
	return []migration{
		{1, "initial layout", migrateV1},
		{2, "caller-number key out of the database", migrateV2},
	}
}

// migrateV1 creates every bucket. (Databases created at v1 also got an
// install secret here, which v2 moves out.)
func migrateV1(tx *Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrateV2 deletes the v1 install secret from the database (Open has
// already added it to the key file as a legacy secret), erases every
// call's v1 caller hash, and marks every ban as keyed by a v1 hash: those
// cannot be recomputed without the number, so they stay checkable with the
// legacy secret and are re-keyed when the caller calls again.
func migrateV2(tx *Tx) error {
	if err := tx.tx.Bucket(bucketMeta).Delete(keySecret); err != nil {
		return err
	}
	if _, err := tx.EraseCallerHashes(maxKeyTime); err != nil {
		return err
	}
	bans, err := listAll[Ban](tx, bucketBans)
	if err != nil {
		return err
	}
	for _, b := range bans {
		b.Legacy = true
		if err := tx.putRecord(bucketBans, b.Hash[:], &b); err != nil {
			return err
		}
	}
	return nil
}

// schemaVersion reads the version key; a file without a meta bucket is v0.
func schemaVersion(btx *bbolt.Tx) (int, error) {
	b := btx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keySchema)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("schema version is %d bytes: %w", len(v), ErrCorrupt)
	}
	n := binary.BigEndian.Uint64(v)
	if n > 1<<20 {
		return 0, fmt.Errorf("schema version %d: %w", n, ErrCorrupt)
	}
	return int(n), nil
}

func tooNew(v, supported int) error {
	return fmt.Errorf("%w: database schema v%d is newer than this binary supports (v%d); upgrade llamenos", ErrSchemaTooNew, v, supported)
}

func (s *Store) migrate(ctx context.Context, migs []migration) error {
	latest := 0
	for i, m := range migs {
		if m.version != i+1 {
			return fmt.Errorf("store: migration list out of order at %q", m.name)
		}
		latest = m.version
	}
	var current int
	if err := s.db.View(func(btx *bbolt.Tx) error {
		var err error
		current, err = schemaVersion(btx)
		return err
	}); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if current > latest {
		return fmt.Errorf("store: open %s: %w", s.path, tooNew(current, latest))
	}
	if current == latest {
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("store: open %s: %w: database schema v%d, this binary uses v%d; open it read-write once (start llamenos) to migrate", s.path, ErrSchemaTooOld, current, latest)
	}
	for _, m := range migs[current:] {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		err := s.Update(ctx, func(tx *Tx) error {
			v, err := schemaVersion(tx.tx)
			if err != nil {
				return err
			}
			if v != m.version-1 {
				return fmt.Errorf("schema changed underneath: at v%d, expected v%d", v, m.version-1)
			}
			if err := m.up(tx); err != nil {
				return err
			}
			if err := tx.tx.Bucket(bucketMeta).Put(keySchema, u64(uint64(m.version))); err != nil {
				return err
			}
			return tx.Audit(ActorSystem, "store.migrated", fmt.Sprintf("schema:v%d", m.version))
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s to v%d (%s): %w", s.path, m.version, m.name, err)
		}
		s.log.Info("store: schema migrated", "path", s.path, "version", m.version, "migration", m.name)
	}
	return nil
}
