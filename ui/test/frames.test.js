// The call test's own checks must be able to fail: a frame that leaks the
// caller's number, in any of the shapes a careless server might use, is
// caught; ordinary frames are not flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCallFrameShape, digitLeaks, sineWav } from '../e2e/frames.js';

const CALLER = '+34612345678';
const ID = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d';
const PK = 'a'.repeat(63) + '1';
const SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 50123 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n';

test('ordinary frames pass both checks', () => {
  const frames = [
    { type: 'ring', callId: ID, startedAt: '2026-03-04T10:00:00.123456789Z', ringAt: '2026-03-04T10:00:01Z' },
    { type: 'ring:stop', callId: ID, reason: 'answered-elsewhere' },
    { type: 'call:connected', callId: ID },
    { type: 'call:ended', callId: ID, reason: 'caller-hung-up' },
    { type: 'call:ended', callId: ID, reason: 'caller-lost' },
    { type: 'hello', pubkey: PK, role: 'volunteer', available: true, onBreak: false, onShift: true, onCall: false, rings: [], call: null },
    { type: 'hello', pubkey: PK, role: 'volunteer', available: true, onBreak: false, onShift: true, onCall: true,
      rings: [{ callId: ID, startedAt: '2026-03-04T10:00:00Z', ringAt: '2026-03-04T10:00:01Z' }], call: { callId: ID } },
    { type: 'rtc:answer', callId: ID, sdp: SDP },
    { type: 'rtc:candidate', callId: ID, candidate: { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 50123 typ host', sdpMid: '0' } },
    { type: 'rtc:candidate', callId: ID, candidate: null },
    { type: 'presence', available: 2, onCall: 1, total: 3 },
    { type: 'calls:active', calls: [{ callId: ID, state: 'ringing', startedAt: '2026-03-04T10:00:00Z', answeredBy: PK }] },
    { type: 'me', pubkey: PK, admins: [PK], passkeys: 0, profile: 'AQJ' + 'x'.repeat(300) },
  ];
  for (const f of frames) {
    assert.equal(checkCallFrameShape(f), null, f.type);
    assert.deepEqual(digitLeaks(JSON.stringify(f), CALLER), [], f.type);
  }
});

test('a leaked number is caught however it is written', () => {
  const leaks = [
    { type: 'ring', callId: ID, startedAt: '2026-03-04T10:00:00Z', ringAt: '2026-03-04T10:00:01Z', from: CALLER },
    { type: 'ring', callId: ID, startedAt: '2026-03-04T10:00:00Z', ringAt: '2026-03-04T10:00:01Z', last4: '5678' },
    { type: 'calls:active', calls: [{ callId: ID, state: 'ringing', caller: '+34 612 34 56 78' }] },
    { type: 'presence', note: 'caller ends in 5678' },
    { type: 'presence', n: 612345678 },
    { type: 'rtc:answer', callId: ID, sdp: SDP + 'a=caller:34612345678\r\n' },
  ];
  for (const f of leaks) assert.notDeepEqual(digitLeaks(JSON.stringify(f), CALLER), [], JSON.stringify(f));
  assert.match(checkCallFrameShape(leaks[0]), /unexpected keys from/);
  assert.match(checkCallFrameShape({ type: 'ring:stop', callId: ID, reason: '+34612345678' }), /reason/);
  assert.match(checkCallFrameShape({ type: 'ring', callId: '34612345678', startedAt: 'x', ringAt: 'y' }), /UUID/);
  assert.match(checkCallFrameShape({ type: 'rtc:answer', callId: ID, sdp: 'caller 34612345678' }), /not SDP/);
  const hello = { type: 'hello', pubkey: PK, rings: [], call: null };
  assert.match(checkCallFrameShape({ ...hello, rings: [{ callId: ID, startedAt: '2026-03-04T10:00:00Z', ringAt: '2026-03-04T10:00:01Z', from: CALLER }] }), /hello ring has unexpected keys from/);
  assert.match(checkCallFrameShape({ ...hello, call: { callId: ID, caller: CALLER } }), /hello call has unexpected keys/);
  assert.match(checkCallFrameShape({ ...hello, call: { callId: '34612345678' } }), /UUID/);
  assert.notDeepEqual(digitLeaks(JSON.stringify({ ...hello, rings: [{ callId: ID, note: 'ends in 5678' }] }), CALLER), []);
  assert.notDeepEqual(digitLeaks('not json 3461234', CALLER), []);
});

test('the fake microphone file is a 16-bit mono WAV of the tone', () => {
  const w = sineWav(1000, 0.01, 48000);
  assert.equal(w.toString('ascii', 0, 4), 'RIFF');
  assert.equal(w.toString('ascii', 8, 12), 'WAVE');
  assert.equal(w.readUInt32LE(24), 48000);
  assert.equal(w.readUInt16LE(34), 16);
  assert.equal(w.length, 44 + 480 * 2);
  // A quarter period of 1 kHz at 48 kHz is 12 samples: the first peak.
  assert.ok(w.readInt16LE(44 + 12 * 2) > 16000);
});
