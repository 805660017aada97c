// Whom this browser seals to. The server says who the admins are (me.admins)
// and serves the signed admin set (me.adminSet); the browser believes only
// the admins the set vouches for, after verifying every signature, and only
// if the set extends what this browser saw before (its pin in
// localStorage). An admin the server names but the set does not vouch for —
// one added by editing the database, say — is refused and shown.
import { ADMIN_ADD, ADMIN_REMOVE, ZERO_DIGEST, signAdminStatement, verifyAdminChain } from './keys.js';
import { PREFIX } from './storage.js';

export const PIN_KEY = PREFIX + 'adminset';

function readPin(storage) {
  try {
    const p = JSON.parse(storage.getItem(PIN_KEY) || 'null');
    if (p && Number.isInteger(p.len) && p.len > 0 && typeof p.head === 'string' && Array.isArray(p.admins)) return p;
  } catch {
    // A damaged pin is no pin: the next verified set is pinned again.
  }
  return null;
}

// verified remembers the last chain it verified: the same chain comes with
// every update of me, and each statement costs a signature check.
let last = { key: null, v: null };
function verified(chain) {
  const key = JSON.stringify(chain);
  if (last.key !== key) last = { key, v: verifyAdminChain(chain) };
  return last.v;
}

// trust → {admins: hex keys to seal to, refused: admins the server names
// that the set does not vouch for, problem: null | 'empty' | 'broken' |
// 'rollback', chain: the verified state}. It pins a verified set that
// extends the pin.
export function trust(me, storage = globalThis.localStorage) {
  const claimed = Array.isArray(me?.admins) ? me.admins : [];
  const chain = Array.isArray(me?.adminSet) ? me.adminSet : [];
  const v = verified(chain);
  let problem = v.error ? 'broken' : null;
  let vouched = v.admins;
  const pin = storage ? readPin(storage) : null;
  if (pin && (v.heads.length < pin.len || v.heads[pin.len - 1] !== pin.head)) {
    // The server shows a set that does not extend what was seen here: it
    // was cut or replaced. Keep to what was pinned.
    problem = 'rollback';
    vouched = pin.admins;
  } else if (storage && v.heads.length > 0 && (!pin || v.heads.length > pin.len)) {
    storage.setItem(PIN_KEY, JSON.stringify({ len: v.heads.length, head: v.head, admins: v.admins }));
  }
  if (!problem && chain.length === 0) problem = 'empty';
  return {
    admins: claimed.filter((a) => vouched.includes(a)),
    refused: claimed.filter((a) => !vouched.includes(a)),
    vouched,
    problem,
    head: v.head,
    len: v.heads.length,
  };
}

// sealingAdmins: the admins an envelope for people is sealed to.
export function sealingAdmins(me, storage) {
  return trust(me, storage).admins;
}

// statement signs a change of the admin set on top of what me shows.
export function statement(me, op, key, secretKey, storage) {
  const tr = trust(me, storage);
  if (tr.problem === 'broken' || tr.problem === 'rollback') throw new Error('admin set does not verify');
  return signAdminStatement(secretKey, { op, key, prev: tr.len ? tr.head : ZERO_DIGEST });
}

export { ADMIN_ADD, ADMIN_REMOVE };
