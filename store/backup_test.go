package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// populate writes a little of everything.
func populate(t testing.TB, s *Store, calls int) []Call {
	t.Helper()
	seal := newSealer(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []Call
	update(t, s, func(tx *Tx) error {
		for i := range 3 {
			if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(i), Role: RoleVolunteer, Active: true, Profile: seal.seal("name")}); err != nil {
				return err
			}
		}
		for i := range calls {
			c, err := tx.PutCall(testCall(t, start.Add(time.Duration(i)*time.Minute), pk(i%3), Hash{byte(i)}))
			if err != nil {
				return err
			}
			out = append(out, c)
			if i%4 == 0 {
				if _, err := tx.CreateNote(Note{ID: newID(t), CallID: c.ID, Author: c.AnsweredBy, Envelope: seal.seal("note")}); err != nil {
					return err
				}
			}
			if err := tx.Audit(c.AnsweredBy, "call.answered", "call:"+c.ID); err != nil {
				return err
			}
		}
		return tx.SetCustomFields([]CustomField{{ID: "risk", Label: "Risk", Type: FieldText}})
	})
	return out
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	calls := populate(t, s, 200)

	// Writers keep going while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.Update(ctx, func(tx *Tx) error {
				_, err := tx.PutCall(testCall(t, time.Date(2027, 1, 1, 0, i, 0, 0, time.UTC), pk(1), Hash{7}))
				return err
			})
		}
	})
	backup := filepath.Join(t.TempDir(), "backup.db")
	res, err := s.BackupFile(ctx, backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes == 0 || len(res.SHA256) != 64 || !res.Report.RecordsChecked {
		t.Errorf("backup result %+v", res)
	}
	if h := fileHash(t, backup); res.SHA256 != bytesHex(h[:]) {
		t.Error("reported SHA-256 differs from the file")
	}
	if _, err := s.BackupFile(ctx, backup); !errors.Is(err, ErrExists) {
		t.Errorf("overwriting a backup: %v", err)
	}

	// Restore into an empty place.
	dir := t.TempDir()
	fresh := filepath.Join(dir, "llamenos.db")
	r, err := Restore(ctx, backup, fresh, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Previous != "" {
		t.Errorf("previous = %q for a new path", r.Previous)
	}
	if got := dirNames(t, dir); len(got) != 1 {
		t.Errorf("restore left files behind: %v", got)
	}
	rs, err := Open(ctx, fresh, Options{})
	if err != nil {
		t.Fatal(err)
	}
	view(t, rs, func(tx *Tx) error {
		for _, c := range calls {
			got, err := tx.Call(c.ID)
			if err != nil || got.AnsweredBy != c.AnsweredBy || !got.StartedAt.Equal(c.StartedAt) {
				t.Fatalf("call %s after restore: %v", c.ID, err)
			}
		}
		es, _, err := tx.AuditLog("", 1)
		if err != nil || es[0].Action != "store.restored" || es[0].Subjects[0] != "backup:"+res.SHA256 {
			t.Errorf("restore not audited: %+v %v", es, err)
		}
		return nil
	})
	rs.Close()
	// The caller key is not in the backup (see TestDictionaryAttackOnACopy).

	// Restore over an existing (stopped) database keeps the old one aside.
	old := fileHash(t, fresh)
	r, err = Restore(ctx, backup, fresh, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Previous == "" || fileHash(t, r.Previous) != old {
		t.Errorf("previous database not kept: %q", r.Previous)
	}
	if _, err := VerifyFile(ctx, fresh); err != nil {
		t.Errorf("restored file: %v", err)
	}
}

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// fixMetas recomputes both meta checksums, so damage reaches past them.
func fixMetas(b []byte, ps int) {
	for _, off := range []int{0, ps} {
		if off+pageHeaderSize+metaSize > len(b) {
			continue
		}
		m := b[off+pageHeaderSize:]
		h := fnv.New64a()
		h.Write(m[:56])
		ne.PutUint64(m[56:], h.Sum64())
	}
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	populate(t, s, 150)
	good := filepath.Join(t.TempDir(), "good.db")
	if _, err := s.BackupFile(ctx, good); err != nil {
		t.Fatal(err)
	}
	s.Close()
	goodBytes, _ := os.ReadFile(good)
	const ps = 4096

	// A live database that must survive every refusal byte for byte.
	liveDir := t.TempDir()
	live := filepath.Join(liveDir, "llamenos.db")
	ls, err := Open(ctx, live, Options{})
	if err != nil {
		t.Fatal(err)
	}
	populate(t, ls, 10)
	ls.Close()
	liveHash, liveNames := fileHash(t, live), dirNames(t, liveDir)

	// A page that is certainly in use: the root of the calls bucket.
	var callsRoot int
	{
		db, err := bbolt.Open(good, 0o600, &bbolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		_ = db.View(func(tx *bbolt.Tx) error { callsRoot = int(tx.Bucket(bucketCalls).Root()); return nil })
		db.Close()
		if callsRoot < 2 {
			t.Fatalf("calls bucket is inline (root %d): grow the fixture", callsRoot)
		}
	}
	edit := func(fn func(b []byte) []byte) []byte { return fn(bytes.Clone(goodBytes)) }
	rawEdit := func(t *testing.T, fn func(tx *bbolt.Tx) error) []byte {
		p := filepath.Join(t.TempDir(), "x.db")
		if err := os.WriteFile(p, goodBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bbolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
		db.Close()
		b, _ := os.ReadFile(p)
		return b
	}
	findValue := func(needle string) int {
		i := bytes.Index(goodBytes, []byte(needle))
		if i < 0 {
			t.Fatalf("fixture lacks %q", needle)
		}
		return i
	}
	cases := []struct {
		name string
		data func(t *testing.T) []byte
		want error
	}{
		{"empty file", func(*testing.T) []byte { return nil }, ErrNotADatabase},
		{"text", func(*testing.T) []byte { return bytes.Repeat([]byte("hello\n"), 5000) }, ErrNotADatabase},
		{"first 100 bytes", func(*testing.T) []byte { return goodBytes[:100] }, ErrNotADatabase},
		{"one page", func(*testing.T) []byte { return goodBytes[:ps] }, ErrCorrupt},
		{"half", func(*testing.T) []byte { return goodBytes[:len(goodBytes)/2] }, ErrCorrupt},
		{"last page missing", func(*testing.T) []byte { return goodBytes[:len(goodBytes)-ps] }, ErrCorrupt},
		{"last byte missing", func(*testing.T) []byte { return goodBytes[:len(goodBytes)-1] }, ErrCorrupt},
		{"both metas zeroed", func(*testing.T) []byte {
			return edit(func(b []byte) []byte { clear(b[:2*ps]); return b })
		}, ErrNotADatabase},
		{"meta root out of range", func(*testing.T) []byte {
			return edit(func(b []byte) []byte {
				for _, off := range []int{0, ps} {
					ne.PutUint64(b[off+pageHeaderSize+16:], 1<<40)
				}
				fixMetas(b, ps)
				return b
			})
		}, ErrCorrupt},
		{"meta claims more pages than the file", func(*testing.T) []byte {
			return edit(func(b []byte) []byte {
				for _, off := range []int{0, ps} {
					ne.PutUint64(b[off+pageHeaderSize+40:], uint64(len(b)/ps+10))
				}
				fixMetas(b, ps)
				return b
			})
		}, ErrCorrupt},
		{"garbage over data pages", func(*testing.T) []byte {
			return edit(func(b []byte) []byte {
				rng := rand.New(rand.NewPCG(7, 7))
				for i := 3 * ps; i < 3*ps+4*ps && i < len(b); i++ {
					b[i] = byte(rng.Uint32())
				}
				return b
			})
		}, ErrCorrupt},
		{"page header id changed", func(*testing.T) []byte {
			return edit(func(b []byte) []byte { ne.PutUint64(b[callsRoot*ps:], 999); return b })
		}, ErrCorrupt},
		{"page type changed", func(*testing.T) []byte {
			return edit(func(b []byte) []byte { ne.PutUint16(b[callsRoot*ps+8:], flagMeta); return b })
		}, ErrCorrupt},
		{"element count too large", func(*testing.T) []byte {
			return edit(func(b []byte) []byte { ne.PutUint16(b[callsRoot*ps+10:], 0xFFF0); return b })
		}, ErrCorrupt},
		{"bit flip in a call record", func(*testing.T) []byte {
			return edit(func(b []byte) []byte { b[findValue(`"out":"answered"`)+8] ^= 0x20; return b })
		}, ErrCorrupt},
		{"audit entry edited", func(t *testing.T) []byte {
			return rawEdit(t, func(tx *bbolt.Tx) error {
				a := tx.Bucket(bucketAudit)
				e, err := decodeAuditEntry(a.Get(u64(3)))
				if err != nil {
					return err
				}
				e.Action = "nothing.happened"
				return a.Put(u64(3), e.encode())
			})
		}, nil},
		{"index key removed", func(t *testing.T) []byte {
			return rawEdit(t, func(tx *bbolt.Tx) error {
				k, _ := tx.Bucket(bucketCallsTime).Cursor().First()
				return tx.Bucket(bucketCallsTime).Delete(bytes.Clone(k))
			})
		}, ErrCorrupt},
		{"stray index key", func(t *testing.T) []byte {
			return rawEdit(t, func(tx *bbolt.Tx) error {
				return tx.Bucket(bucketCallsVol).Put(make([]byte, 56), nil)
			})
		}, ErrCorrupt},
		{"record moved under another key", func(t *testing.T) []byte {
			return rawEdit(t, func(tx *bbolt.Tx) error {
				b := tx.Bucket(bucketCalls)
				k, v := b.Cursor().First()
				v = bytes.Clone(v)
				if err := b.Delete(bytes.Clone(k)); err != nil {
					return err
				}
				return b.Put(make([]byte, 16), v)
			})
		}, ErrCorrupt},
		{"newer schema", func(t *testing.T) []byte {
			return rawEdit(t, func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(9)) })
		}, ErrSchemaTooNew},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "backup.db")
			if err := os.WriteFile(src, c.data(t), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Restore(ctx, src, live, "")
			if err == nil {
				t.Fatal("a bad backup was restored")
			}
			var ae *AuditError
			if c.want == nil && !errors.As(err, &ae) {
				t.Errorf("error %v, want an audit chain error", err)
			} else if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if fileHash(t, live) != liveHash {
				t.Fatal("the live database changed")
			}
			if got := dirNames(t, liveDir); !slices.Equal(got, liveNames) {
				t.Fatalf("files left beside the live database: %v", got)
			}
		})
	}

	t.Run("while the daemon runs", func(t *testing.T) {
		running, err := Open(ctx, live, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer running.Close()
		_, err = Restore(ctx, good, live, "")
		wantErr(t, err, ErrLocked)
		if _, err := VerifyFile(ctx, live); !errors.Is(err, ErrLocked) {
			t.Errorf("verify of a live file: %v", err)
		}
		running.Close()
		if fileHash(t, live) != liveHash {
			t.Fatal("the live database changed")
		}
	})
	t.Run("onto itself", func(t *testing.T) {
		if _, err := Restore(ctx, live, live, ""); err == nil {
			t.Fatal("restored a file onto itself")
		}
		if fileHash(t, live) != liveHash {
			t.Fatal("the live database changed")
		}
	})
}

// Random damage anywhere in the file must end in a clean answer: VerifyFile
// runs in this process, so a fault inside bbolt would kill the test.
func TestVerifyFileSurvivesRandomDamage(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	populate(t, s, 300)
	var buf bytes.Buffer
	if _, err := s.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	const ps = 4096
	rng := rand.New(rand.NewPCG(11, 13))
	dir := t.TempDir()
	refused, accepted := 0, 0
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	for i := range rounds {
		b := bytes.Clone(good)
		switch i % 4 {
		case 0: // a few random bytes anywhere past the metas
			for range 1 + rng.IntN(8) {
				b[2*ps+rng.IntN(len(b)-2*ps)] = byte(rng.Uint32())
			}
		case 1: // a whole page of noise
			p := 2 + rng.IntN(len(b)/ps-2)
			for j := p * ps; j < (p+1)*ps; j++ {
				b[j] = byte(rng.Uint32())
			}
		case 2: // one header field of one page
			p := 2 + rng.IntN(len(b)/ps-2)
			off := p*ps + []int{0, 8, 10, 12}[rng.IntN(4)]
			ne.PutUint16(b[off:], uint16(rng.Uint32()))
		case 3: // a meta field, with a valid checksum
			off := pageHeaderSize + []int{8, 16, 32, 40}[rng.IntN(4)]
			for _, m := range []int{0, ps} {
				ne.PutUint32(b[m+off:], rng.Uint32())
			}
			fixMetas(b, ps)
		}
		if rng.IntN(5) == 0 {
			b = b[:rng.IntN(len(b))]
		}
		p := filepath.Join(dir, "damaged.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyFile(ctx, p); err != nil {
			refused++
		} else {
			accepted++
		}
	}
	t.Logf("%d damaged files: %d refused, %d accepted (damage in free space or slack is harmless)", rounds, refused, accepted)
	if refused < rounds/2 {
		t.Errorf("only %d of %d damaged files refused", refused, rounds)
	}
}

// A page damaged on disk after the daemon opened the file must make
// `llamenos check` fail cleanly, not crash inside bbolt.
func TestCheckReportsDamageInTheLiveFile(t *testing.T) {
	s, path := openTest(t)
	populate(t, s, 300)
	var root uint64
	view(t, s, func(tx *Tx) error { root = uint64(tx.tx.Bucket(bucketCalls).Root()); return nil })
	s.Close()
	if root < 2 {
		t.Fatal("calls bucket is inline")
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 16)
	ne.PutUint64(page, root+1000) // the page now names another page
	if _, err := f.WriteAt(page[:8], int64(root)*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("meta and freelist are intact, open should work: %v", err)
	}
	defer s.Close()
	_, err = s.Check(context.Background())
	wantErr(t, err, ErrCorrupt)
}
