import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  b64urlDecode,
  b64urlEncode,
  bytesToHex,
  decodeNpub,
  decodeNsec,
  encodeNpub,
  encodeNsec,
  generateSecretKey,
  getPublicKey,
  hexToBytes,
  parsePublicKeyHex,
  parseSecretKey,
} from '../src/crypto/index.js';
import { lengthPrefixed } from '../src/crypto/bytes.js';

const NPUB = 'npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg';
const NPUB_HEX = '7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e';
const NSEC = 'nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5';
const NSEC_HEX = '67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa';
const ORDER = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';

test('NIP-19 examples', () => {
  assert.equal(bytesToHex(decodeNpub(NPUB)), NPUB_HEX);
  assert.equal(encodeNpub(hexToBytes(NPUB_HEX)), NPUB);
  assert.equal(bytesToHex(decodeNsec(NSEC)), NSEC_HEX);
  assert.equal(encodeNsec(hexToBytes(NSEC_HEX)), NSEC);
  assert.equal(bytesToHex(decodeNpub(NPUB.toUpperCase())), NPUB_HEX);
});

test('any single substituted character in an npub is refused', () => {
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  for (let i = 5; i < NPUB.length; i++) {
    for (const c of charset) {
      if (c === NPUB[i]) continue;
      assert.throws(() => decodeNpub(NPUB.slice(0, i) + c + NPUB.slice(i + 1)), { code: 'INVALID_KEY' });
    }
  }
});

test('generated keys are valid and distinct; out-of-range draws are skipped', () => {
  const a = generateSecretKey();
  assert.notDeepEqual(a, generateSecretKey());
  assert.equal(getPublicKey(a).length, 32);
  const draws = [new Uint8Array(32).fill(0xff), hexToBytes(NSEC_HEX)];
  assert.equal(bytesToHex(generateSecretKey({ random: () => draws.shift() })), NSEC_HEX);
  assert.throws(() => generateSecretKey({ random: () => new Uint8Array(32) }), { code: 'INVALID_KEY' });
});

test('secret key range', () => {
  const nMinus1 = hexToBytes(ORDER);
  nMinus1[31]--;
  const one = new Uint8Array(32);
  one[31] = 1;
  parseSecretKey(one);
  parseSecretKey(nMinus1);
  for (const bad of [new Uint8Array(32), hexToBytes(ORDER), new Uint8Array(32).fill(0xff), one.subarray(1), '00'.repeat(32)]) {
    assert.throws(() => parseSecretKey(bad), { code: 'INVALID_KEY' });
  }
});

test('public key hex is strict lowercase and must be a curve point', () => {
  assert.equal(bytesToHex(parsePublicKeyHex(NPUB_HEX)), NPUB_HEX);
  for (const bad of [
    NPUB_HEX.toUpperCase(),
    NPUB_HEX.slice(2),
    'eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34',
    'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30',
  ]) {
    assert.throws(() => parsePublicKeyHex(bad), { code: 'INVALID_KEY' });
  }
});

test('base64url is strict', () => {
  assert.equal(b64urlEncode(Uint8Array.of(0xfb, 0xff)), '-_8');
  assert.deepEqual(b64urlDecode('Eqs'), Uint8Array.of(0x12, 0xab));
  assert.deepEqual(b64urlDecode(''), new Uint8Array(0));
  for (const bad of ['Eqt', 'E', 'Eqs=', 'E+s', 'E/s', 'Eq\ns', 'Eq s', 7]) {
    assert.throws(() => b64urlDecode(bad), { code: 'MALFORMED' });
  }
});

test('hex helpers', () => {
  assert.deepEqual(hexToBytes('00ffAb'), Uint8Array.of(0, 0xff, 0xab));
  assert.equal(bytesToHex(Uint8Array.of(0, 0xff, 0xab)), '00ffab');
  for (const bad of ['0', 'zz', '0g']) assert.throws(() => hexToBytes(bad), { code: 'MALFORMED' });
});

test('length-prefixed encoding keeps fields apart', () => {
  assert.equal(bytesToHex(lengthPrefixed('ab', Uint8Array.of(1))), '000000026162' + '0000000101');
  assert.notDeepEqual(lengthPrefixed('ab', 'c'), lengthPrefixed('a', 'bc'));
});
