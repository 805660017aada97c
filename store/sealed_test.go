package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// lowBackupCost runs a test at the cheapest Argon2id a file may carry.
func lowBackupCost(t *testing.T) {
	old := backupCost
	backupCost = kdfParams{time: minTime, memory: minMemory, threads: 1}
	t.Cleanup(func() { backupCost = old })
}

func TestSealedBackupRoundTrip(t *testing.T) {
	lowBackupCost(t)
	ctx := context.Background()
	s, dir := openTest(t)
	calls := populate(t, s, 300)
	pass := []byte("correct horse battery")
	key, err := NewBackupKey(pass)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.sealed")
	res, err := WriteSealedBackupFile(ctx, out, filepath.Dir(dir), key, func(w io.Writer) (int64, error) { return s.Backup(ctx, w) })
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	if !res.Encrypted || res.Bytes != int64(len(raw)) || !res.Report.RecordsChecked {
		t.Errorf("result %+v", res)
	}
	if h := fileHash(t, out); res.SHA256 != bytesHex(h[:]) {
		t.Error("reported SHA-256 differs from the file")
	}
	if len(raw) < 3*sealedChunk {
		t.Fatalf("backup of %d bytes: the test wants several chunks", len(raw))
	}
	plain := filepath.Join(t.TempDir(), "plain.db")
	if _, err := s.BackupFile(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if clear, _ := os.ReadFile(plain); !bytes.Contains(clear, []byte(calls[0].ID)) {
		t.Fatal("the plain backup does not show the call id this test looks for")
	}
	if bytes.Contains(raw, []byte(calls[0].ID)) || bytes.Contains(raw, []byte("call.answered")) {
		t.Fatal("the encrypted backup holds data in clear")
	}
	if names := dirNames(t, filepath.Dir(dir)); len(names) != 1 {
		t.Errorf("the verification left files in the data directory: %v", names)
	}
	if sealed, err := IsSealedBackup(out); err != nil || !sealed {
		t.Fatalf("IsSealedBackup: %v %v", sealed, err)
	}

	dst := filepath.Join(t.TempDir(), "llamenos.db")
	if _, err := Restore(ctx, out, dst, ""); !errors.Is(err, ErrBackupNeedsPassphrase) {
		t.Fatalf("restore without a passphrase: %v", err)
	}
	if _, err := RestoreSealed(ctx, out, dst, "", pass); err != nil {
		t.Fatal(err)
	}
	rs, err := Open(ctx, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	view(t, rs, func(tx *Tx) error {
		for _, c := range calls {
			if _, err := tx.Call(c.ID); err != nil {
				t.Fatalf("call %s after restore: %v", c.ID, err)
			}
		}
		es, _, err := tx.AuditLog("", 1)
		if err != nil || es[0].Action != "store.restored" || es[0].Subjects[0] != "backup:"+res.SHA256 {
			t.Errorf("restore not audited with the file's hash: %+v %v", es, err)
		}
		return nil
	})
}

func TestSealedRestoreRefusesAndLeavesNothing(t *testing.T) {
	lowBackupCost(t)
	ctx := context.Background()
	s, dir := openTest(t)
	populate(t, s, 300)
	pass := []byte("correct horse battery")
	key, err := NewBackupKey(pass)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.sealed")
	if _, err := WriteSealedBackupFile(ctx, good, filepath.Dir(dir), key, func(w io.Writer) (int64, error) { return s.Backup(ctx, w) }); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	chunkCT := sealedChunk + 16

	liveDir := t.TempDir()
	live := filepath.Join(liveDir, "llamenos.db")
	ls, err := Open(ctx, live, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls.Close()
	before := fileHash(t, live)

	flip := func(i int) []byte { b := bytes.Clone(raw); b[i] ^= 1; return b }
	cases := []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong passphrase", raw, "correct horse battery!", ErrBackupPassphrase},
		{"cut inside the header", raw[:50], string(pass), ErrBackupTruncated},
		{"cut after a whole chunk", raw[:sealedHeaderLen+2*chunkCT], string(pass), ErrBackupTruncated},
		{"cut inside a chunk", raw[:sealedHeaderLen+chunkCT+100], string(pass), ErrBackupDamaged},
		{"last chunk gone", raw[:len(raw)-(len(raw)-sealedHeaderLen)%chunkCT], string(pass), ErrBackupTruncated},
		{"a byte changed in a chunk", flip(sealedHeaderLen + chunkCT + 7), string(pass), ErrBackupDamaged},
		{"a byte changed in the salt", flip(30), string(pass), ErrBackupPassphrase},
		{"a byte changed in the nonce prefix", flip(60), string(pass), ErrBackupDamaged},
		{"bytes appended", append(bytes.Clone(raw), 0), string(pass), ErrBackupDamaged},
		{"cost out of range", func() []byte { b := bytes.Clone(raw); b[18] = 0xff; return b }(), string(pass), ErrBackupFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "bad.sealed")
			if err := os.WriteFile(f, c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := RestoreSealed(ctx, f, live, "", []byte(c.pass))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if fileHash(t, live) != before {
				t.Fatal("a refused restore changed the live database")
			}
			if names := dirNames(t, liveDir); len(names) != 1 {
				t.Fatalf("a refused restore left files: %v", names)
			}
		})
	}
	if _, err := NewBackupKey([]byte("short")); !errors.Is(err, ErrWeakPassphrase) {
		t.Fatalf("short passphrase: %v", err)
	}
}
