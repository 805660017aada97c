package e2ee_test

import (
	"errors"
	"strings"
	"testing"

	"llamenos/e2ee"
)

const nip19NpubHex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"

func TestParsePublicKey(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		ok   bool
	}{
		{"nip19", nip19NpubHex, true},
		{"generator x", "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", true},
		{"uppercase", strings.ToUpper(nip19NpubHex), false},
		{"x not on curve (BIP-340 vector 5)", "eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34", false},
		{"x >= p (BIP-340 vector 14)", "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30", false},
		{"zero", strings.Repeat("0", 64), false},
		{"short", nip19NpubHex[:62], false},
		{"not hex", "zz" + nip19NpubHex[2:], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk, err := e2ee.ParsePublicKeyHex(tc.hex)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, e2ee.ErrInvalidKey) {
				t.Fatalf("err = %v, want ErrInvalidKey", err)
			}
			if tc.ok && pk.String() != tc.hex {
				t.Fatalf("round trip: %s", pk)
			}
		})
	}
}
