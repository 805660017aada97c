package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// The audit log is append-only and hash-chained. Entry n's hash covers its
// own fields and entry n-1's hash, over one canonical encoding: a domain
// label, then every field as a u32 big-endian length and the bytes, in fixed
// order (seq, unix-nano time, actor, action, subjects, prev). No separators,
// no JSON, no locale: the same entry always hashes the same, whoever
// computes it.
//
// What verification detects, and what it cannot:
//   - editing an entry without recomputing its hash: its hash mismatches;
//   - editing and recomputing that one hash: the next entry's prev mismatches;
//   - deleting an entry in the middle: a gap in the sequence numbers;
//   - reordering entries: a sequence number stored under another key;
//   - deleting entries at the tail: the head record (seq and hash of the
//     last entry, kept in the meta bucket and written in the same
//     transaction as every entry) no longer matches.
//   - It cannot detect someone who rewrites every entry from the edited one
//     to the end and the head, or truncates the tail and rewrites the head:
//     everything needed to do that is in the same file. Against that, keep
//     an anchor outside the box (the daemon logs the head; admins can note
//     it) and check it with CheckAuditAnchor: the chain then pins every
//     entry up to the anchor.

// ActorSystem is the actor of entries the daemon makes on its own behalf.
const ActorSystem = "system"

const (
	auditV1        = 1
	maxSubjects    = 8
	maxSubjectLen  = 512
	maxActionLen   = 64
	auditHashLabel = "llamenos/audit-entry/v1"
)

// AuditEntry is one link of the chain. Subjects are "kind:value" tokens that
// name records by id or hash: never a phone number or any content.
type AuditEntry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Subjects []string  `json:"subjects"`
	Prev     Hash      `json:"prev"`
	Hash     Hash      `json:"hash"`
}

// AuditHead names the last entry: enough to pin the whole chain.
type AuditHead struct {
	Seq  uint64 `json:"seq"`
	Hash Hash   `json:"hash"`
}

// String is "seq:hash", the form an operator copies somewhere safe.
func (h AuditHead) String() string { return strconv.FormatUint(h.Seq, 10) + ":" + h.Hash.String() }

// AuditError reports the first entry at which the chain fails.
type AuditError struct {
	Seq    uint64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

var (
	actionRE  = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	base64URL = regexp.MustCompile(`^[A-Za-z0-9_-]{1,400}$`)
	countRE   = regexp.MustCompile(`^(0|[1-9][0-9]{0,11})$`)
)

// subjectKinds maps each subject kind to the check of its value. Values are
// ids, hashes or fixed names only, which is what keeps phone numbers and
// text out of the log by construction.
var subjectKinds = map[string]func(string) bool{
	"call":       func(v string) bool { return ValidID(v) == nil },
	"note":       func(v string) bool { return ValidID(v) == nil },
	"transcript": func(v string) bool { return ValidID(v) == nil },
	"voicemail":  func(v string) bool { return ValidID(v) == nil },
	"shift":      func(v string) bool { return ValidID(v) == nil },
	"override":   func(v string) bool { return ValidID(v) == nil },
	"volunteer":  func(v string) bool { return ValidPubKey(v) == nil },
	"ban":        func(v string) bool { return isLowerHex([]byte(v), 64) },
	"invite":     func(v string) bool { return isLowerHex([]byte(v), 64) },
	"passkey":    base64URL.MatchString,
	"setting":    nameRE.MatchString,
	"prompt":     nameRE.MatchString, // lang.name of a caller prompt
	"fields":     nameRE.MatchString,
	"schema":     nameRE.MatchString,
	"backup":     nameRE.MatchString,
	// Counts of what a purge deleted: numbers only.
	"calls":       countRE.MatchString,
	"notes":       countRE.MatchString,
	"transcripts": countRE.MatchString,
	"voicemails":  countRE.MatchString,
	"sessions":    countRE.MatchString,
	"invites":     countRE.MatchString,
	"envelopes":   countRE.MatchString, // how many envelopes were sealed again
}

func validateAudit(actor, action string, subjects []string) error {
	if actor != ActorSystem && ValidPubKey(actor) != nil {
		return fmt.Errorf("audit actor %q: want %q or a public key", truncate(actor, 80), ActorSystem)
	}
	if !actionRE.MatchString(action) {
		return fmt.Errorf("audit action %q: want lowercase letters, digits, '.' and '_', at most %d", truncate(action, 80), maxActionLen)
	}
	if len(subjects) > maxSubjects {
		return fmt.Errorf("audit: %d subjects, at most %d", len(subjects), maxSubjects)
	}
	for _, s := range subjects {
		kind, value, ok := strings.Cut(s, ":")
		check := subjectKinds[kind]
		if !ok || check == nil || !check(value) {
			return fmt.Errorf("audit subject %q: want kind:id with a known kind (call:UUID, volunteer:PUBKEY, ban:HASH, ...)", truncate(s, 80))
		}
	}
	return nil
}

func appendLP(buf, field []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(field)))
	return append(buf, field...)
}

