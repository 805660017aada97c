package e2ee

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
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
		Generator: "go test ./e2ee -run TestWriteVectors -args -update",
	}
	cases := []struct{ purpose, origin string }{
		{AuthLogin, "https://hotline.example.org"},
		{AuthSetup, "https://192.168.1.20:8443"},
		{AuthInvite, "http://127.0.0.1:8080"},
		{AuthLogin, "https://línea-de-ayuda.example"},
	}
	for i, c := range cases {
		d := newTestDRBG("llamenos-test-vectors/auth/" + string(rune('a'+i)))
		sk, err := GenerateKey(d)
		if err != nil {
			t.Fatal(err)
		}
		challenge := d.bytes(16 + 16*(i%2))
		var aux [32]byte
		d.Read(aux[:])
		digest, err := AuthMessage(c.purpose, c.origin, challenge, sk.Public())
		if err != nil {
			t.Fatal(err)
		}
		sig, err := SignSchnorr(sk, digest[:], aux)
		if err != nil {
			t.Fatal(err)
		}
		av.Vectors = append(av.Vectors, authVector{
			c.purpose, c.origin, EncodeBase64URL(challenge), hex.EncodeToString(sk[:]), sk.Public().String(),
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
		sk, err := ParseSecretKey(mustHex(t, v.SecretKey))
		if err != nil {
			t.Fatal(err)
		}
		pk, err := ParsePublicKeyHex(v.PublicKey)
		if err != nil || pk != sk.Public() {
			t.Fatalf("public key mismatch: %v", err)
		}
		challenge := mustB64(t, v.Challenge)
		digest, err := AuthMessage(v.Purpose, v.Origin, challenge, pk)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(digest[:]) != v.Digest {
			t.Fatalf("%s %s: digest %x, want %s", v.Purpose, v.Origin, digest, v.Digest)
		}
		var aux [32]byte
		copy(aux[:], mustHex(t, v.Aux))
		sig, err := SignSchnorr(sk, digest[:], aux)
		if err != nil || hex.EncodeToString(sig[:]) != v.Signature {
			t.Fatalf("signature %x, want %s (%v)", sig, v.Signature, err)
		}
		if err := VerifyAuth(pk, v.Purpose, v.Origin, challenge, mustHex(t, v.Signature)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuthBinding: a signature is valid for exactly the purpose, origin,
// challenge and key it was made for.
func TestAuthBinding(t *testing.T) {
	sk, _ := GenerateKey(rand.Reader)
	other, _ := GenerateKey(rand.Reader)
	origin := "https://hotline.example.org"
	challenge := make([]byte, 32)
	rand.Read(challenge)
	sig, err := SignAuth(rand.Reader, sk, AuthLogin, origin, challenge)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyAuth(sk.Public(), AuthLogin, origin, challenge, sig); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	otherChallenge := append([]byte{}, challenge...)
	otherChallenge[0] ^= 1
	flipped := append([]byte{}, sig...)
	flipped[10] ^= 0x80
	tests := []struct {
		name      string
		pk        PublicKey
		purpose   string
		origin    string
		challenge []byte
		sig       []byte
		want      error
	}{
		{"other purpose", sk.Public(), AuthInvite, origin, challenge, sig, ErrBadSignature},
		{"other origin", sk.Public(), AuthLogin, "https://hotline.example.org.evil.test", challenge, sig, ErrBadSignature},
		{"trailing slash origin", sk.Public(), AuthLogin, origin + "/", challenge, sig, ErrBadSignature},
		{"other challenge", sk.Public(), AuthLogin, origin, otherChallenge, sig, ErrBadSignature},
		{"other key", other.Public(), AuthLogin, origin, challenge, sig, ErrBadSignature},
		{"flipped signature", sk.Public(), AuthLogin, origin, challenge, flipped, ErrBadSignature},
		{"short signature", sk.Public(), AuthLogin, origin, challenge, sig[:63], ErrBadSignature},
		{"unknown purpose", sk.Public(), "nostr", origin, challenge, sig, ErrUnknownPurpose},
		{"empty origin", sk.Public(), AuthLogin, "", challenge, sig, ErrInvalidContext},
		{"short challenge", sk.Public(), AuthLogin, origin, challenge[:15], sig, ErrInvalidContext},
		{"huge challenge", sk.Public(), AuthLogin, origin, make([]byte, MaxChallengeSize+1), sig, ErrInvalidContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyAuth(tc.pk, tc.purpose, tc.origin, tc.challenge, tc.sig)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := SignAuth(rand.Reader, SecretKey{}, AuthLogin, origin, challenge); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("SignAuth with zero key: %v", err)
	}
}
