// The draft store: sealed to the writer, one item per note under
// llamenos.draft.*, restored after a reload, removed on save, wiped by
// logout and panic wipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDraftStore, draftKey } from '../src/drafts.js';
import { newIdentity } from '../src/keys.js';
import { newNoteId, notePayload } from '../src/notes.js';
import { createSession, endLocal, panicLocal } from '../src/session.js';
import { MemoryStorage } from './helpers/fakes.js';

const callA = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d';
const callB = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9e';
const SECRET = 'Canary draft text Z7Q';

test('a draft survives a "reload" (a new store on the same storage) and holds no plaintext', () => {
  const storage = new MemoryStorage({ 'llamenos.keystore': '{}' });
  const me = newIdentity();
  let t = Date.parse('2026-03-04T10:00:00Z');
  const store = createDraftStore({ storage, now: () => t });
  const noteId = newNoteId();
  const payload = notePayload(SECRET, { risk: 'medium', age: 40 });
  assert.equal(store.save({ callId: callA, noteId, payload, pubkey: me.pubkey }), true);
  const raw = storage.getItem(draftKey(noteId));
  assert.ok(!raw.includes('Canary') && !raw.includes('medium'), 'only the envelope holds the text');
  assert.ok(draftKey(noteId).startsWith('llamenos.draft.'));

  const again = createDraftStore({ storage });
  assert.deepEqual(again.load(noteId, me.secretKey), { callId: callA, noteId, savedAt: '2026-03-04T10:00:00.000Z', payload, edit: false });
  assert.deepEqual(again.list(), [{ callId: callA, noteId, savedAt: '2026-03-04T10:00:00.000Z' }]);

  // Another key cannot open it; it is reported, not shown.
  const other = newIdentity();
  assert.equal(again.load(noteId, other.secretKey).error, 'notRecipient');
  assert.equal(again.load(noteId, null).error, 'locked');
  assert.equal(again.load(newNoteId(), me.secretKey), null);
});

test('drafts are listed per call, newest first; removed on save; junk ignored', () => {
  const storage = new MemoryStorage();
  const me = newIdentity();
  let t = 1000;
  const store = createDraftStore({ storage, now: () => t });
  const n1 = newNoteId();
  const n2 = newNoteId();
  const n3 = newNoteId();
  store.save({ callId: callA, noteId: n1, payload: notePayload('one'), pubkey: me.pubkey });
  t = 2000;
  store.save({ callId: callA, noteId: n2, payload: notePayload('two'), pubkey: me.pubkey, edit: true });
  t = 3000;
  store.save({ callId: callB, noteId: n3, payload: notePayload('three'), pubkey: me.pubkey });
  storage.setItem('llamenos.draft.junk', 'not json');
  storage.setItem('llamenos.draft.' + newNoteId(), JSON.stringify({ v: 1, callId: callA, noteId: n1, envelope: 'x' }));
  assert.deepEqual(store.list().map((d) => d.noteId), [n3, n2, n1]);
  assert.deepEqual(store.forCall(callA).map((d) => d.noteId), [n2, n1]);
  assert.equal(store.load(n2, me.secretKey).edit, true);
  store.remove(n2);
  assert.deepEqual(store.forCall(callA).map((d) => d.noteId), [n1]);
  // Saving refuses ids that would not be valid keys or contexts.
  assert.equal(store.save({ callId: 'bad id', noteId: n1, payload: notePayload('x'), pubkey: me.pubkey }), false);
  assert.equal(store.save({ callId: callA, noteId: 'nope', payload: notePayload('x'), pubkey: me.pubkey }), false);
  assert.equal(store.save({ callId: callA, noteId: n1, payload: notePayload('x'), pubkey: null }), false);
});

test('a full storage makes save return false instead of throwing', () => {
  const storage = new MemoryStorage();
  storage.setItem = () => {
    throw new Error('QuotaExceededError');
  };
  const me = newIdentity();
  const store = createDraftStore({ storage });
  assert.equal(store.save({ callId: callA, noteId: newNoteId(), payload: notePayload('x'), pubkey: me.pubkey }), false);
});

test('logout removes every draft and keeps the key store; panic removes everything', () => {
  const me = newIdentity();
  for (const mode of ['logout', 'panic']) {
    const storage = new MemoryStorage({ 'llamenos.keystore': '{}', 'llamenos.prefs': '{}', other: 'x' });
    const store = createDraftStore({ storage });
    store.save({ callId: callA, noteId: newNoteId(), payload: notePayload(SECRET), pubkey: me.pubkey });
    store.save({ callId: callB, noteId: newNoteId(), payload: notePayload(SECRET), pubkey: me.pubkey });
    const session = createSession();
    if (mode === 'logout') {
      endLocal(session, storage);
      assert.deepEqual(storage.keys().sort(), ['llamenos.keystore', 'llamenos.prefs', 'other']);
    } else {
      panicLocal(session, storage, new MemoryStorage());
      assert.deepEqual(storage.keys(), ['other']);
    }
    assert.deepEqual(store.list(), []);
  }
});
