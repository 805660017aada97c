// Byte helpers shared by the crypto modules: hex, base64url, UTF-8 and the
// canonical length-prefixed encoding (u32 big-endian length ‖ bytes) used in
// every AAD and hashed message.
import { base64urlnopad } from '@scure/base';
import { CryptoError } from './errors.js';

const encoder = new TextEncoder();

/** UTF-8 of a well-formed string; lone surrogates are refused, not replaced. */
export function utf8(s) {
  if (typeof s !== 'string' || !s.isWellFormed()) {
    throw new CryptoError('INVALID_CONTEXT', 'expected a well-formed string');
  }
  return encoder.encode(s);
}

export function bytesToHex(b) {
  let out = '';
  for (const x of b) out += x.toString(16).padStart(2, '0');
  return out;
}

/** Decodes hex of either case; refuses odd length and non-hex characters. */
export function hexToBytes(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new CryptoError('MALFORMED', 'invalid hex');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Unpadded base64url, the form of every binary value in JSON. */
export function b64urlEncode(b) {
  return base64urlnopad.encode(b);
}

/** Strict unpadded base64url: no padding, no other alphabet, zero trailing bits. */
export function b64urlDecode(s) {
  if (typeof s !== 'string') throw new CryptoError('MALFORMED', 'base64url: expected a string');
  try {
    return base64urlnopad.decode(s);
  } catch {
    throw new CryptoError('MALFORMED', 'base64url: invalid encoding');
  }
}

export function concatBytes(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function u32be(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** LP(x) for each part: u32be(len) ‖ bytes. Strings are UTF-8 encoded. */
export function lengthPrefixed(...parts) {
  const bs = parts.map((p) => (typeof p === 'string' ? utf8(p) : p));
  return concatBytes(...bs.flatMap((b) => [u32be(b.length), b]));
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function isBytes(x, len) {
  return x instanceof Uint8Array && (len === undefined || x.length === len);
}

/** Default randomness: the platform CSPRNG (Node 20+ and browsers). */
export function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
