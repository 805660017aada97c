// BIP-340 signatures and the login challenge message. Twin of
// e2ee/auth.go and e2ee/bip340.go.
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { isBytes, lengthPrefixed, randomBytes, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { getPublicKey, parseSecretKey } from './keys.js';

export const AUTH_PURPOSES = Object.freeze(['login', 'setup', 'invite']);
export const MIN_CHALLENGE_SIZE = 16;
export const MAX_CHALLENGE_SIZE = 256;
export const MAX_ORIGIN_SIZE = 512;

/** BIP-340 signature of a message of any length. */
export function signSchnorr(secretKey, message, aux = randomBytes(32)) {
  return schnorr.sign(message, parseSecretKey(secretKey), aux);
}

/** BIP-340 verification; malformed input is simply `false`, never a throw. */
export function verifySchnorr(publicKey, message, signature) {
  try {
    return schnorr.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

/**
 * SHA-256(LP("llamenos/v1/auth") ‖ LP(purpose) ‖ LP(origin) ‖ LP(challenge) ‖ LP(pubkey)).
 * origin is location.origin, e.g. "https://hotline.example.org".
 */
export function authMessage(purpose, origin, challenge, publicKey) {
  if (!AUTH_PURPOSES.includes(purpose)) throw new CryptoError('UNKNOWN_PURPOSE', `unknown auth purpose ${JSON.stringify(purpose)}`);
  const o = utf8(origin);
  if (o.length === 0 || o.length > MAX_ORIGIN_SIZE) throw new CryptoError('INVALID_CONTEXT', 'origin empty or too long');
  if (!isBytes(challenge) || challenge.length < MIN_CHALLENGE_SIZE || challenge.length > MAX_CHALLENGE_SIZE) {
    throw new CryptoError('INVALID_CONTEXT', `challenge must be ${MIN_CHALLENGE_SIZE}..${MAX_CHALLENGE_SIZE} bytes`);
  }
  if (!isBytes(publicKey, 32)) throw new CryptoError('INVALID_KEY', 'public key must be 32 bytes');
  return sha256(lengthPrefixed('llamenos/v1/auth', purpose, o, challenge, publicKey));
}

/** What the browser sends at login: a 64-byte BIP-340 signature of authMessage. */
export function signAuth(secretKey, purpose, origin, challenge, { random = randomBytes } = {}) {
  const msg = authMessage(purpose, origin, challenge, getPublicKey(secretKey));
  return signSchnorr(secretKey, msg, random(32));
}

export function verifyAuth(publicKey, purpose, origin, challenge, signature) {
  return verifySchnorr(publicKey, authMessage(purpose, origin, challenge, publicKey), signature);
}
