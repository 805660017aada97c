import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRecoveryKey, generateRecoveryKey, parseRecoveryKey, RECOVERY_BYTES } from '../src/recovery.js';

test('format: eight groups of four base32 characters', () => {
  const k = formatRecoveryKey(new Uint8Array(16));
  assert.match(k, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/);
  assert.equal(RECOVERY_BYTES, 16);
  for (let i = 0; i < 50; i++) assert.match(generateRecoveryKey(), /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/);
  assert.throws(() => formatRecoveryKey(new Uint8Array(15)), /16 bytes/);
});

test('generated keys differ and come from the given random source', () => {
  const seen = new Set(Array.from({ length: 100 }, () => generateRecoveryKey()));
  assert.equal(seen.size, 100);
  const fixed = generateRecoveryKey((n) => new Uint8Array(n).fill(7));
  assert.equal(fixed, formatRecoveryKey(new Uint8Array(16).fill(7)));
});

test('parse accepts what people type and returns the canonical form', () => {
  const k = formatRecoveryKey(Uint8Array.from({ length: 16 }, (_, i) => i * 13));
  const canon = k.replace(/-/g, '');
  for (const typed of [k, k.toLowerCase(), ` ${k.replace(/-/g, ' ')} `, canon]) {
    assert.deepEqual(parseRecoveryKey(typed), { ok: true, key: canon }, typed);
  }
});

test('the digits 0, 1 and 8 are read as O, I and B', () => {
  // Find a key containing O, I or B and type the lookalike digits instead.
  for (let seed = 0; seed < 500; seed++) {
    const k = formatRecoveryKey(Uint8Array.from({ length: 16 }, (_, i) => (i * 31 + seed * 7) & 255));
    if (!/[OIB]/.test(k)) continue;
    const typed = k.replace(/O/g, '0').replace(/I/g, '1').replace(/B/g, '8');
    assert.deepEqual(parseRecoveryKey(typed), { ok: true, key: k.replace(/-/g, '') });
    return;
  }
  assert.fail('no key with O, I or B found');
});

test('typos are caught before any key derivation', () => {
  const k = generateRecoveryKey();
  const canon = k.replace(/-/g, '');
  // Change each position in turn: the checksum must catch every single change.
  for (let i = 0; i < canon.length; i++) {
    const c = canon[i] === 'A' ? 'C' : 'A';
    const typo = canon.slice(0, i) + c + canon.slice(i + 1);
    assert.equal(parseRecoveryKey(typo).reason, 'checksum', `position ${i}`);
  }
  assert.equal(parseRecoveryKey('').reason, 'empty');
  assert.equal(parseRecoveryKey(null).reason, 'empty');
  assert.equal(parseRecoveryKey(canon.slice(1)).reason, 'length');
  assert.equal(parseRecoveryKey(canon + 'A').reason, 'length');
  assert.equal(parseRecoveryKey(canon.slice(1) + '9').reason, 'characters');
});
