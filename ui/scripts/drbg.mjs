// Deterministic byte stream for reproducible test vectors — NOT a secure
// random generator. stream = SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …
// Twin of testDRBG in e2ee/drbg_test.go; both sides must draw identically so
// each can re-seal the other's vectors byte for byte.
import { sha256 } from '@noble/hashes/sha2.js';

export function testDRBG(seed) {
  const s = new TextEncoder().encode(seed);
  let counter = 0;
  let buf = new Uint8Array(0);
  /** @param {number} n @returns {Uint8Array} a fresh array */
  return function random(n) {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (buf.length === 0) {
        const block = new Uint8Array(s.length + 4);
        block.set(s);
        new DataView(block.buffer).setUint32(s.length, counter++, false);
        buf = sha256(block);
      }
      const take = Math.min(buf.length, n - off);
      out.set(buf.subarray(0, take), off);
      buf = buf.subarray(take);
      off += take;
    }
    return out;
  };
}
