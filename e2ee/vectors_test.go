package e2ee

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Cross-language vectors. Go writes envelopes-go.json, keys.json and
// auth.json; ui/scripts/gen-vectors.mjs writes envelopes-js.json and
// keystore-js.json. Each suite opens the other's envelopes and re-seals them
// with the same deterministic stream, which must give identical bytes.
//
// Regenerate the Go side with:
//
//	go test ./e2ee -run TestWriteVectors -args -update
var update = flag.Bool("update", false, "rewrite testdata/vectors/*-go.json, keys.json, auth.json and the fuzz seed corpus")

var vectorsDir = filepath.Join("..", "testdata", "vectors")

type vectorFile struct {
	Comment   string           `json:"comment"`
	Generator string           `json:"generator"`
	DRBG      string           `json:"drbg"`
	Vectors   []envelopeVector `json:"vectors"`
}

type vectorContext struct {
	Purpose string `json:"purpose"`
	CallID  string `json:"callId"`
	ItemID  string `json:"itemId"`
}

type vectorKey struct {
	SecretKey string `json:"secretKey"`
	Nsec      string `json:"nsec"`
	PublicKey string `json:"publicKey"`
	Npub      string `json:"npub"`
}

type envelopeVector struct {
	Name       string        `json:"name"`
	Seed       string        `json:"seed"`
	Context    vectorContext `json:"context"`
	Recipients []vectorKey   `json:"recipients"`
	Plaintext  string        `json:"plaintext"`
	Envelope   string        `json:"envelope"`
}

const drbgDescription = "stream = SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …; recipients' keys from seed+\"/keys\", plaintext bytes from seed+\"/plaintext\", Seal's randomness from seed+\"/seal\""

const vectorText = `{"text":"Llamó a las 3:14 — ansiedad, respiración guiada; se calmó. ¿Volverá a llamar? 🙏","fields":{"risk":"low","followUp":true}}`

// vectorSpecs is mirrored in ui/scripts/gen-vectors.mjs: 12 vectors covering
// 1, 2 and 5 recipients, empty, 1-byte, 64 KiB and text plaintexts, and every
// kind of context field.
var vectorSpecs = []struct {
	name  string
	n     int
	pt    string // empty | 1byte | text | 4k | 64k
	ctx   Context
	keyID bool // use the first recipient's hex key as item id
}{
	{"r1-empty", 1, "empty", Context{PurposeNote, "call-0001", "note-0001"}, false},
	{"r1-1byte", 1, "1byte", Context{PurposeDraft, "", "draft-7"}, false},
	{"r1-64k", 1, "64k", Context{PurposeTranscript, "9b2f6c1e-7d0a-4c55-8a51-3f1d2e4b6a70", "transcript"}, false},
	{"r1-text-unicode-ids", 1, "text", Context{PurposeNote, "llamada-ñ-€", "ítem/1"}, false},
	{"r2-empty", 2, "empty", Context{PurposeNote, "call-0002", "note-0002"}, false},
	{"r2-1byte", 2, "1byte", Context{PurposeCallerNumber, "call-0003", "caller"}, false},
	{"r2-text", 2, "text", Context{PurposeNote, "4f6d8e0a-1b2c-4d3e-9f80-a1b2c3d4e5f6", "note-0004"}, false},
	{"r2-64k", 2, "64k", Context{PurposeVoicemailTranscript, "call-0005", "voicemail"}, false},
	{"r5-empty", 5, "empty", Context{PurposeBan, "", "ban-0001"}, false},
	{"r5-1byte", 5, "1byte", Context{PurposeVolunteerProfile, "", ""}, true},
	{"r5-4k", 5, "4k", Context{PurposeNoteHistory, "call-0006", "note-0006/rev-1"}, false},
	{"r5-64k", 5, "64k", Context{PurposeExport, "", "export-2025-01"}, false},
}

func vectorPlaintext(kind, seed string) []byte {
	d := newTestDRBG(seed + "/plaintext")
	switch kind {
	case "empty":
		return []byte{}
	case "1byte":
		return d.bytes(1)
	case "text":
		return []byte(vectorText)
	case "4k":
		return d.bytes(4096)
	case "64k":
		return d.bytes(64 * 1024)
	}
	panic("unknown plaintext kind " + kind)
}

func keyVector(sk SecretKey) vectorKey {
	pk := sk.Public()
	return vectorKey{hex.EncodeToString(sk[:]), EncodeNsec(sk), pk.String(), EncodeNpub(pk)}
}