// canonical is the length-prefixed body shared by the hash and the record.
func (e *AuditEntry) canonical() []byte {
	var subj []byte
	subj = binary.BigEndian.AppendUint32(subj, uint32(len(e.Subjects)))
	for _, s := range e.Subjects {
		subj = appendLP(subj, []byte(s))
	}
	var buf []byte
	buf = appendLP(buf, u64(e.Seq))
	buf = appendLP(buf, u64(uint64(e.Time.UnixNano())))
	buf = appendLP(buf, []byte(e.Actor))
	buf = appendLP(buf, []byte(e.Action))
	buf = appendLP(buf, subj)
	buf = appendLP(buf, e.Prev[:])
	return buf
}

func (e *AuditEntry) computeHash() Hash {
	h := sha256.New()
	h.Write(appendLP(nil, []byte(auditHashLabel)))
	h.Write(e.canonical())
	var out Hash
	copy(out[:], h.Sum(nil))
	return out
}

// encode is the stored form: version byte, canonical body, hash.
func (e *AuditEntry) encode() []byte {
	body := e.canonical()
	out := make([]byte, 0, 1+len(body)+32)
	out = append(out, auditV1)
	out = append(out, body...)
	return append(out, e.Hash[:]...)
}

type lpReader struct {
	b   []byte
	err error
}

func (r *lpReader) next(max int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 4 {
		r.err = errors.New("cut short")
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(n) > uint64(max) || uint64(n) > uint64(len(r.b)-4) {
		r.err = fmt.Errorf("field of %d bytes", n)
		return nil
	}
	f := r.b[4 : 4+n]
	r.b = r.b[4+n:]
	return f
}

func (r *lpReader) fixed(n int) []byte {
	f := r.next(n)
	if r.err == nil && len(f) != n {
		r.err = fmt.Errorf("field of %d bytes, want %d", len(f), n)
	}
	return f
}

// decodeAuditEntry parses the stored form, copying what it keeps.
func decodeAuditEntry(b []byte) (AuditEntry, error) {
	if len(b) < 1+32 || b[0] != auditV1 {
		return AuditEntry{}, fmt.Errorf("%w: audit entry: unknown format", ErrCorrupt)
	}
	r := &lpReader{b: b[1 : len(b)-32]}
	seq := r.fixed(8)
	ts := r.fixed(8)
	actor := r.next(64)
	action := r.next(maxActionLen)
	subj := &lpReader{b: r.next(4 + maxSubjects*(4+maxSubjectLen))}
	prev := r.fixed(32)
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return AuditEntry{}, fmt.Errorf("%w: audit entry: %v", ErrCorrupt, r.err)
	}
	e := AuditEntry{
		Seq:    binary.BigEndian.Uint64(seq),
		Time:   time.Unix(0, int64(binary.BigEndian.Uint64(ts))).UTC(),
		Actor:  string(actor),
		Action: string(action),
	}
	copy(e.Prev[:], prev)
	copy(e.Hash[:], b[len(b)-32:])
	if len(subj.b) < 4 {
		return AuditEntry{}, fmt.Errorf("%w: audit entry %d: subjects cut short", ErrCorrupt, e.Seq)
	}
	n := binary.BigEndian.Uint32(subj.b)
	subj.b = subj.b[4:]
	if n > maxSubjects {
		return AuditEntry{}, fmt.Errorf("%w: audit entry %d: %d subjects", ErrCorrupt, e.Seq, n)
	}
	e.Subjects = make([]string, 0, n)
	for range n {
		s := subj.next(maxSubjectLen)
		if subj.err != nil {
			return AuditEntry{}, fmt.Errorf("%w: audit entry %d: subject: %v", ErrCorrupt, e.Seq, subj.err)
		}
		e.Subjects = append(e.Subjects, string(s))
	}
	if len(subj.b) != 0 {
		return AuditEntry{}, fmt.Errorf("%w: audit entry %d: trailing subject bytes", ErrCorrupt, e.Seq)
	}
	return e, nil
}

func readAuditHead(meta *bbolt.Bucket) (AuditHead, error) {
	v := meta.Get(keyAudit)
	if v == nil {
		return AuditHead{}, nil
	}
	if len(v) != 8+32 {
		return AuditHead{}, fmt.Errorf("%w: audit head is %d bytes", ErrCorrupt, len(v))
	}
	h := AuditHead{Seq: binary.BigEndian.Uint64(v)}
	copy(h.Hash[:], v[8:])
	return h, nil
}

