// Package sdnotify speaks systemd's notify protocol (Type=notify, watchdog)
// without a dependency: one datagram per state change to $NOTIFY_SOCKET.
package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
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

// WatchdogInterval is systemd's watchdog interval (WatchdogSec), or 0 when
// the watchdog is off.
func (n Notifier) WatchdogInterval() time.Duration {
	if n.socket == "" {
		return 0
	}
	return n.watchdog
}

// Watchdog runs check at half the watchdog interval until ctx ends. While
// check returns nil it pings systemd (WATCHDOG=1); while it fails the pings
// stop, so systemd restarts the daemon once a whole interval passes without
// one, and they resume if a later check passes. The status check returns,
// or "not pinging the watchdog: " and the failure, is sent as STATUS=
// whenever it changes. Each change between pinging and not pinging is
// logged once. Without a watchdog Watchdog returns at once.
func (n Notifier) Watchdog(ctx context.Context, log *slog.Logger, check func(context.Context) (status string, err error)) {
	if n.WatchdogInterval() == 0 {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	pinging, sent := true, ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		status, err := check(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			status = "not pinging the watchdog: " + err.Error()
		}
		if status != sent {
			if n.Notify("STATUS="+status) == nil {
				sent = status
			}
		}
		switch {
		case err != nil && pinging:
			log.Warn("a health check failed: not pinging the systemd watchdog, which restarts the daemon if this lasts", "err", err)
		case err == nil && !pinging:
			log.Info("health checks pass again: pinging the systemd watchdog")
		}
		pinging = err == nil
		if pinging {
			_ = n.Notify("WATCHDOG=1")
		}
	}
}
