package e2ee_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/e2ee/internal/core"
)

// Cross-language vectors. Go writes envelopes-go.json and auth.json (here)
// and keys.json (in e2eetest); ui/scripts/gen-vectors.mjs writes
// envelopes-js.json and keystore-js.json. Each suite opens the other's
// envelopes and re-seals them with the same deterministic stream, which must
// give identical bytes, and each checks that both envelope files cover
// exactly its own list of purposes.
//
// Regenerate the Go side with:
//
//	go test ./e2ee/... -run TestWriteVectors -args -update
var update = flag.Bool("update", false, "rewrite testdata/vectors/envelopes-go.json, auth.json and the fuzz seed corpus")

// generator is how every Go-written vector file says it was made.
const generator = "go test ./e2ee/... -run TestWriteVectors -args -update"

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
	Rewrap     *rewrapVector `json:"rewrap,omitempty"`
}

// rewrapVector: the envelope re-wrapped by its first recipient for all of
// its recipients but the last, and Added (a new key from seed+"/rewrap/keys"),
// with the randomness of seed+"/rewrap". The content bytes are the
// envelope's own.
type rewrapVector struct {
	Added    vectorKey `json:"added"`
	Envelope string    `json:"envelope"`
}

// rewrapOf is how both generators make a vector's rewrap: opener = the first
// recipient, to = every recipient but the last, then the added key.
func rewrapOf(t *testing.T, seed string, env []byte, ctx e2ee.Context, opener e2eetest.SecretKey, pubs []e2ee.PublicKey) (e2eetest.SecretKey, []byte) {
	t.Helper()
	added, err := e2eetest.GenerateKey(e2eetest.NewDRBG(seed + "/rewrap/keys"))
	if err != nil {
		t.Fatal(err)
	}
	to := append(slices.Clone(pubs[:len(pubs)-1]), added.Public())
	out, err := e2eetest.Rewrap(e2eetest.NewDRBG(seed+"/rewrap"), env, ctx, opener, to)
	if err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	return added, out
}

const drbgDescription = "stream = SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …; recipients' keys from seed+\"/keys\", plaintext bytes from seed+\"/plaintext\", Seal's randomness from seed+\"/seal\"; for n ≥ 2, rewrap: the first recipient re-wraps for all but the last plus a key from seed+\"/rewrap/keys\", with the randomness of seed+\"/rewrap\""

const vectorText = `{"text":"Llamó a las 3:14 — ansiedad, respiración guiada; se calmó. ¿Volverá a llamar? 🙏","fields":{"risk":"low","followUp":true}}`

// vectorSpecs is mirrored in ui/scripts/gen-vectors.mjs: 13 vectors covering
// 1, 2 and 5 recipients, empty, 1-byte, 64 KiB and text plaintexts, every
// purpose and every kind of context field.
var vectorSpecs = []struct {
	name  string
	n     int
	pt    string // empty | 1byte | text | 4k | 64k
	ctx   e2ee.Context
	keyID bool // use the first recipient's hex key as item id
}{
	{"r1-empty", 1, "empty", e2ee.Context{e2ee.PurposeNote, "call-0001", "note-0001"}, false},
	{"r1-1byte", 1, "1byte", e2ee.Context{e2ee.PurposeDraft, "", "draft-7"}, false},
	{"r1-64k", 1, "64k", e2ee.Context{e2ee.PurposeTranscript, "9b2f6c1e-7d0a-4c55-8a51-3f1d2e4b6a70", "transcript"}, false},
	{"r1-text-unicode-ids", 1, "text", e2ee.Context{e2ee.PurposeNote, "llamada-ñ-€", "ítem/1"}, false},
	{"r2-empty", 2, "empty", e2ee.Context{e2ee.PurposeNote, "call-0002", "note-0002"}, false},
	{"r2-1byte", 2, "1byte", e2ee.Context{e2ee.PurposeCallerNumber, "call-0003", "caller"}, false},
	{"r2-text", 2, "text", e2ee.Context{e2ee.PurposeNote, "4f6d8e0a-1b2c-4d3e-9f80-a1b2c3d4e5f6", "note-0004"}, false},
	{"r2-64k", 2, "64k", e2ee.Context{e2ee.PurposeVoicemailTranscript, "call-0005", "voicemail"}, false},
	{"r5-empty", 5, "empty", e2ee.Context{e2ee.PurposeBan, "", "ban-0001"}, false},
	{"r5-1byte", 5, "1byte", e2ee.Context{e2ee.PurposeVolunteerProfile, "", ""}, true},
	{"r5-4k", 5, "4k", e2ee.Context{e2ee.PurposeNoteHistory, "call-0006", "note-0006/rev-1"}, false},
	{"r5-64k", 5, "64k", e2ee.Context{e2ee.PurposeExport, "", "export-2025-01"}, false},
	{"r2-4k-audio", 2, "4k", e2ee.Context{e2ee.PurposeVoicemailAudio, "call-0008", "audio"}, false},
}

