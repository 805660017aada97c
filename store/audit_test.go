package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// auditFixture returns a closed database with 10 audit entries.
func auditFixture(t *testing.T) string {
	t.Helper()
	s, path := openTest(t)
	for i := SchemaVersion + 1; i <= 10; i++ { // entries 1..SchemaVersion are the migrations
		update(t, s, func(tx *Tx) error {
			return tx.Audit(pk(1), "volunteer.added", fmt.Sprintf("volunteer:%s", pk(i)))
		})
	}
	if _, err := s.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("fresh chain: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// raw edits the file with bbolt directly, as an attacker with the file would.
func raw(t *testing.T, path string, fn func(audit, meta *bbolt.Bucket) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error { return fn(tx.Bucket(bucketAudit), tx.Bucket(bucketMeta)) }); err != nil {
		t.Fatal(err)
	}
}

func rawEntry(t *testing.T, b *bbolt.Bucket, seq uint64) AuditEntry {
	e, err := decodeAuditEntry(b.Get(u64(seq)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAuditTamperDetected(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, audit, meta *bbolt.Bucket) error
		wantSeq uint64
	}{
		{"edit keeping the old hash", func(t *testing.T, a, _ *bbolt.Bucket) error {
			e := rawEntry(t, a, 5)
			e.Action = "volunteer.removed"
			return a.Put(u64(5), e.encode())
		}, 5},
		{"edit and rehash the entry", func(t *testing.T, a, _ *bbolt.Bucket) error {
			e := rawEntry(t, a, 5)
			e.Actor = pk(2)
			e.Hash = e.computeHash()
			return a.Put(u64(5), e.encode())
		}, 6},
		{"edit the time", func(t *testing.T, a, _ *bbolt.Bucket) error {
			e := rawEntry(t, a, 3)
			e.Time = e.Time.Add(-1)
			return a.Put(u64(3), e.encode())
		}, 3},
		{"flip one stored byte", func(t *testing.T, a, _ *bbolt.Bucket) error {
			v := append([]byte{}, a.Get(u64(7))...)
			v[len(v)-40] ^= 0x01
			return a.Put(u64(7), v)
		}, 7},
		{"delete from the middle", func(t *testing.T, a, _ *bbolt.Bucket) error {
			return a.Delete(u64(4))
		}, 4},
		{"delete the first", func(t *testing.T, a, _ *bbolt.Bucket) error {
			return a.Delete(u64(1))
		}, 1},
		{"swap two entries", func(t *testing.T, a, _ *bbolt.Bucket) error {
			v4, v5 := append([]byte{}, a.Get(u64(4))...), append([]byte{}, a.Get(u64(5))...)
			if err := a.Put(u64(4), v5); err != nil {
				return err
			}
			return a.Put(u64(5), v4)
		}, 4},
		{"renumber to hide a deletion", func(t *testing.T, a, _ *bbolt.Bucket) error {
			// Delete 6 and shift 7..10 down, fixing their seq fields.
			for seq := uint64(6); seq < 10; seq++ {
				e := rawEntry(t, a, seq+1)
				e.Seq = seq
				e.Hash = e.computeHash()
				if err := a.Put(u64(seq), e.encode()); err != nil {
					return err
				}
			}
			return a.Delete(u64(10))
		}, 6},
		{"truncate the tail", func(t *testing.T, a, _ *bbolt.Bucket) error {
			if err := a.Delete(u64(10)); err != nil {
				return err
			}
			return a.Delete(u64(9))
		}, 9},
		{"append a forged entry without the head", func(t *testing.T, a, _ *bbolt.Bucket) error {
			last := rawEntry(t, a, 10)
			e := AuditEntry{Seq: 11, Time: last.Time, Actor: ActorSystem, Action: "forged", Prev: last.Hash}
			e.Hash = e.computeHash()
			return a.Put(u64(11), e.encode())
		}, 11},
		{"empty the log", func(t *testing.T, a, m *bbolt.Bucket) error {
			for seq := uint64(1); seq <= 10; seq++ {
				if err := a.Delete(u64(seq)); err != nil {
					return err
				}
			}
			return m.Delete(keyAudit)
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := auditFixture(t)
			raw(t, path, func(a, m *bbolt.Bucket) error { return c.tamper(t, a, m) })
			s, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.VerifyAudit(context.Background())
			var ae *AuditError
			if !errors.As(err, &ae) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ae.Seq != c.wantSeq {
				t.Errorf("reported entry %d (%v), want %d", ae.Seq, err, c.wantSeq)
			}
			s.Close()
			if _, err := VerifyFile(context.Background(), path); !errors.As(err, &ae) {
				t.Errorf("VerifyFile accepted the tampered log: %v", err)
			}
		})
	}
}

// Truncating the tail and rewriting the head record leaves a consistent
// chain: only an anchor kept outside the file reveals it (documented).
func TestAuditAnchorCatchesRewrittenHead(t *testing.T) {
	path := auditFixture(t)
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := Read(context.Background(), s, (*Tx).AuditHead)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckAuditAnchor(context.Background(), anchor); err != nil {
		t.Fatalf("untouched log fails its anchor: %v", err)
	}
	parsed, err := parseAuditHead(anchor.String())
	if err != nil || parsed != anchor {
		t.Fatalf("anchor round trip: %v %v", parsed, err)
	}
	s.Close()
	raw(t, path, func(a, m *bbolt.Bucket) error {
		e8 := rawEntry(t, a, 8)
		for _, seq := range []uint64{9, 10} {
			if err := a.Delete(u64(seq)); err != nil {
				return err
			}
		}
		return m.Put(keyAudit, append(u64(8), e8.Hash[:]...))
	})
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("a consistent truncation is expected to pass the internal check: %v", err)
	}
	var ae *AuditError
	if err := s.CheckAuditAnchor(context.Background(), anchor); !errors.As(err, &ae) || ae.Seq != 10 {
		t.Errorf("anchor did not catch the rewrite: %v", err)
	}
}

func TestAuditRefusesPersonalData(t *testing.T) {
	s, _ := openTest(t)
	bad := []struct {
		actor, action string
		subjects      []string
	}{
		{"admin", "x", nil},
		{pk(1), "Volunteer Added", nil},
		{pk(1), "ban.added", []string{"+15555550100"}},
		{pk(1), "ban.added", []string{"ban:+15555550100"}},
		{pk(1), "note.created", []string{"note:feeling suicidal"}},
		{pk(1), "call.ended", []string{"caller:15555550100"}},
		{pk(1), "x", []string{"call:1", "call:2", "call:3", "call:4", "call:5", "call:6", "call:7", "call:8", "call:9"}},
	}
	for _, b := range bad {
		err := s.Update(context.Background(), func(tx *Tx) error { return tx.Audit(b.actor, b.action, b.subjects...) })
		wantErr(t, err, ErrInvalid)
	}
	update(t, s, func(tx *Tx) error {
		return tx.Audit(pk(1), "ban.added", "ban:"+callerHash(t, s, "+15555550100").String(), "call:"+newID(t))
	})
	view(t, s, func(tx *Tx) error {
		es, next, err := tx.AuditLog("", 1)
		if len(es) != 1 || es[0].Seq != SchemaVersion+1 || next == "" {
			t.Errorf("newest entry: %+v next=%q", es, next)
		}
		es, next, err2 := tx.AuditLog(next, 10)
		if len(es) != SchemaVersion || es[len(es)-1].Seq != 1 || next != "" {
			t.Errorf("second page: %+v next=%q", es, next)
		}
		return errors.Join(err, err2)
	})
	if _, err := parseAuditHead("12:" + strings.Repeat("z", 64)); err == nil {
		t.Error("bad anchor parsed")
	}
}