func buildGoVectors(t *testing.T) vectorFile {
	t.Helper()
	f := vectorFile{
		Comment:   "Envelopes sealed by the Go code (e2ee). The browser tests open them and re-seal them byte for byte. Format: docs/crypto.md.",
		Generator: "go test ./e2ee -run TestWriteVectors -args -update",
		DRBG:      drbgDescription,
	}
	for _, s := range vectorSpecs {
		seed := "llamenos-test-vectors/go/" + s.name
		kd := newTestDRBG(seed + "/keys")
		var keys []vectorKey
		var pubs []PublicKey
		for range s.n {
			sk, err := GenerateKey(kd)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, keyVector(sk))
			pubs = append(pubs, sk.Public())
		}
		ctx := s.ctx
		if s.keyID {
			ctx.ItemID = pubs[0].String()
		}
		pt := vectorPlaintext(s.pt, seed)
		env, err := Seal(newTestDRBG(seed+"/seal"), pt, ctx, pubs)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		f.Vectors = append(f.Vectors, envelopeVector{
			Name: s.name, Seed: seed,
			Context:    vectorContext{ctx.Purpose, ctx.CallID, ctx.ItemID},
			Recipients: keys,
			Plaintext:  EncodeBase64URL(pt),
			Envelope:   EncodeBase64URL(env),
		})
	}
	return f
}

func marshalVectors(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestWriteVectors regenerates the Go-side vector files with -update; without
// it, it checks that the committed files are exactly what the generator
// produces, so the files cannot drift from the code unnoticed.
func TestWriteVectors(t *testing.T) {
	files := map[string][]byte{
		"envelopes-go.json": marshalVectors(t, buildGoVectors(t)),
		"keys.json":         marshalVectors(t, buildKeyVectors(t)),
		"auth.json":         marshalVectors(t, buildAuthVectors(t)),
	}
	for name, want := range files {
		path := filepath.Join(vectorsDir, name)
		if *update {
			if err := os.MkdirAll(vectorsDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with: go test ./e2ee -run TestWriteVectors -args -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator produces; the format or generator changed (regenerate with -update and review the diff)", path)
		}
	}
	if *update {
		writeFuzzCorpus(t)
	}
}

func readVectorFile(t *testing.T, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := DecodeBase64URL(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkEnvelopeVectors opens every vector with every recipient key and
// re-seals it with the vector's stream, expecting identical bytes.
func checkEnvelopeVectors(t *testing.T, f vectorFile, wantMin int) {
	if len(f.Vectors) < wantMin {
		t.Fatalf("%d vectors, want at least %d", len(f.Vectors), wantMin)
	}
	seen := map[string]bool{}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			ctx := Context{v.Context.Purpose, v.Context.CallID, v.Context.ItemID}
			pt := mustB64(t, v.Plaintext)
			env := mustB64(t, v.Envelope)
			h, err := ParseEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Recipients) != len(v.Recipients) || h.PlaintextSize != len(pt) {
				t.Fatalf("header: %d recipients, %d plaintext bytes; want %d, %d", len(h.Recipients), h.PlaintextSize, len(v.Recipients), len(pt))
			}
			var pubs []PublicKey
			for i, k := range v.Recipients {
				skb, _ := hex.DecodeString(k.SecretKey)
				sk, err := ParseSecretKey(skb)
				if err != nil {
					t.Fatal(err)
				}
				if nsk, err := DecodeNsec(k.Nsec); err != nil || nsk != sk {
					t.Fatalf("recipient %d: nsec does not decode to secretKey (%v)", i, err)
				}
				pk, err := ParsePublicKeyHex(k.PublicKey)
				if err != nil || pk != sk.Public() {
					t.Fatalf("recipient %d: publicKey does not match secretKey (%v)", i, err)
				}
				if npk, err := DecodeNpub(k.Npub); err != nil || npk != pk {
					t.Fatalf("recipient %d: npub does not decode to publicKey (%v)", i, err)
				}
				if h.Recipients[i] != pk {
					t.Fatalf("recipient %d: header lists %s, want %s", i, h.Recipients[i], pk)
				}
				got, err := Open(env, ctx, sk)
				if err != nil {
					t.Fatalf("recipient %d: open: %v", i, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("recipient %d: plaintext differs", i)
				}
				pubs = append(pubs, pk)
			}
			resealed, err := Seal(newTestDRBG(v.Seed+"/seal"), pt, ctx, pubs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resealed, env) {
				t.Fatal("re-sealing with the vector's stream gives different bytes")
			}
			seen[fmt.Sprintf("n=%d", len(pubs))] = true
			switch len(pt) {
			case 0:
				seen["empty"] = true
			case 1:
				seen["1byte"] = true
			case 64 * 1024:
				seen["64k"] = true
			}
		})
	}
	for _, want := range []string{"n=1", "n=2", "n=5", "empty", "1byte", "64k"} {
		if !seen[want] {
			t.Errorf("vectors do not cover %s", want)
		}
	}
}

func TestGoVectors(t *testing.T) { checkEnvelopeVectors(t, readVectorFile(t, "envelopes-go.json"), 10) }

// TestJSVectors opens envelopes sealed by ui/src/crypto.
func TestJSVectors(t *testing.T) { checkEnvelopeVectors(t, readVectorFile(t, "envelopes-js.json"), 10) }

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
