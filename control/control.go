// Package control is the running daemon's local admin socket: a Unix socket
// in the data directory (mode 0600) through which `llamenos backup` and
// `llamenos check` reach a database the daemon holds locked. Nothing on it is
// reachable from the network.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"llamenos/store"
)

// SocketName is the socket's file name inside the data directory.
const SocketName = "control.sock"

// SocketPath returns the socket path for a data directory.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// Listen opens the socket at path, mode 0600.
func Listen(path string) (net.Listener, error) {
	// A socket left by a crashed daemon would make Listen fail; the store's
	// lock already guarantees no other daemon owns this directory.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control: %w", err)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return ln, nil
}

// Serve answers on the socket until ctx ends.
func Serve(ctx context.Context, path string, st *store.Store, log *slog.Logger) error {
	ln, err := Listen(path)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, st, log)
}

// ServeListener answers on ln, a socket from Listen, until ctx ends, then
// removes the socket.
func ServeListener(ctx context.Context, ln net.Listener, st *store.Store, log *slog.Logger) error {
	path := ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := st.Backup(r.Context(), w); err != nil {
			// Headers are gone; the client's verification will refuse the copy.
			log.Error("backup over the control socket failed", "err", err)
		}
	})
	mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
		rep, err := st.Check(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("control: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	_ = os.Remove(path)
	return err
}

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("control: the daemon is not running")

// Client talks to a running daemon.
type Client struct {
	http *http.Client
}

// Dial returns a client if a daemon answers on path, else ErrNotRunning.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, ErrNotRunning
	}
	c.Close()
	return &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, nil
}

func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://daemon"+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return res, nil
}

// Backup streams an online backup from the daemon into path, verified.
func (c *Client) Backup(ctx context.Context, path string) (store.BackupResult, error) {
	return store.WriteBackupFile(ctx, path, func(w io.Writer) (int64, error) { return c.Copy(ctx, w) })
}

// Copy streams an online backup from the daemon into w.
func (c *Client) Copy(ctx context.Context, w io.Writer) (int64, error) {
	res, err := c.get(ctx, "/backup")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("control: daemon answered %s", res.Status)
	}
	return io.Copy(w, res.Body)
}

// Check asks the daemon to verify its live database.
func (c *Client) Check(ctx context.Context) (store.VerifyReport, error) {
	res, err := c.get(ctx, "/check")
	if err != nil {
		return store.VerifyReport{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return store.VerifyReport{}, fmt.Errorf("control: check failed: %s", e.Error)
	}
	var rep store.VerifyReport
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		return rep, fmt.Errorf("control: %w", err)
	}
	return rep, nil
}
