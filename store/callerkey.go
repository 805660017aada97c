package store

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"go.etcd.io/bbolt"

	"llamenos/e2ee"
)

// CallerKey is the per-install key of caller-number hashes. Caller numbers
// are only ever compared as their hash (e2ee.CallerHash: Argon2id over an
// HMAC under this key), so the ban list and the rate limit work without the
// number being kept.
//
// The key lives in a key file outside the data directory (Options.KeyFile),
// never in the database, so the database and its backups alone do not let
// anyone test a guessed number against a stored hash. Legacy holds the v1
// HMAC secrets of databases from before the key left them: bans written
// then are keyed by PhoneHash under one of them (Ban.Legacy).
//
// It must never be logged: every way of printing it prints a placeholder.
type CallerKey struct {
	key    [32]byte
	legacy [][32]byte
	cost   e2ee.CallerHashCost
	loaded bool
}

// ErrNoCallerKey: the store was opened read-only without its key file, so
// it cannot hash caller numbers.
var ErrNoCallerKey = errors.New("store: no caller key (opened read-only without the key file)")

const redacted = "[caller key redacted]"

// hashSlots bounds the Argon2id hashes running at once: each holds
// cost.MemoryKiB of memory and a core, and a burst of calls queues here
// instead of exhausting either. All cores but one: whatever the burst, one
// core stays for the relays carrying the calls already answered.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

// PhoneHash is the caller hash of a number typed by an admin (a ban).
func (k CallerKey) PhoneHash(number string) (Hash, error) {
	b := []byte(number)
	defer clear(b)
	return k.PhoneHashBytes(b)
}

// PhoneHashBytes is the caller hash of a number held in a buffer its owner
// wipes; it leaves no copy of the number behind (e2ee.CallerHash). It takes
// one of a few hashing slots and may wait for one.
func (k CallerKey) PhoneHashBytes(number []byte) (Hash, error) {
	if !k.loaded {
		return Hash{}, ErrNoCallerKey
	}
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	h, err := e2ee.CallerHash(k.key[:], number, k.cost)
	return Hash(h), err
}

// LegacyHashes are the v1 hashes (e2ee.PhoneHashBytes) of a number under
// each legacy secret: what a ban from before the key left the database is
// keyed by. None when there is no legacy secret.
func (k CallerKey) LegacyHashes(number []byte) ([]Hash, error) {
	var out []Hash
	for _, l := range k.legacy {
		h, err := e2ee.PhoneHashBytes(l[:], number)
		if err != nil {
			return nil, err
		}
		out = append(out, Hash(h))
	}
	return out, nil
}

// HasLegacy reports whether the key file still holds a v1 secret.
func (k CallerKey) HasLegacy() bool { return len(k.legacy) > 0 }

