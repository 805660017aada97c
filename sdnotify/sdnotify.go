// Package sdnotify speaks systemd's notify protocol (Type=notify, watchdog)
// without a dependency: one datagram per state change to $NOTIFY_SOCKET.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Notifier sends state strings such as "READY=1" to systemd. The zero value
// (no socket configured) does nothing, so the daemon runs the same outside systemd.
type Notifier struct {
	socket   string
	watchdog time.Duration
}

// FromEnv builds a Notifier from NOTIFY_SOCKET and WATCHDOG_USEC as found in
// getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) Notifier {
	n := Notifier{socket: getenv("NOTIFY_SOCKET")}
	if usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64); err == nil && usec > 0 {
		n.watchdog = time.Duration(usec) * time.Microsecond
	}
	return n
}

// Notify sends one state datagram.
func (n Notifier) Notify(state string) error {
	if n.socket == "" {
		return nil
	}
	name := n.socket
	if name[0] == '@' { // abstract namespace
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Watchdog pings systemd at half the configured interval while healthy()
// holds, until ctx ends. A daemon whose health check fails stops pinging and
// systemd restarts it.
func (n Notifier) Watchdog(ctx context.Context, healthy func() bool) {
	if n.socket == "" || n.watchdog == 0 {
		return
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if healthy() {
				_ = n.Notify("WATCHDOG=1")
			}
		}
	}
}
