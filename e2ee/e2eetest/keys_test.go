package e2eetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"llamenos/e2ee"
	"llamenos/e2ee/internal/core"
)

// NIP-19's own examples.
const (
	nip19Npub    = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
	nip19NpubHex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
	nip19Nsec    = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
	nip19NsecHex = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa"

	curveOrderHex = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNIP19Examples(t *testing.T) {
	pk, err := DecodeNpub(nip19Npub)
	if err != nil {
		t.Fatal(err)
	}
	if pk.String() != nip19NpubHex {
		t.Fatalf("npub decodes to %s", pk)
	}
	if got := EncodeNpub(pk); got != nip19Npub {
		t.Fatalf("EncodeNpub = %s", got)
	}
	sk, err := DecodeNsec(nip19Nsec)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sk[:]) != nip19NsecHex {
		t.Fatalf("nsec decodes to %x", sk[:])
	}
	if got := EncodeNsec(sk); got != nip19Nsec {
		t.Fatalf("EncodeNsec = %s", got)
	}
	// BIP-173 allows an all-uppercase string.
	if pk2, err := DecodeNpub(strings.ToUpper(nip19Npub)); err != nil || pk2 != pk {
		t.Fatalf("uppercase npub: %v", err)
	}
}

func TestGenerateKey(t *testing.T) {
	sk, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk2, _ := GenerateKey(rand.Reader)
	if sk.Equal(sk2) {
		t.Fatal("two generated keys are equal")
	}
	if pk := sk.Public(); !validPublicKey(pk) {
		t.Fatalf("public key %s of a generated key does not parse", pk)
	}
	// A stream of out-of-range scalars must end in an error, not a loop.
	if _, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32*core.MaxScalarTries))); err == nil {
		t.Fatal("GenerateKey accepted only out-of-range input")
	}
	if _, err := GenerateKey(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("GenerateKey ignored a read error")
	}
	// Out-of-range draws are skipped, not reduced.
	in := append(bytes.Repeat([]byte{0xff}, 32), mustHex(t, nip19NsecHex)...)
	if sk, err := GenerateKey(bytes.NewReader(in)); err != nil || hex.EncodeToString(sk[:]) != nip19NsecHex {
		t.Fatalf("rejection sampling: %x, %v", sk[:], err)
	}
}

func TestParseSecretKey(t *testing.T) {
	nMinus1 := mustHex(t, curveOrderHex)
	nMinus1[31]--
	one := make([]byte, 32)
	one[31] = 1
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"one", one, true},
		{"n-1", nMinus1, true},
		{"zero", make([]byte, 32), false},
		{"n", mustHex(t, curveOrderHex), false},
		{"all ff", bytes.Repeat([]byte{0xff}, 32), false},
		{"short", one[:31], false},
		{"long", append(one, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSecretKey(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, e2ee.ErrInvalidKey) {
				t.Fatalf("err = %v, want ErrInvalidKey", err)
			}
		})
	}
	if (SecretKey{}).Public() != (e2ee.PublicKey{}) {
		t.Fatal("Public of the zero key is not the zero public key")
	}
}

// TestBech32Checksum changes every character of a valid npub to every other
// charset character: bech32 guarantees detection of any single substitution.
func TestBech32Checksum(t *testing.T) {
	for i := len("npub1"); i < len(nip19Npub); i++ {
		for _, c := range bech32Charset {
			if byte(c) == nip19Npub[i] {
				continue
			}
			s := nip19Npub[:i] + string(c) + nip19Npub[i+1:]
			if _, err := DecodeNpub(s); err == nil {
				t.Fatalf("accepted %s (position %d)", s, i)
			}
		}
	}
}

