package store

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"go.etcd.io/bbolt"
)

// Listing pages run newest first over index keys "prefix | time(8) | id(16)".
// A cursor carries only the position (time and id) of the last item
// returned; the prefix always comes from the caller's own filter, so a
// cursor cannot widen what a listing may reach.

type cursorKind byte

const (
	cursorAudit cursorKind = 1 + iota
	cursorCalls
	cursorNotes
	cursorTranscripts
)

const cursorV1 = 1

// Page sizes: a limit of 0 or less means DefaultLimit; more than MaxLimit
// is cut to MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

func encodeCursor(kind cursorKind, pos []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{cursorV1, byte(kind)}, pos...))
}

// decodeCursor returns the position bytes of a cursor from a client.
func decodeCursor(s string, kind cursorKind, posLen int) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) != 2+posLen || raw[0] != cursorV1 || raw[1] != byte(kind) {
		return nil, fmt.Errorf("store: %w: malformed page cursor", ErrInvalid)
	}
	return raw[2:], nil
}

// prefixEnd is the smallest key greater than every key starting with prefix,
// or nil when there is none (empty or all-0xff prefix).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// scanDesc visits the keys of b that start with prefix, are below before
// (exclusive; nil means no bound) and not below floor (nil: no bound),
// largest first, until visit says stop. k and v are bbolt memory: visit
// must copy what it keeps.
func scanDesc(b *bbolt.Bucket, prefix, before, floor []byte, visit func(k, v []byte) (bool, error)) error {
	upper := prefixEnd(prefix)
	if before != nil && (upper == nil || bytes.Compare(before, upper) < 0) {
		upper = before
	}
	c := b.Cursor()
	var k, v []byte
	if upper == nil {
		k, v = c.Last()
	} else if k, v = c.Seek(upper); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		if !bytes.HasPrefix(k, prefix) || (floor != nil && bytes.Compare(k, floor) < 0) {
			return nil
		}
		stop, err := visit(k, v)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// indexEntry is one key a record contributes to an index bucket.
type indexEntry struct {
	bucket []byte
	key    []byte
}

// timeOrdered index buckets receive keys in (mostly) increasing order
// within each prefix, so a page split should leave the old page nearly full
// rather than half empty: a third less disk for a million calls.
var timeOrdered = map[string]bool{
	string(bucketCallsTime): true, string(bucketCallsVol): true, string(bucketCallsNoted): true,
	string(bucketNotesCall): true, string(bucketNotesAuth): true, string(bucketTranscrCl): true,
}

// reindex replaces a record's index keys: old ones not wanted any more are
// deleted, new ones put.
func (tx *Tx) reindex(old, new []indexEntry) error {
	keep := make(map[string]bool, len(new))
	for _, e := range new {
		keep[string(e.bucket)+"\x00"+string(e.key)] = true
	}
	for _, e := range old {
		if keep[string(e.bucket)+"\x00"+string(e.key)] {
			continue
		}
		b, err := tx.bucket(e.bucket)
		if err != nil {
			return err
		}
		if err := b.Delete(e.key); err != nil {
			return fmt.Errorf("store: unindex %s: %w", e.bucket, err)
		}
	}
	for _, e := range new {
		b, err := tx.bucket(e.bucket)
		if err != nil {
			return err
		}
		if timeOrdered[string(e.bucket)] {
			b.FillPercent = 0.9
		}
		if err := b.Put(e.key, nil); err != nil {
			return fmt.Errorf("store: index %s: %w", e.bucket, err)
		}
	}
	return nil
}

// listPage runs one page of a time-ordered listing. key2id maps an index key
// to the record's primary key, load decodes it (ok=false skips it, for
// post-filters).
func listPage[T any](tx *Tx, index, prefix []byte, kind cursorKind, cursor string, limit int,
	from, to []byte, load func(id []byte) (T, bool, error)) ([]T, string, error) {
	b, err := tx.bucket(index)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit)
	const posLen = 8 + 16
	var before []byte
	if to != nil {
		before = cat(prefix, to)
	}
	if cursor != "" {
		pos, err := decodeCursor(cursor, kind, posLen)
		if err != nil {
			return nil, "", err
		}
		if c := cat(prefix, pos); before == nil || bytes.Compare(c, before) < 0 {
			before = c
		}
	}
	var floor []byte
	if from != nil {
		floor = cat(prefix, from)
	}
	var (
		items   []T
		lastPos []byte
		next    string
	)
	err = scanDesc(b, prefix, before, floor, func(k, _ []byte) (bool, error) {
		if len(k) != len(prefix)+posLen {
			return true, fmt.Errorf("store: %s key %x: %w", index, k, ErrCorrupt)
		}
		item, ok, err := load(k[len(k)-16:])
		if err != nil || !ok {
			return false, err
		}
		if len(items) == limit {
			next = encodeCursor(kind, lastPos)
			return true, nil
		}
		items = append(items, item)
		lastPos = bytes.Clone(k[len(prefix):])
		return false, nil
	})
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}
