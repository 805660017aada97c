import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex, generateSecretKey, getPublicKey, hexToBytes, MIN_ITERATIONS } from '../src/crypto/index.js';
import {
  createKeyStore,
  deriveKey,
  MAX_ITERATIONS,
  openKeyStore,
  parseKeyStore,
  TEST_MIN_ITERATIONS,
} from '../src/crypto/keystore.js';
import { b64urlDecode, b64urlEncode } from '../src/crypto/bytes.js';
import { readVectors } from '../scripts/testkit.mjs';

// Most tests use the documented test-only floor; the committed vector and
// one create/open round trip run at the real 600,000 iterations.
const FAST = { iterations: TEST_MIN_ITERATIONS, insecureTestIterations: true };
const PASS = 'una frase bastante larga';

describe('key store', () => {
  test('committed vector (600,000 iterations) opens to its secret key', async () => {
    const v = readVectors('keystore-js.json');
    assert.equal(v.store.iter, 600_000);
    assert.deepEqual(Object.keys(v.store), ['v', 'kdf', 'iter', 'salt', 'nonce', 'ct']);
    const sk = await openKeyStore(v.store, v.passphrase);
    assert.equal(bytesToHex(sk), v.secretKey);
    // Nothing in the store names the volunteer.
    const text = JSON.stringify(v.store);
    const pk = getPublicKey(sk);
    assert.ok(!text.includes(bytesToHex(pk)) && !text.includes(b64urlEncode(pk)));
  });

  test('round trip at the production iteration count', async () => {
    const sk = generateSecretKey();
    const store = await createKeyStore(sk, PASS);
    assert.equal(store.iter, MIN_ITERATIONS);
    assert.deepEqual(await openKeyStore(JSON.stringify(store), PASS), sk);
  });

  test('wrong passphrase is a clear error', async () => {
    const store = await createKeyStore(generateSecretKey(), PASS, FAST);
    await assert.rejects(openKeyStore(store, PASS + '!', FAST), { code: 'WRONG_PASSPHRASE', message: /wrong passphrase/ });
    await assert.rejects(openKeyStore(store, '', FAST), { code: 'WRONG_PASSPHRASE' });
  });

  test('passphrases are NFKC-normalised', async () => {
    const sk = generateSecretKey();
    const store = await createKeyStore(sk, 'contrase\u00f1a segura', FAST);
    assert.deepEqual(await openKeyStore(store, 'contrasen\u0303a segura', FAST), sk);
  });

  test('weak passphrases are refused at creation', async () => {
    await assert.rejects(createKeyStore(generateSecretKey(), '1234567', FAST), { code: 'WEAK_PASSPHRASE' });
  });

  test('the 600,000 floor holds unless the test-only option is given', async () => {
    const sk = generateSecretKey();
    await assert.rejects(createKeyStore(sk, PASS, { iterations: MIN_ITERATIONS - 1 }), { code: 'MALFORMED' });
    await assert.rejects(createKeyStore(sk, PASS, { iterations: TEST_MIN_ITERATIONS }), { code: 'MALFORMED' });
    await assert.rejects(createKeyStore(sk, PASS, { iterations: TEST_MIN_ITERATIONS - 1, insecureTestIterations: true }), {
      code: 'MALFORMED',
    });
    const weak = await createKeyStore(sk, PASS, FAST);
    await assert.rejects(openKeyStore(weak, PASS), { code: 'MALFORMED' }, 'a low-iteration store opened without the test option');
    await assert.rejects(openKeyStore({ ...weak, iter: MAX_ITERATIONS + 1 }, PASS, FAST), { code: 'MALFORMED' });
  });

  test('every parameter is bound: changing any field fails to open', async () => {
    const sk = generateSecretKey();
    const store = await createKeyStore(sk, PASS, FAST);
    const flip = (s) => {
      const b = b64urlDecode(s);
      b[0] ^= 1;
      return b64urlEncode(b);
    };
    for (const [name, mod] of [
      ['iter', { ...store, iter: store.iter + 1 }],
      ['salt', { ...store, salt: flip(store.salt) }],
      ['nonce', { ...store, nonce: flip(store.nonce) }],
      ['ct', { ...store, ct: flip(store.ct) }],
    ]) {
      await assert.rejects(openKeyStore(mod, PASS, FAST), { code: 'WRONG_PASSPHRASE' }, name);
    }
  });

  test('malformed stores are refused before any KDF work', () => {
    const good = { v: 1, kdf: 'pbkdf2-sha256', iter: 600000, salt: 'A'.repeat(43), nonce: 'A'.repeat(32), ct: 'A'.repeat(64) };
    parseKeyStore(good);
    for (const [name, bad, code] of [
      ['not JSON', '{', 'MALFORMED'],
      ['array', '[]', 'MALFORMED'],
      ['version 2', { ...good, v: 2 }, 'UNKNOWN_VERSION'],
      ['other kdf', { ...good, kdf: 'argon2id' }, 'MALFORMED'],
      ['string iterations', { ...good, iter: '600000' }, 'MALFORMED'],
      ['extra pubkey field', { ...good, pubkey: 'ab' }, 'MALFORMED'],
      ['missing ct', { ...good, ct: undefined }, 'MALFORMED'],
      ['short salt', { ...good, salt: 'AAAA' }, 'MALFORMED'],
      ['padded base64', { ...good, nonce: good.nonce + '==' }, 'MALFORMED'],
    ]) {
      const input = typeof bad === 'string' ? bad : JSON.parse(JSON.stringify(bad));
      assert.throws(() => parseKeyStore(input), { code }, name);
    }
  });

  test('WebCrypto and the pure-JS PBKDF2 agree', async () => {
    const pw = new TextEncoder().encode(PASS);
    const salt = hexToBytes('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
    const a = await deriveKey(pw, salt, 2000);
    const b = await deriveKey(pw, salt, 2000, { useWebCrypto: false });
    assert.deepEqual(a, b);
    // RFC 7914 §11 PBKDF2-HMAC-SHA256 test vector ("passwd", "salt", c=1, first 32 bytes).
    const kat = await deriveKey(new TextEncoder().encode('passwd'), new TextEncoder().encode('salt'), 1, { useWebCrypto: false });
    assert.equal(bytesToHex(kat), '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc');
  });
});
