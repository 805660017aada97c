package e2eetest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// keys.json is written here because it needs the bech32 internals; the
// envelope and auth vectors are written by the tests of e2ee. Regenerate all
// of them with:
//
//	go test ./e2ee/... -run TestWriteVectors -args -update
var update = flag.Bool("update", false, "rewrite testdata/vectors/keys.json")

const generator = "go test ./e2ee/... -run TestWriteVectors -args -update"

var vectorsDir = filepath.Join("..", "..", "testdata", "vectors")

type vectorKey struct {
	SecretKey string `json:"secretKey"`
	Nsec      string `json:"nsec"`
	PublicKey string `json:"publicKey"`
	Npub      string `json:"npub"`
}

func keyVector(sk SecretKey) vectorKey {
	pk := sk.Public()
	return vectorKey{hex.EncodeToString(sk[:]), EncodeNsec(sk), pk.String(), EncodeNpub(pk)}
}

// TestWriteVectors rewrites keys.json with -update; without it, it checks
// that the committed file is exactly what the generator produces.
func TestWriteVectors(t *testing.T) {
	b, err := json.MarshalIndent(buildKeyVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := append(b, '\n')
	path := filepath.Join(vectorsDir, "keys.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with: %s)", err, generator)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the generator produces; the format or generator changed (regenerate with -update and review the diff)", path)
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
