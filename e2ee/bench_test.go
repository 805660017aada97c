package e2ee_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
)

// Seal of a 4 KiB note for 1, 2 and 5 recipients, and Open by one of them.
func BenchmarkSeal(b *testing.B) {
	pt := make([]byte, 4096)
	rand.Read(pt)
	for _, n := range []int{1, 2, 5} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			_, pks := genKeys(b, n)
			b.SetBytes(int64(len(pt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e2ee.Seal(rand.Reader, pt, testCtx, pks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	pt := make([]byte, 4096)
	rand.Read(pt)
	for _, n := range []int{1, 5} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			sks, pks := genKeys(b, n)
			env, err := e2ee.Seal(rand.Reader, pt, testCtx, pks)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(pt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e2eetest.Open(env, testCtx, sks[n-1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyAuth(b *testing.B) {
	sks, _ := genKeys(b, 1)
	challenge := make([]byte, 32)
	rand.Read(challenge)
	origin := "https://hotline.example.org"
	sig, err := e2eetest.SignAuth(rand.Reader, sks[0], e2ee.AuthLogin, origin, challenge)
	if err != nil {
		b.Fatal(err)
	}
	pk := sks[0].Public()
	for b.Loop() {
		if err := e2ee.VerifyAuth(pk, e2ee.AuthLogin, origin, challenge, sig); err != nil {
			b.Fatal(err)
		}
	}
}