func vectorPlaintext(kind, seed string) []byte {
	d := e2eetest.NewDRBG(seed + "/plaintext")
	switch kind {
	case "empty":
		return []byte{}
	case "1byte":
		return d.Bytes(1)
	case "text":
		return []byte(vectorText)
	case "4k":
		return d.Bytes(4096)
	case "64k":
		return d.Bytes(64 * 1024)
	}
	panic("unknown plaintext kind " + kind)
}

func keyVector(sk e2eetest.SecretKey) vectorKey {
	pk := sk.Public()
	return vectorKey{hex.EncodeToString(sk[:]), e2eetest.EncodeNsec(sk), pk.String(), e2eetest.EncodeNpub(pk)}
}

func buildGoVectors(t *testing.T) vectorFile {
	t.Helper()
	f := vectorFile{
		Comment:   "Envelopes sealed by the Go code (e2ee). The browser tests open them and re-seal them byte for byte. Format: docs/crypto.md.",
		Generator: generator,
		DRBG:      drbgDescription,
	}
	for _, s := range vectorSpecs {
		seed := "llamenos-test-vectors/go/" + s.name
		kd := e2eetest.NewDRBG(seed + "/keys")
		var keys []vectorKey
		var pubs []e2ee.PublicKey
		var sks []e2eetest.SecretKey
		for range s.n {
			sk, err := e2eetest.GenerateKey(kd)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, keyVector(sk))
			pubs = append(pubs, sk.Public())
			sks = append(sks, sk)
		}
		ctx := s.ctx
		if s.keyID {
			ctx.ItemID = pubs[0].String()
		}
		pt := vectorPlaintext(s.pt, seed)
		env, err := e2ee.Seal(e2eetest.NewDRBG(seed+"/seal"), pt, ctx, pubs)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		v := envelopeVector{
			Name: s.name, Seed: seed,
			Context:    vectorContext{ctx.Purpose, ctx.CallID, ctx.ItemID},
			Recipients: keys,
			Plaintext:  e2ee.EncodeBase64URL(pt),
			Envelope:   e2ee.EncodeBase64URL(env),
		}
		if s.n >= 2 {
			added, re := rewrapOf(t, seed, env, ctx, sks[0], pubs)
			v.Rewrap = &rewrapVector{keyVector(added), e2ee.EncodeBase64URL(re)}
		}
		f.Vectors = append(f.Vectors, v)
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
			t.Fatalf("%v (regenerate with: %s)", err, generator)
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
	b, err := e2ee.DecodeBase64URL(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkEnvelopeVectors opens every vector with every recipient key and, for
// v2 files, re-seals it with the vector's stream, expecting identical bytes.
// The v1 files are kept for opening only: Seal writes v2.
func checkEnvelopeVectors(t *testing.T, f vectorFile, wantMin int, version byte) {
	if len(f.Vectors) < wantMin {
		t.Fatalf("%d vectors, want at least %d", len(f.Vectors), wantMin)
	}
	seen := map[string]bool{}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			ctx := e2ee.Context{v.Context.Purpose, v.Context.CallID, v.Context.ItemID}
			pt := mustB64(t, v.Plaintext)
			env := mustB64(t, v.Envelope)
			h, err := e2ee.ParseEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != version {
				t.Fatalf("version 0x%02x, want 0x%02x", h.Version, version)
			}
			if len(h.Recipients) != len(v.Recipients) || h.PlaintextSize != len(pt) {
				t.Fatalf("header: %d recipients, %d plaintext bytes; want %d, %d", len(h.Recipients), h.PlaintextSize, len(v.Recipients), len(pt))
			}
			var pubs []e2ee.PublicKey
			for i, k := range v.Recipients {
				skb, _ := hex.DecodeString(k.SecretKey)
				sk, err := e2eetest.ParseSecretKey(skb)
				if err != nil {
					t.Fatal(err)
				}
				if nsk, err := e2eetest.DecodeNsec(k.Nsec); err != nil || nsk != sk {
					t.Fatalf("recipient %d: nsec does not decode to secretKey (%v)", i, err)
				}
				pk, err := e2ee.ParsePublicKeyHex(k.PublicKey)
				if err != nil || pk != sk.Public() {
					t.Fatalf("recipient %d: publicKey does not match secretKey (%v)", i, err)
				}
				if npk, err := e2eetest.DecodeNpub(k.Npub); err != nil || npk != pk {
					t.Fatalf("recipient %d: npub does not decode to publicKey (%v)", i, err)
				}
				if h.Recipients[i] != pk {
					t.Fatalf("recipient %d: header lists %s, want %s", i, h.Recipients[i], pk)
				}
				got, err := e2eetest.Open(env, ctx, sk)
				if err != nil {
					t.Fatalf("recipient %d: open: %v", i, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("recipient %d: plaintext differs", i)
				}
				pubs = append(pubs, pk)
			}
			if version == e2ee.Version2 {
				resealed, err := e2ee.Seal(e2eetest.NewDRBG(v.Seed+"/seal"), pt, ctx, pubs)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(resealed, env) {
					t.Fatal("re-sealing with the vector's stream gives different bytes")
				}
			}
			if version == e2ee.Version2 && len(pubs) >= 2 {
				checkRewrapVector(t, v, ctx, env, pt, pubs)
				seen["rewrap"] = true
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
	wants := []string{"n=1", "n=2", "n=5", "empty", "1byte", "64k"}
	if version == e2ee.Version2 {
		wants = append(wants, "rewrap")
	}
	for _, want := range wants {
		if !seen[want] {
			t.Errorf("vectors do not cover %s", want)
		}
	}
}

// checkRewrapVector re-wraps the envelope as the vector says and expects its
// bytes exactly; the content is the envelope's own, and every new recipient
// opens it.
func checkRewrapVector(t *testing.T, v envelopeVector, ctx e2ee.Context, env, pt []byte, pubs []e2ee.PublicKey) {
	t.Helper()
	if v.Rewrap == nil {
		t.Fatal("no rewrap")
	}
	want := mustB64(t, v.Rewrap.Envelope)
	skb, _ := hex.DecodeString(v.Recipients[0].SecretKey)
	opener, err := e2eetest.ParseSecretKey(skb)
	if err != nil {
		t.Fatal(err)
	}
	added, got := rewrapOf(t, v.Seed, env, ctx, opener, pubs)
	if added.Public().String() != v.Rewrap.Added.PublicKey || hex.EncodeToString(added[:]) != v.Rewrap.Added.SecretKey {
		t.Fatal("rewrap: the added key differs")
	}
	if !bytes.Equal(got, want) {
		t.Fatal("rewrap: re-wrapping with the vector's stream gives different bytes")
	}
	n := len(pubs)
	if !bytes.Equal(want[core.HeaderSize(n):], env[core.HeaderSize(n):]) {
		t.Fatal("rewrap: the content bytes differ")
	}
	keep := func(pk e2ee.PublicKey) bool { return slices.Contains(pubs[:n-1], pk) }
	if err := e2ee.CheckRewrap(env, want, keep); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	for i, k := range append(slices.Clone(v.Recipients[:n-1]), v.Rewrap.Added) {
		skb, _ := hex.DecodeString(k.SecretKey)
		sk, err := e2eetest.ParseSecretKey(skb)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e2eetest.Open(want, ctx, sk); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("rewrap: recipient %d: %v", i, err)
		}
	}
	if h, err := e2ee.ParseEnvelope(want); err != nil || h.Includes(pubs[n-1]) {
		t.Fatalf("rewrap: the dropped recipient is still listed (%v)", err)
	}
}

// TestVectorsCoverEveryPurpose: each envelope vector file, whichever side
// wrote it, must name exactly the purposes this side knows — none missing,
// none unknown. The browser tests check the same files against their own
// list, so the two lists cannot drift apart.
func TestVectorsCoverEveryPurpose(t *testing.T) {
	known := e2ee.Purposes()
	for _, name := range []string{"envelopes-go.json", "envelopes-js.json"} {
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, v := range readVectorFile(t, name).Vectors {
				seen[v.Context.Purpose] = true
			}
			for _, p := range known {
				if !seen[p] {
					t.Errorf("no vector for purpose %q", p)
				}
			}
			for p := range seen {
				if !slices.Contains(known, p) {
					t.Errorf("vector for purpose %q, which e2ee does not know", p)
				}
			}
		})
	}
}

func TestGoVectors(t *testing.T) {
	checkEnvelopeVectors(t, readVectorFile(t, "envelopes-go.json"), 10, e2ee.Version2)
}

// TestJSVectors opens envelopes sealed by ui/src/crypto.
func TestJSVectors(t *testing.T) {
	checkEnvelopeVectors(t, readVectorFile(t, "envelopes-js.json"), 10, e2ee.Version2)
}

// The v1 envelopes both sides wrote before v2, frozen: they still open.
func TestV1Vectors(t *testing.T) {
	for _, name := range []string{"envelopes-v1-go.json", "envelopes-v1-js.json"} {
		t.Run(name, func(t *testing.T) { checkEnvelopeVectors(t, readVectorFile(t, name), 10, e2ee.Version1) })
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

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
