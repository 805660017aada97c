package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppendCallAudit is the per-call write path: one call record and
// its audit entry in one transaction, committed with fsync.
func BenchmarkAppendCallAudit(b *testing.B) {
	s, _ := openTest(b)
	envelope := make([]byte, 160)
	_, _ = rand.Read(envelope)
	ctx := context.Background()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		id, err := NewID()
		if err != nil {
			b.Fatal(err)
		}
		err = s.Update(ctx, func(tx *Tx) error {
			if _, err := tx.PutCall(Call{
				ID: id, StartedAt: start.Add(time.Duration(i) * time.Second), AnsweredBy: pk(i % 20),
				Outcome: OutcomeAnswered, CallerHash: Hash{byte(i), byte(i >> 8)}, CallerNumber: envelope,
				QueueWait: 12 * time.Second, Duration: 4 * time.Minute,
			}); err != nil {
				return err
			}
			return tx.Audit(pk(i%20), "call.answered", "call:"+id)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The million-call fixture is built once per test binary run and removed by
// TestMain.
var bigFixture struct {
	once sync.Once
	dir  string
	path string
	err  error
	took time.Duration
}

const bigFixtureEnv = "LLAMENOS_BENCH_CALLS"

func bigFixtureCalls() int {
	if n, err := strconv.Atoi(os.Getenv(bigFixtureEnv)); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func buildBigFixture() (string, error) {
	bigFixture.once.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "llamenos-bench-*")
		if err != nil {
			bigFixture.err = err
			return
		}
		bigFixture.dir = dir
		bigFixture.path = filepath.Join(dir, "calls.db")
		bigFixture.err = fillCalls(bigFixture.path, bigFixtureCalls())
		bigFixture.took = time.Since(start)
	})
	return bigFixture.path, bigFixture.err
}

// fillCalls writes n calls through the normal API in large transactions
// without fsync (setup only), spread over a year and 50 volunteers.
func fillCalls(path string, n int) error {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	envelope := make([]byte, 160)
	_, _ = rand.Read(envelope)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 365 * 24 * time.Hour / time.Duration(n)
	const batch = 20000
	for done := 0; done < n; done += batch {
		err := s.Update(ctx, func(tx *Tx) error {
			for i := done; i < min(done+batch, n); i++ {
				id, err := NewID()
				if err != nil {
					return err
				}
				var caller Hash
				_, _ = rand.Read(caller[:])
				if _, err := tx.PutCall(Call{
					ID: id, StartedAt: base.Add(time.Duration(i) * step), AnsweredBy: pk(i % 50),
					Outcome: OutcomeAnswered, CallerHash: caller, CallerNumber: envelope,
					QueueWait: 12 * time.Second, Duration: 4 * time.Minute,
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fill at %d: %w", done, err)
		}
	}
	return nil
}

// BenchmarkListCallsFirstPage reads the first page (50) of calls, newest
// first, from a store holding a million call records.
func BenchmarkListCallsFirstPage(b *testing.B) {
	path, err := buildBigFixture()
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(path); err == nil {
		b.Logf("fixture: %d calls, %.0f MiB, built in %s", bigFixtureCalls(), float64(fi.Size())/(1<<20), bigFixture.took.Round(time.Second))
	}
	var deep string // cursor 100 pages in
	view(b, s, func(tx *Tx) error {
		for range 100 {
			_, next, err := tx.ListCalls(CallFilter{}, deep, 50)
			if err != nil {
				return err
			}
			deep = next
		}
		return nil
	})
	for _, c := range []struct {
		name   string
		f      CallFilter
		cursor string
	}{
		{"all", CallFilter{}, ""},
		{"volunteer", CallFilter{Volunteer: pk(7)}, ""},
		{"all_page_101", CallFilter{}, deep},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				calls, err := Read(ctx, s, func(tx *Tx) ([]Call, error) {
					calls, _, err := tx.ListCalls(c.f, c.cursor, 50)
					return calls, err
				})
				if err != nil || len(calls) != 50 {
					b.Fatalf("%d calls, %v", len(calls), err)
				}
			}
		})
	}
}

// BenchmarkVerifyFile is the cost of verifying (and so restoring) a backup
// of a million calls: page walk, bbolt check, every record and index.
func BenchmarkVerifyFile(b *testing.B) {
	path, err := buildBigFixture()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := VerifyFile(context.Background(), path)
		if err != nil || rep.Keys["calls"] != bigFixtureCalls() {
			b.Fatalf("%v %v", rep.Keys["calls"], err)
		}
	}
}
