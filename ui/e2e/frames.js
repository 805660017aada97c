// Helpers of the call test that need no browser (unit-tested in
// test/frames.test.js): the fake microphone's WAV, and the checks that no
// WebSocket frame carries the caller's number (see e2e/call.test.js).

// A mono 16-bit PCM WAV of a sine: Chromium's fake capture device plays it
// in a loop as the microphone.
export function sineWav(hz, seconds = 4, rate = 48000, amplitude = 0.5) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return buf;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// The call path's frames and the exact keys each may carry.
const CALL_FRAMES = {
  ring: ['type', 'callId', 'startedAt', 'ringAt'],
  'ring:stop': ['type', 'callId', 'reason'],
  'call:connected': ['type', 'callId'],
  'call:ended': ['type', 'callId', 'reason'],
  'rtc:answer': ['type', 'callId', 'sdp'],
  'rtc:candidate': ['type', 'callId', 'candidate'],
};
const STOP_REASONS = ['answered', 'answered-elsewhere', 'caller-hung-up', 'timeout', 'declined', 'unavailable', 'ended'];
const END_REASONS = ['caller-hung-up', 'caller-lost', 'volunteer-hung-up', 'browser-lost', 'banned', 'error'];

// hello's call state: each ring exactly as a ring frame has it, and the
// call in progress by its id alone.
function checkHello(m) {
  if (!Array.isArray(m.rings)) return 'hello has no rings list';
  for (const r of m.rings) {
    const err = checkCallFrameShape({ type: 'ring', ...r });
    if (err) return `hello ${err}`;
  }
  if (m.call !== null) {
    if (!m.call || typeof m.call !== 'object' || Object.keys(m.call).join() !== 'callId') return 'hello call has unexpected keys';
    if (!UUID.test(m.call.callId)) return 'hello call id is not a UUID';
  }
  return null;
}

export function checkCallFrameShape(m) {
  if (m.type === 'hello') return checkHello(m);
  const keys = CALL_FRAMES[m.type];
  if (!keys) return null;
  const extra = Object.keys(m).filter((k) => !keys.includes(k));
  if (extra.length) return `${m.type} has unexpected keys ${extra.join(',')}`;
  if (!UUID.test(m.callId)) return `${m.type} callId is not a UUID`;
  if (m.type === 'ring' && !(TIME.test(m.startedAt) && TIME.test(m.ringAt))) return 'ring times are not RFC 3339';
  if (m.type === 'ring:stop' && !STOP_REASONS.includes(m.reason)) return `ring:stop reason ${m.reason}`;
  if (m.type === 'call:ended' && !END_REASONS.includes(m.reason)) return `call:ended reason ${m.reason}`;
  if (m.type === 'rtc:answer' && !(typeof m.sdp === 'string' && m.sdp.split(/\r?\n/).filter(Boolean).every((l) => /^[a-z]=/.test(l)))) return 'rtc:answer sdp is not SDP';
  // null: the daemon finished gathering.
  if (m.type === 'rtc:candidate' && !(m.candidate === null || (typeof m.candidate === 'object' && !Array.isArray(m.candidate)))) return 'rtc:candidate is not an object';
  return null;
}

function runsOf(digits, n) {
  const out = new Set();
  for (let i = 0; i + n <= digits.length; i++) out.add(digits.slice(i, i + n));
  return [...out];
}

// leaks → [description] for each digit run of number found in the frame.
export function digitLeaks(frame, number) {
  const digits = number.replace(/\D/g, '');
  const short = runsOf(digits, 4);
  const long = runsOf(digits, 7);
  const hits = [];
  const squash = (s) => s.replace(/[+\s\-.()]/g, '');
  function scan(text, runs, where) {
    const s = squash(text);
    for (const r of runs) if (s.includes(r)) hits.push(`${where} contains ${r}`);
  }
  function walk(v, key, where) {
    if (typeof v === 'string') {
      // Ids and public keys: random, and checked for shape in 1.
      if (UUID.test(v) || HEX64.test(v)) return;
      if (TIME.test(v)) return;
      scan(v, key === 'sdp' || where.includes('candidate') ? long : short, where);
    } else if (typeof v === 'number') scan(String(v), where.includes('candidate') ? long : short, where);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, key, `${where}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k, `${where}.${k}`);
  }
  let m;
  try {
    m = JSON.parse(frame);
  } catch {
    scan(frame, short, 'raw frame');
    return hits;
  }
  walk(m, '', m && m.type ? m.type : 'frame');
  return hits;
}

