import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUTH_PURPOSES, authMessage, generateSecretKey, getPublicKey, signAuth, verifyAuth } from '../src/crypto/index.js';

const ORIGIN = 'https://hotline.example.org';

test('a login signature verifies for exactly what it was made for', () => {
  const sk = generateSecretKey();
  const pk = getPublicKey(sk);
  const other = getPublicKey(generateSecretKey());
  const challenge = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const sig = signAuth(sk, 'login', ORIGIN, challenge);
  assert.equal(sig.length, 64);
  assert.ok(verifyAuth(pk, 'login', ORIGIN, challenge, sig));
  const otherChallenge = Uint8Array.from(challenge);
  otherChallenge[0] ^= 1;
  const flipped = Uint8Array.from(sig);
  flipped[10] ^= 0x80;
  assert.equal(verifyAuth(pk, 'invite', ORIGIN, challenge, sig), false, 'other purpose');
  assert.equal(verifyAuth(pk, 'login', ORIGIN + '.evil.test', challenge, sig), false, 'other origin');
  assert.equal(verifyAuth(pk, 'login', ORIGIN + '/', challenge, sig), false, 'trailing slash');
  assert.equal(verifyAuth(pk, 'login', ORIGIN, otherChallenge, sig), false, 'other challenge');
  assert.equal(verifyAuth(other, 'login', ORIGIN, challenge, sig), false, 'other key');
  assert.equal(verifyAuth(pk, 'login', ORIGIN, challenge, flipped), false, 'flipped signature');
  assert.equal(verifyAuth(pk, 'login', ORIGIN, challenge, sig.subarray(0, 63)), false, 'short signature');
});

test('authMessage refuses bad input', () => {
  const pk = getPublicKey(generateSecretKey());
  const c = new Uint8Array(16);
  assert.deepEqual(AUTH_PURPOSES, ['login', 'setup', 'invite']);
  assert.throws(() => authMessage('nostr', ORIGIN, c, pk), { code: 'UNKNOWN_PURPOSE' });
  assert.throws(() => authMessage('login', '', c, pk), { code: 'INVALID_CONTEXT' });
  assert.throws(() => authMessage('login', ORIGIN, c.subarray(1), pk), { code: 'INVALID_CONTEXT' });
  assert.throws(() => authMessage('login', ORIGIN, new Uint8Array(257), pk), { code: 'INVALID_CONTEXT' });
  assert.throws(() => authMessage('login', ORIGIN, c, pk.subarray(1)), { code: 'INVALID_KEY' });
  assert.equal(authMessage('login', ORIGIN, c, pk).length, 32);
});
