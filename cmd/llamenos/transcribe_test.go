package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llamenos/transcribe"
)

// TestModelCommands: `llamenos model install URL --sha256` downloads a
// model from a local server, `model verify` checks it, a configuration
// that names it makes `llamenos check` report it (or, in a build without
// whisper.cpp, say that plainly), and a damaged model is refused.
func TestModelCommands(t *testing.T) {
	body := make([]byte, 1<<20)
	rand.Read(body)
	copy(body, "lmgg") // the ggml magic, little-endian
	sum := sha256.Sum256(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	data := t.TempDir()
	if code, out := run1("model", "install", "--data", data, srv.URL+"/ggml-mine.bin"); code != 1 || !strings.Contains(out, "--sha256") {
		t.Fatalf("install of an unknown file without its checksum: %d %s", code, out)
	}
	code, out := run1("model", "install", "--data", data, "--sha256", hex.EncodeToString(sum[:]), srv.URL+"/ggml-mine.bin")
	if code != 0 || !strings.Contains(out, `model = "models/ggml-mine.bin"`) {
		t.Fatalf("install: %d %s", code, out)
	}
	if code, out := run1("model", "verify", "--data", data); code != 0 || !strings.Contains(out, "ggml-mine.bin: ok") {
		t.Fatalf("verify: %d %s", code, out)
	}
	cfg := filepath.Join(t.TempDir(), "llamenos.toml")
	conf := "[data]\ndir = " + quote(data) + "\n[transcription]\nmodel = \"models/ggml-mine.bin\"\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "transcription: on, with model " + filepath.Join(data, "models", "ggml-mine.bin")
	if !transcribe.Built {
		want = "transcription: off: this build has no transcription"
	}
	if code, out := run1("check", "--config", cfg); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("check: %d %s\nwant %q", code, out, want)
	}
	model := filepath.Join(data, "models", "ggml-mine.bin")
	if err := os.WriteFile(model, body[:len(body)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run1("model", "verify", "--config", cfg); code != 1 || !strings.Contains(out, "damaged or replaced") {
		t.Fatalf("verify of a truncated model: %d %s", code, out)
	}
	if code, _ := run1("model", "frob"); code != 2 {
		t.Fatalf("unknown model command: exit %d, want 2", code)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
