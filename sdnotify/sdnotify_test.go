package sdnotify

import (
	"context"
	"net"
	"path/filepath"
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
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifyAndWatchdog(t *testing.T) {
	c, path := listen(t)
	env := map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"}
	n := FromEnv(func(k string) string { return env[k] })
	if n.socket != path {
		t.Fatalf("socket %q, want %q", n.socket, path)
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Watchdog(ctx, func() bool { return true }); close(done) }()
	if got := read(t, c); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
	cancel()
	<-done
}

func TestUnhealthyStopsPinging(t *testing.T) {
	c, path := listen(t)
	env := map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"}
	n := FromEnv(func(k string) string { return env[k] })
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	n.Watchdog(ctx, func() bool { return false })
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Read(make([]byte, 16)); err == nil {
		t.Fatal("an unhealthy daemon pinged the watchdog")
	}
}

func TestDisabled(t *testing.T) {
	n := FromEnv(func(string) string { return "" })
	if n.socket != "" || n.Notify("READY=1") != nil {
		t.Fatal("zero notifier must be a silent no-op")
	}
	n.Watchdog(context.Background(), func() bool { return true }) // returns at once
}
