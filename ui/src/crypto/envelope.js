// Envelope v1 and v2: one content key, XChaCha20-Poly1305 content, the key
// wrapped per recipient with ephemeral ECDH + HKDF-SHA256 +
// XChaCha20-Poly1305, all bound to a context. v1's content AAD covers the
// whole header; v2's only the version byte, so rewrap can add and drop
// wraps without touching the content. seal writes v2; open reads both.
// Twin of e2ee/envelope.go; docs/crypto.md is normative.
//
//   version u8 = 0x01 or 0x02 | n u8 (1..255)
//   n × { recipient x-only 32 | ephemeral compressed 33 | wrap nonce 24 | wrapped key 48 }
//   content nonce 24 | content ciphertext (len(pt) + 16)
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, equalBytes, isBytes, lengthPrefixed, randomBytes, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { generateSecretKey, getPublicKey, liftX, parseSecretKey } from './keys.js';

export const VERSION_1 = 0x01;
export const VERSION_2 = 0x02;
export const MAX_RECIPIENTS = 255;
export const MAX_PLAINTEXT_SIZE = 16 * 1024 * 1024;
export const MAX_CONTEXT_FIELD_SIZE = 256;

/**
 * The fixed purpose labels, the same list as e2ee/context.go. This is the one
 * place the browser code spells them: everything else uses PURPOSE.X, and the
 * vector tests fail unless both envelope vector files cover exactly PURPOSES.
 * Adding one is a format change (docs/crypto.md).
 */
export const PURPOSE = Object.freeze({
  NOTE: 'note', // a call note: text + custom field values
  NOTE_HISTORY: 'note-history', // an earlier revision of an edited note
  DRAFT: 'draft', // a note being written, kept in localStorage
  TRANSCRIPT: 'transcript', // a call transcript sealed by the daemon
  VOICEMAIL_TRANSCRIPT: 'voicemail-transcript', // a voicemail transcript sealed by the daemon
  VOICEMAIL_AUDIO: 'voicemail-audio', // a voicemail's µ-law audio sealed by the daemon
  CALLER_NUMBER: 'caller-number', // a caller's E.164 number, sealed to admins
  VOLUNTEER_PROFILE: 'volunteer-profile', // a volunteer's personal data
  BAN: 'ban', // a ban entry's number and reason, for admins
  EXPORT: 'export', // an admin export file
});

/** Every purpose label, in documentation order. */
export const PURPOSES = Object.freeze(Object.values(PURPOSE));

const KEY = 32;
const NONCE = 24;
const TAG = 16;
const PK = 32;
const EPH = 33;
const WRAPPED = KEY + TAG;
const ENTRY = PK + EPH + NONCE + WRAPPED; // 137
const PREFIX = 2;
export const MIN_ENVELOPE_SIZE = PREFIX + ENTRY + NONCE + TAG;

const ENVELOPE_LABEL = 'llamenos/v1/envelope';
const WRAP_INFO_PREFIX = 'llamenos/v1/wrap/';

/** LP("llamenos/v1/envelope") ‖ LP(purpose) ‖ LP(callId) ‖ LP(itemId), after checks. */
function contextAAD(ctx) {
  if (ctx === null || typeof ctx !== 'object' || !PURPOSES.includes(ctx.purpose)) {
    throw new CryptoError('UNKNOWN_PURPOSE', `unknown purpose ${JSON.stringify(ctx?.purpose)}`);
  }
  const fields = [];
  for (const name of ['callId', 'itemId']) {
    const v = ctx[name] ?? '';
    if (typeof v !== 'string') throw new CryptoError('INVALID_CONTEXT', `${name} must be a string`);
    const b = utf8(v);
    if (b.length > MAX_CONTEXT_FIELD_SIZE) {
      throw new CryptoError('INVALID_CONTEXT', `${name} longer than ${MAX_CONTEXT_FIELD_SIZE} bytes`);
    }
    fields.push(b);
  }
  return lengthPrefixed(ENVELOPE_LABEL, ctx.purpose, fields[0], fields[1]);
}

// HKDF-SHA256(ikm = shared x, salt = E(33) ‖ recipient(32), info = "llamenos/v1/wrap/" + purpose, 32)
function wrapKey(sharedX, ephCompressed, recipient, purpose) {
  return hkdf(sha256, sharedX, concatBytes(ephCompressed, recipient), utf8(WRAP_INFO_PREFIX + purpose), KEY);
}

// The content AAD: the context and, in v1, the whole header; in v2 only the
// version byte.
function contentAAD(aad, header) {
  return header[0] === VERSION_1 ? concatBytes(aad, header) : concatBytes(aad, header.subarray(0, 1));
}

