package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "LLAMENOS_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(crashChild(path))
	}
	code := m.Run()
	if bigFixture.dir != "" {
		_ = os.RemoveAll(bigFixture.dir)
	}
	os.Exit(code)
}

// crashChild writes call records, each with an audit entry (and every third
// with a note), as fast as fsync allows, printing "ack ID" after each commit
// returns. It runs until killed, or stops by itself after a bound.
func crashChild(path string) int {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Printf("err open: %v\n", err)
		return 3
	}
	fmt.Println("open")
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; i < 100000 && time.Now().Before(deadline); i++ {
				id, err := NewID()
				if err != nil {
					fmt.Printf("err id: %v\n", err)
					return
				}
				by := pk(w)
				err = s.Update(ctx, func(tx *Tx) error {
					c, err := tx.PutCall(Call{
						ID: id, StartedAt: time.Now(), AnsweredBy: by, Outcome: OutcomeAnswered,
						CallerHash: Hash{byte(i)}, CallerNumber: []byte("sealed"),
					})
					if err != nil {
						return err
					}
					if i%3 == 0 {
						noteID, _ := NewID()
						if _, err := tx.CreateNote(Note{ID: noteID, CallID: c.ID, Author: by, Envelope: []byte("sealed note")}); err != nil {
							return err
						}
					}
					return tx.Audit(by, "call.answered", "call:"+id)
				})
				if err != nil {
					fmt.Printf("err write: %v\n", err)
					return
				}
				fmt.Printf("ack %s\n", id)
			}
		})
	}
	wg.Wait()
	return 0
}

// TestCrashSafety kills a writer with SIGKILL at random moments and checks,
// after every kill, that the file passes full verification and holds every
// write that was acknowledged, each with its audit entry.
func TestCrashSafety(t *testing.T) {
	rounds := 50
	if n, err := strconv.Atoi(os.Getenv("LLAMENOS_CRASH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/crash.db"
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := map[string]bool{}
	killedMidWrite := 0
	start := time.Now()
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// If an assertion below stops the test, the child must not outlive it.
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment: sometimes while the database is being
		// opened (or created and migrated), usually after a random number
		// of acknowledged writes plus a random sub-millisecond delay.
		var roundAcks []string
		wantAcks := 1 + rng.IntN(40)
		early := round%5 == 0
		killAt := time.After(time.Duration(rng.IntN(30000)) * time.Microsecond)
		timeout := time.After(60 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: child exited on its own: %s", round, stderr.String())
				}
				if strings.HasPrefix(l, "err") {
					t.Fatalf("round %d: child: %s", round, l)
				}
				if id, found := strings.CutPrefix(l, "ack "); found {
					roundAcks = append(roundAcks, id)
					if !early && len(roundAcks) >= wantAcks {
						time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
						break wait
					}
				}
			case <-killAt:
				if early {
					break wait
				}
			case <-timeout:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: no progress: %s", round, stderr.String())
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		for l := range lines { // acks printed before the kill landed
			if id, found := strings.CutPrefix(l, "ack "); found {
				roundAcks = append(roundAcks, id)
			}
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child was not killed by SIGKILL: %v", round, cmd.ProcessState)
		}
		for _, id := range roundAcks {
			acked[id] = true
		}
		if len(roundAcks) > 0 {
			killedMidWrite++
		}
		checkAfterCrash(t, round, path, acked)
	}
	t.Logf("%d SIGKILLs (%d during a write stream, %d around open), %d acknowledged writes, all present; %s",
		rounds, killedMidWrite, rounds-killedMidWrite, len(acked), time.Since(start).Round(time.Millisecond))
}

func checkAfterCrash(t *testing.T, round int, path string, acked map[string]bool) {
	t.Helper()
	ctx := context.Background()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		if len(acked) > 0 {
			t.Fatalf("round %d: database gone after acknowledged writes: %v", round, err)
		}
		return
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	err = s.View(ctx, func(tx *Tx) error {
		audited := map[string]bool{}
		cursor := ""
		for {
			es, next, err := tx.AuditLog(cursor, MaxLimit)
			if err != nil {
				return err
			}
			for _, e := range es {
				for _, subj := range e.Subjects {
					audited[subj] = true
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for id := range acked {
			if _, err := tx.Call(id); err != nil {
				return fmt.Errorf("acknowledged write lost: %w", err)
			}
		}
		// Present calls, acknowledged or not, came with their audit entry.
		cursor = ""
		for {
			calls, next, err := tx.ListCalls(CallFilter{}, cursor, MaxLimit)
			if err != nil {
				return err
			}
			for _, c := range calls {
				if !audited["call:"+c.ID] {
					return fmt.Errorf("call %s committed without its audit entry", c.ID)
				}
			}
			if next == "" {
				return nil
			}
			cursor = next
		}
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	if _, err := VerifyFile(ctx, path); err != nil {
		t.Fatalf("round %d: verification after SIGKILL: %v", round, err)
	}
}
