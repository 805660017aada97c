package sdnotify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 256)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func expect(t *testing.T, c *net.UnixConn, want string) {
	t.Helper()
	if got := read(t, c); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// expectNothingQueued checks that no datagram waits on c: a marker sent now
// must be the next one read, since the socket keeps datagrams in order.
func expectNothingQueued(t *testing.T, c *net.UnixConn, n Notifier) {
	t.Helper()
	if err := n.Notify("MARK"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "MARK" {
		t.Fatalf("got %q while nothing should have been sent", got)
	}
}

func notifier(path, usec string) Notifier {
	env := map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": usec}
	return FromEnv(func(k string) string { return env[k] })
}

func TestNotifyAndWatchdog(t *testing.T) {
	c, path := listen(t)
	n := notifier(path, "40000")
	if n.socket != path || n.WatchdogInterval() != 40*time.Millisecond {
		t.Fatalf("socket %q, interval %v", n.socket, n.WatchdogInterval())
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "READY=1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		n.Watchdog(ctx, nil, func(context.Context) (string, error) { return "up", nil })
		close(done)
	}()
	expect(t, c, "STATUS=up")
	expect(t, c, "WATCHDOG=1")
	expect(t, c, "WATCHDOG=1") // the status is sent only when it changes
	cancel()
	<-done
}

// syncWriter is a log sink safe for the watchdog's goroutine and the test.
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

// TestFailingCheckStopsPinging drives the watchdog one check at a time: a
// failing check stops the pings and says why, once; a passing one resumes
// them.
func TestFailingCheckStopsPinging(t *testing.T) {
	c, path := listen(t)
	n := notifier(path, "20000")
	type verdict struct {
		status string
		err    error
	}
	called, verdicts := make(chan struct{}), make(chan verdict)
	logs := &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Watchdog(ctx, slog.New(slog.NewTextHandler(logs, nil)), func(ctx context.Context) (string, error) {
			select {
			case called <- struct{}{}:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			select {
			case v := <-verdicts:
				return v.status, v.err
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
	}()
	defer func() { cancel(); <-done }()
	// next waits for the next check, which starts only after everything the
	// previous one led to was sent, and gives it v.
	next := func(v verdict, before func()) {
		t.Helper()
		select {
		case <-called:
		case <-time.After(10 * time.Second):
			t.Fatal("the watchdog stopped checking")
		}
		before()
		verdicts <- v
	}
	nothing := func() {}
	stuck := errors.New("the loop is stuck")

	next(verdict{status: "up"}, nothing)
	expect(t, c, "STATUS=up")
	expect(t, c, "WATCHDOG=1")
	next(verdict{err: stuck}, nothing)
	expect(t, c, "STATUS=not pinging the watchdog: the loop is stuck")
	// The failing checks send no ping, and the second not its unchanged status.
	next(verdict{err: stuck}, func() { expectNothingQueued(t, c, n) })
	next(verdict{status: "up"}, func() { expectNothingQueued(t, c, n) })
	expect(t, c, "STATUS=up")
	expect(t, c, "WATCHDOG=1")
	next(verdict{status: "up"}, nothing)

	got := logs.String()
	if strings.Count(got, "not pinging") != 1 || !strings.Contains(got, "the loop is stuck") {
		t.Errorf("want one warning naming the failure, got:\n%s", got)
	}
	if strings.Count(got, "pass again") != 1 {
		t.Errorf("want one line saying the pings resumed, got:\n%s", got)
	}
}

func TestDisabled(t *testing.T) {
	n := FromEnv(func(string) string { return "" })
	if n.socket != "" || n.Notify("READY=1") != nil || n.WatchdogInterval() != 0 {
		t.Fatal("zero notifier must be a silent no-op")
	}
	// returns at once
	n.Watchdog(context.Background(), nil, func(context.Context) (string, error) { return "", nil })
}