// wrapEntry writes recipient r's entry at off: r ‖ E ‖ wrap nonce ‖ wrapped
// key, drawing the ephemeral secret and then the wrap nonce.
function wrapEntry(out, off, key, r, aad, purpose, random) {
  const eph = generateSecretKey({ random });
  const ephPub = secp256k1.getPublicKey(eph, true);
  const shared = secp256k1.getSharedSecret(eph, concatBytes(Uint8Array.of(0x02), r), true).subarray(1);
  eph.fill(0);
  const wk = wrapKey(shared, ephPub, r, purpose);
  shared.fill(0);
  const wrapNonce = random(NONCE);
  const wrapped = xchacha20poly1305(wk, wrapNonce, aad).encrypt(key);
  wk.fill(0);
  out.set(r, off);
  out.set(ephPub, off + PK);
  out.set(wrapNonce, off + PK + EPH);
  out.set(wrapped, off + PK + EPH + NONCE);
}

function parse(env) {
  if (!isBytes(env)) throw new CryptoError('MALFORMED', 'envelope: expected bytes');
  if (env.length === 0) throw new CryptoError('MALFORMED', 'envelope: empty');
  if (env[0] !== VERSION_1 && env[0] !== VERSION_2) {
    throw new CryptoError('UNKNOWN_VERSION', `envelope: unknown version 0x${env[0].toString(16).padStart(2, '0')}`);
  }
  if (env.length < PREFIX) throw new CryptoError('MALFORMED', 'envelope: truncated before recipient count');
  const n = env[1];
  if (n === 0) throw new CryptoError('MALFORMED', 'envelope: zero recipients');
  const headerSize = PREFIX + n * ENTRY;
  if (env.length < headerSize + NONCE + TAG) {
    throw new CryptoError('MALFORMED', `envelope: truncated (${env.length} bytes, need at least ${headerSize + NONCE + TAG})`);
  }
  const plaintextSize = env.length - headerSize - NONCE - TAG;
  if (plaintextSize > MAX_PLAINTEXT_SIZE) throw new CryptoError('TOO_LARGE', 'envelope: plaintext exceeds the limit');
  const entries = [];
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    const e = env.subarray(PREFIX + i * ENTRY, PREFIX + (i + 1) * ENTRY);
    const recipient = e.subarray(0, PK);
    try {
      liftX(recipient);
    } catch {
      throw new CryptoError('MALFORMED', `envelope: recipient ${i} is not a curve point`);
    }
    const hex = bytesToHex(recipient);
    if (seen.has(hex)) throw new CryptoError('MALFORMED', `envelope: duplicate recipient at entry ${i}`);
    seen.add(hex);
    const ephemeral = e.subarray(PK, PK + EPH);
    try {
      if (ephemeral[0] !== 0x02 && ephemeral[0] !== 0x03) throw new Error('prefix');
      secp256k1.Point.fromBytes(ephemeral);
    } catch {
      throw new CryptoError('MALFORMED', `envelope: ephemeral key ${i} is not a compressed curve point`);
    }
    entries.push({
      recipient,
      ephemeral,
      wrapNonce: e.subarray(PK + EPH, PK + EPH + NONCE),
      wrapped: e.subarray(PK + EPH + NONCE),
    });
  }
  return { version: env[0], n, headerSize, plaintextSize, entries };
}

/**
 * Strict layout check without decryption: who can open it and how big it is.
 * @param {Uint8Array} env
 */
export function parseEnvelope(env) {
  const p = parse(env);
  const recipients = p.entries.map((e) => Uint8Array.from(e.recipient));
  return {
    version: p.version,
    recipients,
    plaintextSize: p.plaintextSize,
    size: env.length,
    includes: (pk) => recipients.some((r) => equalBytes(r, pk)),
  };
}

/**
 * Seals plaintext for every recipient (x-only public keys) under ctx.
 * `random` exists for reproducible test vectors; it must draw bytes in the
 * order Go's Seal does: content key, content nonce, then per recipient its
 * ephemeral secret (redrawn while out of range) and its wrap nonce.
 * @param {Uint8Array} plaintext
 * @param {{purpose:string, callId?:string, itemId?:string}} ctx
 * @param {Uint8Array[]} recipients
 * @param {{random?: (n:number)=>Uint8Array}} [opts]
 */