func (CallerKey) String() string               { return redacted }
func (CallerKey) GoString() string             { return redacted }
func (CallerKey) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (CallerKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Format covers every fmt verb (%x included), so no format string leaks it.
func (CallerKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// The key file is text, mode 0600:
//
//	llamenos-caller-key v1
//	key <32 bytes, base64url>
//	legacy <32 bytes, base64url>     (zero or more)
const keyFileHeader = "llamenos-caller-key v1"

// KeyFileName is the key file's default name, beside the configuration file.
const KeyFileName = "caller-key"

func newCallerKey() (CallerKey, error) {
	var k CallerKey
	if _, err := rand.Read(k.key[:]); err != nil {
		return CallerKey{}, fmt.Errorf("store: caller key: %w", err)
	}
	k.loaded = true
	return k, nil
}

func readKeyFile(path string) (CallerKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return CallerKey{}, fmt.Errorf("store: caller key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return CallerKey{}, fmt.Errorf("store: caller key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return CallerKey{}, fmt.Errorf("store: caller key file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return CallerKey{}, fmt.Errorf("store: caller key file: %w", err)
	}
	defer clear(b)
	bad := fmt.Errorf("store: caller key file %s: %w: not a llamenos caller key", path, ErrCorrupt)
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != keyFileHeader {
		return CallerKey{}, bad
	}
	var k CallerKey
	for sc.Scan() {
		kind, val, ok := strings.Cut(sc.Text(), " ")
		raw, err := base64.RawURLEncoding.Strict().DecodeString(val)
		if !ok || err != nil || len(raw) != 32 {
			return CallerKey{}, bad
		}
		switch {
		case kind == "key" && !k.loaded:
			copy(k.key[:], raw)
			k.loaded = true
		case kind == "legacy":
			k.legacy = append(k.legacy, [32]byte(raw))
		default:
			return CallerKey{}, bad
		}
		clear(raw)
	}
	if !k.loaded {
		return CallerKey{}, bad
	}
	return k, nil
}

// writeKeyFile replaces the key file atomically: a 0600 temporary file
// beside it, fsynced, renamed over it, and the directory fsynced.
func writeKeyFile(path string, k CallerKey) error {
	var buf bytes.Buffer
	defer func() { clear(buf.Bytes()) }()
	enc := base64.RawURLEncoding
	fmt.Fprintf(&buf, "%s\nkey %s\n", keyFileHeader, enc.EncodeToString(k.key[:]))
	for _, l := range k.legacy {
		fmt.Fprintf(&buf, "legacy %s\n", enc.EncodeToString(l[:]))
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	name := tmp.Name()
	done := false
	defer func() {
		_ = tmp.Close()
		if !done {
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: write caller key file: %w", err)
	}
	return nil
}

// legacySecret is the v1 install secret if the database still holds it
// (schema v1).
func (s *Store) legacySecret() ([]byte, error) {
	var out []byte
	err := s.db.View(func(btx *bbolt.Tx) error {
		if b := btx.Bucket(bucketMeta); b != nil {
			if v := b.Get(keySecret); v != nil {
				if len(v) != 32 {
					return fmt.Errorf("store: install secret is %d bytes, want 32: %w", len(v), ErrCorrupt)
				}
				out = clone(v)
			}
		}
		return nil
	})
	return out, err
}

// loadKey reads (or, writable, creates) the key file, and before the
// migration that deletes the v1 install secret from the database, adds
// that secret to the key file as a legacy one. The file is written before
// the database changes, so a crash between the two only repeats this step.
func (s *Store) loadKey(opts Options) error {
	legacy, err := s.legacySecret()
	if err != nil {
		return err
	}
	defer clear(legacy)
	var k CallerKey
	switch {
	case opts.KeyFile == "" && opts.ReadOnly:
		return nil // no hashing: ErrNoCallerKey
	case opts.KeyFile == "":
		if legacy != nil {
			return errors.New("store: this database holds its caller-number secret; open it with a key file to move the secret there")
		}
		if k, err = newCallerKey(); err != nil {
			return err
		}
	default:
		k, err = readKeyFile(opts.KeyFile)
		switch {
		case errors.Is(err, os.ErrNotExist) && !opts.ReadOnly:
			if k, err = newCallerKey(); err != nil {
				return err
			}
			if err := writeKeyFile(opts.KeyFile, k); err != nil {
				return err
			}
			s.log.Info("store: created the caller key file", "path", opts.KeyFile)
		case err != nil:
			return err
		}
	}
	if legacy != nil && !opts.ReadOnly {
		have := false
		for _, l := range k.legacy {
			have = have || bytes.Equal(l[:], legacy)
		}
		if !have {
			k.legacy = append(k.legacy, [32]byte(legacy))
			if err := writeKeyFile(opts.KeyFile, k); err != nil {
				return fmt.Errorf("%w (the database's old caller-number secret must move to the key file before the upgrade)", err)
			}
			s.log.Info("store: moved the old caller-number secret from the database to the key file", "path", opts.KeyFile)
		}
	}
	k.cost = opts.CallerHashCost
	if k.cost == (e2ee.CallerHashCost{}) {
		k.cost = e2ee.DefaultCallerHashCost
	}
	s.key = k
	return nil
}

// dropUnusedLegacy removes the legacy secrets from the key file once no
// ban is keyed by them: from then on the file cannot be used to test
// guesses against the v1 hashes left in the audit log.
func (s *Store) dropUnusedLegacy(opts Options) error {
	if opts.ReadOnly || opts.keepLegacy || opts.KeyFile == "" || !s.key.HasLegacy() {
		return nil
	}
	n := 0
	err := s.db.View(func(btx *bbolt.Tx) error {
		b := btx.Bucket(bucketBans)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var ban Ban
			if err := decodeRecord(v, &ban); err != nil {
				return err
			}
			if ban.Legacy {
				n++
			}
			return nil
		})
	})
	if err != nil || n > 0 {
		return err
	}
	k := s.key
	k.legacy = nil
	if err := writeKeyFile(opts.KeyFile, k); err != nil {
		return err
	}
	s.key = k
	s.log.Info("store: no ban uses the old caller-number secret any more; removed it from the key file", "path", opts.KeyFile)
	return nil
}
