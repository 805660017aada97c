package e2ee

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"testing/iotest"
)

func genKeys(t testing.TB, n int) ([]SecretKey, []PublicKey) {
	t.Helper()
	sks := make([]SecretKey, n)
	pks := make([]PublicKey, n)
	for i := range n {
		sk, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sks[i], pks[i] = sk, sk.Public()
	}
	return sks, pks
}

var testCtx = Context{Purpose: PurposeNote, CallID: "call-1", ItemID: "note-1"}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 5, MaxRecipients} {
		for _, size := range []int{0, 1, 4096, 64 * 1024} {
			if n == MaxRecipients && size != 1 {
				continue // one case at the limit is enough; it is slow under -race
			}
			t.Run(fmt.Sprintf("n=%d/size=%d", n, size), func(t *testing.T) {
				sks, pks := genKeys(t, n)
				pt := make([]byte, size)
				rand.Read(pt)
				env, err := Seal(rand.Reader, pt, testCtx, pks)
				if err != nil {
					t.Fatal(err)
				}
				if want := prefixSize + n*entrySize + nonceSize + size + tagSize; len(env) != want {
					t.Fatalf("envelope is %d bytes, want %d", len(env), want)
				}
				h, err := ParseEnvelope(env)
				if err != nil {
					t.Fatal(err)
				}
				if h.PlaintextSize != size || h.Size != len(env) || len(h.Recipients) != n || h.Version != Version1 {
					t.Fatalf("header %+v", h)
				}
				for i, sk := range sks {
					if !h.Includes(pks[i]) {
						t.Fatalf("header does not include recipient %d", i)
					}
					if i > 1 && i < n-1 {
						continue // opening for all 255 is slow and adds nothing
					}
					got, err := Open(env, testCtx, sk)
					if err != nil {
						t.Fatalf("recipient %d: %v", i, err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatalf("recipient %d: plaintext differs", i)
					}
				}
			})
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	_, pks := genKeys(t, 1)
	a, _ := Seal(rand.Reader, []byte("x"), testCtx, pks)
	b, _ := Seal(rand.Reader, []byte("x"), testCtx, pks)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
}

// rejectErr opens env and returns nil only if Open failed with one of the
// allowed errors and returned no plaintext. A panic fails the test by itself.
func rejectErr(env []byte, ctx Context, sk SecretKey, allowed ...error) error {
	pt, err := Open(env, ctx, sk)
	if err == nil {
		return fmt.Errorf("accepted (plaintext %q)", pt)
	}
	if pt != nil {
		return fmt.Errorf("returned plaintext alongside error %v", err)
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return nil
		}
	}
	return fmt.Errorf("err = %v, want one of %v", err, allowed)
}

func expectRejected(t *testing.T, env []byte, ctx Context, sk SecretKey, allowed ...error) {
	t.Helper()
	if err := rejectErr(env, ctx, sk, allowed...); err != nil {
		t.Fatal(err)
	}
}

// TestTamperEveryByte changes every position of a 2-recipient envelope: the
// low bit flipped, opened by both recipients, and the whole byte inverted,
// opened by each recipient in turn. Every variant must be refused. (All
// combinations would triple the time under -race for no extra coverage.)
func TestTamperEveryByte(t *testing.T) {
	sks, pks := genKeys(t, 2)
	env, err := Seal(rand.Reader, []byte("a short note"), testCtx, pks)
	if err != nil {
		t.Fatal(err)
	}
	for i := range env {
		for _, c := range []struct {
			mask byte
			who  []SecretKey
		}{{0x01, sks}, {0xff, sks[i%2 : i%2+1]}} {
			mod := bytes.Clone(env)
			mod[i] ^= c.mask
			for r, sk := range c.who {
				if err := rejectErr(mod, testCtx, sk, ErrUnknownVersion, ErrMalformed, ErrNotRecipient, ErrAuthFailed); err != nil {
					t.Errorf("byte %d ^ %#02x, recipient %d: %v", i, c.mask, r, err)
				}
			}
		}
	}
	// Spot-check that the errors are the specific ones where they can be.
	mod := bytes.Clone(env)
	mod[0] = 0x02
	expectRejected(t, mod, testCtx, sks[0], ErrUnknownVersion)
	mod = bytes.Clone(env)
	mod[len(mod)-1] ^= 1
	expectRejected(t, mod, testCtx, sks[0], ErrAuthFailed)
	// A change to the other recipient's entry breaks this recipient too,
	// because the whole header is in the content AAD.
	mod = bytes.Clone(env)
	mod[prefixSize+entrySize+PublicKeySize+ephemeralSize] ^= 1 // entry 1's wrap nonce
	expectRejected(t, mod, testCtx, sks[0], ErrAuthFailed)
}

func TestTruncation(t *testing.T) {
	sks, pks := genKeys(t, 2)
	env, err := Seal(rand.Reader, []byte("a short note"), testCtx, pks)
	if err != nil {
		t.Fatal(err)
	}
	for l := 0; l < len(env); l++ {
		if err := rejectErr(env[:l], testCtx, sks[1], ErrMalformed, ErrAuthFailed); err != nil {
			t.Errorf("truncated to %d of %d bytes: %v", l, len(env), err)
		}
	}
	// An extra trailing byte is caught too.
	expectRejected(t, append(bytes.Clone(env), 0), testCtx, sks[1], ErrAuthFailed)
}

func TestWrongContext(t *testing.T) {
	sks, pks := genKeys(t, 2)
	env, err := Seal(rand.Reader, []byte("bound to call-1/note-1"), testCtx, pks)
	if err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []Context{
		{PurposeNote, "call-2", "note-1"},
		{PurposeNote, "call-1", "note-2"},
		{PurposeDraft, "call-1", "note-1"},
		{PurposeNote, "", "note-1"},
		{PurposeNote, "call-1", ""},
		{PurposeNote, "call-1note-1", ""}, // length prefixes keep fields apart
		{PurposeNote, "call-", "1note-1"},
	} {
		t.Run(fmt.Sprintf("%+v", ctx), func(t *testing.T) {
			for _, sk := range sks {
				expectRejected(t, env, ctx, sk, ErrAuthFailed)
			}
		})
	}
	if _, err := Open(env, testCtx, sks[0]); err != nil {
		t.Fatal(err)
	}
}

func TestNonRecipient(t *testing.T) {
	_, pks := genKeys(t, 2)
	outsider, _ := genKeys(t, 1)
	env, _ := Seal(rand.Reader, []byte("secret"), testCtx, pks)
	expectRejected(t, env, testCtx, outsider[0], ErrNotRecipient)
	expectRejected(t, env, testCtx, SecretKey{}, ErrInvalidKey)
}

// TestSubstitutedRecipient: an attacker who rewrites a recipient's public key
// to their own cannot open the envelope (the wrap is for the original key).
func TestSubstitutedRecipient(t *testing.T) {
	_, pks := genKeys(t, 2)
	attacker, apk := genKeys(t, 1)
	env, _ := Seal(rand.Reader, []byte("secret"), testCtx, pks)
	mod := bytes.Clone(env)
	copy(mod[prefixSize:], apk[0][:])
	expectRejected(t, mod, testCtx, attacker[0], ErrAuthFailed)
}

func TestParseEnvelopeRejects(t *testing.T) {
	_, pks := genKeys(t, 2)
	env, _ := Seal(rand.Reader, nil, testCtx, pks)
	dup := bytes.Clone(env)
	copy(dup[prefixSize+entrySize:], env[prefixSize:prefixSize+PublicKeySize])
	badPoint := bytes.Clone(env)
	copy(badPoint[prefixSize:], bytes.Repeat([]byte{0xff}, 32))
	badEph := bytes.Clone(env)
	badEph[prefixSize+PublicKeySize] = 0x04
	zeroN := bytes.Clone(env)
	zeroN[1] = 0
	moreN := bytes.Clone(env)
	moreN[1] = 3
	fewerN := bytes.Clone(env)
	fewerN[1] = 1 // parses (the rest becomes ciphertext) but cannot open
	tests := []struct {
		name string
		env  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"version only", []byte{1}, ErrMalformed},
		{"version 0", append([]byte{0}, env[1:]...), ErrUnknownVersion},
		{"version 2", append([]byte{2}, env[1:]...), ErrUnknownVersion},
		{"version 0xff", []byte{0xff}, ErrUnknownVersion},
		{"zero recipients", zeroN, ErrMalformed},
		{"count beyond data", moreN, ErrMalformed},
		{"duplicate recipient", dup, ErrDuplicateRecipient},
		{"recipient not a point", badPoint, ErrMalformed},
		{"ephemeral not compressed", badEph, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseEnvelope(tc.env); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := ParseEnvelope(fewerN); err != nil {
		t.Fatalf("fewer count should still parse: %v", err)
	}
}

func TestSealRejects(t *testing.T) {
	_, pks := genKeys(t, 2)
	var notPoint PublicKey
	notPoint[31] = notOnCurveX(t)[31]
	many := make([]PublicKey, MaxRecipients+1)
	tests := []struct {
		name string
		ctx  Context
		pks  []PublicKey
		pt   []byte
		want error
	}{
		{"no recipients", testCtx, nil, nil, ErrInvalidKey},
		{"duplicate", testCtx, []PublicKey{pks[0], pks[1], pks[0]}, nil, ErrDuplicateRecipient},
		{"not a point", testCtx, []PublicKey{pks[0], notPoint}, nil, ErrInvalidKey},
		{"zero key", testCtx, []PublicKey{{}}, nil, ErrInvalidKey},
		{"too many", testCtx, many, nil, ErrTooLarge},
		{"too large", testCtx, pks, make([]byte, MaxPlaintextSize+1), ErrTooLarge},
		{"unknown purpose", Context{Purpose: "nostr"}, pks, nil, ErrUnknownPurpose},
		{"empty purpose", Context{}, pks, nil, ErrUnknownPurpose},
		{"long call id", Context{PurposeNote, string(make([]byte, MaxContextFieldSize+1)), ""}, pks, nil, ErrInvalidContext},
		{"bad utf-8 item id", Context{PurposeNote, "", "\xff"}, pks, nil, ErrInvalidContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Seal(rand.Reader, tc.pt, tc.ctx, tc.pks)
			if !errors.Is(err, tc.want) || env != nil {
				t.Fatalf("err = %v, env %d bytes; want %v", err, len(env), tc.want)
			}
		})
	}
	if _, err := Seal(iotest.ErrReader(errors.New("no entropy")), nil, testCtx, pks); err == nil {
		t.Fatal("Seal ignored a read error")
	}
	if _, err := Seal(iotest.TimeoutReader(bytes.NewReader(make([]byte, 40))), nil, testCtx, pks); err == nil {
		t.Fatal("Seal ignored a short random stream")
	}
}

func TestOpenRejectsUnknownPurpose(t *testing.T) {
	sks, pks := genKeys(t, 1)
	env, _ := Seal(rand.Reader, nil, testCtx, pks)
	expectRejected(t, env, Context{Purpose: "notes"}, sks[0], ErrUnknownPurpose)
}

func TestBase64URL(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {0x12, 0xab}, {0xfb, 0xff, 0xbf}} {
		got, err := DecodeBase64URL(EncodeBase64URL(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%x: %x, %v", b, got, err)
		}
	}
	if EncodeBase64URL([]byte{0xfb, 0xff}) != "-_8" {
		t.Fatal("not the url alphabet")
	}
	for _, s := range []string{"Eqt", "E", "Eqs=", "E+s", "E/s", "Eq\ns", "Eqs\r", "Eq s"} {
		if _, err := DecodeBase64URL(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q accepted (%v)", s, err)
		}
	}
}
