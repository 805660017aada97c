package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Encrypted backups (docs/crypto.md, "Encrypted backups"): the database
// copy, encrypted under a key derived from the operator's passphrase with
// Argon2id, in chunks of 64 KiB that each carry their index and whether they
// are the last, so a file cut short, reordered or altered does not open.
//
//	offset  size  field
//	0       16    magic "LLAMENOS-BACKUP\n"
//	16      1     version = 1
//	17      1     KDF = 1 (Argon2id)
//	18      4     Argon2id passes t (u32 big-endian)
//	22      4     Argon2id memory in KiB (u32 big-endian)
//	26      1     Argon2id lanes p
//	27      32    salt
//	59      16    nonce prefix
//	75      32    key check
//	107           chunks: XChaCha20-Poly1305(key, prefix ‖ u64be(index),
//	              up to 64 KiB, AAD = header ‖ u8(last ? 1 : 0))

// Errors of sealed backups, matched with errors.Is.
var (
	ErrBackupPassphrase = errors.New("store: wrong passphrase for this backup")
	ErrBackupTruncated  = errors.New("store: the backup file is truncated")
	ErrBackupDamaged    = errors.New("store: the backup file is damaged, truncated or was altered")
	ErrBackupFormat     = errors.New("store: not an encrypted llamenos backup, or one of an unknown version")
	ErrWeakPassphrase   = errors.New("store: a backup passphrase needs at least 12 characters")
)

const (
	sealedMagic     = "LLAMENOS-BACKUP\n"
	sealedVersion   = 1
	sealedKDF       = 1
	sealedHeaderLen = 107
	sealedChunk     = 64 << 10
	// MinBackupPassphrase is the shortest passphrase accepted, in characters.
	MinBackupPassphrase = 12
)

// The bounds a backup file's own Argon2id parameters
// must be within (so a planted file can neither be weak nor hang restore).
const (
	minTime    = 1
	maxTime    = 16
	minMemory  = 19 << 10 // KiB
	maxMemory  = 1 << 20  // KiB: 1 GiB
	maxThreads = 16
)

// backupCost is what new backups use: 3 passes over 64 MiB, one lane
// (about 0.6 s of one core here). The store's tests lower it to the
// minimum to keep their run time down.
var backupCost = kdfParams{time: 3, memory: 64 << 10, threads: 1}

// BackupKey is a key derived from a backup passphrase, with the header it
// was derived for.
type BackupKey struct {
	header [sealedHeaderLen]byte
	aead   cipher.AEAD
}

// kdfParams are a header's Argon2id parameters and salt.
type kdfParams struct {
	time, memory uint32
	threads      uint8
	salt         []byte
}

func deriveBackupKeys(passphrase []byte, p kdfParams) (key, check []byte, err error) {
	master := argon2.IDKey(passphrase, p.salt, p.time, p.memory, p.threads, 32)
	defer clear(master)
	if key, err = hkdf.Key(sha256.New, master, nil, "llamenos/v1/backup/key", 32); err != nil {
		return nil, nil, err
	}
	if check, err = hkdf.Key(sha256.New, master, nil, "llamenos/v1/backup/check", 32); err != nil {
		return nil, nil, err
	}
	return key, check, nil
}

// NewBackupKey derives a key for a new backup from passphrase under a fresh
// salt (one Argon2id run: about a second).
func NewBackupKey(passphrase []byte) (*BackupKey, error) {
	if utf8.RuneCount(passphrase) < MinBackupPassphrase {
		return nil, ErrWeakPassphrase
	}
	var k BackupKey
	h := k.header[:]
	copy(h, sealedMagic)
	h[16], h[17] = sealedVersion, sealedKDF
	binary.BigEndian.PutUint32(h[18:], backupCost.time)
	binary.BigEndian.PutUint32(h[22:], backupCost.memory)
	h[26] = backupCost.threads
	if _, err := rand.Read(h[27:75]); err != nil { // salt and nonce prefix
		return nil, fmt.Errorf("store: backup key: %w", err)
	}
	key, check, err := deriveBackupKeys(passphrase, kdfParams{backupCost.time, backupCost.memory, backupCost.threads, h[27:59]})
	if err != nil {
		return nil, fmt.Errorf("store: backup key: %w", err)
	}
	defer clear(key)
	copy(h[75:], check)
	if k.aead, err = chacha20poly1305.NewX(key); err != nil {
		return nil, fmt.Errorf("store: backup key: %w", err)
	}
	return &k, nil
}

