package pipeline

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// spillPrefix names spill files, so a restarted daemon finds and deletes
// the ones a crash left behind.
const spillPrefix = "llamenos-spill-"

// spillChunk is how much audio is sealed at a time into a spill file: one
// second of µ-law.
const spillChunk = 8000

// memory accounts the audio every job holds in memory.
type memory struct {
	limit int64
	held  atomic.Int64
}

// Audio is one speaker's µ-law audio while it waits for its job. It lives
// in memory until the audio all jobs hold reaches the runner's bound; past
// it, the rest goes to a temporary file sealed with a key that exists only
// in this value's memory (XChaCha20-Poly1305, one chunk a second), so what
// reaches the disk cannot be read without this process. Close wipes the
// memory and removes the file. An Audio is used by one goroutine at a time.
type Audio struct {
	mem  *memory
	dir  string
	buf  []byte // in memory: everything (no file) or the tail not sealed yet
	held int64  // bytes of buf counted in mem

	f      *os.File
	aead   cipher.AEAD
	key    []byte
	seq    uint64
	filed  int64
	err    error
	closed bool
	once   sync.Once
}

// Len is the number of samples appended.
func (a *Audio) Len() int64 { return a.filed + int64(len(a.buf)) }

// Spilled reports whether part of the audio is in a file.
func (a *Audio) Spilled() bool { return a.f != nil }

// Append adds samples. A failure to spill is kept and returned by every
// later call and by Bytes: the job fails, the call goes on.
func (a *Audio) Append(p []byte) error {
	if a.err != nil {
		return a.err
	}
	if a.closed {
		return errors.New("pipeline: append to closed audio")
	}
	if a.f == nil && a.mem.held.Load()+int64(len(p)) > a.mem.limit {
		if a.err = a.spill(); a.err != nil {
			return a.err
		}
	}
	a.buf = append(a.buf, p...)
	if a.f == nil {
		a.mem.held.Add(int64(len(p)))
		a.held += int64(len(p))
		return nil
	}
	for len(a.buf) >= spillChunk {
		if a.err = a.writeChunk(a.buf[:spillChunk]); a.err != nil {
			return a.err
		}
		n := copy(a.buf, a.buf[spillChunk:])
		clear(a.buf[n:])
		a.buf = a.buf[:n]
	}
	return nil
}

// spill opens the file and moves what is in memory to it.
func (a *Audio) spill() error {
	a.key = make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(a.key); err != nil {
		return fmt.Errorf("pipeline: spill key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(a.key)
	if err != nil {
		return fmt.Errorf("pipeline: spill key: %w", err)
	}
	f, err := os.CreateTemp(a.dir, spillPrefix+"*")
	if err != nil {
		return fmt.Errorf("pipeline: spill file: %w", err)
	}
	a.f, a.aead = f, aead
	held := a.buf
	a.buf = nil
	a.mem.held.Add(-a.held)
	a.held = 0
	// What was in memory is wiped, written or not.
	defer clear(held[:cap(held)])
	for rest := held; len(rest) > 0; {
		n := min(len(rest), spillChunk)
		if err := a.writeChunk(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// writeChunk seals p as the next chunk: length, then ciphertext. The nonce
// is the chunk's number, so chunks cannot be reordered or dropped unseen.
func (a *Audio) writeChunk(p []byte) error {
	nonce := make([]byte, a.aead.NonceSize())
	binary.BigEndian.PutUint64(nonce[len(nonce)-8:], a.seq)
	a.seq++
	ct := a.aead.Seal(nil, nonce, p, nil)
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(ct)))
	if _, err := a.f.Write(append(hdr[:], ct...)); err != nil {
		return fmt.Errorf("pipeline: spill write: %w", err)
	}
	a.filed += int64(len(p))
	return nil
}

// Bytes returns all the audio in one slice of its own (the file read back
// and opened); the caller wipes it when done.
func (a *Audio) Bytes() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.f == nil {
		return bytes.Clone(a.buf), nil
	}
	out := make([]byte, 0, a.Len())
	if _, err := a.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("pipeline: spill read: %w", err)
	}
	nonce := make([]byte, a.aead.NonceSize())
	var hdr [4]byte
	for seq := uint64(0); seq < a.seq; seq++ {
		if _, err := io.ReadFull(a.f, hdr[:]); err != nil {
			clear(out)
			return nil, fmt.Errorf("pipeline: spill read: %w", err)
		}
		ct := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(a.f, ct); err != nil {
			clear(out)
			return nil, fmt.Errorf("pipeline: spill read: %w", err)
		}
		binary.BigEndian.PutUint64(nonce[len(nonce)-8:], seq)
		var err error
		if out, err = a.aead.Open(out, nonce, ct, nil); err != nil {
			clear(out)
			return nil, fmt.Errorf("pipeline: spill file damaged: %w", err)
		}
	}
	if _, err := a.f.Seek(0, io.SeekEnd); err != nil {
		clear(out)
		return nil, fmt.Errorf("pipeline: spill read: %w", err)
	}
	return append(out, a.buf...), nil
}

// Close wipes the audio and removes its file. It is safe to call twice.
func (a *Audio) Close() {
	a.once.Do(func() {
		a.closed = true
		clear(a.buf[:cap(a.buf)])
		a.buf = nil
		a.mem.held.Add(-a.held)
		a.held = 0
		clear(a.key)
		if a.f != nil {
			name := a.f.Name()
			_ = a.f.Close()
			_ = os.Remove(name)
		}
	})
}

// removeLeftovers deletes the spill files a previous run left in dir (it
// crashed or was killed mid-job); their keys died with it.
func removeLeftovers(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("pipeline: leftover spill files: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
