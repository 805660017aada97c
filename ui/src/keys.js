// The app's only door to ui/src/crypto. Screens call these functions and
// never the crypto module directly, so a change in that module's API is
// absorbed here. Nothing in this file implements a primitive.
import {
  CryptoError,
  UnlockGuard,
  b64urlDecode,
  b64urlEncode,
  createKeyStore,
  encodeNpub,
  generateSecretKey,
  getPublicKey,
  open,
  openKeyStore,
  parsePublicKeyHex,
  publicKeyHex,
  seal,
  signAuth as cryptoSignAuth,
} from './crypto/index.js';
import { generateRecoveryKey, parseRecoveryKey } from './recovery.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export const PROFILE_PURPOSE = 'volunteer-profile';

export function newIdentity() {
  const secretKey = generateSecretKey();
  return { secretKey, pubkey: publicKeyHex(getPublicKey(secretKey)) };
}

export function pubkeyOf(secretKey) {
  return publicKeyHex(getPublicKey(secretKey));
}

export function npub(pubkeyHex) {
  try {
    return encodeNpub(parsePublicKeyHex(pubkeyHex));
  } catch {
    return '';
  }
}

function profileContext(ownerPubkey) {
  return { purpose: PROFILE_PURPOSE, callId: '', itemId: ownerPubkey };
}

// sealProfile: {name, phone} sealed to its owner and every admin, bound to
// the owner's pubkey so the server cannot swap two people's profiles.
export function sealProfile(profile, ownerPubkey, recipients) {
  const body = JSON.stringify({ v: 1, name: profile.name, phone: profile.phone || '' });
  const to = [...new Set([ownerPubkey, ...recipients])].map(parsePublicKeyHex);
  return b64urlEncode(seal(enc.encode(body), profileContext(ownerPubkey), to));
}

// openProfile returns {name, phone}, or null when this key cannot open it
// (not a recipient, tampered, or moved to another person).
export function openProfile(envelope, ownerPubkey, secretKey) {
  if (typeof envelope !== 'string' || envelope === '' || !secretKey) return null;
  try {
    const pt = open(b64urlDecode(envelope), profileContext(ownerPubkey), secretKey);
    const p = JSON.parse(dec.decode(pt));
    if (!p || typeof p.name !== 'string') return null;
    return { name: p.name, phone: typeof p.phone === 'string' ? p.phone : '' };
  } catch {
    return null;
  }
}

// signAuth signs the server's challenge for purpose (login, setup, invite),
// bound to this page's origin.
export function signAuth(purpose, origin, challengeB64, secretKey) {
  const sig = cryptoSignAuth(secretKey, purpose, origin, b64urlDecode(challengeB64));
  return { pubkey: pubkeyOf(secretKey), signature: b64urlEncode(sig) };
}

// ---- key store in localStorage (attempt counting is the crypto module's) ----

function guard(storage) {
  return new UnlockGuard({ storage });
}

export function hasKeyStore(storage) {
  return guard(storage).hasKey();
}

// buildKeyStore is the slow part (PBKDF2); it does not touch storage, so a
// refused setup or invite leaves whatever key the browser already held.
export function buildKeyStore(secretKey, passphrase) {
  return createKeyStore(secretKey, passphrase);
}

export function writeKeyStore(storage, store) {
  guard(storage).save(store);
}

export function removeKeyStore(storage) {
  guard(storage).wipe();
}

// keyStoreStatus: what the login screen shows before anything is typed.
export function keyStoreStatus(storage) {
  const g = guard(storage);
  if (!g.hasKey()) return { present: false };
  const s = g.status();
  return { present: true, attemptsLeft: s.remaining, retryAfterMs: s.waitMs };
}

// unlockKeyStore → {ok:true, secretKey, pubkey} or {ok:false, reason,
// attemptsLeft?, retryAfterMs?}, reason one of missing, wait, wrong, wiped,
// corrupt. The counter is stored beside the key, so it survives reloads.
export async function unlockKeyStore(storage, passphrase) {
  try {
    const secretKey = await guard(storage).unlock(passphrase);
    return { ok: true, secretKey, pubkey: pubkeyOf(secretKey) };
  } catch (err) {
    if (!(err instanceof CryptoError)) throw err;
    const d = err.details || err;
    switch (err.code) {
      case 'NO_KEY':
        return { ok: false, reason: 'missing' };
      case 'LOCKED_OUT':
        return { ok: false, reason: 'wait', retryAfterMs: d.waitMs };
      case 'WRONG_PASSPHRASE':
        return { ok: false, reason: 'wrong', attemptsLeft: d.remaining, retryAfterMs: d.waitMs };
      case 'WIPED':
        return { ok: false, reason: 'wiped' };
      default:
        return { ok: false, reason: 'corrupt' };
    }
  }
}

// ---- recovery backup ----

export const BACKUP_TYPE = 'llamenos-key-backup';

// createBackup encrypts the secret key under a fresh recovery key, in the key
// store format. The file says nothing about whose key it is.
export async function createBackup(secretKey, now = new Date()) {
  const recoveryKey = generateRecoveryKey();
  const store = await createKeyStore(secretKey, parseRecoveryKey(recoveryKey).key);
  const day = now.toISOString().slice(0, 10);
  const file = JSON.stringify({ type: BACKUP_TYPE, version: 1, createdAt: day, key: store }, null, 2) + '\n';
  return { recoveryKey, file, filename: `llamenos-key-backup-${day}.json` };
}

export class BackupError extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'BackupError';
    this.reason = reason; // file, recoveryKey, wrongKey
  }
}

// restoreBackup is not attempt-limited: the file is in the person's hands and
// the recovery key has 128 bits.
export async function restoreBackup(fileText, recoveryKeyInput) {
  let doc;
  try {
    doc = JSON.parse(fileText);
  } catch {
    throw new BackupError('file');
  }
  if (!doc || doc.type !== BACKUP_TYPE || doc.version !== 1 || !doc.key || typeof doc.key !== 'object') {
    throw new BackupError('file');
  }
  const rk = parseRecoveryKey(recoveryKeyInput);
  if (!rk.ok) throw new BackupError('recoveryKey');
  let secretKey;
  try {
    secretKey = await openKeyStore(doc.key, rk.key);
  } catch (err) {
    if (err instanceof CryptoError && err.code === 'WRONG_PASSPHRASE') throw new BackupError('wrongKey');
    throw new BackupError('file');
  }
  return { secretKey, pubkey: pubkeyOf(secretKey) };
}
