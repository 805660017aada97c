import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { bytesToHex, getPublicKey, hexToBytes, signSchnorr, verifySchnorr } from '../src/crypto/index.js';
import { referenceDir } from '../scripts/testkit.mjs';

// The 19 official BIP-340 vectors, from shared/reference (never copied into
// the repo). Rows with a secret key are signed and compared; every row,
// TRUE and FALSE, is verified.
const ref = referenceDir();
const csvPath = ref && path.join(ref, 'vectors', 'bip340-test-vectors.csv');
const skip =
  !csvPath || !existsSync(csvPath)
    ? 'BIP-340 vectors not found: set LLAMENOS_REFERENCE_DIR or keep shared/reference/vectors/bip340-test-vectors.csv in an ancestor directory'
    : false;

const rows = skip
  ? []
  : readFileSync(csvPath, 'utf8')
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((line) => {
        const [index, secret, pub, aux, msg, sig, result, comment] = line.split(',');
        return { index, secret, pub, aux, msg, sig, valid: result === 'TRUE', comment };
      });

test('19 official vectors present', { skip }, () => {
  assert.equal(rows.length, 19);
  assert.ok(rows.some((r) => !r.valid), 'no FALSE rows');
});

for (const v of rows) {
  test(`BIP-340 vector ${v.index} (${v.valid ? 'TRUE' : 'FALSE'}${v.comment ? ': ' + v.comment : ''})`, () => {
    const pub = hexToBytes(v.pub);
    const msg = hexToBytes(v.msg);
    const sig = hexToBytes(v.sig);
    if (v.secret) {
      const sk = hexToBytes(v.secret);
      assert.equal(bytesToHex(getPublicKey(sk)), v.pub.toLowerCase());
      assert.equal(bytesToHex(signSchnorr(sk, msg, hexToBytes(v.aux))), v.sig.toLowerCase());
    }
    assert.equal(verifySchnorr(pub, msg, sig), v.valid);
  });
}

test('verifySchnorr returns false, never throws, on malformed input', () => {
  for (const [pk, msg, sig] of [
    [new Uint8Array(31), new Uint8Array(32), new Uint8Array(64)],
    [new Uint8Array(32), new Uint8Array(32), new Uint8Array(63)],
    [new Uint8Array(32).fill(0xff), new Uint8Array(0), new Uint8Array(64)],
    ['not bytes', new Uint8Array(32), new Uint8Array(64)],
  ]) {
    assert.equal(verifySchnorr(pk, msg, sig), false);
  }
});
