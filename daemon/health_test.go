package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llamenos/sdnotify"
)

// notifySocket is systemd's end of NOTIFY_SOCKET.
type notifySocket struct {
	c    *net.UnixConn
	path string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &notifySocket{c: c, path: path}
}

// waitFor reads datagrams until one satisfies pred and returns the ones
// read before it.
func (s *notifySocket) waitFor(t *testing.T, d time.Duration, what string, pred func(string) bool) []string {
	t.Helper()
	var before []string
	buf := make([]byte, 1024)
	s.c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := s.c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v; read before: %q", what, err, before)
		}
		got := string(buf[:n])
		if pred(got) {
			return before
		}
		before = append(before, got)
	}
}

func is(want string) func(string) bool { return func(s string) bool { return s == want } }

const ping = "WATCHDOG=1"

// syncWriter is a log sink safe for concurrent use.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

type aliveFunc func(time.Time) error

func (f aliveFunc) Alive(now time.Time) error { return f(now) }

// blockingRead is a store read that hangs while blocked is set.
type blockingRead struct {
	reads   atomic.Int32
	blocked atomic.Bool
	release chan struct{}
}

func (b *blockingRead) read(ctx context.Context) error {
	b.reads.Add(1)
	if b.blocked.Load() {
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func TestProbeBoundsAHungRead(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	b := &blockingRead{release: make(chan struct{})}
	b.blocked.Store(true)
	p := &probe{read: b.read, timeout: 20 * time.Millisecond, wg: &wg}
	ctx := context.Background()
	for i := range 3 {
		if err := p.check(ctx); err == nil || !strings.Contains(err.Error(), "has not returned") {
			t.Fatalf("check %d with the read hung = %v", i, err)
		}
	}
	if n := b.reads.Load(); n != 1 {
		t.Fatalf("%d reads started while the first hung, want 1", n)
	}
	b.blocked.Store(false)
	close(b.release)
	wg.Wait() // the read has returned
	if err := p.check(ctx); err != nil {
		t.Fatalf("check once the read returned = %v", err)
	}
	if err := p.check(ctx); err != nil || b.reads.Load() != 2 {
		t.Fatalf("next check = %v after %d reads, want a fresh read that passes", err, b.reads.Load())
	}

	failing := &probe{read: func(context.Context) error { return errors.New("disk on fire") }, timeout: time.Minute, wg: &wg}
	if err := failing.check(ctx); err == nil || !strings.Contains(err.Error(), "store cannot be read: disk on fire") {
		t.Fatalf("a failing read = %v", err)
	}
}

func TestHealthSeesHTTPGone(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	httpDone := make(chan struct{})
	h := &health{
		httpDone: httpDone,
		engine:   aliveFunc(func(time.Time) error { return nil }),
		store:    &probe{read: func(context.Context) error { return nil }, timeout: time.Minute, wg: &wg},
		ari:      func() bool { return true },
	}
	if st, err := h.check(context.Background()); err != nil || st != "answering calls" {
		t.Fatalf("healthy check = %q, %v", st, err)
	}
	close(httpDone)
	if _, err := h.check(context.Background()); err == nil || !strings.Contains(err.Error(), "HTTP server has stopped") {
		t.Fatalf("check with HTTP gone = %v", err)
	}
}

// TestStoreStallStopsPings: a store read that hangs stops the pings and
// STATUS says so; once it returns the pings resume.
func TestStoreStallStopsPings(t *testing.T) {
	sock := newNotifySocket(t)
	n := sdnotify.FromEnv(func(k string) string {
		return map[string]string{"NOTIFY_SOCKET": sock.path, "WATCHDOG_USEC": "200000"}[k]
	})
	var wg sync.WaitGroup
	b := &blockingRead{release: make(chan struct{})}
	var once sync.Once
	unblock := func() { once.Do(func() { b.blocked.Store(false); close(b.release) }) }
	h := &health{
		httpDone: make(chan struct{}),
		engine:   aliveFunc(func(time.Time) error { return nil }),
		store:    &probe{read: b.read, timeout: n.WatchdogInterval() / 4, wg: &wg},
		ari:      func() bool { return true },
	}
	logs := &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.Watchdog(ctx, slog.New(slog.NewTextHandler(logs, nil)), h.check)
	}()
	defer func() { unblock(); cancel(); wg.Wait() }()

	sock.waitFor(t, 10*time.Second, "the first status", is("STATUS=answering calls"))
	sock.waitFor(t, 10*time.Second, "a ping", is(ping))
	b.blocked.Store(true)
	sock.waitFor(t, 10*time.Second, "the pings to stop", func(s string) bool {
		return strings.HasPrefix(s, "STATUS=not pinging the watchdog: a store read has not returned")
	})
	unblock()
	for _, d := range sock.waitFor(t, 10*time.Second, "the status to recover", is("STATUS=answering calls")) {
		if d == ping {
			t.Fatal("pinged while the store read hung")
		}
	}
	sock.waitFor(t, 10*time.Second, "the pings to resume", is(ping))
	if got := logs.String(); !strings.Contains(got, "a store read has not returned") {
		t.Errorf("the warning does not say the store hung:\n%s", got)
	}
}
