// secp256k1 identity keys: 32-byte secret scalars, BIP-340 x-only public
// keys, NIP-19 npub/nsec. Twin of e2ee/keys.go and e2ee/bech32.go.
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import { bytesToHex, hexToBytes, isBytes, randomBytes } from './bytes.js';
import { CryptoError } from './errors.js';

const N = secp256k1.Point.Fn.ORDER;
// Same bound as Go: reaching it means the random source is broken.
const MAX_KEYGEN_TRIES = 16;

function toBigInt(b) {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function validScalar(b) {
  if (!isBytes(b, 32)) return false;
  const d = toBigInt(b);
  return d > 0n && d < N;
}

/**
 * A fresh secret key. Out-of-range draws are skipped (never reduced), in the
 * same order as Go's GenerateKey, so seeded streams give identical keys.
 * @param {{random?: (n:number)=>Uint8Array}} [opts]
 */
export function generateSecretKey({ random = randomBytes } = {}) {
  for (let i = 0; i < MAX_KEYGEN_TRIES; i++) {
    const sk = random(32);
    if (validScalar(sk)) return sk;
  }
  throw new CryptoError('INVALID_KEY', `random source returned ${MAX_KEYGEN_TRIES} out-of-range scalars`);
}

/** Checks a 32-byte scalar in [1, n-1] and returns a copy. */
export function parseSecretKey(b) {
  if (!validScalar(b)) throw new CryptoError('INVALID_KEY', 'secret key: not a 32-byte scalar in range');
  return Uint8Array.from(b);
}

/** x-only (BIP-340) public key of a secret key. */
export function getPublicKey(secretKey) {
  return schnorr.getPublicKey(parseSecretKey(secretKey));
}

/** lift_x: the even-y curve point with this x, or a CryptoError. */
export function liftX(x) {
  if (!isBytes(x, 32)) throw new CryptoError('INVALID_KEY', 'public key: expected 32 bytes');
  const c = new Uint8Array(33);
  c[0] = 0x02;
  c.set(x, 1);
  try {
    return secp256k1.Point.fromBytes(c);
  } catch {
    throw new CryptoError('INVALID_KEY', 'public key: not a curve point');
  }
}

/** Checks that b is an x-only key naming a curve point; returns a copy. */
export function parsePublicKey(b) {
  liftX(b);
  return Uint8Array.from(b);
}

/** The 64-character lowercase hex form used by the API (uppercase refused). */
export function parsePublicKeyHex(s) {
  if (typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) {
    throw new CryptoError('INVALID_KEY', 'public key hex: want 64 lowercase hex characters');
  }
  return parsePublicKey(hexToBytes(s));
}

export function publicKeyHex(pk) {
  return bytesToHex(parsePublicKey(pk));
}

function encode32(hrp, b) {
  return bech32.encode(hrp, bech32.toWords(b), 90);
}

// The underlying library puts the whole input in its messages; for an nsec
// that is the secret, so its errors are replaced, never passed on.
function decode32(s, hrp) {
  let decoded;
  let bytes;
  try {
    decoded = bech32.decode(s, 90);
    bytes = bech32.fromWords(decoded.words);
  } catch {
    throw new CryptoError('INVALID_KEY', `${hrp}: not valid bech32 (checksum, case, characters or padding)`);
  }
  if (decoded.prefix !== hrp) throw new CryptoError('INVALID_KEY', `${hrp}: wrong prefix`);
  if (bytes.length !== 32) throw new CryptoError('INVALID_KEY', `${hrp}: payload is ${bytes.length} bytes, want 32`);
  return bytes;
}

export function encodeNpub(publicKey) {
  return encode32('npub', parsePublicKey(publicKey));
}

export function encodeNsec(secretKey) {
  return encode32('nsec', parseSecretKey(secretKey));
}

export function decodeNpub(s) {
  return parsePublicKey(decode32(s, 'npub'));
}

export function decodeNsec(s) {
  return parseSecretKey(decode32(s, 'nsec'));
}