export function seal(plaintext, ctx, recipients, { random = randomBytes } = {}) {
  const aad = contextAAD(ctx);
  if (!isBytes(plaintext)) throw new CryptoError('MALFORMED', 'plaintext must be a Uint8Array');
  if (!Array.isArray(recipients) || recipients.length === 0) throw new CryptoError('INVALID_KEY', 'no recipients');
  if (recipients.length > MAX_RECIPIENTS) throw new CryptoError('TOO_LARGE', `more than ${MAX_RECIPIENTS} recipients`);
  if (plaintext.length > MAX_PLAINTEXT_SIZE) throw new CryptoError('TOO_LARGE', 'plaintext exceeds the limit');
  const seen = new Set();
  recipients.forEach((r, i) => {
    liftX(r);
    const hex = bytesToHex(r);
    if (seen.has(hex)) throw new CryptoError('DUPLICATE_RECIPIENT', `recipient ${i} is listed twice`);
    seen.add(hex);
  });

  const key = random(KEY);
  const contentNonce = random(NONCE);
  const header = new Uint8Array(PREFIX + recipients.length * ENTRY);
  header[0] = VERSION_2;
  header[1] = recipients.length;
  try {
    recipients.forEach((r, i) => wrapEntry(header, PREFIX + i * ENTRY, key, r, aad, ctx.purpose, random));
    const ct = xchacha20poly1305(key, contentNonce, contentAAD(aad, header)).encrypt(plaintext);
    return concatBytes(header, contentNonce, ct);
  } finally {
    key.fill(0);
  }
}

/**
 * Opens env with secretKey under ctx. Throws CryptoError with code
 * UNKNOWN_VERSION / MALFORMED (layout), NOT_RECIPIENT, or AUTH_FAILED
 * (tampering or wrong context); never returns partial plaintext.
 */
export function open(env, ctx, secretKey) {
  const aad = contextAAD(ctx);
  const p = parse(env);
  const key = unwrapKey(p, aad, ctx, secretKey);
  try {
    return openContent(env, p, aad, key);
  } finally {
    key.fill(0);
  }
}

function unwrapKey(p, aad, ctx, secretKey) {
  const sk = parseSecretKey(secretKey);
  const me = getPublicKey(sk);
  const entry = p.entries.find((e) => equalBytes(e.recipient, me));
  if (!entry) {
    sk.fill(0);
    throw new CryptoError('NOT_RECIPIENT', 'not a recipient of this envelope');
  }
  const shared = secp256k1.getSharedSecret(sk, entry.ephemeral, true).subarray(1);
  sk.fill(0);
  const wk = wrapKey(shared, entry.ephemeral, me, ctx.purpose);
  shared.fill(0);
  try {
    return xchacha20poly1305(wk, entry.wrapNonce, aad).decrypt(entry.wrapped);
  } catch {
    throw new CryptoError('AUTH_FAILED', 'authentication failed (key wrap)');
  } finally {
    wk.fill(0);
  }
}

function openContent(env, p, aad, key) {
  try {
    const nonce = env.subarray(p.headerSize, p.headerSize + NONCE);
    return xchacha20poly1305(key, nonce, contentAAD(aad, env.subarray(0, p.headerSize))).decrypt(env.subarray(p.headerSize + NONCE));
  } catch {
    throw new CryptoError('AUTH_FAILED', 'authentication failed (content)');
  }
}

/**
 * Re-wraps a v2 envelope for another recipient list without touching its
 * content: opens the content key from secretKey's own wrap (and checks the
 * content opens), keeps the entries of recipients in `recipients` that have
 * one, in that order, and appends a fresh wrap (new ephemeral key, new wrap
 * nonce) for each of the others. The content nonce and ciphertext are
 * copied byte for byte. A v1 envelope cannot be re-wrapped (its header is
 * in the content AAD): seal its plaintext again. `random` draws as seal
 * does per recipient.
 */
export function rewrap(env, ctx, secretKey, recipients, { random = randomBytes } = {}) {
  const aad = contextAAD(ctx);
  const p = parse(env);
  if (p.version !== VERSION_2) throw new CryptoError('UNKNOWN_VERSION', 'only a v2 envelope can be re-wrapped');
  if (!Array.isArray(recipients) || recipients.length === 0) throw new CryptoError('INVALID_KEY', 'no recipients');
  if (recipients.length > MAX_RECIPIENTS) throw new CryptoError('TOO_LARGE', `more than ${MAX_RECIPIENTS} recipients`);
  const seen = new Set();
  recipients.forEach((r, i) => {
    liftX(r);
    const hex = bytesToHex(r);
    if (seen.has(hex)) throw new CryptoError('DUPLICATE_RECIPIENT', `recipient ${i} is listed twice`);
    seen.add(hex);
  });
  const key = unwrapKey(p, aad, ctx, secretKey);
  try {
    openContent(env, p, aad, key).fill(0);
    const header = new Uint8Array(PREFIX + recipients.length * ENTRY);
    header[0] = VERSION_2;
    header[1] = recipients.length;
    recipients.forEach((r, i) => {
      const off = PREFIX + i * ENTRY;
      const j = p.entries.findIndex((e) => equalBytes(e.recipient, r));
      if (j >= 0) header.set(env.subarray(PREFIX + j * ENTRY, PREFIX + (j + 1) * ENTRY), off);
      else wrapEntry(header, off, key, r, aad, ctx.purpose, random);
    });
    return concatBytes(header, env.subarray(p.headerSize));
  } finally {
    key.fill(0);
  }
}