// TestBIP173 runs the BIP's own bech32 test strings.
func TestBIP173(t *testing.T) {
	valid := []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	}
	for _, s := range valid {
		hrp, words, err := bech32Decode(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got := bech32Encode(hrp, words); got != strings.ToLower(s) {
			t.Errorf("%q: re-encodes as %q", s, got)
		}
	}
	invalid := []string{
		"\x201nwldj5", // HRP character out of range
		"\x7f1axkwrx", // HRP character out of range
		"\x801eym55h", // HRP character out of range
		"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", // overall max length exceeded
		"pzry9x0s0muk",  // no separator character
		"1pzry9x0s0muk", // empty HRP
		"x1b4n0q5v",     // invalid data character
		"li1dgmt3",      // too short checksum
		"de1lg7wt\xff",  // invalid character in checksum
		"A1G7SGD8",      // checksum calculated with uppercase form of HRP
		"10a06t8",       // empty HRP
		"1qzzfhee",      // empty HRP
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxW", // mixed case
		"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", // bech32m checksum
	}
	for _, s := range invalid {
		if _, _, err := bech32Decode(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

type keyVectors struct {
	Comment   string      `json:"comment"`
	Generator string      `json:"generator"`
	Valid     []vectorKey `json:"valid"`
	NpubOnly  []struct {
		Npub      string `json:"npub"`
		PublicKey string `json:"publicKey"`
	} `json:"npubOnly"`
	Invalid []invalidKey `json:"invalid"`
}

type invalidKey struct {
	Kind  string `json:"kind"` // npub | nsec | publicKeyHex
	Value string `json:"value"`
	Why   string `json:"why"`
}

// notOnCurveX returns the smallest x whose x³+7 is not a square mod p.
func notOnCurveX(t *testing.T) [32]byte {
	var x [32]byte
	for i := range 256 {
		x[31] = byte(i)
		if _, err := e2ee.ParsePublicKey(x[:]); err != nil {
			return x
		}
	}
	t.Fatal("no invalid x below 256")
	return x
}

func buildKeyVectors(t *testing.T) keyVectors {
	t.Helper()
	kv := keyVectors{
		Comment:   "Key encodings both sides must agree on: valid keys (hex, nsec, npub) and strings both must refuse.",
		Generator: generator,
	}
	nsk, _ := DecodeNsec(nip19Nsec)
	kv.Valid = append(kv.Valid, keyVector(nsk))
	d := NewDRBG("llamenos-test-vectors/keys")
	for range 4 {
		sk, err := GenerateKey(d)
		if err != nil {
			t.Fatal(err)
		}
		kv.Valid = append(kv.Valid, keyVector(sk))
	}
	one := SecretKey{31: 1}
	kv.Valid = append(kv.Valid, keyVector(one))
	kv.NpubOnly = append(kv.NpubOnly, struct {
		Npub      string `json:"npub"`
		PublicKey string `json:"publicKey"`
	}{nip19Npub, nip19NpubHex})

	good := EncodeNpub(nsk.Public())
	flip := []byte(good)
	if flip[len(flip)-1] == 'q' {
		flip[len(flip)-1] = 'p'
	} else {
		flip[len(flip)-1] = 'q'
	}
	bad := notOnCurveX(t)
	nonZeroPad := bytesToWords(nsk[:])
	nonZeroPad[len(nonZeroPad)-1] |= 1
	// bech32m: the same layout with the BIP-350 constant.
	values := append(bech32HRPExpand("npub"), bytesToWords(nip19NpubBytes(t))...)
	values = append(values, make([]byte, 6)...)
	mod := bech32Polymod(values) ^ 0x2bc830a3
	m := "npub1"
	for _, w := range bytesToWords(nip19NpubBytes(t)) {
		m += string(bech32Charset[w])
	}
	for i := range 6 {
		m += string(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	order := mustHex(t, curveOrderHex)
	kv.Invalid = []invalidKey{
		{"npub", "", "empty"},
		{"npub", "npub1", "no data"},
		{"npub", string(flip), "checksum"},
		{"npub", good[:10] + strings.ToUpper(good[10:20]) + good[20:], "mixed case"},
		{"npub", EncodeNsec(nsk), "nsec given as npub"},
		{"nsec", good, "npub given as nsec"},
		{"npub", bech32Encode("note", bytesToWords(nip19NpubBytes(t))), "other NIP-19 prefix"},
		{"npub", bech32Encode("npub", bytesToWords(bad[:])), "x not on the curve"},
		{"npub", bech32Encode("npub", bytesToWords(bytes.Repeat([]byte{0xff}, 32))), "x >= p"},
		{"npub", bech32Encode("npub", bytesToWords(append(nip19NpubBytes(t), 0))), "33-byte payload"},
		{"npub", bech32Encode("npub", bytesToWords(nip19NpubBytes(t)[:31])), "31-byte payload"},
		{"npub", m, "bech32m checksum"},
		{"nsec", bech32Encode("nsec", bytesToWords(make([]byte, 32))), "zero secret"},
		{"nsec", bech32Encode("nsec", bytesToWords(order)), "secret = curve order"},
		{"nsec", bech32Encode("nsec", nonZeroPad), "non-zero padding bits"},
		{"nsec", "nsec1" + strings.Repeat("q", 86), "longer than 90 characters"},
		{"publicKeyHex", strings.ToUpper(nip19NpubHex), "uppercase hex"},
		{"publicKeyHex", hex.EncodeToString(bad[:]), "x not on the curve"},
		{"publicKeyHex", nip19NpubHex[:62], "31 bytes"},
	}
	return kv
}

func nip19NpubBytes(t *testing.T) []byte { return mustHex(t, nip19NpubHex) }

func TestKeyVectors(t *testing.T) {
	var kv keyVectors
	readJSON(t, "keys.json", &kv)
	if len(kv.Valid) == 0 || len(kv.Invalid) == 0 {
		t.Fatal("empty key vectors")
	}
	for _, k := range kv.Valid {
		sk, err := DecodeNsec(k.Nsec)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(sk[:]) != k.SecretKey || sk.Public().String() != k.PublicKey ||
			EncodeNsec(sk) != k.Nsec || EncodeNpub(sk.Public()) != k.Npub {
			t.Fatalf("key vector %s disagrees", k.PublicKey)
		}
	}
	for _, k := range kv.NpubOnly {
		pk, err := DecodeNpub(k.Npub)
		if err != nil || pk.String() != k.PublicKey {
			t.Fatalf("%s: %v", k.Npub, err)
		}
	}
	for _, k := range kv.Invalid {
		var err error
		switch k.Kind {
		case "npub":
			_, err = DecodeNpub(k.Value)
		case "nsec":
			_, err = DecodeNsec(k.Value)
		case "publicKeyHex":
			_, err = e2ee.ParsePublicKeyHex(k.Value)
		default:
			t.Fatalf("unknown kind %q", k.Kind)
		}
		if !errors.Is(err, e2ee.ErrInvalidKey) {
			t.Errorf("%s %q (%s): err = %v, want ErrInvalidKey", k.Kind, k.Value, k.Why, err)
		}
	}
}

func validPublicKey(pk e2ee.PublicKey) bool {
	_, err := e2ee.ParsePublicKey(pk[:])
	return err == nil
}
