package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database to w while the store stays
// in use (one read transaction; writers are not blocked). The copy is a
// plain bbolt file that Restore and VerifyFile accept.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(btx *bbolt.Tx) error {
		var err error
		n, err = btx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupResult describes a written backup file.
type BackupResult struct {
	Path   string       `json:"path"`
	Bytes  int64        `json:"bytes"`
	SHA256 string       `json:"sha256"`
	Report VerifyReport `json:"report"`
	// Encrypted: the file is a passphrase-encrypted backup (sealed.go);
	// Bytes and SHA256 are then those of the encrypted file.
	Encrypted bool `json:"encrypted,omitempty"`
}

// BackupFile writes a backup to path: into a temporary file beside it,
// fsynced, verified with VerifyFile, then renamed into place. A backup that
// does not verify never appears under path. An existing path is refused.
func (s *Store) BackupFile(ctx context.Context, path string) (BackupResult, error) {
	return WriteBackupFile(ctx, path, func(w io.Writer) (int64, error) { return s.Backup(ctx, w) })
}

// WriteBackupFile writes the backup that copy produces to path the way
// BackupFile does: temporary file, fsync, VerifyFile, rename. The CLI uses it
// for a backup streamed from the running daemon.
func WriteBackupFile(ctx context.Context, path string, copy func(io.Writer) (int64, error)) (BackupResult, error) {
	res, err := writeBackupFile(ctx, path, copy)
	if err != nil {
		return BackupResult{}, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return res, nil
}

func writeBackupFile(ctx context.Context, path string, copy func(io.Writer) (int64, error)) (BackupResult, error) {
	return placeBackupFile(path, func(w io.Writer) error {
		_, err := copy(w)
		return err
	}, func(tmp string) (VerifyReport, error) {
		rep, err := verifyFile(ctx, tmp)
		if err != nil {
			return rep, fmt.Errorf("the copy does not verify: %w", err)
		}
		return rep, nil
	})
}

// placeBackupFile writes a new file at path, never over an existing one:
// write fills a private temporary file beside it, verify checks that file
// once it is synced and closed, and only a file that verified takes path's
// name.
func placeBackupFile(path string, write func(io.Writer) error, verify func(tmp string) (VerifyReport, error)) (BackupResult, error) {
	if _, err := os.Lstat(path); err == nil {
		return BackupResult{}, fmt.Errorf("%w: the file exists; choose a new name", ErrExists)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return BackupResult{}, err
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return BackupResult{}, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	if err := write(cw); err != nil {
		return BackupResult{}, err
	}
	if err := tmp.Sync(); err != nil {
		return BackupResult{}, err
	}
	if err := tmp.Close(); err != nil {
		return BackupResult{}, err
	}
	rep, err := verify(tmp.Name())
	if err != nil {
		return BackupResult{}, err
	}
	if err := placeNew(tmp.Name(), path); err != nil {
		return BackupResult{}, err
	}
	done = true
	if err := syncDir(dir); err != nil {
		return BackupResult{}, err
	}
	return BackupResult{Path: path, Bytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil)), Report: rep}, nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// RestoreResult describes a completed restore.
type RestoreResult struct {
	// Previous is where the replaced database was kept ("" if there was
	// none). Delete it once the restored data is confirmed good.
	Previous string       `json:"previous,omitempty"`
	SHA256   string       `json:"sha256"`
	Report   VerifyReport `json:"report"`
}

// Restore replaces the database at dbPath with the backup at src. Nothing at
// dbPath changes unless the backup verifies:
//  1. refuse if a running daemon holds dbPath's lock (and keep the lock);
//  2. copy src into a temporary file beside dbPath and fsync it;
//  3. VerifyFile the copy (what is installed is what was verified, even if
//     src changes meanwhile);
//  4. open the copy to migrate it to this binary's schema and append a
//     "store.restored" audit entry naming the backup's SHA-256 (keyFile is
//     the caller-key file: a backup from before schema v2 holds an old
//     caller-number secret, which moves there as a legacy one);
//  5. hard-link the old database to dbPath.pre-restore-TIME, rename the copy
//     over dbPath and fsync the directory.
func Restore(ctx context.Context, src, dbPath, keyFile string) (RestoreResult, error) {
	return RestoreSealed(ctx, src, dbPath, keyFile, nil)
}

// ErrBackupNeedsPassphrase: the backup is encrypted and no passphrase was given.
var ErrBackupNeedsPassphrase = errors.New("store: this backup is encrypted: give its passphrase")

// RestoreSealed is Restore for a backup that may be encrypted: an encrypted
// one is opened with passphrase (a wrong one is refused before anything is
// written) and decrypted into the temporary file of step 2, where each chunk
// is authenticated as it is read, so a truncated or altered file is refused
// like a corrupt plain one. A plain backup ignores passphrase.
func RestoreSealed(ctx context.Context, src, dbPath, keyFile string, passphrase []byte) (RestoreResult, error) {
	res, err := restore(ctx, src, dbPath, keyFile, passphrase)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("store: restore %s from %s refused: %w", dbPath, src, err)
	}
	return res, nil
}

