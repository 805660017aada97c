package e2ee_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
)

// The fuzz target's fixed keys and context. The committed seeds include
// envelopes that really open with fuzzKeyA, so mutation starts from inputs
// that reach the AEAD code, not only the length checks.
var fuzzCtx = e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: "fuzz-call", ItemID: "fuzz-item"}

func fuzzKeys(tb testing.TB) (e2eetest.SecretKey, e2eetest.SecretKey) {
	d := e2eetest.NewDRBG("llamenos-fuzz/keys")
	a, err := e2eetest.GenerateKey(d)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := e2eetest.GenerateKey(d)
	if err != nil {
		tb.Fatal(err)
	}
	return a, b
}

// FuzzOpen: ParseEnvelope and Open on arbitrary bytes must never panic, must
// agree with each other, must only fail with the documented sentinels and
// must never return plaintext with an error.
func FuzzOpen(f *testing.F) {
	skA, _ := fuzzKeys(f)
	pkA := skA.Public()
	f.Fuzz(func(t *testing.T, env []byte) {
		h, perr := e2ee.ParseEnvelope(env)
		pt, err := e2eetest.Open(env, fuzzCtx, skA)
		if perr != nil {
			if err == nil {
				t.Fatal("Open succeeded on an envelope ParseEnvelope rejects")
			}
			if !errors.Is(perr, e2ee.ErrMalformed) && !errors.Is(perr, e2ee.ErrUnknownVersion) && !errors.Is(perr, e2ee.ErrTooLarge) {
				t.Fatalf("unexpected parse error: %v", perr)
			}
		}
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
			for _, s := range []error{e2ee.ErrMalformed, e2ee.ErrUnknownVersion, e2ee.ErrTooLarge, e2ee.ErrNotRecipient, e2ee.ErrAuthFailed} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("unexpected open error: %v", err)
		}
		if !h.Includes(pkA) || len(pt) != h.PlaintextSize {
			t.Fatalf("opened, but header says %d bytes for %d recipients", h.PlaintextSize, len(h.Recipients))
		}
	})
}

// writeFuzzCorpus rewrites testdata/fuzz/FuzzOpen (run by TestWriteVectors
// with -update). The files are in `go test fuzz v1` format.
func writeFuzzCorpus(t *testing.T) {
	skA, skB := fuzzKeys(t)
	pkA, pkB := skA.Public(), skB.Public()
	seal := func(name string, pt []byte, pks ...e2ee.PublicKey) []byte {
		env, err := e2ee.Seal(e2eetest.NewDRBG("llamenos-fuzz/"+name), pt, fuzzCtx, pks)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	oneEmpty := seal("one-empty", nil, pkA)
	twoText := seal("two-text", []byte("caller: segment one\nvolunteer: segment two"), pkB, pkA)
	seeds := map[string][]byte{
		"open-1-recipient-empty":  oneEmpty,
		"open-2-recipients-text":  twoText,
		"not-recipient":           seal("not-recipient", []byte("x"), pkB),
		"truncated-in-header":     twoText[:100],
		"truncated-in-ciphertext": twoText[:len(twoText)-3],
		"unknown-version":         append([]byte{0x03}, oneEmpty[1:]...),
		"zero-recipients":         {0x01, 0x00},
		"version-only":            {0x01},
		"empty":                   {},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzCorpusOpens makes sure the committed seeds still include envelopes
// that open, so the fuzzer keeps starting from deep inputs.
func TestFuzzCorpusOpens(t *testing.T) {
	skA, _ := fuzzKeys(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (regenerate with: %s)", err, generator)
	}
	opened := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		env, err := parseCorpusFile(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if _, err := e2eetest.Open(env, fuzzCtx, skA); err == nil {
			opened++
		}
	}
	if opened < 2 {
		t.Fatalf("%d seeds open with the fuzz key, want at least 2", opened)
	}
}

// parseCorpusFile reads the single []byte value of a corpus file.
func parseCorpusFile(b []byte) ([]byte, error) {
	const head = "go test fuzz v1\n[]byte("
	s := string(b)
	if len(s) < len(head)+2 || s[:len(head)] != head || s[len(s)-2:] != ")\n" {
		return nil, errors.New("not a single-[]byte corpus file")
	}
	v, err := strconv.Unquote(s[len(head) : len(s)-2])
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}