// readSealedHeader reads and checks a header, and derives its key from
// passphrase; a wrong passphrase is ErrBackupPassphrase.
func readSealedHeader(r io.Reader, passphrase []byte) (*BackupKey, error) {
	var k BackupKey
	h := k.header[:]
	if _, err := io.ReadFull(r, h); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w (it ends inside its header)", ErrBackupTruncated)
		}
		return nil, err
	}
	if string(h[:16]) != sealedMagic || h[16] != sealedVersion || h[17] != sealedKDF {
		return nil, ErrBackupFormat
	}
	p := kdfParams{binary.BigEndian.Uint32(h[18:]), binary.BigEndian.Uint32(h[22:]), h[26], h[27:59]}
	if p.time < minTime || p.time > maxTime || p.memory < minMemory || p.memory > maxMemory || p.threads < 1 || p.threads > maxThreads {
		return nil, fmt.Errorf("%w: Argon2id parameters out of range (t=%d, m=%d KiB, p=%d)", ErrBackupFormat, p.time, p.memory, p.threads)
	}
	key, check, err := deriveBackupKeys(passphrase, p)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if subtle.ConstantTimeCompare(check, h[75:]) != 1 {
		return nil, ErrBackupPassphrase
	}
	if k.aead, err = chacha20poly1305.NewX(key); err != nil {
		return nil, err
	}
	return &k, nil
}

func (k *BackupKey) nonce(index uint64) []byte {
	n := make([]byte, chacha20poly1305.NonceSizeX)
	copy(n, k.header[59:75])
	binary.BigEndian.PutUint64(n[16:], index)
	return n
}

func (k *BackupKey) aad(last bool) []byte {
	a := make([]byte, sealedHeaderLen+1)
	copy(a, k.header[:])
	if last {
		a[sealedHeaderLen] = 1
	}
	return a
}

// sealWriter encrypts what is written to it; Close writes the last chunk.
type sealWriter struct {
	k     *BackupKey
	w     io.Writer
	buf   []byte
	index uint64
}

func (k *BackupKey) newWriter(w io.Writer) (*sealWriter, error) {
	if _, err := w.Write(k.header[:]); err != nil {
		return nil, err
	}
	return &sealWriter{k: k, w: w, buf: make([]byte, 0, 2*sealedChunk)}, nil
}

func (s *sealWriter) emit(chunk []byte, last bool) error {
	ct := s.k.aead.Seal(nil, s.k.nonce(s.index), chunk, s.k.aad(last))
	s.index++
	_, err := s.w.Write(ct)
	return err
}

func (s *sealWriter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	// A full chunk is written only once more data follows it: the last
	// chunk, full or not, is marked as the last at Close.
	for len(s.buf) > sealedChunk {
		if err := s.emit(s.buf[:sealedChunk], false); err != nil {
			return 0, err
		}
		s.buf = s.buf[:copy(s.buf, s.buf[sealedChunk:])]
	}
	return len(p), nil
}

func (s *sealWriter) Close() error {
	err := s.emit(s.buf, true)
	clear(s.buf)
	return err
}

// openReader decrypts chunk by chunk; it returns io.EOF only after the last
// chunk opened, so a file cut at a chunk boundary is ErrBackupTruncated, not
// a shorter database.
type openReader struct {
	k     *BackupKey
	r     *bufio.Reader
	index uint64
	out   []byte
	done  bool
	ct    []byte
}

func (k *BackupKey) newReader(r io.Reader) *openReader {
	return &openReader{k: k, r: bufio.NewReaderSize(r, sealedChunk+32), ct: make([]byte, sealedChunk+chacha20poly1305.Overhead)}
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.out) == 0 {
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, o.out)
	o.out = o.out[n:]
	return n, nil
}

