package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer collects what a running command writes to stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDemoRefusesAnAddressItCannotServe(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8091", "[::]:8091", "192.0.2.1:8091"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"demo", "--listen", addr}, &out, &errb)
		msg := errb.String()
		if code != 2 || !strings.Contains(msg, "--listen "+addr) || !strings.Contains(msg, "127.0.0.1:8091") || !strings.Contains(msg, "http://localhost:8091") {
			t.Errorf("demo --listen %s: exit %d: %s", addr, code, msg)
		}
		if strings.Contains(msg, "tls_cert_file") || strings.Contains(msg, "acme_domains") {
			t.Errorf("demo --listen %s suggests settings the demo cannot take: %s", addr, msg)
		}
	}
}

func TestVersionHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if help := errb.String(); !strings.Contains(help, "usage: llamenos version") || !strings.Contains(help, "commit") || strings.Contains(help, "Usage of") {
		t.Fatalf("version --help: %q", help)
	}
}

func TestCheckNamesWhatItRead(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "llamenos.toml")
	if err := os.WriteFile(cfg, []byte("[data]\ndir = \""+data+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := out.String(); !strings.Contains(got, "configuration: ok (read "+cfg+")") || !strings.Contains(got, "data directory: "+data+" (from data.dir of "+cfg+")") {
		t.Fatalf("check --config: %s", got)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := out.String(); !strings.Contains(got, "configuration: not read (--data") || strings.Contains(got, "configuration: ok") {
		t.Fatalf("check --data: %s", got)
	}
}

// TestDemoTerminal: the demo prints the setup link once, the one address
// to open, logs at info level, and `llamenos backup FILE` with no flags
// finds the running demo and says how.
// (No leakcheck here: it sets a LLAMENOS_ variable, which the admin
// commands would refuse as an unknown setting; the demo's exit is waited for.)
func TestDemoTerminal(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0"}, pw, &stderr)
		pw.Close()
	}()
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Ctrl-C stops the demo") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	out := banner.String()
	if !strings.Contains(out, "Ctrl-C stops the demo") {
		t.Fatalf("the demo stopped before it ran:\n%s\n%s", out, stderr.String())
	}
	if n := strings.Count(out+stderr.String(), "/#/setup/"); n != 1 {
		t.Errorf("the setup link appears %d times:\n%s\n%s", n, out, stderr.String())
	}
	if !strings.Contains(out, "http://localhost:") || !strings.Contains(out, "not 127.0.0.1") || !strings.Contains(out, "-v for debug") {
		t.Errorf("the banner does not say which address to open or how to see more:\n%s", out)
	}

	backup := filepath.Join(t.TempDir(), "demo.db")
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte("demo backup passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var bout, berr bytes.Buffer
	if code := run(context.Background(), []string{"backup", "--passphrase-file", passFile, backup}, &bout, &berr); code != 0 {
		t.Fatalf("backup of the running demo: exit %d\n%s%s", code, bout.String(), berr.String())
	}
	if got := bout.String(); !strings.Contains(got, "from the demo running now") || !strings.Contains(got, "control socket") || !strings.Contains(got, "sha256:") || !strings.Contains(got, "encrypted with the passphrase") {
		t.Errorf("backup does not say what it read:\n%s", got)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("demo exit %d:\n%s", code, stderr.String())
	}
	if logs := stderr.String(); strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "level=INFO") {
		t.Errorf("the demo does not log at info level:\n%s", logs)
	}
	// Stopped, it is found no more.
	bout.Reset()
	berr.Reset()
	if code := run(context.Background(), []string{"backup", "--config", "/dev/null", "--plaintext", backup + ".2"}, &bout, &berr); code == 0 {
		t.Errorf("backup after the demo stopped: exit 0\n%s", bout.String())
	}
}
