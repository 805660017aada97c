// Linking a new device: the byte side of what docs/crypto.md ("Device
// linking") describes. Both ends are browsers; the server relays the public
// keys and the ciphertext and holds nothing that opens it (devicelink/ in Go
// checks the commitment and the sizes, nothing more).
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, isBytes, lengthPrefixed, randomBytes, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { generateSecretKey, getPublicKey, parsePublicKey, parseSecretKey } from './keys.js';

const COMMIT_LABEL = 'llamenos/v1/device-link/commit';
const CODE_LABEL = 'llamenos/v1/device-link/code';
const KEY_INFO = 'llamenos/v1/device-link/key';
const AAD_LABEL = 'llamenos/v1/device-link';
const NONCE = 24;
export const LINK_SEALED_SIZE = NONCE + 32 + 16;
export const LINK_CODE_DIGITS = 6;

/** A fresh ephemeral key pair for one link: {secretKey, publicKey} (x-only). */
export function newLinkKey({ random = randomBytes } = {}) {
  const secretKey = generateSecretKey({ random });
  return { secretKey, publicKey: getPublicKey(secretKey) };
}

/** SHA-256(LP(label) ‖ LP(new device's key)): what the new device commits to first. */
export function linkCommitment(newPub) {
  return sha256(lengthPrefixed(COMMIT_LABEL, parsePublicKey(newPub)));
}

function checkId(id) {
  if (typeof id !== 'string' || !/^[A-Z2-7]{10}$/.test(id)) throw new CryptoError('INVALID_CONTEXT', 'link id: want 10 base32 characters');
  return id;
}

/**
 * The confirmation code both screens show: the first 8 bytes of
 * SHA-256(LP(label) ‖ LP(id) ‖ LP(new key) ‖ LP(old key)) as a big-endian
 * integer, modulo 10^6, in six digits.
 */
export function linkConfirmationCode(id, newPub, oldPub) {
  const h = sha256(lengthPrefixed(CODE_LABEL, checkId(id), parsePublicKey(newPub), parsePublicKey(oldPub)));
  const n = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0, false) % 1000000n;
  return n.toString().padStart(LINK_CODE_DIGITS, '0');
}

// The key both sides derive: HKDF over the x coordinate of their ECDH, salted
// with both public keys (new ‖ old).
function linkKey(mySecret, theirPub, newPub, oldPub) {
  const shared = secp256k1.getSharedSecret(parseSecretKey(mySecret), concatBytes(Uint8Array.of(0x02), parsePublicKey(theirPub)), true).subarray(1);
  const k = hkdf(sha256, shared, concatBytes(newPub, oldPub), utf8(KEY_INFO), 32);
  shared.fill(0);
  return k;
}

function linkAAD(id, newPub, oldPub) {
  return lengthPrefixed(AAD_LABEL, checkId(id), newPub, oldPub);
}

/** The signed-in device encrypts the account's secret key for the new device. */
export function sealLinkedKey(accountSecret, { id, oldSecret, newPub, random = randomBytes }) {
  const sk = parseSecretKey(accountSecret);
  newPub = parsePublicKey(newPub);
  const oldPub = getPublicKey(oldSecret);
  const k = linkKey(oldSecret, newPub, newPub, oldPub);
  const nonce = random(NONCE);
  const ct = xchacha20poly1305(k, nonce, linkAAD(id, newPub, oldPub)).encrypt(sk);
  k.fill(0);
  sk.fill(0);
  return concatBytes(nonce, ct);
}

/** The new device opens it; any change (a swapped key, another link, a damaged byte) fails. */
export function openLinkedKey(sealed, { id, newSecret, oldPub }) {
  if (!isBytes(sealed, LINK_SEALED_SIZE)) throw new CryptoError('MALFORMED', `sealed key: want ${LINK_SEALED_SIZE} bytes`);
  const newPub = getPublicKey(newSecret);
  const k = linkKey(newSecret, oldPub, newPub, parsePublicKey(oldPub));
  let sk;
  try {
    sk = xchacha20poly1305(k, sealed.subarray(0, NONCE), linkAAD(id, newPub, oldPub)).decrypt(sealed.subarray(NONCE));
  } catch {
    throw new CryptoError('AUTH_FAILED', 'sealed key: authentication failed');
  } finally {
    k.fill(0);
  }
  try {
    return parseSecretKey(sk);
  } finally {
    sk.fill(0);
  }
}
