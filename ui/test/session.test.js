import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, endLocal, panicLocal } from '../src/session.js';
import { DRAFT_PREFIX, loadPrefs, PREFS_KEY, savePrefs, wipeAll, wipeDrafts } from '../src/storage.js';
import { MemoryStorage } from './helpers/fakes.js';

function deviceStorage() {
  return new MemoryStorage({
    'llamenos.keystore': '{"v":1}',
    'llamenos.unlock-attempts': '{"failures":1,"at":0}',
    'llamenos.prefs': '{"lang":"es"}',
    'llamenos.adminset': '{"len":1}',
    'llamenos.reseal': '{"after":""}',
    [DRAFT_PREFIX + 'call-1']: 'sealed1',
    [DRAFT_PREFIX + 'call-2']: 'sealed2',
    'llamenos-old-name': 'x',
    'other-app': 'keep',
  });
}

test('lock zeroes the key but remembers who is signed in', () => {
  const s = createSession();
  const sk = new Uint8Array(32).fill(9);
  let changes = 0;
  s.onChange(() => changes++);
  s.unlock(sk, 'ab'.repeat(32));
  s.signedIn({ pubkey: 'ab'.repeat(32), role: 'admin' });
  s.setProfile({ name: 'Ana' });
  assert.equal(s.unlocked, true);
  s.lock();
  assert.equal(s.unlocked, false);
  assert.deepEqual(sk, new Uint8Array(32), 'key bytes zeroed in place');
  assert.equal(s.pubkey, 'ab'.repeat(32));
  assert.equal(s.role, 'admin');
  assert.equal(s.profile, null);
  assert.ok(changes >= 4);
});

test('unlocking with a new key zeroes the old one', () => {
  const s = createSession();
  const a = new Uint8Array(32).fill(1);
  s.unlock(a, 'p');
  s.unlock(new Uint8Array(32).fill(2), 'p');
  assert.deepEqual(a, new Uint8Array(32));
});

test('logout wipes the key, every draft and the re-seal cursor, and keeps the key store, prefs and admin-set pin', () => {
  const st = deviceStorage();
  const s = createSession();
  const sk = new Uint8Array(32).fill(5);
  s.unlock(sk, 'pk');
  s.signedIn({ pubkey: 'pk', role: 'volunteer' });
  assert.equal(endLocal(s, st), 2);
  assert.deepEqual(sk, new Uint8Array(32));
  assert.equal(s.pubkey, null);
  assert.equal(s.me, null);
  assert.deepEqual(st.keys().sort(), ['llamenos-old-name', 'llamenos.adminset', 'llamenos.keystore', 'llamenos.prefs', 'llamenos.unlock-attempts', 'other-app']);
});

test('panic wipes every llamenos item in both storages and nothing else', () => {
  const local = deviceStorage();
  const sess = new MemoryStorage({ 'llamenos.tmp': '1', 'LLAMENOS.upper': '2', unrelated: '3' });
  const s = createSession();
  const sk = new Uint8Array(32).fill(5);
  s.unlock(sk, 'pk');
  assert.equal(panicLocal(s, local, sess), 10);
  assert.deepEqual(local.keys(), ['other-app']);
  assert.deepEqual(sess.keys(), ['unrelated']);
  assert.deepEqual(sk, new Uint8Array(32));
  assert.equal(s.unlocked, false);
});

test('wipe helpers tolerate a missing storage', () => {
  assert.equal(wipeDrafts(null), 0);
  assert.equal(wipeAll(undefined), 0);
});

test('prefs merge and survive junk', () => {
  const st = new MemoryStorage({ [PREFS_KEY]: 'not json' });
  assert.deepEqual(loadPrefs(st), {});
  savePrefs(st, { lang: 'es' });
  savePrefs(st, { autoLockMinutes: 10 });
  assert.deepEqual(loadPrefs(st), { lang: 'es', autoLockMinutes: 10 });
  const full = { setItem() { throw new Error('QuotaExceeded'); }, getItem: () => null };
  assert.deepEqual(savePrefs(full, { lang: 'en' }), { lang: 'en' });
});

test('on a call follows the socket\'s call events, and a late GET /api/me cannot undo them', () => {
  const s = createSession();
  let changes = 0;
  s.onChange(() => changes++);
  s.setMe({ available: true, onCall: true });
  assert.equal(s.me.onCall, true, 'before any hello, the answer of GET /api/me counts');
  s.callEvent({ type: 'hello', call: null });
  assert.equal(s.me.onCall, false, 'the hello says there is no call');
  const before = changes;
  s.callEvent({ type: 'call:connected', callId: 'c1' });
  assert.equal(s.me.onCall, true);
  assert.equal(changes, before + 1, 'views are told');
  // An answer computed before call:connected, read after it.
  s.setMe({ available: true, onCall: false });
  assert.equal(s.me.onCall, true);
  s.callEvent({ type: 'call:ended', callId: 'other' });
  assert.equal(s.me.onCall, true, 'the end of another call changes nothing');
  s.callEvent({ type: 'call:ended', callId: 'c1' });
  assert.equal(s.me.onCall, false);
  s.setMe({ available: true, onCall: true });
  assert.equal(s.me.onCall, false, 'nor after the call');
  // While the socket is down events may be missed: the server's answers count.
  s.callEvent({ type: 'socket:down' });
  s.setMe({ available: true, onCall: true });
  assert.equal(s.me.onCall, true);
  s.callEvent({ type: 'hello', call: { callId: 'c2' } });
  assert.equal(s.call, 'c2');
  s.forget();
  assert.equal(s.call, null);
  assert.equal(s.callsFromSocket, false);
});
