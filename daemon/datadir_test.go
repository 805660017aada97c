package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrivateDirTightensAnExistingDirectory(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o777, 0o750, 0o700} {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := privateDir(dir); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("from %o: mode %o, want 700", mode, st.Mode().Perm())
		}
	}
	fresh := filepath.Join(t.TempDir(), "a", "b")
	if err := privateDir(fresh); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o700 {
		t.Errorf("new directory mode %o", st.Mode().Perm())
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if err := privateDir(file); err == nil {
		t.Error("a file was taken for the data directory")
	}
}
