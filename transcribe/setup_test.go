package transcribe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	data := t.TempDir()
	if !Built {
		st := Check(data, "models/ggml-test.bin")
		if st.Available || st.Built || !strings.Contains(st.String(), "this build has no transcription") {
			t.Fatalf("status %+v in a build without the engine", st)
		}
		w, st := Start(Setup{DataDir: data, Model: "models/ggml-test.bin"})
		if w != nil || st.Available {
			t.Fatalf("Start gave a worker in a build without the engine: %+v", st)
		}
		return
	}
	if st := Check(data, ""); st.Available || !strings.Contains(st.Reason, "no model configured") {
		t.Fatalf("no model: %+v", st)
	}
	if st := Check(data, "models/ggml-test.bin"); st.Available || !strings.Contains(st.Reason, "fails verification") {
		t.Fatalf("missing model: %+v", st)
	}
	body := fakeModel(4096)
	src := filepath.Join(t.TempDir(), "ggml-test.bin")
	if err := os.WriteFile(src, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallModel(context.Background(), nil, src, data, sha256Hex(body)); err != nil {
		t.Fatal(err)
	}
	w, st := Start(Setup{DataDir: data, Model: "models/ggml-test.bin", Threads: 2, Command: []string{"true"}})
	if w == nil || !st.Available || st.Model != filepath.Join(data, "models", "ggml-test.bin") {
		t.Fatalf("installed model: %+v", st)
	}
	if err := os.WriteFile(st.Model, body[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	if st := Check(data, st.Model); st.Available || !strings.Contains(st.Reason, "damaged or replaced") {
		t.Fatalf("damaged model: %+v", st)
	}
}
