package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"llamenos/e2ee"
)

// Errors callers branch on. Each is wrapped with context; test with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrExists        = errors.New("already exists")
	ErrLocked        = errors.New("database is locked by another process")
	ErrSchemaTooNew  = errors.New("database schema is newer than this binary")
	ErrSchemaTooOld  = errors.New("database schema is older than this binary")
	ErrNotADatabase  = errors.New("not a llamenos database")
	ErrReadOnly      = errors.New("store is open read-only")
	ErrInvalid       = errors.New("invalid record")
	ErrInviteUsed    = errors.New("invite already used")
	ErrInviteExpired = errors.New("invite expired")
	ErrInviteRevoked = errors.New("invite revoked")
)

// Options tunes Open. The zero value is what the daemon wants.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file. Default 5 s. A running daemon holds the lock for its lifetime.
	LockTimeout time.Duration
	// ReadOnly opens with a shared lock and never writes (offline backup,
	// inspection). A read-only open does not migrate.
	ReadOnly bool
	// NoSync skips fsync on commit. Only for building test fixtures: a power
	// cut can then lose acknowledged writes.
	NoSync bool
	// Logger receives migration notices. Default: discard.
	Logger *slog.Logger
	// Now is the clock for audit entries and store-set timestamps.
	Now func() time.Time
	// KeyFile is the caller-key file (see CallerKey), which must live
	// outside the data directory. A writable Open creates it (0600) when it
	// is absent. Empty: a writable store makes a key held only in memory,
	// which dies with the process (tests); a read-only one has none.
	KeyFile string
	// CallerHashCost overrides the Argon2id cost of caller hashes. Only for
	// tests that place many calls; zero is e2ee.DefaultCallerHashCost.
	CallerHashCost e2ee.CallerHashCost

	// migrations replaces the built-in list (tests only).
	migrations []migration
	// keepLegacy leaves the key file's legacy secrets alone (Restore's open
	// of a copy that may not be installed).
	keepLegacy bool
}

// Store is the bbolt database holding everything the server may know.
// It is safe for concurrent use.
type Store struct {
	db       *bbolt.DB
	path     string
	log      *slog.Logger
	now      func() time.Time
	readOnly bool
	key      CallerKey
	keyFile  string
}

const defaultLockTimeout = 5 * time.Second

// DefaultFileName is the database file's name inside the data directory.
const DefaultFileName = "llamenos.db"

// Open opens (creating if absent) the database at path and brings its schema
// up to date. The file is created 0600; its directory must exist.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := openBolt(ctx, path, opts.ReadOnly, opts.LockTimeout, opts.NoSync)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, log: opts.Logger, now: opts.Now, readOnly: opts.ReadOnly, keyFile: opts.KeyFile}
	migs := opts.migrations
	if migs == nil {
		migs = builtinMigrations()
	}
	if err := s.loadKey(opts); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.migrate(ctx, migs); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.dropUnusedLegacy(opts); err != nil {
		// The bans still work; the old secret only stays longer than needed.
		s.log.Warn("store: could not remove the unused old caller-number secret from the key file", "err", err)
	}
	return s, nil
}

// openBolt opens the file through a hook that takes the flock itself (so the
// wait honours ctx), checks that the path still names the locked file (a
// restore may have renamed a new file into place while we waited), and
// checks the meta and freelist pages are in bounds before bbolt maps them:
// bbolt reads pages through unchecked pointers and would crash the process
// on a truncated file instead of returning an error.
func openBolt(ctx context.Context, path string, readOnly bool, timeout time.Duration, noSync bool) (*bbolt.DB, error) {
	for attempt := 0; ; attempt++ {
		hook := func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			if err != nil {
				return nil, err
			}
			if err := lockFile(ctx, f, !readOnly, timeout); err != nil {
				_ = f.Close()
				return nil, err
			}
			if same, err := samePath(f, name); err != nil || !same {
				_ = f.Close()
				if err == nil {
					err = errReplaced
				}
				return nil, err
			}
			fi, err := f.Stat()
			if err != nil {
				_ = f.Close()
				return nil, err
			}
			if fi.Size() > 0 {
				if _, err := checkMetaAndFreelist(f, fi.Size()); err != nil {
					_ = f.Close()
					return nil, err
				}
			}
			return f, nil
		}
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{
			Timeout:      timeout,
			ReadOnly:     readOnly,
			NoSync:       noSync,
			OpenFile:     hook,
			FreelistType: bbolt.FreelistMapType,
		})
		switch {
		case err == nil:
			return db, nil
		case errors.Is(err, errReplaced) && attempt < 3:
			continue
		case errors.Is(err, ErrLocked), errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("store: open %s: %w (is llamenos serve running? only one process may use the database)", path, ErrLocked)
		case errors.Is(err, ErrNotADatabase):
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
			return nil, fmt.Errorf("store: open %s: %w: %v", path, ErrNotADatabase, err)
		default:
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
	}
}

