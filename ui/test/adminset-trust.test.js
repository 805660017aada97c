import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_ADD, ADMIN_REMOVE, PIN_KEY, sealingAdmins, statement, trust } from '../src/adminset.js';
import { newIdentity } from '../src/keys.js';

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
