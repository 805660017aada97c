//go:build asterisk

package realasterisk

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// llamenos is the daemon, in a process of its own.
type llamenos struct {
	t       *testing.T
	conf    string // its TOML file
	data    string
	addr    string // where it listens, 127.0.0.1:port
	origin  string // its public URL, http://localhost:port
	metrics string // loopback metrics address
	logPath string
	setup   string // the one-time setup token, from the first start

	cmd   *exec.Cmd
	ended chan struct{}
	err   error
}

// newDaemon writes the daemon's configuration for Asterisk a and starts it.
// It is stopped when the test ends.
func newDaemon(t *testing.T, a *asterisk) *llamenos {
	t.Helper()
	data, err := os.MkdirTemp("", "llamenos-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	port := freePort(t, "tcp")
	d := &llamenos{
		t: t, data: data,
		conf:    filepath.Join(data, "..", filepath.Base(data)+".toml"),
		addr:    fmt.Sprintf("127.0.0.1:%d", port),
		origin:  fmt.Sprintf("http://localhost:%d", port),
		metrics: fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")),
		logPath: filepath.Join(t.TempDir(), "llamenos.log"),
	}
	t.Cleanup(func() { os.Remove(d.conf) })
	c := map[string]any{
		"server": map[string]any{
			"listen": d.addr, "public_url": d.origin, "metrics_listen": d.metrics,
		},
		"data": map[string]any{"dir": filepath.Join(data, "db")},
		"asterisk": map[string]any{
			"ari_url": a.cfg.Asterisk.ARIURL, "ari_user": a.cfg.Asterisk.ARIUser,
			"ari_password": a.cfg.Asterisk.ARIPassword, "app": a.cfg.Asterisk.App,
			// This Asterisk's own sounds, where admins' recordings go.
			"sounds_dir": filepath.Join(a.dir, "data", "sounds"),
		},
		"trunk": map[string]any{"moh_class": a.cfg.Trunk.MusicOnHoldClass},
		"log":   map[string]any{"level": "debug"},
	}
	f, err := os.OpenFile(d.conf, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.NewEncoder(f).Encode(c); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			b, _ := os.ReadFile(d.logPath)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("daemon log (end):\n%s", b)
		}
	})
	return d
}

// start runs the daemon and waits until it listens.
func (d *llamenos) start() {
	d.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		d.t.Fatal(err)
	}
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// LLAMENOS_ variables would override the file, and the daemon refuses
	// the ones it does not know (such as LLAMENOS_ASTERISK).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LLAMENOS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, daemonEnv+"="+d.conf)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.cmd, d.ended = cmd, make(chan struct{})
	ready := make(chan struct{})
	go func(ended chan struct{}) {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "setup "); ok {
				_, tok, _ := strings.Cut(u, "#/setup/")
				d.setup = tok
			}
			if line == "ready" {
				close(ready)
			}
		}
		d.err = cmd.Wait()
		logf.Close()
		close(ended)
	}(d.ended)
	select {
	case <-ready:
	case <-d.ended:
		d.t.Fatalf("the daemon exited at start (%v); log in %s", d.err, d.logPath)
	case <-time.After(60 * time.Second):
		d.t.Fatal("the daemon did not listen within 60 s")
	}
}

// stop ends the daemon as systemd does (SIGTERM) and waits for it.
func (d *llamenos) stop() {
	d.t.Helper()
	select {
	case <-d.ended:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.ended:
		if d.err != nil {
			d.t.Errorf("daemon: %v", d.err)
		}
	case <-time.After(30 * time.Second):
		d.t.Error("the daemon did not stop within 30 s of SIGTERM; killing it")
		_ = d.cmd.Process.Kill()
		<-d.ended
	}
}

// kill ends the daemon with SIGKILL: no teardown, as after a crash.
func (d *llamenos) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		d.t.Fatal(err)
	}
	<-d.ended
}

// host is the host of its public URL, localhost:port.
func (d *llamenos) host() string { return strings.TrimPrefix(d.origin, "http://") }

// ariState is what the daemon's loopback health check says about ARI.
func (d *llamenos) ariState() string {
	res, err := http.Get("http://" + d.metrics + "/api/health")
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	var h struct{ ARI string }
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		return err.Error()
	}
	return h.ARI
}

// waitARI waits until the daemon's health check says ARI is in state want.
func (d *llamenos) waitARI(want string, within time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		got := d.ariState()
		if got == want {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			d.t.Fatalf("the daemon's health says ARI %q, not %q, after %v", got, want, within)
		case <-d.ended:
			d.t.Fatalf("the daemon exited (%v)", d.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logContains reports whether the daemon's log has s: the tests check that
// no caller number ever reaches it.
func (d *llamenos) logContains(s string) bool {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		d.t.Fatal(err)
	}
	return strings.Contains(string(b), s)
}
