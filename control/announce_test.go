package control

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAnnounce(t *testing.T) {
	rt := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", rt)
	data := t.TempDir()
	withdraw, err := Announce(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := Announced(); ok {
		t.Fatal("announced with no daemon answering on its socket")
	}
	ln, err := Listen(SocketPath(data))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir, from, ok := Announced()
	if !ok || dir != data || from != filepath.Join(rt, "llamenos", announceName) {
		t.Fatalf("Announced() = %q, %q, %v", dir, from, ok)
	}
	// A later demo's announcement is not withdrawn by an earlier one.
	other := t.TempDir()
	withdrawOther, err := Announce(other)
	if err != nil {
		t.Fatal(err)
	}
	withdraw()
	if _, err := os.Stat(from); err != nil {
		t.Fatalf("the earlier demo withdrew the later one's announcement: %v", err)
	}
	withdrawOther()
	if _, err := os.Stat(from); !os.IsNotExist(err) {
		t.Fatalf("withdrawn, the file remains: %v", err)
	}
	// A runtime directory others may enter is not trusted.
	if err := os.Chmod(filepath.Join(rt, "llamenos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Announce(data); err == nil {
		t.Fatal("announced into a directory others can enter")
	}
	if _, _, ok := Announced(); ok {
		t.Fatal("read an announcement from a directory others can enter")
	}
}
