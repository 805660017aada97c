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

func TestBackupRestoreCommands(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(data, store.DefaultFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return tx.Audit(store.ActorSystem, "test.before") }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if code, out := run1("backup", "--data", data, backup); code != 0 || !strings.Contains(out, "sha256:") {
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
