package control

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"llamenos/store"
)

func TestBackupAndCheckThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, store.DefaultFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return tx.Audit(store.ActorSystem, "test.entry") }); err != nil {
		t.Fatal(err)
	}
	sock := SocketPath(dir)
	if _, err := Dial(sock); err != ErrNotRunning {
		t.Fatalf("dial before serve: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, st, slog.New(slog.DiscardHandler)) }()
	var c *Client
	for i := 0; i < 100; i++ {
		if c, err = Dial(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c == nil {
		t.Fatal("control socket never came up")
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	res, err := c.Backup(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.AuditHead.Seq < 1 || res.SHA256 == "" {
		t.Fatalf("backup result: %+v", res)
	}
	if _, err := store.VerifyFile(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(context.Background(), out); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	rep, err := c.Check(context.Background())
	if err != nil || rep.AuditHead.Seq < 1 {
		t.Fatalf("check: %+v %v", rep, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatal("socket left behind")
	}
}
