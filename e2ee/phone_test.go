package e2ee

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestNormalizeE164(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+34600123456", "+34600123456"},
		{"+34 600 12 34 56", "+34600123456"},
		{"+1 (415) 555-2671", "+14155552671"},
		{"+4930123", "+4930123"},                 // 7 digits: the minimum
		{"+123456789012345", "+123456789012345"}, // 15 digits: the maximum
		{"", ""},
		{"34600123456", ""},       // no plus
		{"0034600123456", ""},     // 00 prefix is not guessed at
		{"+034600123456", ""},     // country code cannot start with 0
		{"+493012", ""},           // 6 digits
		{"+1234567890123456", ""}, // 16 digits
		{"+34.600.123.456", ""},   // dots are not separators here
		{"+34600123456;ext=1", ""},
		{"+34６00123456", ""}, // full-width digit
		{"++34600123456", ""},
		{"+34\t600123456", ""},
	}
	for _, tc := range tests {
		got, err := NormalizeE164(tc.in)
		gotB, errB := NormalizedE164([]byte(tc.in))
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidPhone) || !errors.Is(errB, ErrInvalidPhone) || gotB != nil {
				t.Errorf("%q: got %q, %v and %q, %v; want ErrInvalidPhone", tc.in, got, err, gotB, errB)
			}
			continue
		}
		if err != nil || got != tc.want || errB != nil || string(gotB) != tc.want {
			t.Errorf("%q: got %q, %v and %q, %v; want %q", tc.in, got, err, gotB, errB, tc.want)
		}
	}
}

// TestPhoneHashBytes: the hand-padded HMAC agrees with crypto/hmac for
// every length of number, formatting, a key longer than a block, and
// refuses what PhoneHash refuses.
func TestPhoneHashBytes(t *testing.T) {
	for _, secret := range [][]byte{bytes.Repeat([]byte{0x42}, 32), bytes.Repeat([]byte{0x17}, 64), bytes.Repeat([]byte{0x99}, 100)} {
		for n := 7; n <= 15; n++ {
			number := "+" + "987654321098765"[:n]
			for _, in := range []string{number, number[:3] + " (" + number[3:6] + ") " + number[6:]} {
				want, err := PhoneHash(secret, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := PhoneHashBytes(secret, []byte(in))
				if err != nil || got != want {
					t.Fatalf("key %d bytes, %q: %x, %v; want %x", len(secret), in, got, err, want)
				}
			}
		}
	}
	secret := bytes.Repeat([]byte{0x42}, 32)
	for _, bad := range []string{"", "600123456", "+493012", "+1234567890123456", "+34-600-123-456-789-012-345", "++34600123456"} {
		if _, err := PhoneHashBytes(secret, []byte(bad)); !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("%q: %v, want ErrInvalidPhone", bad, err)
		}
	}
	if _, err := PhoneHashBytes(secret[:31], []byte("+34600123456")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestPhoneHash(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, 32)
	h, err := PhoneHash(secret, "+34 600 12-34-56")
	if err != nil {
		t.Fatal(err)
	}
	// Known answer, computed independently:
	// python3 -c 'import hmac,hashlib;print(hmac.new(b"\x42"*32,b"llamenos/v1/phone\x00+34600123456",hashlib.sha256).hexdigest())'
	const want = "7180e779c52fd884c241e08ff13c1cb4a78abe66119201adb039c91673a7eddf"
	if hex.EncodeToString(h[:]) != want {
		t.Fatalf("PhoneHash = %x, want %s", h, want)
	}
	h2, _ := PhoneHash(secret, "+34600123456")
	if h2 != h {
		t.Fatal("formatting changed the hash")
	}
	other, _ := PhoneHash(bytes.Repeat([]byte{0x43}, 32), "+34600123456")
	if other == h {
		t.Fatal("the secret does not change the hash")
	}
	if _, err := PhoneHash(secret[:31], "+34600123456"); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := PhoneHash(secret, "600123456"); !errors.Is(err, ErrInvalidPhone) {
		t.Fatalf("invalid number: %v", err)
	}
}

// TestCallerHash: v2 is Argon2id over the v2-labelled HMAC, as
// docs/crypto.md writes it, with the key and the cost both mattering.
func TestCallerHash(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	cost := CallerHashCost{Time: 1, MemoryKiB: 64}
	got, err := CallerHash(key, []byte("+34 600 12-34-56"), cost)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("llamenos/v2/phone\x00+34600123456"))
	want := argon2.IDKey(m.Sum(nil), []byte("llamenos/v2/phone/argon2id-salt"), 1, 64, 1, 32)
	if !bytes.Equal(got[:], want) {
		t.Fatalf("CallerHash = %x, want %x", got, want)
	}
	v1, _ := PhoneHash(key, "+34600123456")
	if bytes.Equal(got[:], v1[:]) {
		t.Fatal("v2 equals v1")
	}
	other, _ := CallerHash(bytes.Repeat([]byte{0x43}, 32), []byte("+34600123456"), cost)
	dearer, _ := CallerHash(key, []byte("+34600123456"), CallerHashCost{Time: 2, MemoryKiB: 64})
	if other == got || dearer == got {
		t.Fatal("the key or the cost does not change the hash")
	}
	if _, err := CallerHash(key, []byte("600123456"), cost); !errors.Is(err, ErrInvalidPhone) {
		t.Fatalf("a non-E.164 number: %v", err)
	}
	if _, err := CallerHash(key[:31], []byte("+34600123456"), cost); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := CallerHash(key, []byte("+34600123456"), CallerHashCost{}); err == nil {
		t.Fatal("zero cost accepted")
	}
}
