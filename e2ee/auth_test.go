package e2ee_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
)

type authVector struct {
	Purpose   string `json:"purpose"`
	Origin    string `json:"origin"`
	Challenge string `json:"challenge"` // base64url
	SecretKey string `json:"secretKey"`
	PublicKey string `json:"publicKey"`
	Aux       string `json:"aux"`
	Digest    string `json:"digest"`
	Signature string `json:"signature"`
}

type authVectors struct {
	Comment   string       `json:"comment"`
	Generator string       `json:"generator"`
	Vectors   []authVector `json:"vectors"`
}

func buildAuthVectors(t *testing.T) authVectors {
	t.Helper()
	av := authVectors{
		Comment:   "Login challenge messages: digest = SHA-256(LP(\"llamenos/v1/auth\") ‖ LP(purpose) ‖ LP(origin) ‖ LP(challenge) ‖ LP(pubkey)); signature = BIP-340 over the digest with the given aux.",
		Generator: generator,
	}
	cases := []struct{ purpose, origin string }{
		{e2ee.AuthLogin, "https://hotline.example.org"},
		{e2ee.AuthSetup, "https://192.168.1.20:8443"},
		{e2ee.AuthInvite, "http://127.0.0.1:8080"},
		{e2ee.AuthLogin, "https://línea-de-ayuda.example"},
	}
	for i, c := range cases {
		d := e2eetest.NewDRBG("llamenos-test-vectors/auth/" + string(rune('a'+i)))
		sk, err := e2eetest.GenerateKey(d)
		if err != nil {
			t.Fatal(err)
		}
		challenge := d.Bytes(16 + 16*(i%2))
		var aux [32]byte
		d.Read(aux[:])
		digest, err := e2ee.AuthMessage(c.purpose, c.origin, challenge, sk.Public())
		if err != nil {
			t.Fatal(err)
		}
		sig, err := e2eetest.SignSchnorr(sk, digest[:], aux)
		if err != nil {
			t.Fatal(err)
		}
		av.Vectors = append(av.Vectors, authVector{
			c.purpose, c.origin, e2ee.EncodeBase64URL(challenge), hex.EncodeToString(sk[:]), sk.Public().String(),
			hex.EncodeToString(aux[:]), hex.EncodeToString(digest[:]), hex.EncodeToString(sig[:]),
		})
	}
	return av
}

func TestAuthVectors(t *testing.T) {
	var av authVectors
	readJSON(t, "auth.json", &av)
	if len(av.Vectors) == 0 {
		t.Fatal("no auth vectors")
	}
	for _, v := range av.Vectors {
		sk, err := e2eetest.ParseSecretKey(mustHex(t, v.SecretKey))
		if err != nil {
			t.Fatal(err)
		}
		pk, err := e2ee.ParsePublicKeyHex(v.PublicKey)
		if err != nil || pk != sk.Public() {
			t.Fatalf("public key mismatch: %v", err)
		}
		challenge := mustB64(t, v.Challenge)
		digest, err := e2ee.AuthMessage(v.Purpose, v.Origin, challenge, pk)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(digest[:]) != v.Digest {
			t.Fatalf("%s %s: digest %x, want %s", v.Purpose, v.Origin, digest, v.Digest)
		}
		var aux [32]byte
		copy(aux[:], mustHex(t, v.Aux))
		sig, err := e2eetest.SignSchnorr(sk, digest[:], aux)
		if err != nil || hex.EncodeToString(sig[:]) != v.Signature {
			t.Fatalf("signature %x, want %s (%v)", sig, v.Signature, err)
		}
		if err := e2ee.VerifyAuth(pk, v.Purpose, v.Origin, challenge, mustHex(t, v.Signature)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuthBinding: a signature is valid for exactly the purpose, origin,
// challenge and key it was made for.
func TestAuthBinding(t *testing.T) {
	sk, _ := e2eetest.GenerateKey(rand.Reader)
	other, _ := e2eetest.GenerateKey(rand.Reader)
	origin := "https://hotline.example.org"
	challenge := make([]byte, 32)
	rand.Read(challenge)
	sig, err := e2eetest.SignAuth(rand.Reader, sk, e2ee.AuthLogin, origin, challenge)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2ee.VerifyAuth(sk.Public(), e2ee.AuthLogin, origin, challenge, sig); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	otherChallenge := append([]byte{}, challenge...)
	otherChallenge[0] ^= 1
	flipped := append([]byte{}, sig...)
	flipped[10] ^= 0x80
	tests := []struct {
		name      string
		pk        e2ee.PublicKey
		purpose   string
		origin    string
		challenge []byte
		sig       []byte
		want      error
	}{
		{"other purpose", sk.Public(), e2ee.AuthInvite, origin, challenge, sig, e2ee.ErrBadSignature},
		{"other origin", sk.Public(), e2ee.AuthLogin, "https://hotline.example.org.evil.test", challenge, sig, e2ee.ErrBadSignature},
		{"trailing slash origin", sk.Public(), e2ee.AuthLogin, origin + "/", challenge, sig, e2ee.ErrBadSignature},
		{"other challenge", sk.Public(), e2ee.AuthLogin, origin, otherChallenge, sig, e2ee.ErrBadSignature},
		{"other key", other.Public(), e2ee.AuthLogin, origin, challenge, sig, e2ee.ErrBadSignature},
		{"flipped signature", sk.Public(), e2ee.AuthLogin, origin, challenge, flipped, e2ee.ErrBadSignature},
		{"short signature", sk.Public(), e2ee.AuthLogin, origin, challenge, sig[:63], e2ee.ErrBadSignature},
		{"unknown purpose", sk.Public(), "nostr", origin, challenge, sig, e2ee.ErrUnknownPurpose},
		{"empty origin", sk.Public(), e2ee.AuthLogin, "", challenge, sig, e2ee.ErrInvalidContext},
		{"short challenge", sk.Public(), e2ee.AuthLogin, origin, challenge[:15], sig, e2ee.ErrInvalidContext},
		{"huge challenge", sk.Public(), e2ee.AuthLogin, origin, make([]byte, e2ee.MaxChallengeSize+1), sig, e2ee.ErrInvalidContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e2ee.VerifyAuth(tc.pk, tc.purpose, tc.origin, tc.challenge, tc.sig)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := e2eetest.SignAuth(rand.Reader, e2eetest.SecretKey{}, e2ee.AuthLogin, origin, challenge); !errors.Is(err, e2ee.ErrInvalidKey) {
		t.Fatalf("SignAuth with zero key: %v", err)
	}
}
