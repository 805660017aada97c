package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"llamenos/e2ee"
)

func TestCallerKeyNeverPrints(t *testing.T) {
	s, _ := openTest(t)
	key := s.CallerKey()
	raw := key.key[:]
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opened", "key", key, "wrapped", struct{ K CallerKey }{key})
	slog.New(slog.NewTextHandler(&logged, nil)).Info("opened", "key", key)
	js, _ := json.Marshal(map[string]any{"k": key})
	outputs := []string{logged.String(), string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, key), fmt.Sprintf(verb, &key), fmt.Sprintf(verb, []CallerKey{key}))
	}
	forms := []string{hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), string(raw), fmt.Sprint(raw), fmt.Sprint(raw[:4])}
	for _, out := range outputs {
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Fatalf("key printed in %q", out)
			}
		}
	}
	if a, b := callerHash(t, s, "+15555550100"), callerHash(t, s, "+1 555 555 0100"); a != b || a == callerHash(t, s, "+15555550101") {
		t.Error("the caller hash is not a function of the normalised number")
	}
}

// TestKeyFile: the key is created once, 0600, outside the database, and a
// key file others can read is refused.
func TestKeyFile(t *testing.T) {
	s, path := openTest(t)
	keyFile, key := s.keyFile, s.CallerKey().key
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	s.Close()
	db, _ := os.ReadFile(path)
	if bytes.Contains(db, key[:]) {
		t.Fatal("the caller key is in the database file")
	}
	if err := os.Chmod(keyFile, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path, Options{KeyFile: keyFile}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a group-readable key file: %v", err)
	}
	_ = os.Chmod(keyFile, 0o600)
	ro, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.CallerKey().PhoneHash("+15555550100"); !errors.Is(err, ErrNoCallerKey) {
		t.Errorf("read-only without the key file hashed: %v", err)
	}
	ro.Close()
	s2, err := Open(context.Background(), path, Options{KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.CallerKey().key != key {
		t.Error("reopening changed the key")
	}
}

// TestCallerHashesErasedAfterWindow: once the rate-limit window has passed,
// no call record holds a caller hash; younger calls keep theirs (the rate
// limit counts them).
func TestCallerHashesErasedAfterWindow(t *testing.T) {
	s, _ := openTest(t)
	h := callerHash(t, s, "+15555550100")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var old, young []string
	update(t, s, func(tx *Tx) error {
		for i, age := range []time.Duration{48 * time.Hour, 2 * time.Minute, CallerHashWindow + time.Nanosecond, CallerHashWindow, 30 * time.Second, 0} {
			c := testCall(t, now.Add(-age), pk(1), h)
			if i == 1 {
				c.CallerHash = Hash{} // anonymous
			}
			if _, err := tx.PutCall(c); err != nil {
				return err
			}
			if age > CallerHashWindow {
				old = append(old, c.ID)
			} else {
				young = append(young, c.ID)
			}
		}
		return nil
	})
	var n int
	update(t, s, func(tx *Tx) (err error) {
		n, err = tx.EraseCallerHashes(now.Add(-CallerHashWindow))
		return err
	})
	if n != 2 {
		t.Errorf("erased %d, want 2", n)
	}
	view(t, s, func(tx *Tx) error {
		for _, id := range old {
			if c, err := tx.Call(id); err != nil || !c.CallerHash.IsZero() {
				t.Errorf("call %s older than the window: hash %v, %v", id, c.CallerHash, err)
			}
		}
		for _, id := range young {
			if c, err := tx.Call(id); err != nil || c.CallerHash != h {
				t.Errorf("call %s inside the window lost its hash: %v", id, err)
			}
		}
		if got, err := tx.CountCallsFrom(h, now.Add(-CallerHashWindow)); err != nil || got != len(young) {
			t.Errorf("rate-limit count %d, %v; want %d", got, err, len(young))
		}
		return nil
	})
	mustCheck(t, s)
}

// TestDictionaryAttackOnACopy: someone with a copy of the database (a
// backup, a seized disk) but not the key file tries every number near the
// caller's, the real one included, under every 32-byte string the copy
// holds as a key, in both hash formats, against every 32-byte string of the
// copy's bytes. Nothing matches. With the key file the same attack finds the
// caller, so the attack itself works.
func TestDictionaryAttackOnACopy(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const caller = "+34600123456"
	h := callerHash(t, s, caller)
	now := time.Now()
	update(t, s, func(tx *Tx) error {
		c := testCall(t, now, pk(1), h)
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		if _, err := tx.PutBan(Ban{Hash: h, CreatedBy: pk(0)}); err != nil {
			return err
		}
		return tx.Audit(pk(0), "ban.added", "ban:"+h.String(), "call:"+c.ID)
	})
	backup := filepath.Join(t.TempDir(), "copy.db")
	if _, err := s.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[Hash]bool{}
	for i := 0; i+32 <= len(file); i++ {
		stored[Hash(file[i:i+32])] = true
	}
	if !stored[h] {
		t.Fatal("the copy does not hold the caller's hash: nothing to attack")
	}

	// Every secret reachable from the copy: each 32-byte window of every key
	// and value of every bucket (the old install secret's place included).
	candidates := map[[32]byte]bool{}
	db, err := bbolt.Open(backup, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				for _, x := range [][]byte{k, v} {
					for i := 0; i+32 <= len(x); i++ {
						candidates[[32]byte(x[i:i+32])] = true
					}
				}
				return nil
			})
		})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(candidates) < 50 {
		t.Fatalf("only %d candidate secrets: the walk is broken", len(candidates))
	}

	attack := func(secrets map[[32]byte]bool) []string {
		var found []string
		for secret := range secrets {
			for d := -5; d <= 5; d++ {
				number := fmt.Sprintf("+34600123%03d", 456+d)
				v1, err := e2ee.PhoneHash(secret[:], number)
				if err != nil {
					t.Fatal(err)
				}
				v2, err := e2ee.CallerHash(secret[:], []byte(number), cheapHash)
				if err != nil {
					t.Fatal(err)
				}
				if stored[v1] || stored[v2] {
					found = append(found, number)
				}
			}
		}
		return found
	}
	if found := attack(candidates); len(found) > 0 {
		t.Fatalf("without the key file, %d candidate secrets recovered %v", len(candidates), found)
	}
	if found := attack(map[[32]byte]bool{s.CallerKey().key: true}); len(found) != 1 || found[0] != caller {
		t.Fatalf("with the key file the attack found %v, want the caller", found)
	}
}