func restore(ctx context.Context, src, dbPath, keyFile string, passphrase []byte) (RestoreResult, error) {
	srcInfo, err := os.Stat(src)
	if err != nil {
		return RestoreResult{}, err
	}
	in, err := os.Open(src)
	if err != nil {
		return RestoreResult{}, err
	}
	defer in.Close()
	// h hashes the file as given (encrypted or not), for the audit entry.
	h := sha256.New()
	var body io.Reader = io.TeeReader(in, h)
	sealed, err := IsSealedBackup(src)
	if err != nil {
		return RestoreResult{}, err
	}
	if sealed {
		if passphrase == nil {
			return RestoreResult{}, ErrBackupNeedsPassphrase
		}
		key, err := readSealedHeader(body, passphrase)
		if err != nil {
			return RestoreResult{}, err
		}
		body = key.newReader(body)
	}
	live, err := os.OpenFile(dbPath, os.O_RDWR, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		live = nil
	case err != nil:
		return RestoreResult{}, err
	default:
		defer live.Close()
		liveInfo, err := live.Stat()
		if err != nil {
			return RestoreResult{}, err
		}
		if os.SameFile(liveInfo, srcInfo) {
			return RestoreResult{}, errors.New("the backup is the live database itself")
		}
		if err := lockFile(ctx, live, true, 0); err != nil {
			if errors.Is(err, ErrLocked) {
				return RestoreResult{}, fmt.Errorf("%w: stop llamenos before restoring", ErrLocked)
			}
			return RestoreResult{}, err
		}
	}

	dir := filepath.Dir(dbPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dbPath)+".restore-*")
	if err != nil {
		return RestoreResult{}, err
	}
	tmpName := tmp.Name()
	installed := false
	defer func() {
		_ = tmp.Close()
		if !installed {
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return RestoreResult{}, err
	}
	_, err = io.Copy(ctxWriter{ctx: ctx, w: tmp}, body)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("copy backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return RestoreResult{}, err
	}
	if err := tmp.Close(); err != nil {
		return RestoreResult{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))

	rep, err := verifyFile(ctx, tmpName)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("the backup does not verify: %w", err)
	}
	restored, err := Open(ctx, tmpName, Options{LockTimeout: time.Second, KeyFile: keyFile, keepLegacy: true})
	if err != nil {
		return RestoreResult{}, err
	}
	err = restored.Update(ctx, func(tx *Tx) error {
		return tx.Audit(ActorSystem, "store.restored", "backup:"+sum)
	})
	if err == nil && !rep.RecordsChecked {
		// An older schema's records are checked once migrated.
		rep, err = restored.Check(ctx)
	}
	if err == nil {
		rep.AuditHead, err = Read(ctx, restored, (*Tx).AuditHead)
	}
	if cerr := restored.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return RestoreResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return RestoreResult{}, err
	}

	var res RestoreResult
	if live != nil {
		res.Previous = fmt.Sprintf("%s.pre-restore-%s", dbPath, time.Now().UTC().Format("20060102T150405Z"))
		// A hard link keeps the old file while the rename below swaps the
		// new one in atomically. Without hard links, move it aside first:
		// a crash between the two renames leaves no file at dbPath, but
		// both databases intact.
		if err := os.Link(dbPath, res.Previous); err != nil {
			if errors.Is(err, os.ErrExist) {
				return RestoreResult{}, fmt.Errorf("keep the current database: %w", err)
			}
			if err := renameNoReplace(dbPath, res.Previous); err != nil {
				return RestoreResult{}, fmt.Errorf("keep the current database: %w", err)
			}
		}
	}
	if err := os.Rename(tmpName, dbPath); err != nil {
		return RestoreResult{}, err
	}
	installed = true
	if err := syncDir(dir); err != nil {
		return RestoreResult{}, err
	}
	res.SHA256, res.Report = sum, rep
	return res, nil
}

// placeNew moves a finished temporary file to path without replacing a file
// that appeared there meanwhile: a hard link fails if path exists. Where the
// file system has no hard links (a FAT backup disk) it falls back to a
// checked rename.
func placeNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s appeared while the backup ran", ErrExists, path)
	}
	return renameNoReplace(tmp, path)
}

func renameNoReplace(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, to)
	}
	return os.Rename(from, to)
}
