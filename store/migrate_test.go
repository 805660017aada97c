package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestMigrateFromV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v0.db")
	// v0: a bbolt file with nothing in it (what a crash before the first
	// migration committed leaves, too).
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), path, Options{ReadOnly: true}); !errors.Is(err, ErrSchemaTooOld) {
		t.Errorf("read-only open of v0: %v", err)
	}
	if _, err := VerifyFile(context.Background(), path); !errors.Is(err, ErrNotADatabase) {
		t.Errorf("verify of v0: %v", err)
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep := mustCheck(t, s)
	if rep.Schema != SchemaVersion || len(rep.Keys) != len(allBuckets) {
		t.Errorf("after migration: %+v", rep)
	}
	view(t, s, func(tx *Tx) error {
		es, _, err := tx.AuditLog("", 10)
		if len(es) != SchemaVersion || es[len(es)-1].Action != "store.migrated" || es[len(es)-1].Subjects[0] != "schema:v1" {
			t.Errorf("migration entries: %+v", es)
		}
		return err
	})
}

// testV3 stands in for a future migration that rewrites records.
func testV3(fail bool) migration {
	return migration{3, "backfill call language", func(tx *Tx) error {
		b, err := tx.bucket(bucketCalls)
		if err != nil {
			return err
		}
		var calls []Call
		if err := b.ForEach(func(k, v []byte) error {
			var c Call
			if err := decodeRecord(v, &c); err != nil {
				return err
			}
			calls = append(calls, c)
			return nil
		}); err != nil {
			return err
		}
		for _, c := range calls {
			c.Language = "es"
			if err := tx.writeCall(&c, c.indexEntries()); err != nil {
				return err
			}
		}
		if fail {
			return errors.New("disk on fire")
		}
		return nil
	}}
}

func TestMigrationsRunInOrderAndAtomically(t *testing.T) {
	s, path := openTest(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		for i := range 3 {
			if _, err := tx.PutCall(testCall(t, start.Add(time.Duration(i)*time.Hour), pk(1), Hash{1})); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()

	v1v2 := func(fail bool) []migration { return append(builtinMigrations(), testV3(fail)) }
	_, err := Open(context.Background(), path, Options{migrations: v1v2(true)})
	if err == nil || !strings.Contains(err.Error(), "backfill call language") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("failed migration error: %v", err)
	}
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("a failed migration left the file unusable: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		calls, _, err := tx.ListCalls(CallFilter{}, "", 10)
		for _, c := range calls {
			if c.Language != "" {
				t.Error("a failed migration's writes were kept")
			}
		}
		return err
	})
	mustCheck(t, s)
	s.Close()

	s, err = Open(context.Background(), path, Options{migrations: v1v2(false)})
	if err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx *Tx) error {
		calls, _, err := tx.ListCalls(CallFilter{}, "", 10)
		if len(calls) != 3 || calls[0].Language != "es" {
			t.Errorf("v3 did not run: %+v", calls)
		}
		es, _, _ := tx.AuditLog("", 1)
		if es[0].Subjects[0] != "schema:v3" {
			t.Errorf("last audit entry %+v", es[0])
		}
		return err
	})
	s.Close()

	// This binary knows v2 only: the v3 file is refused, untouched.
	before, _ := os.ReadFile(path)
	_, err = Open(context.Background(), path, Options{})
	wantErr(t, err, ErrSchemaTooNew)
	if !strings.Contains(err.Error(), "database schema v3 is newer than this binary supports (v2); upgrade llamenos") {
		t.Errorf("message: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("refusing a newer schema modified the file")
	}
	if _, err := VerifyFile(context.Background(), path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("verify of a newer schema: %v", err)
	}

	if _, err := Open(context.Background(), path, Options{migrations: []migration{testV3(false)}}); err == nil {
		t.Error("a migration list out of order was accepted")
	}
}

func TestNewerSchemaMessage(t *testing.T) {
	s, path := openTest(t)
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(5)) })
	db.Close()
	_, err = Open(context.Background(), path, Options{})
	want := "database schema v5 is newer than this binary supports (v2); upgrade llamenos"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want it to contain %q", err, want)
	}
}