// TestMigrateV1MovesTheSecretOut: a v1 database holds its HMAC secret, v1
// hashes in call records and bans keyed by v1 hashes. Opening it with a
// key file moves the secret into the file as a legacy one, erases the
// calls' hashes, keeps the bans checkable, and once the last legacy ban is
// re-keyed the legacy secret leaves the key file too.
func TestMigrateV1MovesTheSecretOut(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	keyFile := filepath.Join(t.TempDir(), KeyFileName)
	s, err := Open(ctx, path, Options{migrations: builtinMigrations()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{0x5a}, 32)
	const caller = "+525512345678"
	v1, _ := e2ee.PhoneHash(secret, caller)
	callID := newID(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.tx.Bucket(bucketMeta).Put(keySecret, secret); err != nil {
			return err
		}
		c := testCall(t, time.Now(), pk(1), v1)
		c.ID = callID
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		_, err := tx.PutBan(Ban{Hash: v1, CreatedBy: pk(0)})
		return err
	})
	s.Close()

	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatal("migrated without a key file to move the secret to")
	}
	s, err = Open(ctx, path, Options{KeyFile: keyFile, CallerHashCost: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(keyFile)
	k := s.CallerKey()
	if len(k.legacy) != 1 || !bytes.Equal(k.legacy[0][:], secret) || !strings.Contains(string(file), "legacy ") {
		t.Fatalf("legacy secret not in the key file: %d", len(k.legacy))
	}
	view(t, s, func(tx *Tx) error {
		if tx.tx.Bucket(bucketMeta).Get(keySecret) != nil {
			t.Error("the secret is still in the database")
		}
		if c, err := tx.Call(callID); err != nil || !c.CallerHash.IsZero() {
			t.Errorf("the call kept its v1 hash: %v", err)
		}
		lh, err := k.LegacyHashes([]byte(caller))
		if err != nil || len(lh) != 1 || lh[0] != Hash(v1) {
			t.Fatalf("legacy hashes %v, %v", lh, err)
		}
		b, err := tx.Ban(lh[0])
		if err != nil || !b.Legacy {
			t.Errorf("the ban is not kept as legacy: %+v %v", b, err)
		}
		return nil
	})
	mustCheck(t, s)
	current := callerHash(t, s, caller)
	update(t, s, func(tx *Tx) error {
		moved, err := tx.RekeyBan(Hash(v1), current)
		if !moved || err != nil {
			t.Errorf("rekey: %v %v", moved, err)
		}
		return err
	})
	view(t, s, func(tx *Tx) error {
		if banned, _ := tx.IsBanned(current); !banned {
			t.Error("re-keyed ban does not match")
		}
		if banned, _ := tx.IsBanned(Hash(v1)); banned {
			t.Error("the v1 ban is still there")
		}
		return nil
	})
	s.Close()
	s, err = Open(ctx, path, Options{KeyFile: keyFile, CallerHashCost: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if file, _ := os.ReadFile(keyFile); s.CallerKey().HasLegacy() || strings.Contains(string(file), "legacy ") {
		t.Error("the legacy secret stayed in the key file with no legacy ban left")
	}
	if s.CallerKey().key != k.key {
		t.Error("dropping the legacy secret changed the key")
	}
}

// BenchmarkCallerHash is the cost of one caller hash at the daemon's
// setting, and what that makes of hashing 10^9 numbers on one core.
func BenchmarkCallerHash(b *testing.B) {
	key, err := newCallerKey()
	if err != nil {
		b.Fatal(err)
	}
	key.cost = e2ee.DefaultCallerHashCost
	number := []byte("+34600123456")
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if _, err := key.PhoneHashBytes(number); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, not wall time: the machine may be shared, and an attacker's
	// cost is the work.
	perHash := (cpuTime(b) - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(perHash*1e3, "cpu-ms/op")
	b.ReportMetric(perHash*1e9/(365.25*24*3600), "core-years/1e9-numbers")
}
