// The app's only door to ui/src/crypto. Screens call these functions and
// never the crypto module directly, so a change in that module's API is
// absorbed here. Nothing in this file implements a primitive.
import {
  CryptoError,
  PURPOSE,
  UnlockGuard,
  b64urlDecode,
  b64urlEncode,
  createKeyStore,
  encodeNpub,
  generateSecretKey,
  getPublicKey,
  linkCommitment,
  linkConfirmationCode,
  newLinkKey,
  open,
  openLinkedKey,
  openKeyStore,
  parseEnvelope,
  parsePublicKeyHex,
  publicKeyHex,
  rewrap,
  seal,
  sealLinkedKey,
  sha256,
  signAuth as cryptoSignAuth,
  VERSION_2,
} from './crypto/index.js';
import { generateRecoveryKey, parseRecoveryKey } from './recovery.js';

// The envelope purposes, for the context builders (notes.js).
export { PURPOSE };
// The signed admin set (adminset.js).
export { ADMIN_ADD, ADMIN_REMOVE, ZERO_DIGEST, signAdminStatement, verifyAdminChain } from './crypto/index.js';

// envelopeDigest: SHA-256 of an envelope's bytes, base64url: how a re-seal
// names the envelope it replaces.
export function envelopeDigest(envelope) {
  return b64urlEncode(sha256(b64urlDecode(envelope)));
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

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
  return { purpose: PURPOSE.VOLUNTEER_PROFILE, callId: '', itemId: ownerPubkey };
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

// ---- sealed data other than profiles (notes, drafts, caller numbers, bans) ----

// recipientKeys: distinct, valid hex public keys → the crypto module's bytes.
// A duplicate (the author is also an admin) is dropped rather than refused.
function recipientKeys(hexKeys) {
  return [...new Set(hexKeys.filter((k) => typeof k === 'string' && k !== ''))].map(parsePublicKeyHex);
}

// sealBytes seals plaintext bytes to every recipient under the context
// {purpose, callId, itemId}; the result is the API's base64url form.
export function sealBytes(bytes, ctx, recipientsHex) {
  return b64urlEncode(seal(bytes, ctx, recipientKeys(recipientsHex)));
}

export function sealText(text, ctx, recipientsHex) {
  return sealBytes(enc.encode(text), ctx, recipientsHex);
}

export function sealJSON(value, ctx, recipientsHex) {
  return sealText(JSON.stringify(value), ctx, recipientsHex);
}

// openFailure maps why an envelope did not open to what the UI says:
//   locked       — no key in memory (unlock first)
//   missing      — there is no envelope
//   notRecipient — well formed, but not addressed to this key
//   integrity    — anything else: bad base64, a damaged or truncated envelope,
//                  an unknown version, or an AEAD failure, which is also what
//                  an envelope moved to another call, item or purpose gives.
// The plaintext of a failed open is never returned, not even in part.
export function openFailure(err) {
  if (err instanceof CryptoError && err.code === 'NOT_RECIPIENT') return 'notRecipient';
  return 'integrity';
}

// openBytes → {ok:true, bytes} or {ok:false, reason} (see openFailure).
export function openBytes(envelope, ctx, secretKey) {
  if (!secretKey) return { ok: false, reason: 'locked' };
  if (typeof envelope !== 'string' || envelope === '') return { ok: false, reason: 'missing' };
  try {
    return { ok: true, bytes: open(b64urlDecode(envelope), ctx, secretKey) };
  } catch (err) {
    return { ok: false, reason: openFailure(err) };
  }
}

// openText: as openBytes, with the plaintext as a string. Bytes that are not
// UTF-8 were not written by this app: an integrity error.
export function openText(envelope, ctx, secretKey) {
  const r = openBytes(envelope, ctx, secretKey);
  if (!r.ok) return r;
  try {
    return { ok: true, text: dec.decode(r.bytes) };
  } catch {
    return { ok: false, reason: 'integrity' };
  }
}

export function openJSON(envelope, ctx, secretKey) {
  const r = openText(envelope, ctx, secretKey);
  if (!r.ok) return r;
  try {
    return { ok: true, value: JSON.parse(r.text) };
  } catch {
    return { ok: false, reason: 'integrity' };
  }
}

// resealEnvelope gives an envelope to who should read it now. A v2
// envelope is re-wrapped: the content key is opened from this key's wrap,
// wraps are added for the new recipients and dropped for the others, and
// the content stays byte for byte (the server checks that). A v1 envelope,
// whose header is in its content AAD, is sealed again as v2, once.
// → {ok:true, envelope} or {ok:false, reason} (see openFailure).
export function resealEnvelope(envelope, ctx, secretKey, recipientsHex) {
  if (!secretKey) return { ok: false, reason: 'locked' };
  if (typeof envelope !== 'string' || envelope === '') return { ok: false, reason: 'missing' };
  try {
    const env = b64urlDecode(envelope);
    const to = recipientKeys(recipientsHex);
    if (parseEnvelope(env).version === VERSION_2) return { ok: true, envelope: b64urlEncode(rewrap(env, ctx, secretKey, to)) };
    const pt = open(env, ctx, secretKey);
    try {
      return { ok: true, envelope: b64urlEncode(seal(pt, ctx, to)) };
    } finally {
      pt.fill(0);
    }
  } catch (err) {
    return { ok: false, reason: openFailure(err) };
  }
}

// envelopeRecipients lists the hex keys an envelope is addressed to (no key
// needed), or null when it does not even parse.
export function envelopeRecipients(envelope) {
  try {
    return parseEnvelope(b64urlDecode(envelope)).recipients.map((r) => publicKeyHex(r));
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

// changePassphrase re-encrypts this device's key under a new passphrase. The
// current passphrase goes through the attempt counter like a login (a wrong
// one counts, and the tenth erases the key), and the key it opens must be
// the signed-in account's. → {ok:true} or unlockKeyStore's refusal, or
// {ok:false, reason:'otherAccount'}.
export async function changePassphrase(storage, current, next, accountPubkey) {
  const r = await unlockKeyStore(storage, current);
  if (!r.ok) return r;
  try {
    if (r.pubkey !== accountPubkey) return { ok: false, reason: 'otherAccount' };
    const store = await createKeyStore(r.secretKey, next);
    writeKeyStore(storage, store);
    return { ok: true };
  } finally {
    r.secretKey.fill(0);
  }
}

// ---- linking a new device (docs/crypto.md, "Device linking") ----

// startLink: the new device's ephemeral key and its commitment (base64url).
export function startLink() {
  const k = newLinkKey();
  return { secretKey: k.secretKey, pubkey: publicKeyHex(k.publicKey), commitment: b64urlEncode(linkCommitment(k.publicKey)) };
}

// answerLinkKey: the signed-in device's ephemeral key.
export function answerLinkKey() {
  const k = newLinkKey();
  return { secretKey: k.secretKey, pubkey: publicKeyHex(k.publicKey) };
}

// linkCommitmentMatches: the new device's revealed key is the one it
// committed to when the link was made.
export function linkCommitmentMatches(newPubHex, commitmentB64) {
  try {
    const want = b64urlDecode(commitmentB64);
    const got = linkCommitment(parsePublicKeyHex(newPubHex));
    return want.length === got.length && got.every((b, i) => b === want[i]);
  } catch {
    return false;
  }
}

export function linkCode(id, newPubHex, oldPubHex) {
  return linkConfirmationCode(id, parsePublicKeyHex(newPubHex), parsePublicKeyHex(oldPubHex));
}

// sealForLink: the account's secret key, for the new device only.
export function sealForLink(accountSecret, { id, oldSecret, newPubHex }) {
  return b64urlEncode(sealLinkedKey(accountSecret, { id, oldSecret, newPub: parsePublicKeyHex(newPubHex) }));
}

// openFromLink → {secretKey, pubkey}; throws a CryptoError when the sealed
// key does not open between these two keys (tampered, or not for this link).
export function openFromLink(sealedB64, { id, newSecret, oldPubHex }) {
  const secretKey = openLinkedKey(b64urlDecode(sealedB64), { id, newSecret, oldPub: parsePublicKeyHex(oldPubHex) });
  return { secretKey, pubkey: pubkeyOf(secretKey) };
}

// ---- sealed export files ----

export const SEALED_EXPORT_TYPE = 'llamenos-notes-export-sealed';
const EXPORT_CONTEXT = { purpose: PURPOSE.EXPORT, callId: '', itemId: 'notes' };

// sealExport wraps an export's text in a file only the exporting person's
// key opens: {type, version, createdAt, envelope}.
export function sealExport(text, ownerPubkey, now = new Date()) {
  const envelope = sealText(text, EXPORT_CONTEXT, [ownerPubkey]);
  return JSON.stringify({ type: SEALED_EXPORT_TYPE, version: 1, createdAt: now.toISOString().slice(0, 10), envelope }, null, 2) + '\n';
}

// openExport → {ok:true, text} or {ok:false, reason}: file (not a sealed
// export), notRecipient, integrity, locked.
export function openExport(fileText, secretKey) {
  let doc;
  try {
    doc = JSON.parse(fileText);
  } catch {
    return { ok: false, reason: 'file' };
  }
  if (!doc || doc.type !== SEALED_EXPORT_TYPE || doc.version !== 1 || typeof doc.envelope !== 'string') return { ok: false, reason: 'file' };
  return openText(doc.envelope, EXPORT_CONTEXT, secretKey);
}