var errReplaced = errors.New("file was replaced while waiting for its lock")

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// CallerKey is the per-install key of caller-number hashes.
func (s *Store) CallerKey() CallerKey { return s.key }

// Tx is one bbolt transaction with typed record methods. Byte slices it
// returns are copies: nothing from the memory map outlives the transaction.
type Tx struct {
	tx  *bbolt.Tx
	now time.Time
}

// Now is the transaction's clock reading, used for audit entries and for
// timestamps the store fills in.
func (tx *Tx) Now() time.Time { return tx.now }

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.db.View(func(btx *bbolt.Tx) error {
		return fn(&Tx{tx: btx, now: s.now().UTC()})
	})
}

// Update runs fn in a read-write transaction and commits (with fsync) if fn
// returns nil. If ctx ends before the commit, the transaction is rolled back
// and ctx's error returned: an error from Update means nothing was written,
// unless the commit itself failed part way (bbolt then keeps the previous
// state, which is the same thing).
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if s.readOnly {
		return fmt.Errorf("store: update: %w", ErrReadOnly)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.db.Update(func(btx *bbolt.Tx) error {
		if err := fn(&Tx{tx: btx, now: s.now().UTC()}); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// Read runs fn in a read-only transaction and returns its value.
func Read[T any](ctx context.Context, s *Store, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := s.View(ctx, func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// Write runs fn in a read-write transaction and returns its value.
func Write[T any](ctx context.Context, s *Store, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := s.Update(ctx, func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// bucket returns a bucket the schema guarantees. A missing one means the
// file was damaged after it was opened and verified.
func (tx *Tx) bucket(name []byte) (*bbolt.Bucket, error) {
	b := tx.tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("store: bucket %q missing: %w", name, ErrCorrupt)
	}
	return b, nil
}

// getRecord decodes the record under key, or returns ErrNotFound.
func (tx *Tx) getRecord(bucket, key []byte, v any) error {
	b, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := decodeRecord(raw, v); err != nil {
		return fmt.Errorf("store: %s %x: %w", bucket, key, err)
	}
	return nil
}

// getByID decodes the record of type T whose key is the id's 16 bytes: the
// one way every record kept by a random id (calls, notes, transcripts,
// voicemails) is read back. what names the record in errors.
func getByID[T any](tx *Tx, bucket []byte, what, id string) (T, error) {
	var v T
	key, err := idBytes(id)
	if err != nil {
		return v, fmt.Errorf("store: %s: %w: %w", what, ErrInvalid, err)
	}
	if err := tx.getRecord(bucket, key, &v); err != nil {
		return v, fmt.Errorf("store: %s %s: %w", what, id, err)
	}
	return v, nil
}

// listAll decodes every record of a bucket, in key order.
func listAll[T any](tx *Tx, bucket []byte) ([]T, error) {
	b, err := tx.bucket(bucket)
	if err != nil {
		return nil, err
	}
	var out []T
	err = b.ForEach(func(k, raw []byte) error {
		var v T
		if err := decodeRecord(raw, &v); err != nil {
			return fmt.Errorf("store: %s %x: %w", bucket, k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// indexSuffixes returns, in key order, what follows prefix in the keys of an
// index bucket whose keys are prefix ‖ suffix, with suffixes of suffixLen
// bytes (0: any non-empty length). The suffixes are copies.
func (tx *Tx) indexSuffixes(index, prefix []byte, suffixLen int) ([][]byte, error) {
	b, err := tx.bucket(index)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		rest := k[len(prefix):]
		if len(rest) == 0 || (suffixLen > 0 && len(rest) != suffixLen) {
			continue
		}
		out = append(out, clone(rest))
	}
	return out, nil
}

func (tx *Tx) putRecord(bucket, key []byte, v any) error {
	b, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	raw, err := encodeRecord(v)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := b.Put(key, raw); err != nil {
		return fmt.Errorf("store: put %s: %w", bucket, err)
	}
	return nil
}

// ctxWriter stops a long copy when ctx ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