func (o *openReader) next() error {
	n, err := io.ReadFull(o.r, o.ct)
	var last bool
	switch {
	case errors.Is(err, io.EOF):
		return ErrBackupTruncated // no last chunk
	case errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	case err != nil:
		return err
	default:
		_, perr := o.r.Peek(1)
		if errors.Is(perr, io.EOF) {
			last = true
		} else if perr != nil {
			return perr
		}
	}
	ct := o.ct[:n]
	pt, err := o.k.aead.Open(nil, o.k.nonce(o.index), ct, o.k.aad(last))
	if err != nil {
		if last {
			if _, err2 := o.k.aead.Open(nil, o.k.nonce(o.index), ct, o.k.aad(false)); err2 == nil {
				return ErrBackupTruncated
			}
		}
		return fmt.Errorf("%w (chunk %d)", ErrBackupDamaged, o.index)
	}
	o.index++
	o.out, o.done = pt, last
	return nil
}

// IsSealedBackup reports whether the file at path starts like an encrypted
// backup.
func IsSealedBackup(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var m [len(sealedMagic)]byte
	if _, err := io.ReadFull(f, m[:]); err != nil {
		return false, nil
	}
	return bytes.Equal(m[:], []byte(sealedMagic)), nil
}

// WriteSealedBackupFile writes the backup that copy produces to path,
// encrypted under key: into a temporary file beside it, fsynced; then the
// temporary file is decrypted again into scratchDir (the data directory,
// which holds the same data in clear already) and verified there like a
// plain backup, and removed; only then is the file renamed into place.
// Nothing in clear is written beside path.
func WriteSealedBackupFile(ctx context.Context, path, scratchDir string, key *BackupKey, copy func(io.Writer) (int64, error)) (BackupResult, error) {
	res, err := writeSealedBackupFile(ctx, path, scratchDir, key, copy)
	if err != nil {
		return BackupResult{}, fmt.Errorf("store: encrypted backup to %s: %w", path, err)
	}
	return res, nil
}

func writeSealedBackupFile(ctx context.Context, path, scratchDir string, key *BackupKey, copy func(io.Writer) (int64, error)) (BackupResult, error) {
	res, err := placeBackupFile(path, func(w io.Writer) error {
		sw, err := key.newWriter(w)
		if err != nil {
			return err
		}
		if _, err := copy(sw); err != nil {
			return err
		}
		return sw.Close()
	}, func(tmp string) (VerifyReport, error) {
		rep, err := verifySealed(ctx, tmp, scratchDir, key)
		if err != nil {
			return rep, fmt.Errorf("the encrypted copy does not verify: %w", err)
		}
		return rep, nil
	})
	res.Encrypted = err == nil
	return res, err
}

// verifySealed decrypts the sealed file at path with key into a temporary
// file in scratchDir, verifies that, and removes it.
func verifySealed(ctx context.Context, path, scratchDir string, key *BackupKey) (VerifyReport, error) {
	in, err := os.Open(path)
	if err != nil {
		return VerifyReport{}, err
	}
	defer in.Close()
	var hdr [sealedHeaderLen]byte
	if _, err := io.ReadFull(in, hdr[:]); err != nil || hdr != key.header {
		return VerifyReport{}, fmt.Errorf("%w: header", ErrBackupDamaged)
	}
	scratch, err := os.CreateTemp(scratchDir, ".backup-verify-*")
	if err != nil {
		return VerifyReport{}, err
	}
	defer func() {
		_ = scratch.Close()
		_ = os.Remove(scratch.Name())
	}()
	if err := scratch.Chmod(0o600); err != nil {
		return VerifyReport{}, err
	}
	if _, err := io.Copy(ctxWriter{ctx: ctx, w: scratch}, key.newReader(in)); err != nil {
		return VerifyReport{}, err
	}
	if err := scratch.Close(); err != nil {
		return VerifyReport{}, err
	}
	return verifyFile(ctx, scratch.Name())
}
