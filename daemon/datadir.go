package daemon

import (
	"fmt"
	"os"
)

// privateDir makes dir exist as a directory only its owner can enter. An
// existing directory with looser permissions (a hand-made 0755, say) is
// tightened rather than trusted: the database, the control socket and the
// TLS cache live there.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory %s has mode %o and cannot be made private: %w", dir, st.Mode().Perm(), err)
		}
	}
	return nil
}
