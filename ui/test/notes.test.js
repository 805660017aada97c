// Note envelopes as the app makes them: payload shape, recipients, context
// binding, and how every way of failing to open maps to what the UI says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64urlDecode, b64urlEncode, seal, utf8, parsePublicKeyHex } from '../src/crypto/index.js';
import { envelopeRecipients, newIdentity, openFailure, openJSON, sealJSON } from '../src/keys.js';
import { CryptoError } from '../src/crypto/index.js';
import {
  isNoteId,
  newNoteId,
  normalizeE164,
  notePayload,
  openBan,
  openCallerNumber,
  openDraft,
  openNote,
  parseNotePayload,
  sealBanNumber,
  sealBanReason,
  sealDraft,
  sealNote,
} from '../src/notes.js';

const callA = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d';
const callB = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9e';

test('note ids are lowercase UUIDs chosen before sealing', () => {
  const a = newNoteId();
  assert.ok(isNoteId(a), a);
  assert.notEqual(a, newNoteId());
  assert.equal(isNoteId('0190F3C2-8D1E-7C4A-9B2F-3E5D6A7B8C9D'), false);
  assert.equal(isNoteId('x'), false);
});

test('the payload is {text, fields} with only the fields that have a value', () => {
  assert.deepEqual(notePayload('hi', { a: 'x', b: undefined, c: '', d: 0, e: false, f: null }), { text: 'hi', fields: { a: 'x', d: 0, e: false } });
  assert.deepEqual(notePayload(undefined), { text: '', fields: {} });
  assert.deepEqual(parseNotePayload({ text: 't', fields: { n: 1, s: 's', b: true } }), { text: 't', fields: { n: 1, s: 's', b: true } });
  assert.deepEqual(parseNotePayload({ text: 't' }), { text: 't', fields: {} });
  for (const bad of [null, 'text', [], { fields: {} }, { text: 1 }, { text: '', fields: [] }, { text: '', fields: { a: {} } }, { text: '', fields: { a: [1] } }, { text: '', fields: { a: null } }]) {
    assert.equal(parseNotePayload(bad), null, JSON.stringify(bad));
  }
});

