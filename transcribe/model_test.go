package transcribe

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeModel is a ggml file of random content: what InstallModel checks
// (magic, size, checksums) does not depend on the weights.
func fakeModel(size int) []byte {
	b := make([]byte, size)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	binary.LittleEndian.PutUint32(b, ggmlMagic)
	return b
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// modelServer serves body at /models/NAME on loopback; with short > 0 it
// announces the full length but sends only short bytes.
func modelServer(t *testing.T, body []byte, short int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/models/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if short > 0 {
			w.Write(body[:short])
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// dirFiles lists every file under dir/models, hidden ones too.
func dirFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, ModelDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestInstallModelDownloads(t *testing.T) {
	body := fakeModel(3<<20 + 17)
	srv := modelServer(t, body, 0)
	data := t.TempDir()
	got, err := InstallModel(context.Background(), srv.Client(), srv.URL+"/models/ggml-test.bin", data, strings.ToUpper(sha256Hex(body)))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(data, ModelDir, "ggml-test.bin")
	if got.Path != want || got.Size != int64(len(body)) || got.SHA256 != sha256Hex(body) || got.Official {
		t.Fatalf("installed %+v, want %s of %d bytes", got, want, len(body))
	}
	if names := dirFiles(t, data); strings.Join(names, " ") != "ggml-test.bin ggml-test.bin.sha256" {
		t.Fatalf("models directory holds %q", names)
	}
	if v, err := VerifyModel(want); err != nil || v.SHA256 != got.SHA256 {
		t.Fatalf("VerifyModel: %+v, %v", v, err)
	}
	// One byte changed in place: verification fails.
	f, err := os.OpenFile(want, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{body[1000] ^ 1}, 1000)
	f.Close()
	if _, err := VerifyModel(want); err == nil || !strings.Contains(err.Error(), "damaged or replaced") {
		t.Fatalf("VerifyModel of a changed model: %v", err)
	}
}

// TestInstallModelRefuses: every bad source is refused and leaves nothing
// in the models directory.
func TestInstallModelRefuses(t *testing.T) {
	body := fakeModel(1 << 20)
	full := modelServer(t, body, 0)
	short := modelServer(t, body, len(body)/2)
	notGGML := append([]byte("GGUF"), body[4:]...)
	plain := modelServer(t, notGGML, 0)
	local := filepath.Join(t.TempDir(), "ggml-cut.bin")
	if err := os.WriteFile(local, body[:len(body)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	OfficialSHA1["ggml-official-test.bin"] = "0000000000000000000000000000000000000000"
	defer delete(OfficialSHA1, "ggml-official-test.bin")
	for _, c := range []struct {
		name, src, sum, want string
	}{
		{"wrong checksum", full.URL + "/models/ggml-test.bin", sha256Hex(body[1:]), "wrong or damaged"},
		{"truncated download", short.URL + "/models/ggml-test.bin", sha256Hex(body), "unexpected EOF"},
		{"truncated file", local, sha256Hex(body), "wrong or damaged"},
		{"not ggml", plain.URL + "/models/ggml-test.bin", sha256Hex(notGGML), "not a ggml model"},
		{"unknown name, no checksum", full.URL + "/models/ggml-test.bin", "", "--sha256"},
		{"official name, other content", full.URL + "/models/ggml-official-test.bin", "", "not the official"},
		{"not found", full.URL + "/elsewhere/ggml-test.bin", sha256Hex(body), "404"},
		{"bad checksum syntax", full.URL + "/models/ggml-test.bin", "abc", "64 hex digits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			_, err := InstallModel(context.Background(), full.Client(), c.src, data, c.sum)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
			if names := dirFiles(t, data); len(names) != 0 {
				t.Fatalf("left %q behind", names)
			}
		})
	}
}

// TestInstallModelOfficial: an official file name needs no --sha256; its
// published SHA-1 is checked.
func TestInstallModelOfficial(t *testing.T) {
	body := fakeModel(1 << 20)
	s1 := sha1.Sum(body)
	OfficialSHA1["ggml-official-test.bin"] = hex.EncodeToString(s1[:])
	defer delete(OfficialSHA1, "ggml-official-test.bin")
	src := filepath.Join(t.TempDir(), "ggml-official-test.bin")
	if err := os.WriteFile(src, body, 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	got, err := InstallModel(context.Background(), nil, src, data, "")
	if err != nil || !got.Official {
		t.Fatalf("got %+v, %v", got, err)
	}
	if v, err := VerifyModel(got.Path); err != nil || !v.Official {
		t.Fatalf("VerifyModel: %+v, %v", v, err)
	}
}

func TestVerifyModelWithoutChecksum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ggml-x.bin")
	if err := os.WriteFile(p, fakeModel(1024), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyModel(p); err == nil || !strings.Contains(err.Error(), "llamenos model install") {
		t.Fatalf("err = %v", err)
	}
	if _, err := VerifyModel(p + ".missing"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}
