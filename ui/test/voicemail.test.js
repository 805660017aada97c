import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clock, mulawToFloat, openTranscript, transcriptContext } from '../src/voicemail.js';
import { newIdentity, sealJSON } from '../src/keys.js';

test('µ-law decodes as the daemon encodes it', () => {
  // From llamenos/audio.DecodeMulaw.
  const want = { 0x00: -32124, 0x7f: 0, 0x80: 32124, 0xff: 0, 0x8f: 16764, 0x1a: -10876, 0xc3: 1692 };
  const bytes = Uint8Array.from(Object.keys(want).map(Number));
  const got = mulawToFloat(bytes);
  [...bytes].forEach((b, i) => assert.equal(Math.round(got[i] * 32768) + 0, want[b], `0x${b.toString(16)}`));
});

test('a voicemail transcript opens for its call only and must be well formed', () => {
  const { secretKey: sk, pubkey: pk } = newIdentity();
  const doc = { language: 'es', segments: [{ speaker: 'caller', start: 0, end: 1000, text: 'hola' }] };
  const env = sealJSON(doc, transcriptContext('call-1'), [pk]);
  const o = openTranscript(env, transcriptContext('call-1'), sk);
  assert.deepEqual(o, { ok: true, language: 'es', segments: doc.segments });
  assert.equal(openTranscript(env, transcriptContext('call-2'), sk).ok, false);
  const bad = sealJSON({ segments: [{ text: 'x' }] }, transcriptContext('call-1'), [pk]);
  assert.deepEqual(openTranscript(bad, transcriptContext('call-1'), sk), { ok: false, reason: 'integrity' });
});

test('clock', () => {
  assert.equal(clock(0), '0:00');
  assert.equal(clock(83_999), '1:23');
});