test('a note opens for its author and every admin, only under its own call and note id', () => {
  const vol = newIdentity();
  const admin1 = newIdentity();
  const admin2 = newIdentity();
  const other = newIdentity();
  const noteId = newNoteId();
  const payload = notePayload('Caller felt better at the end.', { risk: 'low', age: 34, consent: true });
  // The author is usually an admin too: listed once.
  const env = sealNote(payload, { callId: callA, noteId, author: admin1.pubkey, admins: [admin1.pubkey, admin2.pubkey] });
  assert.deepEqual(envelopeRecipients(env), [admin1.pubkey, admin2.pubkey]);
  const env2 = sealNote(payload, { callId: callA, noteId, author: vol.pubkey, admins: [admin1.pubkey, admin2.pubkey] });
  assert.deepEqual(envelopeRecipients(env2), [vol.pubkey, admin1.pubkey, admin2.pubkey]);
  for (const who of [vol, admin1, admin2]) assert.deepEqual(openNote(env2, { callId: callA, noteId }, who.secretKey), { ok: true, payload });
  assert.deepEqual(openNote(env2, { callId: callA, noteId }, other.secretKey), { ok: false, reason: 'notRecipient' });
  // Moved to another call or another note id: an integrity error, no text.
  assert.deepEqual(openNote(env2, { callId: callB, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  assert.deepEqual(openNote(env2, { callId: callA, noteId: newNoteId() }, admin1.secretKey), { ok: false, reason: 'integrity' });
  // Locked, missing, damaged.
  assert.deepEqual(openNote(env2, { callId: callA, noteId }, null), { ok: false, reason: 'locked' });
  assert.deepEqual(openNote('', { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'missing' });
  const bytes = b64urlDecode(env2);
  bytes[bytes.length - 1] ^= 1;
  assert.deepEqual(openNote(b64urlEncode(bytes), { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  assert.deepEqual(openNote(env2.slice(0, 100), { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  assert.deepEqual(openNote(env2 + '=', { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
});

test('an envelope that opens but is not a note payload is an integrity error', () => {
  const vol = newIdentity();
  const noteId = newNoteId();
  const ctx = { purpose: 'note', callId: callA, itemId: noteId };
  const notJSON = b64urlEncode(seal(utf8('not json'), ctx, [parsePublicKeyHex(vol.pubkey)]));
  assert.deepEqual(openNote(notJSON, { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  const wrongShape = sealJSON({ text: 5 }, ctx, [vol.pubkey]);
  assert.deepEqual(openNote(wrongShape, { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  const notUTF8 = b64urlEncode(seal(Uint8Array.of(0xff, 0xfe), ctx, [parsePublicKeyHex(vol.pubkey)]));
  assert.deepEqual(openJSON(notUTF8, ctx, vol.secretKey), { ok: false, reason: 'integrity' });
});

test('open failures map to locked / missing / notRecipient / integrity', () => {
  assert.equal(openFailure(new CryptoError('NOT_RECIPIENT', 'x')), 'notRecipient');
  for (const code of ['AUTH_FAILED', 'MALFORMED', 'UNKNOWN_VERSION', 'TOO_LARGE', 'DUPLICATE_RECIPIENT', 'INVALID_KEY']) {
    assert.equal(openFailure(new CryptoError(code, 'x')), 'integrity', code);
  }
  assert.equal(openFailure(new TypeError('x')), 'integrity');
  assert.equal(envelopeRecipients('AAAA'), null);
});

test('a draft is sealed to its writer only and to its call and note', () => {
  const vol = newIdentity();
  const admin = newIdentity();
  const noteId = newNoteId();
  const payload = notePayload('half a thought', { risk: 'high' });
  const env = sealDraft(payload, { callId: callA, noteId, pubkey: vol.pubkey, edit: true });
  assert.deepEqual(envelopeRecipients(env), [vol.pubkey]);
  assert.deepEqual(openDraft(env, { callId: callA, noteId }, vol.secretKey), { ok: true, payload, edit: true });
  assert.deepEqual(openDraft(env, { callId: callA, noteId }, admin.secretKey), { ok: false, reason: 'notRecipient' });
  assert.deepEqual(openDraft(env, { callId: callB, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  // A draft cannot be passed off as a note, or the other way round.
  assert.deepEqual(openNote(env, { callId: callA, noteId }, vol.secretKey), { ok: false, reason: 'integrity' });
  const note = sealNote(payload, { callId: callA, noteId, author: vol.pubkey, admins: [] });
  assert.equal(openDraft(note, { callId: callA, noteId }, vol.secretKey).ok, false);
});

test('caller numbers and bans open for admins in their own contexts', () => {
  const admin = newIdentity();
  const admin2 = newIdentity();
  const vol = newIdentity();
  const callerEnv = sealJSON('x', { purpose: 'caller-number', callId: callA, itemId: 'caller' }, [admin.pubkey]);
  assert.deepEqual(openCallerNumber(callerEnv, callA, admin.secretKey), { ok: false, reason: 'integrity' }, 'a JSON string is not an E.164 number');
  const numberEnv = b64urlEncode(seal(utf8('+34600111222'), { purpose: 'caller-number', callId: callA, itemId: 'caller' }, [parsePublicKeyHex(admin.pubkey)]));
  assert.deepEqual(openCallerNumber(numberEnv, callA, admin.secretKey), { ok: true, number: '+34600111222' });
  assert.deepEqual(openCallerNumber(numberEnv, callB, admin.secretKey), { ok: false, reason: 'integrity' });
  assert.deepEqual(openCallerNumber(numberEnv, callA, vol.secretKey), { ok: false, reason: 'notRecipient' });

  const typed = { id: 'h', number: sealBanNumber('+5215548172093', [admin.pubkey, admin2.pubkey]), reason: sealBanReason('abusive', '', [admin.pubkey, admin2.pubkey]) };
  assert.deepEqual(openBan(typed, admin2.secretKey), { number: { ok: true, number: '+5215548172093' }, reason: { ok: true, text: 'abusive' } });
  const fromCall = { id: 'h2', callId: callA, number: numberEnv, reason: sealBanReason('spam', callA, [admin.pubkey]) };
  assert.deepEqual(openBan(fromCall, admin.secretKey), { number: { ok: true, number: '+34600111222' }, reason: { ok: true, text: 'spam' } });
  // The typed-ban contexts do not open a call's envelopes, nor the reverse.
  assert.equal(openBan({ ...typed, callId: callA }, admin.secretKey).number.reason, 'integrity');
  assert.equal(openBan({ id: 'h3', number: numberEnv }, admin.secretKey).number.reason, 'integrity');
  assert.deepEqual(openBan({ id: 'h4', number: typed.number }, admin.secretKey).reason, null);
});

test('typed numbers are normalised like the server does, nothing guessed', () => {
  assert.equal(normalizeE164('+34 600 (11) 12-22'), '+34600111222');
  for (const bad of ['34600111222', '0034600111222', '+0123456789', '+34.600.111.222', '+3460', '+１２３４５６７８', '+34600111222 ext 5', '']) {
    assert.equal(normalizeE164(bad), null, bad);
  }
});
