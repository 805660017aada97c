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
)

func TestOpenCreatesSchemaSecretAndGenesisEntry(t *testing.T) {
	s, path := openTest(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	rep := mustCheck(t, s)
	if rep.Schema != SchemaVersion || rep.AuditHead.Seq != SchemaVersion {
		t.Errorf("report %+v: want schema %d and one audit entry", rep, SchemaVersion)
	}
	if s.CallerKey().key == ([32]byte{}) {
		t.Error("caller key is zero")
	}
	key, keyFile := s.CallerKey().key, s.keyFile
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), path, Options{KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.CallerKey().key != key {
		t.Error("caller key changed across reopen")
	}
	head, err := s2.VerifyAudit(context.Background())
	if err != nil || head.Seq != SchemaVersion {
		t.Errorf("reopen added audit entries or broke the chain: %v %v", head, err)
	}
}

func TestOpenLockedByAnotherHandle(t *testing.T) {
	_, path := openTest(t)
	start := time.Now()
	_, err := Open(context.Background(), path, Options{LockTimeout: 150 * time.Millisecond})
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), "llamenos serve running") {
		t.Errorf("message does not say what to do: %v", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("did not wait for the lock timeout")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, path, Options{LockTimeout: time.Minute}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled open: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := Open(ctx, path, Options{LockTimeout: time.Minute}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("open with deadline: %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Error("the lock wait ignored ctx")
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"text":  bytes.Repeat([]byte("not a database\n"), 2000),
		"short": []byte("bolt"),
		"zeros": make([]byte, 64<<10),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), p, Options{})
			wantErr(t, err, ErrNotADatabase)
			after, _ := os.ReadFile(p)
			if !bytes.Equal(after, content) {
				t.Error("a refused file was modified")
			}
		})
	}
	if _, err := Open(context.Background(), filepath.Join(dir, "missing", "db"), Options{}); err == nil {
		t.Error("open in a missing directory succeeded")
	}
}

func TestReadOnly(t *testing.T) {
	s, path := openTest(t)
	v := Volunteer{PubKey: pk(1), Role: RoleAdmin, Active: true}
	update(t, s, func(tx *Tx) error { _, err := tx.CreateVolunteer(v); return err })
	s.Close()
	before, _ := os.ReadFile(path)

	ro, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	// Readers share the lock.
	ro2, err := Open(context.Background(), path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	ro2.Close()
	got, err := Read(context.Background(), ro, func(tx *Tx) (Volunteer, error) { return tx.Volunteer(pk(1)) })
	if err != nil || got.Role != RoleAdmin {
		t.Fatalf("read: %v %v", got, err)
	}
	wantErr(t, ro.Update(context.Background(), func(*Tx) error { return nil }), ErrReadOnly)
	if _, err := ro.Check(context.Background()); err != nil {
		t.Errorf("read-only check: %v", err)
	}
	ro.Close()
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("read-only use changed the file")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "new.db"), Options{ReadOnly: true}); err == nil {
		t.Error("read-only open created a database")
	}
}

func TestUpdateRollsBackOnErrorAndCancel(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(1), Role: RoleVolunteer}); err != nil {
			return err
		}
		cancel() // the caller gave up while the transaction ran
		return nil
	})
	wantErr(t, err, context.Canceled)
	boom := errors.New("boom")
	err = s.Update(context.Background(), func(tx *Tx) error {
		if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(2), Role: RoleVolunteer}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	view(t, s, func(tx *Tx) error {
		vs, err := tx.Volunteers()
		if len(vs) != 0 {
			t.Errorf("rolled-back writes are visible: %v", vs)
		}
		return err
	})
	mustCheck(t, s)
}

// Values returned from a transaction must not point into the memory map:
// after Close unmaps it, reading them would fault.
func TestReturnedBytesOutliveTheMap(t *testing.T) {
	s, path := openTest(t)
	profile := bytes.Repeat([]byte{0xAB}, 3000)
	update(t, s, func(tx *Tx) error {
		_, err := tx.CreateVolunteer(Volunteer{PubKey: pk(1), Role: RoleAdmin, Profile: profile})
		return err
	})
	s.Close()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Read(context.Background(), s, func(tx *Tx) (Volunteer, error) { return tx.Volunteer(pk(1)) })
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := firstAuditPage(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !bytes.Equal(v.Profile, profile) || len(v.UserHandle) != userHandleLen {
		t.Error("profile changed")
	}
	if entries[0].Action != "store.migrated" {
		t.Errorf("audit entry %+v", entries[0])
	}
}

func firstAuditPage(s *Store) ([]AuditEntry, string, error) {
	var (
		es   []AuditEntry
		next string
	)
	err := s.View(context.Background(), func(tx *Tx) error {
		var err error
		es, next, err = tx.AuditLog("", 10)
		return err
	})
	return es, next, err
}
