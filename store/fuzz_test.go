package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Everything here decodes bytes read back from the database file, which a
// disk, a bad backup or an attacker with the file may have changed.

func FuzzDecodeRecord(f *testing.F) {
	for _, v := range []any{
		&Volunteer{PubKey: pk(1), Role: RoleAdmin, UserHandle: make([]byte, 32), Profile: []byte{1, 2}},
		&Call{ID: "0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d", Outcome: OutcomeAnswered, CallerHash: Hash{1}},
		&Note{ID: "0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d", Envelope: []byte("x"), Revision: 2},
		&Settings{HotlineName: "x", Languages: []string{"en"}},
		&customFieldList{Fields: []CustomField{{ID: "a", Label: "A", Type: FieldSelect, Options: []string{"x"}}}},
	} {
		b, err := encodeRecord(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []func() any{
			func() any { return new(Volunteer) }, func() any { return new(Invite) }, func() any { return new(Session) },
			func() any { return new(Passkey) }, func() any { return new(ShiftRule) }, func() any { return new(ShiftOverride) },
			func() any { return new(Call) }, func() any { return new(Note) }, func() any { return new(NoteRevision) },
			func() any { return new(Transcript) }, func() any { return new(Voicemail) }, func() any { return new(Ban) },
			func() any { return new(Settings) }, func() any { return new(customFieldList) }, func() any { return new(fallbackGroup) },
		}
		// As stored, and with the fuzz input as the JSON body under a valid
		// frame: the CRC would otherwise stop almost every mutation.
		framed := append([]byte{recordV1}, data...)
		framed = binary.BigEndian.AppendUint32(framed, crc32.Checksum(framed, castagnoli))
		for _, mk := range targets {
			checkDecoded(t, data, mk)
			checkDecoded(t, framed, mk)
		}
	})
}

// checkDecoded decodes input as one record type; whatever decodes must
// validate without panicking and round-trip stably.
func checkDecoded(t *testing.T, input []byte, mk func() any) {
	v := mk()
	if decodeRecord(input, v) != nil {
		return
	}
	switch r := v.(type) {
	case *Volunteer:
		_ = r.validate()
		_ = r.indexEntries()
	case *Call:
		if r.validate() == nil {
			_ = r.indexEntries()
		}
	case *Note:
		if r.validate() == nil {
			_ = r.indexEntries()
		}
	case *Settings:
		_ = r.Validate()
	case *customFieldList:
		_ = ValidateCustomFields(r.Fields)
	case *ShiftRule:
		_ = r.validate()
	case *ShiftOverride:
		_ = r.validate()
	}
	again, err := encodeRecord(v)
	if err != nil {
		t.Fatalf("re-encode %T: %v", v, err)
	}
	w := mk()
	if err := decodeRecord(again, w); err != nil {
		t.Fatalf("%T does not round trip: %v", v, err)
	}
	if twice, _ := encodeRecord(w); !bytes.Equal(twice, again) {
		t.Fatalf("%T encoding is not stable", v)
	}
}

func FuzzDecodeAuditEntry(f *testing.F) {
	e := AuditEntry{Seq: 7, Actor: pk(1), Action: "ban.added", Subjects: []string{"ban:" + Hash{9}.String(), "call:0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d"}}
	e.Hash = e.computeHash()
	f.Add(e.encode())
	empty := AuditEntry{Seq: 1, Actor: ActorSystem, Action: "store.migrated"}
	f.Add(empty.encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeAuditEntry(data)
		if err != nil {
			return
		}
		// The stored form is canonical: one entry, one byte string.
		if !bytes.Equal(e.encode(), data) {
			t.Fatalf("decode/encode is not the identity:\n%x\n%x", data, e.encode())
		}
		_ = e.computeHash()
		_ = validateAudit(e.Actor, e.Action, e.Subjects)
	})
}

func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(cursorCalls, make([]byte, 24)))
	f.Add(encodeCursor(cursorAudit, u64(9)))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			kind cursorKind
			n    int
		}{{cursorAudit, 8}, {cursorCalls, 24}, {cursorNotes, 24}} {
			pos, err := decodeCursor(s, c.kind, c.n)
			if err == nil && len(pos) != c.n {
				t.Fatalf("accepted a %d-byte position for kind %d", len(pos), c.kind)
			}
		}
	})
}

// FuzzVerifyFile feeds damaged database files to VerifyFile in-process: any
// input must end in an error or a report, never a crash. Meta checksums are
// recomputed so mutations reach past the first check.
func FuzzVerifyFile(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.Clone(data)
		if len(data) >= 2*4096 {
			fixMetas(data, 4096)
		}
		p := filepath.Join(dir, "fuzz.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = VerifyFile(context.Background(), p)
	})
}

// Inline buckets nested in inline buckets, two elements per level pointing
// at the same next level, once made the walk exponential (2^depth); bbolt
// never writes a bucket inside an inline bucket, so it is refused at once.
func TestWalkRefusesNestedInlineBuckets(t *testing.T) {
	const ps = 4096
	page := make([]byte, ps)
	ne.PutUint64(page[0:], 3)
	ne.PutUint16(page[8:], flagLeaf)
	ne.PutUint16(page[10:], 1)
	// Element 0 of the file page: a bucket whose value starts at 64.
	ne.PutUint32(page[16:], bucketLeafFlag)
	ne.PutUint32(page[20:], 64-16)
	ne.PutUint32(page[28:], ps-64)
	// Level L's value at b: bucket header (root 0), inline page header, two
	// bucket elements whose values are both level L+1 at b+64.
	for b := 64; b+64 <= ps; b += 64 {
		hdr := b + 16
		last := b+128 > ps
		ne.PutUint16(page[hdr+8:], flagLeaf)
		if last {
			continue
		}
		ne.PutUint16(page[hdr+10:], 2)
		for i := range 2 {
			e := hdr + 16 + i*16
			ne.PutUint32(page[e:], bucketLeafFlag)
			ne.PutUint32(page[e+4:], uint32(b+64-e))
			ne.PutUint32(page[e+12:], uint32(ps-(b+64)))
		}
	}
	w := &walker{m: fileMeta{pageSize: ps, hwm: 4}, seen: make([]uint64, 1)}
	done := make(chan error, 1)
	go func() { done <- w.walkLeaf("page 3", page, 1, 0, false) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "inline bucket holds a bucket") {
			t.Fatalf("err = %v, want the nested inline bucket refused", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("walk did not finish: exponential recursion")
	}
}
