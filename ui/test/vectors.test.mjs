import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  authMessage,
  b64urlDecode,
  bytesToHex,
  decodeNpub,
  decodeNsec,
  encodeNpub,
  encodeNsec,
  getPublicKey,
  hexToBytes,
  open,
  parseEnvelope,
  parsePublicKeyHex,
  PURPOSES,
  seal,
  signSchnorr,
  verifyAuth,
  VERSION_1,
  VERSION_2,
} from '../src/crypto/index.js';
import { testDRBG } from '../scripts/drbg.mjs';
import { buildVectors, rewrapOf } from '../scripts/gen-vectors.mjs';
import { readVectors, vectorsDir } from '../scripts/testkit.mjs';

// Re-wraps the envelope as the vector says: the same bytes as the other
// language, the envelope's own content, opened by every new recipient and
// not listing the dropped one.
function checkRewrap(v, env, pt, pks) {
  assert.ok(v.rewrap, 'rewrap');
  const want = b64urlDecode(v.rewrap.envelope);
  const r = rewrapOf(v.seed, env, v.context, hexToBytes(v.recipients[0].secretKey), pks);
  assert.equal(bytesToHex(r.added), v.rewrap.added.secretKey, 'rewrap: added key');
  assert.deepEqual(r.envelope, want, 'rewrap: re-wrapping with the vector stream gives other bytes');
  const n = pks.length;
  assert.deepEqual(want.subarray(2 + 137 * n), env.subarray(2 + 137 * n), 'rewrap: content bytes');
  for (const k of [...v.recipients.slice(0, -1), v.rewrap.added]) assert.deepEqual(open(want, v.context, hexToBytes(k.secretKey)), pt);
  assert.ok(!parseEnvelope(want).includes(pks[n - 1]), 'rewrap: the dropped recipient is gone');
}

// Opens every vector with every recipient, and (v2) re-seals it with the
// vector's deterministic stream: the bytes must be identical to the other
// language's. The v1 files are kept for opening only: seal writes v2.
function checkEnvelopeFile(name, version = VERSION_2) {
  const f = readVectors(name);
  assert.ok(f.vectors.length >= 10, `${name}: ${f.vectors.length} vectors, want at least 10`);
  const covered = new Set();
  for (const v of f.vectors) {
    test(v.name, () => {
      const pt = b64urlDecode(v.plaintext);
      const env = b64urlDecode(v.envelope);
      const h = parseEnvelope(env);
      assert.equal(h.version, version);
      assert.equal(h.recipients.length, v.recipients.length);
      assert.equal(h.plaintextSize, pt.length);
      const pks = v.recipients.map((k, i) => {
        const sk = hexToBytes(k.secretKey);
        assert.deepEqual(decodeNsec(k.nsec), sk, `recipient ${i}: nsec`);
        const pk = getPublicKey(sk);
        assert.equal(bytesToHex(pk), k.publicKey, `recipient ${i}: public key`);
        assert.deepEqual(decodeNpub(k.npub), pk, `recipient ${i}: npub`);
        assert.deepEqual(h.recipients[i], pk, `recipient ${i}: header`);
        assert.deepEqual(open(env, v.context, sk), pt, `recipient ${i}: plaintext`);
        return pk;
      });
      if (version === VERSION_2) {
        const resealed = seal(pt, v.context, pks, { random: testDRBG(v.seed + '/seal') });
        assert.deepEqual(resealed, env, 're-sealing with the vector stream gives other bytes');
      }
      if (version === VERSION_2 && pks.length >= 2) {
        checkRewrap(v, env, pt, pks);
        covered.add('rewrap');
      }
      covered.add(`n=${pks.length}`);
      if (pt.length === 0) covered.add('empty');
      if (pt.length === 1) covered.add('1byte');
      if (pt.length === 65536) covered.add('64k');
    });
  }
  test('covers 1, 2 and 5 recipients; empty, 1-byte and 64 KiB; v2 re-wraps', () => {
    const wants = ['n=1', 'n=2', 'n=5', 'empty', '1byte', '64k'];
    if (version === VERSION_2) wants.push('rewrap');
    for (const want of wants) assert.ok(covered.has(want), want);
  });
}

