package control

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// announceName is the file, in the per-user runtime directory, that names
// the data directory of the demo running now.
const announceName = "demo.dir"

// RuntimeDir is where a running demo says where its data is, so that
// `llamenos backup` and `llamenos check` find it without --data:
// $XDG_RUNTIME_DIR/llamenos, or a directory named after the user id in the
// temporary directory. Only its owner may enter it.
func RuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "llamenos")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("llamenos-%d", os.Getuid()))
}

// privateRuntimeDir makes RuntimeDir exist and checks it is a directory of
// ours that nobody else can enter: the temporary directory is shared, and a
// directory someone else made there must not be trusted.
func privateRuntimeDir() (string, error) {
	dir := RuntimeDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("control: runtime directory: %w", err)
	}
	if err := checkPrivate(dir); err != nil {
		return "", err
	}
	return dir, nil
}

func checkPrivate(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("control: runtime directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("control: runtime directory %s is not a private directory of this user", dir)
	}
	return nil
}

// Announce records dataDir as the running demo's. The returned function
// withdraws it, unless another demo has announced itself since.
func Announce(dataDir string) (withdraw func(), err error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("control: announce: %w", err)
	}
	dir, err := privateRuntimeDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, announceName)
	tmp, err := os.CreateTemp(dir, announceName+".*")
	if err != nil {
		return nil, fmt.Errorf("control: announce: %w", err)
	}
	_, werr := tmp.WriteString(abs + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("control: announce: %w", werr)
	}
	return func() {
		if got, _, ok := readAnnounced(path); ok && got == abs {
			_ = os.Remove(path)
		}
	}, nil
}

// Announced returns the data directory the running demo announced and the
// file that said so, if a daemon answers on that directory's socket.
func Announced() (dataDir, from string, ok bool) {
	dir := RuntimeDir()
	if checkPrivate(dir) != nil {
		return "", "", false
	}
	path := filepath.Join(dir, announceName)
	dataDir, from, ok = readAnnounced(path)
	if !ok {
		return "", "", false
	}
	if _, err := Dial(SocketPath(dataDir)); err != nil {
		return "", "", false // a demo that was killed and could not withdraw
	}
	return dataDir, from, true
}

func readAnnounced(path string) (string, string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", false
	}
	d := strings.TrimSpace(string(b))
	if d == "" || !filepath.IsAbs(d) {
		return "", "", false
	}
	return d, path, true
}
