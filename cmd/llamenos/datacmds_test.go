package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llamenos/store"
)

// dataDirWithEntry is a data directory whose store holds one audit entry.
func dataDirWithEntry(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(data, store.DefaultFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return tx.Audit(store.ActorSystem, "test.before") }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return data
}

// run1 runs the command line args, and returns its exit code and output.
func run1(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String() + errb.String()
}

func TestBackupRestoreCommands(t *testing.T) {
	data := dataDirWithEntry(t)
	backup := filepath.Join(t.TempDir(), "b.db")
	if code, out := run1("backup", "--data", data, "--plaintext", backup); code != 0 || !strings.Contains(out, "sha256:") {
		t.Fatalf("backup: %d %s", code, out)
	}
	if code, out := run1("check", "--data", data); code != 0 || !strings.Contains(out, "database: ok") {
		t.Fatalf("check: %d %s", code, out)
	}
	live := filepath.Join(data, store.DefaultFileName)
	before, _ := os.ReadFile(live)

	bad := filepath.Join(t.TempDir(), "bad.db")
	good, _ := os.ReadFile(backup)
	if err := os.WriteFile(bad, good[:len(good)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run1("restore", "--data", data, bad); code == 0 {
		t.Fatalf("truncated backup restored: %s", out)
	}
	if after, _ := os.ReadFile(live); !bytes.Equal(before, after) {
		t.Fatal("a refused restore changed the live database")
	}
	if code, out := run1("restore", "--data", data, backup); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s", code, out)
	}
	if code, _ := run1("backup", "--data", data); code != 2 {
		t.Fatalf("backup without a file: exit %d, want 2", code)
	}
}

func TestEncryptedBackupCommands(t *testing.T) {
	data := dataDirWithEntry(t)
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("a long backup passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("another long passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "b.sealed")

	// An unencrypted backup is only written when asked for.
	if code, out := run1("backup", "--data", data, backup); code != 2 || !strings.Contains(out, "--passphrase-file") {
		t.Fatalf("backup without a passphrase or --plaintext: %d %s", code, out)
	}
	if _, err := os.Stat(backup); !os.IsNotExist(err) {
		t.Fatal("a refused backup wrote a file")
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("a long backup passphrase"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run1("backup", "--data", data, "--passphrase-file", loose, backup); code == 0 || !strings.Contains(out, "readable by other users") {
		t.Fatalf("passphrase file readable by others: %d %s", code, out)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run1("backup", "--data", data, "--passphrase-file", short, backup); code == 0 || !strings.Contains(out, "12 characters") {
		t.Fatalf("short passphrase: %d %s", code, out)
	}
	if code, out := run1("backup", "--data", data, "--passphrase-file", passFile, backup); code != 0 || !strings.Contains(out, "encrypted with the passphrase") {
		t.Fatalf("backup: %d %s", code, out)
	}
	if names, _ := os.ReadDir(data); len(names) != 1 {
		t.Errorf("the backup left files in the data directory: %v", names)
	}
	live := filepath.Join(data, store.DefaultFileName)
	before, _ := os.ReadFile(live)
	unchanged := func(what string) {
		t.Helper()
		if after, _ := os.ReadFile(live); !bytes.Equal(before, after) {
			t.Fatalf("%s changed the live database", what)
		}
		if names, _ := os.ReadDir(data); len(names) != 1 {
			t.Fatalf("%s left files in the data directory: %v", what, names)
		}
	}

	if code, out := run1("restore", "--data", data, backup); code != 2 || !strings.Contains(out, "is encrypted") {
		t.Fatalf("restore without the passphrase: %d %s", code, out)
	}
	unchanged("a restore without the passphrase")
	if code, out := run1("restore", "--data", data, "--passphrase-file", wrongFile, backup); code != 1 || !strings.Contains(out, "wrong passphrase") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("restore with a wrong passphrase: %d %s", code, out)
	}
	unchanged("a restore with a wrong passphrase")
	good, _ := os.ReadFile(backup)
	cut := filepath.Join(dir, "cut.sealed")
	if err := os.WriteFile(cut, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run1("restore", "--data", data, "--passphrase-file", passFile, cut); code != 1 || !strings.Contains(out, "truncated") {
		t.Fatalf("restore of a truncated backup: %d %s", code, out)
	}
	unchanged("a restore of a truncated backup")

	stdin = strings.NewReader("a long backup passphrase\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, out := run1("restore", "--data", data, "--passphrase-file", "-", backup); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s", code, out)
	}
}
