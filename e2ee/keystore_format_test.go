package e2ee_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestJSKeyStoreFormat opens the browser's key store vector with nothing but
// the standard primitives and the layout in docs/crypto.md, so the document
// and the JS code cannot disagree without a failing test. (The daemon never
// handles key stores; this is a check of the format, not a Go API.)
func TestJSKeyStoreFormat(t *testing.T) {
	var v struct {
		Passphrase string `json:"passphrase"`
		SecretKey  string `json:"secretKey"`
		Store      struct {
			V     int    `json:"v"`
			KDF   string `json:"kdf"`
			Iter  int    `json:"iter"`
			Salt  string `json:"salt"`
			Nonce string `json:"nonce"`
			CT    string `json:"ct"`
		} `json:"store"`
	}
	readJSON(t, "keystore-js.json", &v)
	s := v.Store
	if s.V != 1 || s.KDF != "pbkdf2-sha256" || s.Iter < 600000 {
		t.Fatalf("unexpected parameters %+v", s)
	}
	// The vector's passphrase is already in NFKC, the form the browser
	// normalises to before PBKDF2.
	salt := mustB64(t, s.Salt)
	key, err := pbkdf2.Key(sha256.New, v.Passphrase, salt, s.Iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	var it [4]byte
	binary.BigEndian.PutUint32(it[:], uint32(s.Iter))
	// Each field length-prefixed: a 4-byte big-endian length, then the bytes.
	var aad []byte
	for _, f := range [][]byte{[]byte("llamenos/v1/keystore"), []byte("pbkdf2-sha256"), it[:], salt} {
		aad = binary.BigEndian.AppendUint32(aad, uint32(len(f)))
		aad = append(aad, f...)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := aead.Open(nil, mustB64(t, s.Nonce), mustB64(t, s.CT), aad)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if hex.EncodeToString(sk) != v.SecretKey {
		t.Fatal("decrypted secret differs")
	}
}
