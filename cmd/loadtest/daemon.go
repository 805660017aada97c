package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// daemonProc is the real daemon binary running as its own process, with
// the simulator of this process as its Asterisk.
type daemonProc struct {
	cmd       *exec.Cmd
	dir       string
	origin    string // http://localhost:PORT, the origin browsers use
	addr      string // 127.0.0.1:PORT, where requests go
	debugAddr string
	setupURL  chan string
	setup     string // the one-time setup link
	exited    chan struct{}
	errs      atomic.Int64 // log lines at level ERROR
	warns     atomic.Int64
	logTail   *tailBuffer
	audio     relayTally // summed from the daemon's "call ended" lines
}

// relayTally sums what the relays of ended calls report, so a loss can be
// told apart: dropped by the playout buffer as late, or lost before it.
type relayTally struct {
	calls, fromBrowser, toAsterisk, pacerDropped, pacerSkipped, errors atomic.Int64
}

// wait waits up to limit for n calls' lines.
func (t *relayTally) wait(n int64, limit time.Duration) {
	for end := time.Now().Add(limit); t.calls.Load() < n && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
}

func (t *relayTally) String() string {
	return fmt.Sprintf("relays of %d ended calls: from the browsers %d packets, to Asterisk %d, dropped late by the playout buffer %d, quiet ones skipped %d, socket errors %d",
		t.calls.Load(), t.fromBrowser.Load(), t.toAsterisk.Load(), t.pacerDropped.Load(), t.pacerSkipped.Load(), t.errors.Load())
}

// freePort reserves a loopback port and releases it for the daemon.
func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type daemonConfig struct {
	bin                 string
	ariURL, user, pass  string
	maxCalls, maxSocket int
	log                 *slog.Logger
}

func startDaemon(ctx context.Context, c daemonConfig) (*daemonProc, error) {
	dir, err := os.MkdirTemp("", "llamenos-load-")
	if err != nil {
		return nil, err
	}
	var ports [3]int
	for i, n := range []string{"tcp", "tcp", "udp"} {
		if ports[i], err = freePort(n); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("daemon: port: %w", err)
		}
	}
	d := &daemonProc{
		dir:       dir,
		origin:    fmt.Sprintf("http://localhost:%d", ports[0]),
		addr:      fmt.Sprintf("127.0.0.1:%d", ports[0]),
		debugAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		setupURL:  make(chan string, 1),
		exited:    make(chan struct{}),
		logTail:   &tailBuffer{max: 64},
	}
	// The TOML values are quoted with %q: Go's quoting of these plain
	// ASCII strings is valid TOML.
	cfg := fmt.Sprintf(`[server]
listen = %q
public_url = %q
metrics_listen = ""

[data]
dir = %q
caller_key_file = %q

[asterisk]
ari_url = %q
ari_user = %q
ari_password = %q

[rtc]
udp_port = %d

[log]
format = "json"

[limits]
max_calls = %d
max_sockets = %d
max_sockets_per_account = 8
`, d.addr, d.origin, filepath.Join(dir, "data"), filepath.Join(dir, "caller.key"), c.ariURL, c.user, c.pass, ports[2], c.maxCalls, c.maxSocket)
	cfgPath := filepath.Join(dir, "llamenos.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.cmd = exec.Command(c.bin, "serve", "--config", cfgPath, "--loopback-media", "--debug-listen", d.debugAddr)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("daemon: start %s: %w", c.bin, err)
	}
	go d.readLog(stderr, c.log)
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	select {
	case d.setup = <-d.setupURL:
	case <-d.exited:
		d.Close()
		return nil, fmt.Errorf("daemon exited at start: %s", d.logTail)
	case <-time.After(30 * time.Second):
		d.Close()
		return nil, fmt.Errorf("daemon: no setup link within 30 s: %s", d.logTail)
	case <-ctx.Done():
		d.Close()
		return nil, ctx.Err()
	}
	if err := d.waitHTTP(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// readLog counts the daemon's warnings and errors, keeps the last lines
// for a failure message, and picks the setup link out of its log. Log
// lines are not copied anywhere else.
func (d *daemonProc) readLog(r io.Reader, log *slog.Logger) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			URL   string `json:"url"`
			Why   string `json:"why"`
			Err   string `json:"err"`
			Audio *struct {
				FromBrowser  int64 `json:"from_browser"`
				ToAsterisk   int64 `json:"to_asterisk"`
				PacerDropped int64 `json:"pacer_dropped"`
				PacerSkipped int64 `json:"pacer_skipped"`
				Errors       int64 `json:"errors"`
			} `json:"audio"`
		}
		if json.Unmarshal(line, &rec) != nil {
			d.logTail.add(string(line))
			continue
		}
		if a := rec.Audio; a != nil && rec.Msg == "call ended" {
			d.audio.calls.Add(1)
			d.audio.fromBrowser.Add(a.FromBrowser)
			d.audio.toAsterisk.Add(a.ToAsterisk)
			d.audio.pacerDropped.Add(a.PacerDropped)
			d.audio.pacerSkipped.Add(a.PacerSkipped)
			d.audio.errors.Add(a.Errors)
		}
		switch rec.Level {
		case "ERROR":
			d.errs.Add(1)
			d.logTail.add(string(line))
			log.Warn("daemon logged an error", "msg", rec.Msg, "why", rec.Why, "err", rec.Err)
		case "WARN":
			if strings.Contains(rec.URL, "/#/setup/") {
				select {
				case d.setupURL <- rec.URL:
				default:
				}
				continue
			}
			d.warns.Add(1)
			d.logTail.add(string(line))
		}
	}
}

func (d *daemonProc) waitHTTP(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + d.addr + "/api/config")
		if err == nil {
			res.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon: not answering on %s: %w", d.addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *daemonProc) pid() int { return d.cmd.Process.Pid }

func (d *daemonProc) setupToken() string {
	_, tok, _ := strings.Cut(d.setup, "/#/setup/")
	return tok
}

// Close stops the daemon (SIGTERM, then SIGKILL after 10 s) and removes its
// data.
func (d *daemonProc) Close() error {
	var err error
	select {
	case <-d.exited:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
			err = errors.New("daemon: did not stop within 10 s of SIGTERM")
		}
	}
	os.RemoveAll(d.dir)
	return err
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(s) > 500 {
		s = s[:500]
	}
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// cpuProfile writes the daemon's CPU profile over d to path.
func (d *daemonProc) cpuProfile(ctx context.Context, dur time.Duration, path string) error {
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", d.debugAddr, int(dur.Seconds()))
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: HTTP %d", res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}
