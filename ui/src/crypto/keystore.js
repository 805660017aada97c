// Browser key store: the 32-byte secret key encrypted under a passphrase.
//   key  = PBKDF2-SHA256(NFKC(passphrase), salt 32 B, iter ≥ 600,000, 32 B)
//   ct   = XChaCha20-Poly1305(key, nonce 24 B, secret, AAD)
//   AAD  = LP("llamenos/v1/keystore") ‖ LP("pbkdf2-sha256") ‖ LP(u32be(iter)) ‖ LP(salt)
//   JSON {"v":1,"kdf":"pbkdf2-sha256","iter":…,"salt":b64url,"nonce":b64url,"ct":b64url}
// The public key is deliberately absent: a seized laptop's storage should not
// name the volunteer. It is derived from the secret after unlocking.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64urlDecode, b64urlEncode, lengthPrefixed, randomBytes, u32be, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { parseSecretKey } from './keys.js';

export const KEYSTORE_VERSION = 1;
export const KDF = 'pbkdf2-sha256';
/** Production floor (OWASP 2023 for PBKDF2-HMAC-SHA256). */
export const MIN_ITERATIONS = 600_000;
/** Ceiling when opening, so a planted store cannot hang the page. */
export const MAX_ITERATIONS = 10_000_000;
/**
 * Floor allowed only with {insecureTestIterations: true}: tests would
 * otherwise spend most of their time in PBKDF2. Never pass it in the app.
 */
export const TEST_MIN_ITERATIONS = 1_000;
export const MIN_PASSPHRASE_LENGTH = 8;

const SALT = 32;
const NONCE = 24;
const LABEL = 'llamenos/v1/keystore';

function iterationFloor(insecureTestIterations) {
  return insecureTestIterations === true ? TEST_MIN_ITERATIONS : MIN_ITERATIONS;
}

function checkIterations(iter, insecureTestIterations) {
  const floor = iterationFloor(insecureTestIterations);
  if (!Number.isSafeInteger(iter) || iter < floor || iter > MAX_ITERATIONS) {
    throw new CryptoError('MALFORMED', `key store: iterations must be an integer in ${floor}..${MAX_ITERATIONS}`);
  }
}

/** Passphrases are NFKC-normalised so the same words typed on another keyboard still unlock. */
function passphraseBytes(passphrase) {
  if (typeof passphrase !== 'string') throw new CryptoError('WRONG_PASSPHRASE', 'passphrase must be a string');
  return utf8(passphrase.normalize('NFKC'));
}

/**
 * PBKDF2-SHA256 to 32 bytes: WebCrypto where present (fast, native), else the
 * audited pure-JS version. Both give identical output (tested).
 */
export async function deriveKey(passwordBytes, salt, iterations, { useWebCrypto = true } = {}) {
  const subtle = globalThis.crypto?.subtle;
  if (useWebCrypto && subtle) {
    const base = await subtle.importKey('raw', passwordBytes, 'PBKDF2', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256);
    return new Uint8Array(bits);
  }
  return pbkdf2Async(sha256, passwordBytes, salt, { c: iterations, dkLen: 32 });
}

function aad(iter, salt) {
  return lengthPrefixed(LABEL, KDF, u32be(iter), salt);
}

/**
 * Encrypts secretKey under passphrase. Returns the JSON-ready object.
 * @param {Uint8Array} secretKey
 * @param {string} passphrase at least MIN_PASSPHRASE_LENGTH characters
 * @param {{iterations?: number, insecureTestIterations?: boolean, random?: (n:number)=>Uint8Array}} [opts]
 */
export async function createKeyStore(secretKey, passphrase, opts = {}) {
  const { iterations = MIN_ITERATIONS, insecureTestIterations = false, random = randomBytes } = opts;
  const sk = parseSecretKey(secretKey);
  checkIterations(iterations, insecureTestIterations);
  if (typeof passphrase !== 'string' || [...passphrase.normalize('NFKC')].length < MIN_PASSPHRASE_LENGTH) {
    throw new CryptoError('WEAK_PASSPHRASE', `passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  const salt = random(SALT);
  const nonce = random(NONCE);
  const key = await deriveKey(passphraseBytes(passphrase), salt, iterations);
  try {
    const ct = xchacha20poly1305(key, nonce, aad(iterations, salt)).encrypt(sk);
    return { v: KEYSTORE_VERSION, kdf: KDF, iter: iterations, salt: b64urlEncode(salt), nonce: b64urlEncode(nonce), ct: b64urlEncode(ct) };
  } finally {
    key.fill(0);
    sk.fill(0);
  }
}

/** Strict structural check of a stored key store (object or JSON text). */
export function parseKeyStore(store, { insecureTestIterations = false } = {}) {
  let obj = store;
  if (typeof store === 'string') {
    try {
      obj = JSON.parse(store);
    } catch {
      throw new CryptoError('MALFORMED', 'key store: not JSON');
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new CryptoError('MALFORMED', 'key store: not an object');
  const keys = Object.keys(obj).sort().join(',');
  if (keys !== 'ct,iter,kdf,nonce,salt,v') throw new CryptoError('MALFORMED', 'key store: unexpected fields');
  if (obj.v !== KEYSTORE_VERSION) throw new CryptoError('UNKNOWN_VERSION', `key store: unknown version ${JSON.stringify(obj.v)}`);
  if (obj.kdf !== KDF) throw new CryptoError('MALFORMED', 'key store: unknown kdf');
  checkIterations(obj.iter, insecureTestIterations);
  const salt = b64urlDecode(obj.salt);
  const nonce = b64urlDecode(obj.nonce);
  const ct = b64urlDecode(obj.ct);
  if (salt.length !== SALT || nonce.length !== NONCE || ct.length !== 32 + 16) {
    throw new CryptoError('MALFORMED', 'key store: wrong salt, nonce or ciphertext length');
  }
  return { iter: obj.iter, salt, nonce, ct };
}

/**
 * Decrypts the secret key. A wrong passphrase (or a damaged store — the two
 * cannot be told apart) throws CryptoError WRONG_PASSPHRASE.
 */
export async function openKeyStore(store, passphrase, { insecureTestIterations = false } = {}) {
  const { iter, salt, nonce, ct } = parseKeyStore(store, { insecureTestIterations });
  const key = await deriveKey(passphraseBytes(passphrase), salt, iter);
  let sk;
  try {
    sk = xchacha20poly1305(key, nonce, aad(iter, salt)).decrypt(ct);
  } catch {
    throw new CryptoError('WRONG_PASSPHRASE', 'wrong passphrase (or the stored key is damaged)');
  } finally {
    key.fill(0);
  }
  try {
    return parseSecretKey(sk);
  } finally {
    sk.fill(0);
  }
}
