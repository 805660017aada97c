// Recovery key: 128 random bits plus a 32-bit checksum, written in RFC 4648
// base32 as eight groups of four (XXXX-XXXX-…). The checksum catches a
// mistyped character at once, before the slow key derivation runs, and the
// alphabet (A–Z, 2–7) has no 0, 1 or 8, so those are read as O, I and B.
import { base32nopad } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';

export const RECOVERY_BYTES = 16;
const CHECK_BYTES = 4;
const CHECK_LABEL = new TextEncoder().encode('llamenos/v1/recovery-key-check');

function checksum(secret) {
  const buf = new Uint8Array(CHECK_LABEL.length + secret.length);
  buf.set(CHECK_LABEL);
  buf.set(secret, CHECK_LABEL.length);
  return sha256(buf).subarray(0, CHECK_BYTES);
}

export function formatRecoveryKey(secret) {
  if (!(secret instanceof Uint8Array) || secret.length !== RECOVERY_BYTES) {
    throw new Error('recovery: secret must be 16 bytes');
  }
  const all = new Uint8Array(RECOVERY_BYTES + CHECK_BYTES);
  all.set(secret);
  all.set(checksum(secret), RECOVERY_BYTES);
  const s = base32nopad.encode(all); // 20 bytes → exactly 32 characters
  return s.match(/.{4}/g).join('-');
}

export function generateRecoveryKey(random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  return formatRecoveryKey(random(RECOVERY_BYTES));
}

// parseRecoveryKey accepts what a person types (any case, spaces or dashes,
// and the digits 0, 1, 8 typed for O, I, B) and returns {ok, key} with the canonical
// 32-character form that the backup is encrypted under, or {ok:false, reason}.
export function parseRecoveryKey(input) {
  if (typeof input !== 'string') return { ok: false, reason: 'empty' };
  const s = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/0/g, 'O')
    .replace(/1/g, 'I')
    .replace(/8/g, 'B');
  if (s === '') return { ok: false, reason: 'empty' };
  if (!/^[A-Z2-7]*$/.test(s)) return { ok: false, reason: 'characters' };
  if (s.length !== 32) return { ok: false, reason: 'length' };
  const all = base32nopad.decode(s);
  const want = checksum(all.subarray(0, RECOVERY_BYTES));
  const got = all.subarray(RECOVERY_BYTES);
  for (let i = 0; i < CHECK_BYTES; i++) {
    if (want[i] !== got[i]) return { ok: false, reason: 'checksum' };
  }
  return { ok: true, key: s };
}
