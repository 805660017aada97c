// The signed admin set. Twin of e2ee/adminset.go; docs/crypto.md has the
// format. Each change of the admin list is a statement signed by an admin
// already in it, chained to the one before by its digest; the first is the
// first admin adding themself.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, lengthPrefixed, randomBytes } from './bytes.js';
import { CryptoError } from './errors.js';
import { getPublicKey, parsePublicKeyHex, publicKeyHex } from './keys.js';
import { signSchnorr, verifySchnorr } from './auth.js';

export const ADMIN_ADD = 'add';
export const ADMIN_REMOVE = 'remove';
export const MAX_ADMIN_CHAIN = 4096;
export const ZERO_DIGEST = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/**
 * SHA-256(LP("llamenos/v1/admin-set") ‖ LP(prev 32) ‖ LP(op) ‖ LP(key 32) ‖ LP(by 32)),
 * over a statement in its JSON form {op, key, by, prev} (hex).
 */
export function adminStatementDigest(st) {
  if (!st || (st.op !== ADMIN_ADD && st.op !== ADMIN_REMOVE)) throw new CryptoError('MALFORMED', 'admin statement: op must be add or remove');
  if (typeof st.prev !== 'string' || !HEX64.test(st.prev)) throw new CryptoError('MALFORMED', 'admin statement: prev must be 64 lowercase hex');
  const key = parsePublicKeyHex(st.key);
  const by = parsePublicKeyHex(st.by);
  return sha256(lengthPrefixed('llamenos/v1/admin-set', hexToBytes(st.prev), st.op, key, by));
}

/** A statement {op, key, prev} signed by secretKey: {op, key, by, prev, sig}. */
export function signAdminStatement(secretKey, { op, key, prev }, { random = randomBytes } = {}) {
  const st = { op, key, by: publicKeyHex(getPublicKey(secretKey)), prev };
  const sig = signSchnorr(secretKey, adminStatementDigest(st), random(32));
  return { ...st, sig: bytesToHex(sig) };
}

/**
 * Verifies a chain statement by statement. → {admins (hex, in the order
 * added), head (hex digest of the last statement, or ZERO_DIGEST), heads
 * (the digest after each statement), error (null, or why the statement at
 * heads.length was refused)}. What the statements before a bad one say is
 * returned; nothing after it is believed.
 */
export function verifyAdminChain(chain) {
  const out = { admins: [], head: ZERO_DIGEST, heads: [], error: null };
  if (!Array.isArray(chain)) {
    out.error = 'not a list';
    return out;
  }
  for (let i = 0; i < chain.length; i++) {
    const st = chain[i];
    const fail = (why) => {
      out.error = `statement ${i}: ${why}`;
      return out;
    };
    if (i >= MAX_ADMIN_CHAIN) return fail(`longer than ${MAX_ADMIN_CHAIN} statements`);
    if (!st || typeof st !== 'object') return fail('not a statement');
    if (st.prev !== out.head) return fail('does not follow the one before it');
    let digest;
    try {
      digest = adminStatementDigest(st);
    } catch (err) {
      return fail(err.message);
    }
    if (i === 0) {
      if (st.op !== ADMIN_ADD || st.key !== st.by) return fail('the first statement must be the first admin adding themself');
    } else if (!out.admins.includes(st.by)) {
      return fail('signed by someone who is not an admin');
    }
    if (st.op === ADMIN_ADD && out.admins.includes(st.key)) return fail('adds an admin already in the set');
    if (st.op === ADMIN_REMOVE && !out.admins.includes(st.key)) return fail('removes someone not in the set');
    if (st.op === ADMIN_REMOVE && out.admins.length === 1) return fail('removes the last admin');
    if (typeof st.sig !== 'string' || !HEX128.test(st.sig) || !verifySchnorr(hexToBytes(st.by), digest, hexToBytes(st.sig))) {
      return fail('bad signature');
    }
    out.admins = st.op === ADMIN_ADD ? [...out.admins, st.key] : out.admins.filter((a) => a !== st.key);
    out.head = bytesToHex(digest);
    out.heads.push(out.head);
  }
  return out;
}
