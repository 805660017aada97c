import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_ADD, ADMIN_REMOVE, PIN_KEY, sealingAdmins, statement, trust } from '../src/adminset.js';
import { newIdentity } from '../src/keys.js';
import { createSession, endLocal } from '../src/session.js';

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

test('the browser seals only to admins the signed set vouches for, and names the others', () => {
  const a = newIdentity();
  const b = newIdentity();
  const forged = newIdentity();
  const storage = memoryStorage();
  let me = { admins: [a.pubkey], adminSet: [] };
  assert.equal(trust(me, storage).problem, 'empty');
  assert.deepEqual(sealingAdmins(me, storage), []);
  me = { ...me, adminSet: [statement(me, ADMIN_ADD, a.pubkey, a.secretKey, storage)] };
  me = { admins: [a.pubkey, b.pubkey], adminSet: [...me.adminSet, statement(me, ADMIN_ADD, b.pubkey, a.secretKey, storage)] };
  assert.deepEqual(sealingAdmins(me, storage), [a.pubkey, b.pubkey]);
  assert.equal(JSON.parse(storage.getItem(PIN_KEY)).len, 2);

  // The server names one more admin: refused, and said.
  const withForged = { ...me, admins: [...me.admins, forged.pubkey] };
  const tr = trust(withForged, storage);
  assert.deepEqual(tr.admins, [a.pubkey, b.pubkey]);
  assert.deepEqual(tr.refused, [forged.pubkey]);
  assert.equal(tr.problem, null);

  // A statement nobody in the set signed: the valid part holds.
  const badSigned = { ...withForged, adminSet: [...me.adminSet, statement(me, ADMIN_ADD, forged.pubkey, forged.secretKey, null)] };
  const tb = trust(badSigned, storage);
  assert.equal(tb.problem, 'broken');
  assert.deepEqual(tb.refused, [forged.pubkey]);

  // The server shows the set cut back to before b was added (say, to undo
  // a removal): not what this browser pinned.
  const removed = { admins: [a.pubkey], adminSet: [...me.adminSet, statement(me, ADMIN_REMOVE, b.pubkey, a.secretKey, storage)] };
  assert.deepEqual(sealingAdmins(removed, storage), [a.pubkey]);
  const rolledBack = { ...me };
  const tr2 = trust(rolledBack, storage);
  assert.equal(tr2.problem, 'rollback');
  assert.deepEqual(tr2.admins, [a.pubkey], 'b, removed in the pinned set, is not sealed to');
});

test('the pin survives logout: after signing in again a cut or forked set is refused', () => {
  const a = newIdentity();
  const b = newIdentity();
  const rogue = newIdentity();
  const storage = memoryStorage();
  let me = { admins: [a.pubkey], adminSet: [] };
  me = { ...me, adminSet: [statement(me, ADMIN_ADD, a.pubkey, a.secretKey, storage)] };
  const before = me;
  me = { admins: [a.pubkey, b.pubkey], adminSet: [...me.adminSet, statement(me, ADMIN_ADD, b.pubkey, a.secretKey, storage)] };
  assert.deepEqual(sealingAdmins(me, storage), [a.pubkey, b.pubkey]);

  const session = createSession();
  session.unlock(new Uint8Array(32).fill(7), a.pubkey);
  session.signedIn({ pubkey: a.pubkey, role: 'admin' });
  endLocal(session, storage);
  assert.equal(JSON.parse(storage.getItem(PIN_KEY)).len, 2, 'logout keeps the pin');

  // Rollback: the chain as it was before b was added.
  const rolledBack = trust({ admins: [a.pubkey, b.pubkey], adminSet: before.adminSet }, storage);
  assert.equal(rolledBack.problem, 'rollback');
  assert.deepEqual(rolledBack.admins, [a.pubkey, b.pubkey], 'the pinned admins are still the ones sealed to');

  // Fork: a chain of the same length started by a key the server made admin.
  let forked = { admins: [rogue.pubkey, b.pubkey], adminSet: [] };
  forked = { ...forked, adminSet: [statement(forked, ADMIN_ADD, rogue.pubkey, rogue.secretKey, null)] };
  forked = { ...forked, adminSet: [...forked.adminSet, statement(forked, ADMIN_ADD, b.pubkey, rogue.secretKey, null)] };
  const tf = trust(forked, storage);
  assert.equal(tf.problem, 'rollback');
  assert.deepEqual(tf.admins, [b.pubkey]);
  assert.deepEqual(tf.refused, [rogue.pubkey]);
  assert.equal(JSON.parse(storage.getItem(PIN_KEY)).head, trust(me, storage).head, 'the fork did not replace the pin');
});
