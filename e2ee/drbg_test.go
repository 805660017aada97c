package e2ee

import (
	"crypto/sha256"
	"encoding/binary"
)

// testDRBG is the deterministic byte stream both languages' vector generators
// use: SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …  It is NOT a
// secure random generator; it only makes vectors reproducible and lets each
// side re-seal the other's vectors and compare bytes. The twin is in
// ui/test/drbg.js.
type testDRBG struct {
	seed    []byte
	counter uint32
	buf     []byte
}

func newTestDRBG(seed string) *testDRBG { return &testDRBG{seed: []byte(seed)} }

func (d *testDRBG) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.buf) == 0 {
			b := binary.BigEndian.AppendUint32(append([]byte{}, d.seed...), d.counter)
			sum := sha256.Sum256(b)
			d.buf = sum[:]
			d.counter++
		}
		c := copy(p[n:], d.buf)
		d.buf = d.buf[c:]
		n += c
	}
	return n, nil
}

func (d *testDRBG) bytes(n int) []byte {
	b := make([]byte, n)
	d.Read(b)
	return b
}