// Audit appends an entry in this transaction: it commits or vanishes with
// the change it describes.
func (tx *Tx) Audit(actor, action string, subjects ...string) error {
	if err := validateAudit(actor, action, subjects); err != nil {
		return fmt.Errorf("store: %w: %w", ErrInvalid, err)
	}
	meta, err := tx.bucket(bucketMeta)
	if err != nil {
		return err
	}
	b, err := tx.bucket(bucketAudit)
	if err != nil {
		return err
	}
	head, err := readAuditHead(meta)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	e := AuditEntry{
		Seq:      head.Seq + 1,
		Time:     tx.now,
		Actor:    actor,
		Action:   action,
		Subjects: append([]string{}, subjects...),
		Prev:     head.Hash,
	}
	e.Hash = e.computeHash()
	b.FillPercent = 1 // keys only ever grow: pack pages full
	if err := b.Put(u64(e.Seq), e.encode()); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	if err := meta.Put(keyAudit, append(u64(e.Seq), e.Hash[:]...)); err != nil {
		return fmt.Errorf("store: audit head: %w", err)
	}
	return nil
}

// AuditHead returns the last entry's sequence number and hash.
func (tx *Tx) AuditHead() (AuditHead, error) {
	meta, err := tx.bucket(bucketMeta)
	if err != nil {
		return AuditHead{}, err
	}
	h, err := readAuditHead(meta)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: %w", err)
	}
	return h, nil
}

// AuditLog lists entries newest first. cursor is "" for the first page or
// the value returned with the previous page; next is "" after the last.
func (tx *Tx) AuditLog(cursor string, limit int) (entries []AuditEntry, next string, err error) {
	return tx.AuditSearch(AuditFilter{}, cursor, limit)
}

// AuditFilter narrows AuditSearch. Zero fields do not filter.
type AuditFilter struct {
	Actor string // this actor exactly: ActorSystem or a public key
	// Action is one action ("call.answered") or a family: "call" matches
	// every "call.…" action.
	Action string
	Kind   string    // entries naming a subject of this kind ("call", "volunteer", …)
	From   time.Time // at or after
	To     time.Time // before
}

// AuditScanLimit bounds how many entries one AuditSearch page reads. A
// narrow filter over a long log returns a short (even empty) page with a
// next cursor where the reading stopped, so no request walks the whole
// log.
const AuditScanLimit = 5000

var actionFilterRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}(\.[a-z0-9_.]{1,62})?$`)

func (f AuditFilter) validate() error {
	var errs []error
	if f.Actor != "" && f.Actor != ActorSystem && ValidPubKey(f.Actor) != nil {
		errs = append(errs, fmt.Errorf("actor: want %q or a public key", ActorSystem))
	}
	if f.Action != "" && !actionFilterRE.MatchString(f.Action) {
		errs = append(errs, errors.New("action: want an action such as call.answered or a family such as call"))
	}
	if f.Kind != "" && subjectKinds[f.Kind] == nil {
		errs = append(errs, fmt.Errorf("kind %q: unknown", truncate(f.Kind, 40)))
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		errs = append(errs, errors.New("from must be before to"))
	}
	return errors.Join(errs...)
}

func (f AuditFilter) match(e *AuditEntry) bool {
	if f.Actor != "" && e.Actor != f.Actor {
		return false
	}
	if f.Action != "" && e.Action != f.Action && !(strings.HasPrefix(e.Action, f.Action) && e.Action[len(f.Action)] == '.') {
		return false
	}
	if !f.From.IsZero() && e.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.Time.Before(f.To) {
		return false
	}
	if f.Kind != "" {
		for _, s := range e.Subjects {
			if kind, _, _ := strings.Cut(s, ":"); kind == f.Kind {
				return true
			}
		}
		return false
	}
	return true
}

// AuditSearch lists the entries f matches, newest first, a page at a time
// like AuditLog. It reads at most AuditScanLimit entries per page: a page
// may hold fewer than limit entries and still have a next cursor.
func (tx *Tx) AuditSearch(f AuditFilter, cursor string, limit int) (entries []AuditEntry, next string, err error) {
	if err := f.validate(); err != nil {
		return nil, "", fmt.Errorf("store: audit search: %w: %w", ErrInvalid, err)
	}
	b, err := tx.bucket(bucketAudit)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit)
	var before []byte
	if cursor != "" {
		pos, err := decodeCursor(cursor, cursorAudit, 8)
		if err != nil {
			return nil, "", err
		}
		before = pos
	}
	var last []byte // the key of the last entry read
	scanned := 0
	err = scanDesc(b, nil, before, nil, func(k, v []byte) (bool, error) {
		if len(entries) == limit || scanned == AuditScanLimit {
			next = encodeCursor(cursorAudit, last)
			return true, nil
		}
		e, err := decodeAuditEntry(v)
		if err != nil {
			return true, fmt.Errorf("store: audit %x: %w", k, err)
		}
		scanned++
		last = e.seqKey()
		if f.match(&e) {
			entries = append(entries, e)
		}
		return false, nil
	})
	return entries, next, err
}

func (e *AuditEntry) seqKey() []byte { return u64(e.Seq) }

// verifyAuditTx walks the chain from entry 1 to the head.
func verifyAuditTx(ctx context.Context, btx *bbolt.Tx) (AuditHead, error) {
	meta, b := btx.Bucket(bucketMeta), btx.Bucket(bucketAudit)
	if meta == nil || b == nil {
		return AuditHead{}, fmt.Errorf("%w: audit buckets missing", ErrCorrupt)
	}
	head, err := readAuditHead(meta)
	if err != nil {
		return AuditHead{}, err
	}
	var (
		want = uint64(1)
		prev Hash
	)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if want%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return AuditHead{}, err
			}
		}
		if len(k) != 8 {
			return AuditHead{}, &AuditError{Seq: want, Reason: fmt.Sprintf("malformed key %x", k)}
		}
		if got := binary.BigEndian.Uint64(k); got != want {
			return AuditHead{}, &AuditError{Seq: want, Reason: fmt.Sprintf("entry missing (next stored entry is %d)", got)}
		}
		e, err := decodeAuditEntry(v)
		if err != nil {
			return AuditHead{}, &AuditError{Seq: want, Reason: err.Error()}
		}
		if e.Seq != want {
			return AuditHead{}, &AuditError{Seq: want, Reason: fmt.Sprintf("holds entry %d: entries were moved", e.Seq)}
		}
		if e.Prev != prev {
			return AuditHead{}, &AuditError{Seq: want, Reason: fmt.Sprintf("previous-hash link does not match entry %d: entry %d or %d was altered", want-1, want-1, want)}
		}
		if e.computeHash() != e.Hash {
			return AuditHead{}, &AuditError{Seq: want, Reason: "content does not match its hash: the entry was altered"}
		}
		prev = e.Hash
		want++
	}
	last := want - 1
	switch {
	case last == 0:
		return AuditHead{}, &AuditError{Seq: 1, Reason: "the log is empty (every database starts with a migration entry)"}
	case head.Seq > last:
		return AuditHead{}, &AuditError{Seq: last + 1, Reason: fmt.Sprintf("head record says %d entries, found %d: the tail was removed", head.Seq, last)}
	case head.Seq < last:
		return AuditHead{}, &AuditError{Seq: head.Seq + 1, Reason: fmt.Sprintf("entries after the head record (%d): added outside the store", head.Seq)}
	case head.Hash != prev:
		return AuditHead{}, &AuditError{Seq: last, Reason: "last entry does not match the head record"}
	}
	return head, nil
}

// VerifyAudit walks the whole chain and returns its head, or an *AuditError
// naming the first bad entry.
func (s *Store) VerifyAudit(ctx context.Context) (AuditHead, error) {
	var head AuditHead
	err := s.db.View(func(btx *bbolt.Tx) error {
		var err error
		head, err = verifyAuditTx(ctx, btx)
		return err
	})
	return head, err
}

// CheckAuditAnchor verifies the chain and that entry anchor.Seq still has
// hash anchor.Hash, which pins every entry up to it against a rewrite.
func (s *Store) CheckAuditAnchor(ctx context.Context, anchor AuditHead) error {
	return s.db.View(func(btx *bbolt.Tx) error {
		if _, err := verifyAuditTx(ctx, btx); err != nil {
			return err
		}
		v := btx.Bucket(bucketAudit).Get(u64(anchor.Seq))
		if v == nil {
			return &AuditError{Seq: anchor.Seq, Reason: "anchored entry no longer exists: the log was truncated and rewritten"}
		}
		e, err := decodeAuditEntry(v)
		if err != nil {
			return &AuditError{Seq: anchor.Seq, Reason: err.Error()}
		}
		if !bytes.Equal(e.Hash[:], anchor.Hash[:]) {
			return &AuditError{Seq: anchor.Seq, Reason: "hash differs from the anchor: the log was rewritten"}
		}
		return nil
	})
}

// AuditSearch reads one page of the entries f matches, newest first
// (Tx.AuditSearch in a read transaction of its own).
func (s *Store) AuditSearch(ctx context.Context, f AuditFilter, cursor string, limit int) ([]AuditEntry, string, error) {
	type page struct {
		entries []AuditEntry
		next    string
	}
	p, err := Read(ctx, s, func(tx *Tx) (page, error) {
		e, next, err := tx.AuditSearch(f, cursor, limit)
		return page{e, next}, err
	})
	return p.entries, p.next, err
}