describe('envelopes sealed by Go (envelopes-go.json)', () => checkEnvelopeFile('envelopes-go.json'));
describe('envelopes sealed by JS (envelopes-js.json)', () => checkEnvelopeFile('envelopes-js.json'));
describe('v1 envelopes sealed by Go (envelopes-v1-go.json)', () => checkEnvelopeFile('envelopes-v1-go.json', VERSION_1));
describe('v1 envelopes sealed by JS (envelopes-v1-js.json)', () => checkEnvelopeFile('envelopes-v1-js.json', VERSION_1));

// Each envelope vector file, whichever side wrote it, must name exactly the
// purposes PURPOSES lists: none without a vector, none unknown. The Go tests
// check the same files against e2ee's list, so the two cannot drift apart.
for (const name of ['envelopes-go.json', 'envelopes-js.json']) {
  test(`${name} covers exactly the known purposes`, () => {
    const seen = new Set(readVectors(name).vectors.map((v) => v.context.purpose));
    const missing = PURPOSES.filter((p) => !seen.has(p));
    const unknown = [...seen].filter((p) => !PURPOSES.includes(p));
    assert.deepEqual(missing, [], `purposes without a vector in ${name}`);
    assert.deepEqual(unknown, [], `purposes in ${name} that ui/src/crypto does not know`);
  });
}

test('committed JS vectors are exactly what ui/scripts/gen-vectors.mjs produces', async () => {
  const files = await buildVectors();
  for (const [name, text] of Object.entries(files)) {
    const got = readFileSync(path.join(vectorsDir, name), 'utf8');
    assert.ok(got === text, `${name} differs from the generator output; run node ui/scripts/gen-vectors.mjs and review the diff`);
  }
});

describe('key vectors (keys.json, written by Go)', () => {
  const kv = readVectors('keys.json');
  test('valid keys agree in every encoding', () => {
    assert.ok(kv.valid.length > 0);
    for (const k of kv.valid) {
      const sk = decodeNsec(k.nsec);
      assert.equal(bytesToHex(sk), k.secretKey);
      assert.equal(bytesToHex(getPublicKey(sk)), k.publicKey);
      assert.equal(encodeNsec(sk), k.nsec);
      assert.equal(encodeNpub(getPublicKey(sk)), k.npub);
      assert.deepEqual(parsePublicKeyHex(k.publicKey), getPublicKey(sk));
    }
    for (const k of kv.npubOnly) assert.equal(bytesToHex(decodeNpub(k.npub)), k.publicKey);
  });
  for (const k of kv.invalid) {
    test(`refuses ${k.kind}: ${k.why}`, () => {
      const fn = { npub: decodeNpub, nsec: decodeNsec, publicKeyHex: parsePublicKeyHex }[k.kind];
      assert.throws(() => fn(k.value), (err) => {
        assert.equal(err.code, 'INVALID_KEY');
        // An nsec must never be echoed back in an error message.
        if (k.value.length > 8) assert.ok(!err.message.includes(k.value.slice(5)), 'error message echoes the input');
        return true;
      });
    });
  }
});

test('auth vectors (auth.json, written by Go): digest and signature byte for byte', () => {
  const av = readVectors('auth.json');
  assert.ok(av.vectors.length > 0);
  for (const v of av.vectors) {
    const sk = hexToBytes(v.secretKey);
    const pk = getPublicKey(sk);
    assert.equal(bytesToHex(pk), v.publicKey);
    const challenge = b64urlDecode(v.challenge);
    const digest = authMessage(v.purpose, v.origin, challenge, pk);
    assert.equal(bytesToHex(digest), v.digest, `${v.purpose} ${v.origin}`);
    assert.equal(bytesToHex(signSchnorr(sk, digest, hexToBytes(v.aux))), v.signature);
    assert.ok(verifyAuth(pk, v.purpose, v.origin, challenge, hexToBytes(v.signature)));
  }
});
