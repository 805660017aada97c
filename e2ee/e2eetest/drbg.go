package e2eetest

import (
	"crypto/sha256"
	"encoding/binary"
)

// DRBG is the deterministic byte stream both languages' vector generators
// use: SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …  It is NOT a
// secure random generator; it only makes vectors reproducible and lets each
// side re-seal the other's vectors and compare bytes. The twin is in
// ui/scripts/drbg.mjs.
type DRBG struct {
	seed    []byte
	counter uint32
	buf     []byte
}

// NewDRBG starts the stream for seed.
func NewDRBG(seed string) *DRBG { return &DRBG{seed: []byte(seed)} }

// Read fills p from the stream; it never fails.
func (d *DRBG) Read(p []byte) (int, error) {
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

// Bytes returns the next n bytes of the stream.
func (d *DRBG) Bytes(n int) []byte {
	b := make([]byte, n)
	d.Read(b)
	return b
}
