package e2eetest

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// referenceDir finds the directory with the official BIP-340 vectors, which
// are not kept in the repository: $LLAMENOS_REFERENCE_DIR, else
// shared/reference in the working directory or any ancestor.
func referenceDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("LLAMENOS_REFERENCE_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "reference")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

type bip340Vector struct {
	index, secret, public, aux, msg, sig, comment string
	valid                                         bool
}

func loadBIP340Vectors(t *testing.T) []bip340Vector {
	t.Helper()
	ref := referenceDir(t)
	if ref == "" {
		t.Skip("BIP-340 vectors not found: set LLAMENOS_REFERENCE_DIR or keep shared/reference/vectors/bip340-test-vectors.csv in an ancestor directory")
	}
	path := filepath.Join(ref, "vectors", "bip340-test-vectors.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("BIP-340 vectors not readable at %s: %v", path, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []bip340Vector
	for _, r := range rows[1:] {
		if len(r) != 8 {
			t.Fatalf("row %v: %d columns", r, len(r))
		}
		out = append(out, bip340Vector{r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[6] == "TRUE"})
	}
	if len(out) != 19 {
		t.Fatalf("%d BIP-340 vectors, want 19", len(out))
	}
	return out
}

// TestBIP340Vectors: all 19 official vectors through the public API (btcec
// for 32-byte messages) and through the any-length implementation, signing
// where a secret key is given and verifying every row, TRUE and FALSE.
func TestBIP340Vectors(t *testing.T) {
	impls := []struct {
		name   string
		sign   func(SecretKey, []byte, [32]byte) ([64]byte, error)
		verify func([32]byte, []byte, []byte) bool
	}{
		{"public", SignSchnorr, e2ee.VerifySchnorr},
		{"anylen", signSchnorrAnyLen, core.VerifySchnorrAnyLen},
	}
	falses := 0
	for _, v := range loadBIP340Vectors(t) {
		if !v.valid {
			falses++
		}
		for _, impl := range impls {
			t.Run(v.index+"/"+impl.name, func(t *testing.T) {
				var pk [32]byte
				copy(pk[:], mustHex(t, v.public))
				msg := mustHex(t, v.msg)
				sig := mustHex(t, v.sig)
				if v.secret != "" {
					sk, err := ParseSecretKey(mustHex(t, v.secret))
					if err != nil {
						t.Fatal(err)
					}
					if got := sk.Public(); !bytes.Equal(got[:], pk[:]) {
						t.Fatalf("public key %x, want %x", got, pk)
					}
					var aux [32]byte
					copy(aux[:], mustHex(t, v.aux))
					got, err := impl.sign(sk, msg, aux)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got[:], sig) {
						t.Fatalf("signature %X, want %X", got, sig)
					}
				}
				if got := impl.verify(pk, msg, sig); got != v.valid {
					t.Fatalf("verify = %v, want %v (%s)", got, v.valid, v.comment)
				}
			})
		}
	}
	if falses == 0 {
		t.Fatal("no FALSE vectors read")
	}
}

// TestSchnorrPathsAgree holds the any-length code to btcec on 32-byte
// messages, including signatures of other keys and corrupted signatures.
func TestSchnorrPathsAgree(t *testing.T) {
	for i := range 32 {
		sk, _ := GenerateKey(rand.Reader)
		msg := make([]byte, 32)
		rand.Read(msg)
		var aux [32]byte
		rand.Read(aux[:])
		a, err := SignSchnorr(sk, msg, aux)
		if err != nil {
			t.Fatal(err)
		}
		b, err := signSchnorrAnyLen(sk, msg, aux)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("iteration %d: btcec and any-length signatures differ", i)
		}
		pk := sk.Public()
		bad := a
		bad[i%64] ^= 1 << (i % 8)
		other, _ := GenerateKey(rand.Reader)
		for _, c := range []struct {
			pk  [32]byte
			sig []byte
		}{{pk, a[:]}, {pk, bad[:]}, {other.Public(), a[:]}} {
			if x, y := e2ee.VerifySchnorr(c.pk, msg, c.sig), core.VerifySchnorrAnyLen(c.pk, msg, c.sig); x != y {
				t.Fatalf("iteration %d: verify disagrees: btcec %v, any-length %v", i, x, y)
			}
		}
		if !e2ee.VerifySchnorr(pk, msg, a[:]) || e2ee.VerifySchnorr(pk, msg, bad[:]) {
			t.Fatalf("iteration %d: wrong verify result", i)
		}
	}
}

func TestSchnorrRejectsBadInput(t *testing.T) {
	sk, _ := GenerateKey(rand.Reader)
	if _, err := SignSchnorr(SecretKey{}, make([]byte, 32), [32]byte{}); err == nil {
		t.Fatal("signed with the zero key")
	}
	if _, err := signSchnorrAnyLen(SecretKey{}, nil, [32]byte{}); err == nil {
		t.Fatal("any-length signed with the zero key")
	}
	for _, n := range []int{0, 1, 31, 33, 100} {
		msg := []byte(strings.Repeat("m", n))
		sig, err := SignSchnorr(sk, msg, [32]byte{})
		if err != nil {
			t.Fatal(err)
		}
		if !e2ee.VerifySchnorr(sk.Public(), msg, sig[:]) {
			t.Fatalf("%d-byte message does not verify", n)
		}
		if e2ee.VerifySchnorr(sk.Public(), append(msg, 0), sig[:]) {
			t.Fatalf("%d-byte message signature verifies for a longer message", n)
		}
		for _, l := range []int{0, 63, 65} {
			if e2ee.VerifySchnorr(sk.Public(), msg, make([]byte, l)) {
				t.Fatalf("%d-byte signature accepted", l)
			}
		}
	}
}
